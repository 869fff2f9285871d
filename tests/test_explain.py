"""``edc explain OID``: a condition, derivation or check in plain words (issue 21), saying the
ODM rule the right way round: a true CollectionExceptionCondition hides the item."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main
from tests.exchange.helpers import vs_study


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study.xml"
    path.write_bytes(vs_study())
    return path


def explain(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["explain", *args], env=env)


def test_a_condition_says_it_hides_the_item_when_true(study: Path) -> None:
    result = explain("C.NOT_HEIGHT", "--metadata", str(study))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ConditionDef C.NOT_HEIGHT (Not height): true when IT.VSTESTCD (“Test”) is not "
        "Height (HEIGHT).",
        '  OEL: IT.VSTESTCD != "HEIGHT"',
        "  Description: Test is not height",
        "IT.VSORRESU_HT (in item group IG.VS) is hidden (not collected) when C.NOT_HEIGHT is "
        "true, that is when IT.VSTESTCD (“Test”) is not Height (HEIGHT); it is asked otherwise.",
        "ODM rule: a CollectionExceptionCondition that is true HIDES what it is attached to "
        "(not collected); false or unknown, it is asked. This is the opposite of REDCap's "
        "branching logic, which shows a field when its expression is true.",
    ]


def test_a_method_names_what_it_reads_and_derives(study: Path) -> None:
    result = explain("MT.BMI", "--metadata", str(study))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "MethodDef MT.BMI (BMI, Computation): computes IT.WEIGHT / ((IT.HEIGHT / 100) * "
        "(IT.HEIGHT / 100)).",
        "  Description: Weight / height squared",
        "  Reads: IT.HEIGHT, IT.WEIGHT",
        "Derives IT.BMI (in item group IG.DM): the value is computed on every save and import, "
        "not entered; a value given for it is replaced by the computed one (a query says so "
        "when they differ).",
    ]


def test_an_item_with_a_range_check_and_its_item_ref(study: Path) -> None:
    result = explain("IT.WEIGHT", "--metadata", str(study))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ItemDef IT.WEIGHT (Weight): float, Length 5, SignificantDigits 1, units kg.",
        "  Question: Weight",
        "  Soft check IT.WEIGHT#RC1: the value must be greater than 20; otherwise the value is "
        'saved and a query opens ("Weight looks too low").',
        "ItemRef in item group IG.DM: optional.",
    ]


def test_an_unknown_oid_exits_2_with_the_nearest(study: Path) -> None:
    result = explain("IT.WIEGHT", "--metadata", str(study))
    assert result.exit_code == 2
    assert (
        "IT.WIEGHT: no ConditionDef, MethodDef or ItemDef has this OID. Did you mean IT.WEIGHT?"
        in result.output
    )


def test_a_stored_study_is_explained_from_the_database(study: Path, tmp_path: Path) -> None:
    env = {"EDC_DATABASE_URL": f"sqlite:///{tmp_path / 'edc.db'}"}
    for args in (("db", "upgrade"), ("study", "load", str(study))):
        assert CliRunner().invoke(main, list(args), env=env).exit_code == 0
    result = explain("IT.VSORRESU_BP", "--study", "S.1", env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "  IT.VSORRESU_BP (in item group IG.VS) is hidden (not collected) when C.NOT_BP is "
        "true, that is when it is not the case that IT.VSTESTCD (“Test”) is one of Systolic BP "
        "(SYSBP) or Diastolic BP (DIABP); it is asked otherwise."
    )


def test_lang_de_explains_in_german_with_the_odm_rule(study: Path) -> None:
    result = explain("C.NOT_HEIGHT", "--metadata", str(study), "--lang", "de")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ConditionDef C.NOT_HEIGHT (Not height): wahr, wenn IT.VSTESTCD (“Test”) nicht Height "
        "(HEIGHT) ist.",
        '  OEL: IT.VSTESTCD != "HEIGHT"',
        "  Beschreibung: Test is not height",
        "IT.VSORRESU_HT (in der Gruppe IG.VS) wird ausgeblendet (nicht erhoben), wenn "
        "C.NOT_HEIGHT wahr ist, also wenn IT.VSTESTCD (“Test”) nicht Height (HEIGHT) ist; "
        "sonst wird gefragt.",
        "ODM-Regel: Eine CollectionExceptionCondition, die wahr ist, BLENDET AUS, woran sie "
        "hängt (nicht erhoben); ist sie falsch oder unbekannt, wird gefragt. Das ist das "
        "Gegenteil der Verzweigungslogik von REDCap, die ein Feld zeigt, wenn ihr Ausdruck "
        "wahr ist.",
    ]


def test_lang_de_explains_a_method_and_an_item_in_german(study: Path) -> None:
    method = explain("MT.BMI", "--metadata", str(study), "--lang", "de").output.splitlines()
    assert method[2:] == [
        "  Liest: IT.HEIGHT, IT.WEIGHT",
        "Berechnet IT.BMI (in der Gruppe IG.DM): Der Wert wird bei jedem Speichern und Import "
        "berechnet, nicht eingegeben; ein für ihn angegebener Wert wird durch den berechneten "
        "ersetzt (eine Rückfrage sagt es, wenn sie sich unterscheiden).",
    ]
    item = explain("IT.WEIGHT", "--metadata", str(study), "--lang", "de-AT")
    assert item.output.splitlines() == [
        "ItemDef IT.WEIGHT (Weight): float, Length 5, SignificantDigits 1, Einheiten kg.",
        "  Frage: Weight",
        "  Weiche Prüfung IT.WEIGHT#RC1: der Wert muss größer als 20 sein; sonst wird der Wert "
        'gespeichert und eine Rückfrage eröffnet ("Weight looks too low").',
        "ItemRef in der Gruppe IG.DM: optional.",
    ]
    unknown = explain("IT.WIEGHT", "--metadata", str(study), "--lang", "de")
    assert unknown.exit_code == 2
    assert (
        "IT.WIEGHT: Keine ConditionDef, MethodDef oder ItemDef hat diese OID. Meinten Sie "
        "IT.WEIGHT?"
    ) in unknown.output

"""The shared corpus: every expression compiles or is a warning naming its Context; the CDISC
multilingual example compiles with zero errors and `edc check` finds exactly the violations
planted in a ClinicalData file written for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from odm_engine.check_report import run_check
from odm_engine.expressions import compile_study
from odm_engine.findings import Severity
from odm_engine.loader import load_path

CDISC = "cdisc_odm13/cdisc-protocol-metadata-1_3_2-multilingual.xml"


def _compile(path: Path):  # type: ignore[no-untyped-def]
    result = load_path(str(path))
    out = []
    if result.odm is None:
        return out
    for study in result.odm.studies:
        for mdv in study.metadata_versions:
            out.extend(
                compile_study(
                    mdv, path=str(path), units=study.basic_definitions.measurement_units
                ).findings
            )
    return out


def test_every_corpus_expression_compiles_or_warns(corpus: Path) -> None:
    for path in sorted(corpus.glob("*/*.xml")):
        errors = [f.format() for f in _compile(path) if f.severity is Severity.ERROR]
        assert errors == [], path


def test_cdisc_example_compiles_all_conditions(corpus: Path) -> None:
    findings = _compile(corpus / CDISC)
    assert [f for f in findings if f.severity is Severity.ERROR] == []
    translated = {f.oid for f in findings if f.code == "ODM-EXPR-112"}
    assert len(translated) == 13
    unknown = [f.message for f in findings if f.code == "ODM-EXPR-001"]
    assert unknown == [
        'MethodDef METH.001: FormalExpression Context="MyScriptingLanguage1" is not understood by '
        'this engine; the expression is kept but not evaluated. Write it in Context="OEL".',
        'MethodDef METH.001: FormalExpression Context="MyScriptingLanguage2" is not understood by '
        'this engine; the expression is kept but not evaluated. Write it in Context="OEL".',
    ]


def _item(oid: str, value: str, unit: str = "") -> str:
    ref = f'<MeasurementUnitRef MeasurementUnitOID="{unit}"/>' if unit else ""
    return (
        f'<ItemData ItemOID="{oid}" Value="{value}">{ref}</ItemData>'
        if ref
        else f'<ItemData ItemOID="{oid}" Value="{value}"/>'
    )


def _group(oid: str, *items: str) -> str:
    return f'<ItemGroupData ItemGroupOID="{oid}">{"".join(items)}</ItemGroupData>'


CLINICAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileType="Snapshot" FileOID="D.1"
 CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2">
<ClinicalData StudyOID="CES" MetaDataVersionOID="CES_MDV_V1">
<SubjectData SubjectKey="SUBJ-001">
<StudyEventData StudyEventOID="BASELINE"><FormData FormOID="F_BASELINE">
{
    _group(
        "IG_COMMON",
        _item("I_SITE", "1"),
        _item("I_SUBJECTID", "SUBJ-001"),
        _item("I_VISIT", "2024-01-10"),
        _item("I_VISITTIME", "10:30:00"),
    )
}
{_group("IG_DM", _item("I_BRTHDT", "1970-05-01"), _item("I_SEX", "X"))}
{_group("IG_SH", _item("I_SMOKING", "false"), _item("I_NR_CIGARETTES", "LT10"))}
{_group("IG_DH", _item("I_DRINKING", "LT1"))}
{
    _group(
        "IG_PE_BASE",
        _item("I_HEIGHT", "88"),
        _item("I_WEIGHT", "340"),
        _item("I_SYSBP", "185"),
        _item("I_DIABP", "95"),
    )
}
{_group("IG_XRAY", _item("I_XRAY", "x"))}
</FormData></StudyEventData>
</SubjectData>
<SubjectData SubjectKey="SUBJ-002">
<StudyEventData StudyEventOID="BASELINE"><FormData FormOID="F_BASELINE">
{
    _group(
        "IG_COMMON",
        _item("I_SITE", "1"),
        _item("I_SUBJECTID", "SUBJ-002"),
        _item("I_VISIT", "2024-01-11"),
        _item("I_VISITTIME", "09:00:00"),
    )
}
{_group("IG_DM", _item("I_BRTHDT", "1980-02-03"), _item("I_SEX", "F"))}
{_group("IG_SH", _item("I_SMOKING", "true"), _item("I_NR_CIGARETTES", "GT20"))}
{_group("IG_DH", _item("I_DRINKING", "GT2"))}
{
    _group(
        "IG_PE_BASE",
        _item("I_HEIGHT", "170", "MU_CM"),
        _item("I_WEIGHT", "60", "MU_KG"),
        _item("I_SYSBP", "120"),
        _item("I_DIABP", "80"),
        _item("I_DIZZY", "0"),
    )
}
{_group("IG_XRAY", _item("I_XRAY", "x"))}
</FormData></StudyEventData>
</SubjectData>
</ClinicalData></ODM>""".encode()

MISSING_FORMS = [
    f"{subject} BASELINE {form} {form}#Mandatory (mandatory) soft: Form {form} ({name}) is "
    "mandatory in study event BASELINE, which has data, but has no data. Enter the form or "
    "give the reason it is missing."
    for form, name in (("F_CM", "Prior or Concomitant Medications (ACRO)"), ("F_LAB", "Laboratory"))
    for subject in ("SUBJ-001",)
]

EXPECTED = [
    *MISSING_FORMS,
    "SUBJ-001 BASELINE F_BASELINE IG_DM I_SEX I_SEX#CodeList (codelist) hard: I_SEX (Sex): X "
    "is not a coded value of CL_SEX. Choose one of its values.",
    "SUBJ-001 BASELINE F_BASELINE IG_SH I_NR_CIGARETTES COND.SMOKING (condition) soft: "
    "I_NR_CIGARETTES (Number of cigarettes per day) is not collected here (COND.SMOKING is "
    "true) but has a value. Clear the value or correct the data it depends on.",
    "SUBJ-001 BASELINE F_BASELINE IG_PE_BASE I_HEIGHT I_HEIGHT#RC1 (range) hard: The height "
    "value should be below 220 cm",
    "SUBJ-001 BASELINE F_BASELINE IG_PE_BASE I_WEIGHT I_WEIGHT#RC1 (range) hard: The weight "
    "value should be below 150 kg",
    "SUBJ-001 BASELINE F_BASELINE IG_PE_BASE I_WEIGHT I_WEIGHT#RC2 (range) hard: The weight "
    "should be below 300 Pounds",
    "SUBJ-001 BASELINE F_BASELINE IG_PE_BASE I_SYSBP I_SYSBP#RC1 (range) hard: The value "
    "should be below 180",
    *(line.replace("SUBJ-001", "SUBJ-002") for line in MISSING_FORMS),
]


def test_edc_check_finds_exactly_the_planted_violations(corpus: Path) -> None:
    metadata = (corpus / CDISC).read_bytes()
    code, lines, _ = run_check(metadata, CLINICAL, metadata_path=CDISC, lang="en")
    assert (code, lines) == (1, EXPECTED)


def test_edc_check_cli_json_and_exit_codes(corpus: Path, tmp_path: Path) -> None:
    from cli import main

    meta = corpus / CDISC
    data = tmp_path / "data.xml"
    data.write_bytes(CLINICAL)
    runner = CliRunner()
    result = runner.invoke(
        main, ["check", str(meta), str(data), "--format", "json", "--lang", "de"]
    )
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    assert [(r["subject"], r["item_oid"], r["check"], r["severity"]) for r in rows][4] == (
        "SUBJ-001",
        "I_HEIGHT",
        "I_HEIGHT#RC1",
        "hard",
    )
    assert rows[7]["message"] == "Der Wert sollte unter 180 sein"
    assert rows[0]["message"].startswith("Das Formular F_CM (Prior or Concomitant")
    clean = tmp_path / "clean.xml"
    clean.write_bytes(
        CLINICAL.split(b'<SubjectData SubjectKey="SUBJ-001">')[0]
        + b"<SubjectData"
        + CLINICAL.split(b"</SubjectData>\n<SubjectData")[1]
    )
    checked = runner.invoke(main, ["check", str(meta), str(clean)])
    assert checked.exit_code == 1  # only the two forms the planted data leaves out
    assert [line.split(" soft:")[0] for line in checked.stdout.splitlines()] == [
        "SUBJ-002 BASELINE F_CM F_CM#Mandatory (mandatory)",
        "SUBJ-002 BASELINE F_LAB F_LAB#Mandatory (mandatory)",
    ]
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<ODM><unclosed>")
    assert runner.invoke(main, ["check", str(meta), str(bad)]).exit_code == 2


@pytest.mark.parametrize(
    "name", ["redcap/redcap-repeating-forms.xml", "openedc/openedc-example-metadata.xml"]
)
def test_foreign_corpus_files_translate(corpus: Path, name: str) -> None:
    findings = _compile(corpus / name)
    assert [f for f in findings if f.severity is not Severity.INFO] == []
    assert any(f.code == "ODM-EXPR-112" for f in findings)

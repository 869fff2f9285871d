"""A REDCap data dictionary (CSV) through ``edc design import`` (issue 21): fields, choices,
validation limits, branching logic and calculations (translated to OEL) become a study that
``edc validate`` calls clean."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cli import main
from tests.design.redcap_dictionaries import HEADER, dictionary_csv

CLEAN = [
    "redcap-longitudinal-visits.xml",
    "redcap-multiple-choice.xml",
    "redcap-repeating-events-extended-large.xml",
    "redcap-repeating-forms.xml",
]
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _import(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    source, study = tmp_path / "dictionary.csv", tmp_path / "study.xml"
    source.write_text(text, encoding="utf-8")
    code, out = _run("design", "import", str(source), "-o", str(study))
    return code, out, study


@pytest.mark.parametrize("project", CLEAN)
def test_corpus_dictionary_imports_into_a_clean_study(
    corpus: Path, tmp_path: Path, project: str
) -> None:
    code, out, study = _import(tmp_path, dictionary_csv(corpus / "redcap" / project))
    assert code == 0, out
    code, out = _run("validate", str(study))
    assert code == 0, out
    assert "0 error(s)" in out


def test_branching_logic_and_calculation_are_translated(corpus: Path, tmp_path: Path) -> None:
    code, out, study = _import(
        tmp_path, dictionary_csv(corpus / "redcap" / "redcap-repeating-forms.xml")
    )
    assert code == 0, out
    root = etree.fromstring(study.read_bytes())
    [condition] = root.iter(f"{ODM}ConditionDef")
    assert condition.get("OID") == "C.diabetes_type"
    expression = condition.find(f"{ODM}FormalExpression")
    assert expression is not None and expression.get("Context") == "OEL"
    assert expression.text is not None and "diabetic" in expression.text
    assert expression.text.startswith("not")  # REDCap shows if true; ODM hides if true
    refs = [r for r in root.iter(f"{ODM}ItemRef") if r.get("ItemOID") == "diabetes_type"]
    assert refs[0].get("CollectionExceptionConditionOID") == "C.diabetes_type"
    methods = {m.get("OID") for m in root.iter(f"{ODM}MethodDef")}
    assert methods, "the calc field became a MethodDef"


def _dictionary(*rows: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue()


def _field(var: str, kind: str, **cells: str) -> list[str]:
    row = [var, "demo", "", kind, f"{var} label", "", "", "", "", "", "", "", ""]
    for i, name in enumerate(("choices", "validation", "min", "max", "branching", "required")):
        if name in cells:
            row[[5, 7, 8, 9, 11, 12][i]] = cells[name]
    return row


def test_a_small_dictionary_with_limits_choices_and_checkboxes(tmp_path: Path) -> None:
    text = _dictionary(
        _field("record_id", "text"),
        _field("age", "text", validation="integer", min="18", max="99", required="y"),
        _field("sex", "radio", choices="1, Male | 2, Female"),
        _field("symptoms", "checkbox", choices="1, Cough | 2, Fever"),
        _field("pregnant", "yesno", branching="[sex] = '2'"),
        _field("fever_note", "notes", branching="[symptoms(2)] = '1'"),
    )
    code, out, study = _import(tmp_path, text)
    assert code == 0, out
    code, out = _run("validate", str(study))
    assert code == 0, out
    root = etree.fromstring(study.read_bytes())
    items = {i.get("OID"): i for i in root.iter(f"{ODM}ItemDef")}
    assert set(items) >= {"age", "sex", "symptoms___1", "symptoms___2", "pregnant"}
    checks = [(rc.get("Comparator"), rc.findtext(f"{ODM}CheckValue")) for rc in items["age"]]
    assert ("GE", "18") in checks and ("LE", "99") in checks
    assert {c.get("OID") for c in root.iter(f"{ODM}ConditionDef")} == {
        "C.pregnant",
        "C.fever_note",
    }


def test_untranslatable_logic_is_located_and_left_out(tmp_path: Path) -> None:
    text = _dictionary(
        _field("record_id", "text"),
        _field("other", "text", branching="[no_such_field] = '1'"),
    )
    code, out, study = _import(tmp_path, text)
    assert code == 0, out
    assert "dictionary!L3: DSN-013 warning: REDCap branching logic of field other cannot be " in out
    assert "the field is always shown" in out
    assert b"ConditionDef" not in study.read_bytes()


def test_a_file_that_is_not_a_dictionary_exits_2(tmp_path: Path) -> None:
    code, out, study = _import(tmp_path, "a,b\n1,2\n")
    assert code == 2 and "not a REDCap data dictionary" in out
    assert not study.exists()

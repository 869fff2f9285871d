"""``edc check`` reads ClinicalData with the import's streaming reader (odm_engine.exchange):
one reader, its refusals and dialect handling, for both commands."""

from __future__ import annotations

import json
from datetime import date

from odm_engine.check_report import run_check
from tests.expressions.helpers import item, odm, one_form, refs

METADATA = odm(
    one_form(
        refs("IT.AGE"),
        item(
            "IT.AGE",
            extra='<RangeCheck Comparator="LE" SoftHard="Hard"><CheckValue>120'
            "</CheckValue><ErrorMessage><TranslatedText>Too old.</TranslatedText></ErrorMessage>"
            "</RangeCheck>",
        ),
    )
)


def data(subject_body: str, *, ns: str = "http://www.cdisc.org/ns/odm/v1.3") -> bytes:
    return f"""<ODM xmlns="{ns}" FileType="Snapshot" FileOID="D.1"
 CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2">
<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1"><SubjectData SubjectKey="001">
{subject_body}</SubjectData></ClinicalData></ODM>""".encode()


def check(data_xml: bytes) -> tuple[int, list[dict[str, str]]]:
    code, lines, _ = run_check(
        METADATA, data_xml, data_path="d.xml", output="json", today=date(2024, 6, 15)
    )
    return code, json.loads(lines[0]) if code in (0, 1) else lines


AGE = '<ItemData ItemOID="IT.AGE" Value="130"/>'
FORM = '<FormData FormOID="F.1"><ItemGroupData ItemGroupOID="IG.1">{}</ItemGroupData></FormData>'


def test_a_failing_value_is_reported_with_its_key() -> None:
    code, rows = check(
        data(f'<StudyEventData StudyEventOID="SE.1">{FORM.format(AGE)}</StudyEventData>')
    )
    assert code == 1
    assert [(r["study_event_oid"], r["item_oid"], r["message"]) for r in rows] == [
        ("SE.1", "IT.AGE", "Too old.")
    ]


def test_remove_and_is_null_leave_no_value_to_check() -> None:
    removed = '<ItemData ItemOID="IT.AGE" Value="40" TransactionType="Remove"/>'
    null = '<ItemData ItemOID="IT.AGE" IsNull="Yes"/>'
    for items in (AGE + removed, null, '<ItemData ItemOID="IT.AGE" Value=""/>'):
        body = f'<StudyEventData StudyEventOID="SE.1">{FORM.format(items)}</StudyEventData>'
        assert check(data(body)) == (0, [])


def test_form_data_outside_a_study_event_is_reported_with_no_event() -> None:
    """The import reads it into SE.IMPLICIT (ODM-IMP-001); edc check names no event."""
    code, rows = check(data(FORM.format(AGE)))
    assert code == 1
    assert [(r["study_event_oid"], r["form_oid"]) for r in rows] == [("", "F.1")]


def test_a_data_file_the_import_refuses_is_refused_by_check() -> None:
    """An ODM 2.0 file is not read as ODM 1.3 ClinicalData by either command."""
    code, lines = check(data(FORM.format(AGE), ns="http://www.cdisc.org/ns/odm/v2.0"))
    assert code == 2
    assert lines[0].startswith("d.xml:1: ODM-IMP-003 error: The root element is <ODM>")

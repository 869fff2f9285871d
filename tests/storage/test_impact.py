"""The impact of a new metadata version on stored data (issue 16, item 4), on SQLite and
PostgreSQL: a study of 1,000 subjects whose new version retypes an item (text -> integer),
drops a code, adds a hard range check and removes an item. The report lists exactly the values
those changes make invalid, counted per kind, item, site and subject; the filters narrow it;
``edc study impact`` exits 0/1/2 and writes the same report as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select

import storage.impact
from cli import main
from odm_engine import model as m
from odm_engine.loader import load_odm
from storage.engine import write_transaction
from storage.errors import NotFoundError
from storage.impact import ValueProblem, impact, iter_value_problems
from storage.models import Form, ItemData, ItemGroup, Site, StudyEvent
from storage.models import Subject as SubjectRow
from storage.studies import load_study, study_id_of
from tests.storage.conftest import Db, study_xml

SUBJECTS = 1000

OLD = """
<Protocol><StudyEventRef StudyEventOID="SE.SCREEN" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.SCREEN" Name="Screening" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.DM" Mandatory="Yes"/>
</StudyEventDef>
<FormDef OID="F.DM" Name="Demographics" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.DM" Name="Demographics" Repeating="No">
  <ItemRef ItemOID="IT.AGE" Mandatory="No"/>
  <ItemRef ItemOID="IT.SEX" Mandatory="No"/>
  <ItemRef ItemOID="IT.SCORE" Mandatory="No"/>
  <ItemRef ItemOID="IT.WEIGHT" Mandatory="No"/>
  {note_ref}
</ItemGroupDef>
<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">{age_check}</ItemDef>
<ItemDef OID="IT.SEX" Name="SEX" DataType="text" Length="1">
  <CodeListRef CodeListOID="CL.SEX"/>
</ItemDef>
<ItemDef OID="IT.SCORE" Name="SCORE" DataType="{score_type}" Length="10"/>
<ItemDef OID="IT.WEIGHT" Name="WEIGHT" DataType="float" Length="5" SignificantDigits="1"/>
{note_def}
<CodeList OID="CL.SEX" Name="Sex" DataType="text">
  <CodeListItem CodedValue="F"><Decode><TranslatedText>Female</TranslatedText></Decode>
  </CodeListItem>
  <CodeListItem CodedValue="M"><Decode><TranslatedText>Male</TranslatedText></Decode>
  </CodeListItem>
  {unknown}
</CodeList>
"""
UNKNOWN = (
    '<CodeListItem CodedValue="U"><Decode><TranslatedText>Unknown</TranslatedText></Decode>'
    "</CodeListItem>"
)
AGE_CHECK = '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>18</CheckValue></RangeCheck>'
NOTE_DEF = '<ItemDef OID="IT.NOTE" Name="NOTE" DataType="text" Length="200"/>'
NOTE_REF = '<ItemRef ItemOID="IT.NOTE" Mandatory="No"/>'


def version(*, new: bool) -> bytes:
    """The study as stored (``new=False``) or as amended: IT.SCORE retyped text -> integer,
    code U dropped from CL.SEX, a hard RangeCheck AGE >= 18 added, IT.NOTE removed."""
    body = OLD.format(
        note_ref="" if new else NOTE_REF,
        note_def="" if new else NOTE_DEF,
        age_check=AGE_CHECK if new else "",
        score_type="integer" if new else "text",
        unknown="" if new else UNKNOWN,
    )
    return study_xml(body, mdv_oid="MDV.2" if new else "MDV.1")


def key(i: int) -> str:
    return f"S{i:04d}"


def values_of(i: int) -> dict[str, str | None]:
    """Subject ``i``'s stored values (None: stored as null): every 50th is 17 years old, every
    100th (from 7) has sex U, every 25th (from 3) a SCORE that is no integer, every 4th a
    NOTE; every 250th (from 1) a null SCORE (valid) and a null NOTE (a value of a removed
    item all the same)."""
    held = {
        "IT.AGE": "17" if i % 50 == 0 else str(30 + i % 40),
        "IT.SEX": "U" if i % 100 == 7 else "FM"[i % 2],
        "IT.SCORE": "n/a" if i % 25 == 3 else f"{i % 90:03d}",
        "IT.WEIGHT": "70.5",
    }
    if i % 4 == 0:
        held["IT.NOTE"] = f"note {i}"
    if i % 250 == 1:
        held["IT.SCORE"] = held["IT.NOTE"] = None
    return held


def expected(i: int) -> set[tuple[str, str, str]]:
    """(subject key, item, kind) of subject ``i``'s values the new version makes invalid."""
    held = values_of(i)
    out = set()
    if held["IT.AGE"] == "17":
        out.add((key(i), "IT.AGE", "hard_check"))
    if held["IT.SEX"] == "U":
        out.add((key(i), "IT.SEX", "code"))
    if held["IT.SCORE"] == "n/a":
        out.add((key(i), "IT.SCORE", "type"))
    if "IT.NOTE" in held:
        out.add((key(i), "IT.NOTE", "removed_item"))
    return out


def site_of(i: int) -> str:
    return "SITE.1" if i % 2 else "SITE.2"


def fill(engine: Engine) -> None:
    """The old version loaded and 1,000 subjects with one Demographics form each, written
    with plain Core inserts (ids given, no audit: the impact reads values only)."""
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        assert load_study(conn, version(new=False), path="v1.xml").status == "stored"
        study_id = study_id_of(conn, "S.1")
        sites = {oid: id_ for oid, id_ in conn.execute(select(Site.oid, Site.id))}
        ids = range(1, SUBJECTS + 1)
        # the version a subject is on (issue 16, item 5), where the schema has it
        on = {"metadata_version": 1} if "metadata_version" in SubjectRow.__table__.c else {}
        conn.execute(
            insert(SubjectRow),
            [
                {
                    "id": i,
                    "study_id": study_id,
                    "subject_key": key(i),
                    "site_id": sites[site_of(i)],
                    "created_at": now,
                    **on,
                }
                for i in ids
            ],
        )
        conn.execute(
            insert(StudyEvent),
            [
                {"id": i, "subject_id": i, "study_event_oid": "SE.SCREEN", "repeat_key": ""}
                for i in ids
            ],
        )
        conn.execute(
            insert(Form),
            [
                {
                    "id": i,
                    "study_event_id": i,
                    "form_oid": "F.DM",
                    "repeat_key": "",
                    "status": "complete",
                }
                for i in ids
            ],
        )
        conn.execute(
            insert(ItemGroup),
            [{"id": i, "form_id": i, "item_group_oid": "IG.DM", "repeat_key": ""} for i in ids],
        )
        conn.execute(
            insert(ItemData.__table__),
            [
                {
                    "item_group_id": i,
                    "item_oid": item,
                    "value": value,
                    "is_null": None if value is not None else "NI",
                    "unit": None,
                }
                for i in ids
                for item, value in values_of(i).items()
            ],
        )


@pytest.fixture
def filled(db: Db) -> Db:
    fill(db.engine)
    return db


def new_mdv() -> tuple[m.Study, m.MetaDataVersion]:
    odm = load_odm(version(new=True)).odm
    assert odm is not None and odm.study is not None
    mdv = odm.study.metadata_version()
    assert mdv is not None
    return odm.study, mdv


def found(problems: Iterator[ValueProblem] | tuple[ValueProblem, ...]) -> set[tuple[str, str, str]]:
    return {(p.subject_key, p.item_oid, p.kind) for p in problems}


def test_the_report_lists_exactly_the_values_the_new_version_makes_invalid(filled: Db) -> None:
    study, mdv = new_mdv()
    want = set().union(*(expected(i) for i in range(1, SUBJECTS + 1)))
    with filled.engine.connect() as conn:
        problems = list(iter_value_problems(conn, "S.1", mdv, study=study))
        report = impact(conn, "S.1", mdv, study=study)
    assert found(problems) == want and len(problems) == len(want)
    assert report.total == len(want) and found(report.problems) == want
    assert report.by_kind == {"type": 40, "code": 10, "hard_check": 20, "removed_item": 254}
    assert report.by_item == {"IT.AGE": 20, "IT.NOTE": 254, "IT.SCORE": 40, "IT.SEX": 10}
    assert list(report.by_kind) == ["removed_item", "type", "code", "hard_check"]
    assert [p.value for p in problems if p.subject_key == key(251)] == [None]  # a null NOTE
    per_site = {"SITE.1": 0, "SITE.2": 0}
    for _key, _item, _kind in want:
        per_site[site_of(int(_key[1:]))] += 1
    assert report.by_site == per_site
    assert report.by_subject[key(100)] == 2  # 17 years old and a NOTE
    assert key(5) not in report.by_subject  # nothing of subject 5 fails
    assert report.checked_items == ("IT.AGE", "IT.SCORE", "IT.SEX")  # not IT.WEIGHT
    score = next(p for p in problems if p.item_oid == "IT.SCORE")
    assert (score.value, score.site_oid, score.form_oid, score.item_group_oid) == (
        "n/a",
        "SITE.1",
        "F.DM",
        "IG.DM",
    )
    assert "DataType integer" in score.problem and "'n/a'" in score.problem
    (form,) = report.forms
    assert (form.form_oid, form.instances, form.subjects) == ("F.DM", SUBJECTS, SUBJECTS)
    assert form.change.items_removed == ("IG.DM/IT.NOTE",)
    assert report.as_dict()["by_kind"] == dict(report.by_kind)


def test_an_item_failing_more_distinct_values_than_a_statement_takes_is_checked_row_by_row(
    filled: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past IN_LIMIT failing distinct values an item's rows are all streamed and checked on
    the way (no IN list, no set of them in memory): the same report."""
    study, mdv = new_mdv()
    with filled.engine.connect() as conn:
        before = list(iter_value_problems(conn, "S.1", mdv, study=study))
        monkeypatch.setattr(storage.impact, "IN_LIMIT", 0)
        after = list(iter_value_problems(conn, "S.1", mdv, study=study))
    assert before == after and len(after) == 324


def test_filters_narrow_the_report_to_a_site_a_subject_or_subject_ids(filled: Db) -> None:
    study, mdv = new_mdv()
    all_expected = {i: expected(i) for i in range(1, SUBJECTS + 1)}
    with filled.engine.connect() as conn:
        site1 = found(iter_value_problems(conn, "S.1", mdv, study=study, site_oid="SITE.1"))
        one = impact(conn, "S.1", mdv, study=study, subject_key=key(100))
        some = found(iter_value_problems(conn, "S.1", mdv, subject_ids=[3, 7, 8]))
        with pytest.raises(NotFoundError, match=r"no site 'SITE\.9'"):
            impact(conn, "S.1", mdv, site_oid="SITE.9")
        with pytest.raises(NotFoundError, match="no subject 'X'"):
            impact(conn, "S.1", mdv, subject_key="X")
    assert site1 == set().union(*(e for i, e in all_expected.items() if i % 2))
    assert found(one.problems) == all_expected[100] and one.by_subject == {key(100): 2}
    assert (one.forms[0].instances, one.forms[0].subjects) == (1, 1)
    assert some == all_expected[3] | all_expected[7] | all_expected[8]


def test_the_same_version_has_no_impact(filled: Db) -> None:
    odm = load_odm(version(new=False)).odm
    assert odm is not None and odm.study is not None
    mdv = odm.study.metadata_version()
    assert mdv is not None
    with filled.engine.connect() as conn:
        report = impact(conn, "S.1", mdv)
    assert (report.total, report.forms, report.has_impact, report.checked_items) == (
        0,
        (),
        False,
        (),
    )


def edc(db: Db, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["study", "impact", *args, "--db", db.url])
    return result.exit_code, result.stdout, result.stderr


def test_edc_study_impact_exit_codes_text_and_json(filled: Db, tmp_path: Path) -> None:
    new, same, broken = tmp_path / "v2.xml", tmp_path / "v1.xml", tmp_path / "bad.xml"
    new.write_bytes(version(new=True))
    same.write_bytes(version(new=False))
    broken.write_bytes(
        version(new=True).replace(b'DataType="integer" Length="10"', b'DataType="numeric"')
    )
    code, out, _err = edc(filled, str(same))
    assert code == 0 and "leaves the stored data valid" in out
    code, out, _err = edc(filled, str(new), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["total"] == 324
    assert report["by_kind"] == {"removed_item": 254, "type": 40, "code": 10, "hard_check": 20}
    assert len(report["problems"]) == 324 and report["forms"][0]["form_oid"] == "F.DM"
    code, out, _err = edc(filled, str(new), "--site", "SITE.1", "--limit", "3")
    assert code == 1 and "SITE.1" in out and "SITE.2" not in out
    assert "34 stored value(s)" in out and "[type]" in out and "(3 of 34)" in out
    code, out, _err = edc(filled, str(new), "--subject", key(7))
    assert code == 1 and "IT.SEX" in out and "IT.SCORE" not in out
    code, _out, err = edc(filled, str(broken))
    assert code == 2 and "has error findings" in err and "Traceback" not in err
    code, _out, err = edc(filled, str(tmp_path / "missing.xml"))
    assert code == 2 and "no such file" in err
    code, _out, err = edc(filled, str(new), "--subject", "nobody")
    assert code == 2 and "no subject 'nobody'" in err
    code, _out, err = edc(filled, str(new), "--study", "S.OTHER")
    assert code == 2 and "S.OTHER" in err

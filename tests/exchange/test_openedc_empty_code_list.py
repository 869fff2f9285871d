"""OpenEDC writes an unfinished code list as a CodeList with no items: the OpenEDC profile
tolerates it (ODM-PROF-002, a warning naming the CodeList); any other file is refused."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from cli import main
from tests.exchange.helpers import vs_study

EMPTY = '<CodeList OID="CL.UNFINISHED" Name="Unfinished list" DataType="text"/>\n'
CLINICAL = (
    '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
    '<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>'
    '<StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">'
    '<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>'
    "</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData>"
)


def _file(tmp: Path, name: str, source_system: str | None, clinical: str = "") -> Path:
    text = (
        vs_study(clinical)
        .decode()
        .replace('<CodeList OID="CL.SEX"', EMPTY + '<CodeList OID="CL.SEX"', 1)
    )
    if source_system is not None:
        text = text.replace(
            'ODMVersion="1.3.2"', f'ODMVersion="1.3.2" SourceSystem="{source_system}"', 1
        )
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _edc(*args: str, db: str = "sqlite://") -> Result:
    return CliRunner().invoke(main, [*args], env={"EDC_DATABASE_URL": db}, catch_exceptions=False)


def _findings(path: Path) -> list[dict[str, object]]:
    result = _edc("validate", "--format", "json", str(path))
    data = json.loads(result.output)
    found = data["findings"] if isinstance(data, dict) else data
    return [f for f in found if f.get("line") and "CL.UNFINISHED" == f.get("oid")]


def test_openedc_empty_code_list_is_a_warning(tmp_path: Path) -> None:
    openedc = _file(tmp_path, "openedc.xml", "OpenEDC")
    result = _edc("validate", str(openedc))
    assert result.exit_code == 0, result.output
    [tolerated] = [f for f in _findings(openedc) if f["code"] == "ODM-PROF-002"]
    assert tolerated["severity"] == "warning"
    assert str(tolerated["message"]).startswith("OpenEDC profile: ")
    assert "empty CodeList" in str(tolerated["message"])


def test_a_generic_file_with_an_empty_code_list_is_refused(tmp_path: Path) -> None:
    generic = _file(tmp_path, "generic.xml", None)
    result = _edc("validate", str(generic))
    assert result.exit_code == 1, result.output
    assert [f["severity"] for f in _findings(generic) if f["code"] == "ODM-XSD-001"] == ["error"]


def test_openedc_data_with_an_empty_code_list_imports(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'edc.db'}"
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(_file(tmp_path, "study.xml", "OpenEDC"))),
        ("user", "add", "dm", "--password", "import-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", "S.1"),
        ("import", str(_file(tmp_path, "data.xml", "OpenEDC", CLINICAL)), "--user", "dm"),
    ):
        result = _edc(*args, db=db)
        assert result.exit_code == 0, (args, result.output)
    out = tmp_path / "out.xml"
    assert _edc("export", "odm", "-o", str(out), db=db).exit_code == 0
    assert 'ItemOID="IT.SEX" Value="F"' in out.read_text(encoding="utf-8")

"""Issue 19: `edc export odm` files that readers other than ours accept: every Signature has an
ID, every OID reference of a `--metadata --admin` export resolves, AdminData is the study's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from cli import main
from odm_engine.clinical import FormKey
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from storage.engine import make_engine, write_transaction
from storage.models import Form, StudyEvent, Subject
from storage.signatures import sign_form

METADATA = Path(__file__).parents[2] / "metadata" / "bortezomib-retreatment.xml"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
SIGNED = FormKey("SE.DCV", "", "F.DM", "")


def _edc(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"EDC_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bortezomib study with the demo data (open queries) and one signed form."""
    url = f"sqlite:///{tmp_path_factory.mktemp('refs') / 'edc.db'}"
    _edc(url, "db", "upgrade")
    _edc(url, "study", "load", str(METADATA))
    seeded = _edc(url, "demo", "seed")
    found = re.search(r"investigator-at01-de01\s+(\S+)", seeded)
    assert found is not None, seeded
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        version = conn.scalar(
            select(Form.version)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .join(Subject, Subject.id == StudyEvent.subject_id)
            .where(Subject.subject_key == "AT01-001", Form.form_oid == "F.DM")
        )
        sign_form(
            conn,
            study="ST.BTZ_RETREAT",
            subject_key="AT01-001",
            form=SIGNED,
            user="investigator-at01-de01",
            password=found.group(1),
            signature_def_oid="SD.INV_CASEBOOK",
            meaning="Reviewed",
            expected_version=int(version or 0),
        )
    engine.dispose()
    return url


def _export(db: str, out: Path, *options: str) -> etree._Element:
    _edc(db, "export", "odm", "-o", str(out), *options)
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert schema().validate(root), schema().error_log
    return root


def _signature_ids(root: etree._Element) -> list[str | None]:
    return [s.get("ID") for s in root.iterfind(".//odm:Signature", NS)]


def test_every_signature_has_a_unique_id_stable_across_exports(db: str, tmp_path: Path) -> None:
    first = _signature_ids(_export(db, tmp_path / "a.xml"))
    second = _signature_ids(_export(db, tmp_path / "b.xml"))
    assert first and None not in first
    assert len(set(first)) == len(first)
    assert first == second


def test_odmlib_loads_the_clinical_data_with_its_signature(db: str, tmp_path: Path) -> None:
    import odmlib.loader as odmlib_loader
    import odmlib.odm_loader as odmlib_odm

    out = tmp_path / "signed.xml"
    _export(db, out)
    loader = odmlib_loader.ODMLoader(odmlib_odm.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(str(out))
    odm = loader.root()  # refused before: "Missing required keyword argument ID in Signature"
    subjects = {s.SubjectKey: s for s in odm.ClinicalData[0].SubjectData}
    form = subjects["AT01-001"].StudyEventData[0].FormData[0]
    assert form.FormOID == "F.DM"
    assert form.Signature.ID.startswith("SIG.")


def _oids(root: etree._Element, element: str) -> set[str]:
    return {el.get("OID") for el in root.iterfind(f".//odm:{element}", NS)}


def _refs(root: etree._Element, element: str, attribute: str) -> set[str]:
    return {el.get(attribute) for el in root.iterfind(f".//odm:{element}", NS)}


def test_admin_export_resolves_every_user_location_and_signature_ref(
    db: str, tmp_path: Path
) -> None:
    root = _export(db, tmp_path / "admin.xml", "--admin", "--metadata")
    source = etree.fromstring(METADATA.read_bytes(), make_parser())
    assert _refs(root, "SignatureRef", "SignatureOID") == {"SD.INV_CASEBOOK"}
    assert _refs(root, "SignatureRef", "SignatureOID") <= _oids(root, "SignatureDef")
    assert _refs(root, "LocationRef", "LocationOID") | _refs(root, "SiteRef", "LocationOID") <= (
        _oids(root, "Location")
    )
    users = _refs(root, "UserRef", "UserOID") | _refs(root, "InvestigatorRef", "UserOID")
    assert users <= _oids(root, "User")
    assert _oids(source, "User") <= _oids(root, "User")  # the investigators of the metadata
    assert _oids(source, "SignatureDef") <= _oids(root, "SignatureDef")
    dates = {
        el.getparent().get("OID"): el.get("EffectiveDate")
        for el in source.iterfind(".//odm:Location/odm:MetaDataVersionRef", NS)
    }
    written = {
        el.getparent().get("OID"): el.get("EffectiveDate")
        for el in root.iterfind(".//odm:Location/odm:MetaDataVersionRef", NS)
    }
    assert written == dates
    pi = root.find(".//odm:User[@OID='U.PI_AT01']", NS)
    assert pi is not None and pi.findtext("odm:FullName", namespaces=NS) == (
        "Principal investigator, site AT01"
    )


def test_query_annotations_name_code_lists_defined_in_the_export(db: str, tmp_path: Path) -> None:
    root = _export(db, tmp_path / "queries.xml", "--metadata")
    assert root.find(".//odm:Annotation/odm:Flag", NS) is not None  # the demo's open queries
    referenced = {el.get("CodeListOID") for el in root.iter() if el.get("CodeListOID")}
    assert {"EDC.QUERY_STATUS", "EDC.FLAG_TYPE"} <= referenced
    assert referenced <= _oids(root, "CodeList")
    statuses = {
        el.get("CodedValue")
        for el in root.iterfind(".//odm:CodeList[@OID='EDC.QUERY_STATUS']/odm:CodeListItem", NS)
    }
    assert _flag_values(root, "FlagValue", "EDC.QUERY_STATUS") <= statuses
    types = {
        el.get("CodedValue")
        for el in root.iterfind(".//odm:CodeList[@OID='EDC.FLAG_TYPE']/odm:CodeListItem", NS)
    }
    assert _flag_values(root, "FlagType", "EDC.FLAG_TYPE") <= types


def _flag_values(root: etree._Element, element: str, code_list: str) -> set[str]:
    return {
        el.text or "" for el in root.iterfind(f".//odm:{element}[@CodeListOID='{code_list}']", NS)
    }


def test_the_flag_code_lists_hold_every_query_and_form_status() -> None:
    from odm_engine.exchange.records import (
        FLAG_CODE_LISTS,
        FORM_STATUS_CODE_LIST,
        QUERY_STATUS_CODE_LIST,
    )
    from storage.vocabulary import FormStatus, QueryStatus

    assert set(FLAG_CODE_LISTS[QUERY_STATUS_CODE_LIST][1]) == {s.value for s in QueryStatus}
    assert set(FLAG_CODE_LISTS[FORM_STATUS_CODE_LIST][1]) == {s.value for s in FormStatus}

"""Issue 19, defect 1: `edc export odm --transactional --audit` carries every audited event in
standard ODM 1.3.2 elements: value changes, a form's creation (FormData Insert), status
changes (SDV, signing), signatures and the whole conversation of each query."""

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
from storage.form_status import set_form_status
from storage.models import Form, Query, StudyEvent, Subject
from storage.queries import transition
from storage.signatures import sign_form
from storage.vocabulary import FormStatus, Role

METADATA = Path(__file__).parents[2] / "metadata" / "bortezomib-retreatment.xml"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
STUDY = "ST.BTZ_RETREAT"
DM = FormKey("SE.DCV", "", "F.DM", "")


def _edc(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"EDC_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def _form_version(conn: object, subject_key: str) -> int:
    return int(
        conn.scalar(  # type: ignore[attr-defined]
            select(Form.version)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .join(Subject, Subject.id == StudyEvent.subject_id)
            .where(Subject.subject_key == subject_key, Form.form_oid == "F.DM")
        )
        or 0
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo data (queries opened by soft checks), one query answered then closed, one
    form source-data verified by a monitor and then signed."""
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'edc.db'}"
    _edc(url, "db", "upgrade")
    _edc(url, "study", "load", str(METADATA))
    seeded = _edc(url, "demo", "seed")
    found = re.search(r"investigator-at01-de01\s+(\S+)", seeded)
    assert found is not None, seeded
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        query_id = conn.scalar(select(Query.id).order_by(Query.id).limit(1))
        assert query_id is not None, "the demo opens queries"
        transition(
            conn, query_id, "answer", text="Checked: correct", user="inv", role="investigator"
        )
        transition(conn, query_id, "close", text="Thanks", user="mon", role="monitor")
        set_form_status(
            conn,
            study=STUDY,
            subject_key="AT01-001",
            form=DM,
            status=FormStatus.VERIFIED,
            user="monitor",
            role=Role.MONITOR,
            expected_version=_form_version(conn, "AT01-001"),
        )
    with write_transaction(engine) as conn:
        sign_form(
            conn,
            study=STUDY,
            subject_key="AT01-001",
            form=DM,
            user="investigator-at01-de01",
            password=found.group(1),
            signature_def_oid="SD.INV_CASEBOOK",
            meaning="Reviewed",
            expected_version=_form_version(conn, "AT01-001"),
        )
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def audit(db: str, tmp_path_factory: pytest.TempPathFactory) -> etree._Element:
    out = tmp_path_factory.mktemp("audit-out") / "audit.xml"
    _edc(db, "export", "odm", "--transactional", "--audit", "--metadata", "-o", str(out))
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert schema().validate(root), schema().error_log
    return root


def _subject(root: etree._Element, key: str) -> list[etree._Element]:
    return list(root.iterfind(f".//odm:SubjectData[@SubjectKey='{key}']", NS))


def test_the_signature_is_in_the_audit_export_with_its_id(audit: etree._Element) -> None:
    signatures = [
        s for sd in _subject(audit, "AT01-001") for s in sd.iterfind(".//odm:Signature", NS)
    ]
    assert len(signatures) == 1
    signature = signatures[0]
    assert re.fullmatch(r"SIG\.\d+", signature.get("ID") or "")
    form = signature.getparent()
    assert form.tag == f"{{{NS['odm']}}}FormData"
    assert (form.get("FormOID"), form.get("TransactionType")) == ("F.DM", "Context")
    assert signature.find("odm:SignatureRef", NS).get("SignatureOID") == "SD.INV_CASEBOOK"


def test_status_changes_are_flags_of_the_form_status_code_list(audit: etree._Element) -> None:
    flags = [
        f.findtext("odm:FlagValue", namespaces=NS)
        for sd in _subject(audit, "AT01-001")
        for f in sd.iterfind(".//odm:FormData/odm:Annotation/odm:Flag", NS)
        if f.find("odm:FlagValue", NS).get("CodeListOID") == "EDC.FORM_STATUS"
    ]
    assert flags[-2:] == ["verified", "signed"]
    coded = {
        el.get("CodedValue")
        for el in audit.iterfind(".//odm:CodeList[@OID='EDC.FORM_STATUS']/odm:CodeListItem", NS)
    }
    assert set(flags) <= coded


def test_every_message_of_a_query_thread_is_exported_in_order(audit: etree._Element) -> None:
    notes = [
        (
            n.get("ID"),
            n.findtext("odm:Comment", namespaces=NS),
            n.findtext("odm:Flag/odm:FlagValue", namespaces=NS),
            n.getparent().get("TransactionType"),
            n.getparent().find("odm:AuditRecord", NS) is not None,
        )
        for n in audit.iterfind(".//odm:ItemData/odm:Annotation", NS)
    ]
    first = [n for n in notes if n[0] and n[0].startswith("Q.1.")]
    assert [(n[0], n[2]) for n in first] == [
        ("Q.1.1", "open"),
        ("Q.1.2", "answered"),
        ("Q.1.3", "closed"),
    ]
    assert first[1][1] == "Checked: correct"
    assert all(n[3] == "Context" and n[4] for n in first)
    referenced = {el.get("CodeListOID") for el in audit.iter() if el.get("CodeListOID")}
    assert referenced <= {el.get("OID") for el in audit.iterfind(".//odm:CodeList", NS)}


def test_a_context_item_carries_no_value(audit: etree._Element) -> None:
    for item in audit.iterfind(".//odm:ItemData[@TransactionType='Context']", NS):
        assert item.get("Value") is None and item.get("IsNull") is None


def test_a_forms_first_save_is_its_formdata_insert(audit: etree._Element) -> None:
    forms = [
        (f.get("FormOID"), f.get("TransactionType"))
        for sd in _subject(audit, "AT01-001")
        for f in sd.iterfind(".//odm:FormData", NS)
    ]
    assert ("F.DM", "Insert") in forms
    assert forms.index(("F.DM", "Insert")) < forms.index(("F.DM", "Context"))


def test_since_leaves_out_older_history(db: str, tmp_path: Path) -> None:
    out = tmp_path / "later.xml"
    _edc(db, "export", "odm", "--transactional", "--audit", "--since", "2999-01-01", "-o", str(out))
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert root.find(".//odm:Signature", NS) is None
    assert root.find(".//odm:Annotation", NS) is None


@pytest.mark.parametrize(("since", "exported"), [("2000-01-01", True), ("2999-01-01", False)])
def test_since_narrows_a_snapshot_to_changed_subjects(
    db: str, tmp_path: Path, since: str, exported: bool
) -> None:
    out = tmp_path / "snapshot.xml"
    _edc(db, "export", "odm", "--transactional", "--since", since, "-o", str(out))
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert (_subject(root, "AT01-001") != []) is exported

"""The streaming ODM 1.3.2 writer (renderers.odm): XSD-valid output, values preserved."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.clinical import ItemKey
from odm_engine.exchange import (
    Annotation,
    AuditRecord,
    Flag,
    FormRecord,
    ItemGroupRecord,
    ItemValue,
    Signature,
    StudyEventRecord,
    SubjectRecord,
    read_clinical_data,
)
from odm_engine.loader import load_odm
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from renderers.odm import OdmExportOptions, write_odm
from tests.exchange.helpers import vs_study
from tests.exchange.test_reader import _clinical_files

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def _subject(key: str = "001") -> SubjectRecord:
    audit = AuditRecord(
        user_oid="U.1",
        location_oid="LOC.1",
        date_time_stamp="2026-01-02T10:00:00Z",
        reason_for_change="typo",
        source_id="import:F.1",
    )
    base = ("SE.BASE", "", "F.DM", "", "IG.DM", "")
    items = (
        ItemValue(key=ItemKey(*base, "IT.SEX"), value="F", transaction_type="Insert", audit=audit),
        ItemValue(key=ItemKey(*base, "IT.HEIGHT"), value="172.5", unit_oid="MU.CM"),
        ItemValue(
            key=ItemKey(*base, "IT.WEIGHT"),
            is_null=True,
            transaction_type="Update",
            annotations=(
                Annotation(comment="Weight missing?", flags=(Flag(value="open", type="query"),)),
            ),
        ),
    )
    form = FormRecord(
        form_oid="F.DM",
        groups=(ItemGroupRecord(item_group_oid="IG.DM", items=items),),
        signature=Signature(
            user_oid="U.1", signature_oid="SD.1", date_time_stamp="2026-01-03T00:00:00Z"
        ),
    )
    return SubjectRecord(
        study_oid="S.1",
        metadata_version_oid="MDV.1",
        subject_key=key,
        site_oid="LOC.1",
        events=(StudyEventRecord(study_event_oid="SE.BASE", forms=(form,)),),
    )


def _write(file_type: str, **kwargs: object) -> etree._Element:
    buf = io.BytesIO()
    options = OdmExportOptions(
        file_oid="EXPORT.1", file_type=file_type, creation_datetime="2026-01-05T00:00:00Z"
    )
    write_odm(buf, [_subject("001"), _subject("002")], options, **kwargs)  # type: ignore[arg-type]
    return etree.fromstring(buf.getvalue(), make_parser())


@pytest.mark.parametrize("file_type", ["Snapshot", "Transactional"])
def test_output_with_metadata_and_admin_data_passes_the_odm_132_schema(file_type: str) -> None:
    """ODM 1.3.2 XSD: child order, required AuditRecord/Signature parts, TransactionType."""
    source = vs_study()
    loaded = load_odm(source)
    assert loaded.odm is not None
    root = _write(file_type, metadata=source, admin=loaded.odm.admin_data[0])
    assert schema().validate(root), schema().error_log
    assert root.xpath("count(//odm:ItemDef)", namespaces=NS) == 9
    assert root.xpath("//odm:AdminData/odm:Location/@OID", namespaces=NS) == ["LOC.1", "LOC.2"]


def test_transactional_file_carries_transaction_types_and_audit_records() -> None:
    root = _write("Transactional")
    sex = root.xpath("//odm:ItemData[@ItemOID='IT.SEX']", namespaces=NS)[0]
    assert (sex.get("TransactionType"), sex.get("Value")) == ("Insert", "F")
    audit = sex.find("odm:AuditRecord", NS)
    assert audit.find("odm:UserRef", NS).get("UserOID") == "U.1"
    assert audit.find("odm:ReasonForChange", NS).text == "typo"
    assert audit.find("odm:SourceID", NS).text == "import:F.1"
    form = root.xpath("//odm:FormData", namespaces=NS)[0]
    assert form.get("TransactionType") == "Context"
    assert form.find("odm:Signature/odm:SignatureRef", NS).get("SignatureOID") == "SD.1"
    weight = root.xpath("//odm:ItemData[@ItemOID='IT.WEIGHT']", namespaces=NS)[0]
    assert weight.get("IsNull") == "Yes" and weight.get("Value") is None
    assert weight.find("odm:Annotation/odm:Comment", NS).text == "Weight missing?"


def test_snapshot_has_no_transaction_types() -> None:
    root = _write("Snapshot")
    assert not root.xpath("//@TransactionType")


def test_reader_reads_back_what_the_writer_wrote() -> None:
    buf = io.BytesIO()
    options = OdmExportOptions(file_oid="E", file_type="Transactional")
    write_odm(buf, [_subject()], options)
    (back,) = list(read_clinical_data(buf.getvalue()))
    original = _subject()
    assert [(i.key, i.value, i.is_null) for i in back.items()] == [
        (i.key, i.value, i.is_null) for i in original.items()
    ]
    assert back.events[0].forms[0].signature is not None


def test_corpus_clinical_data_round_trips_through_the_writer(corpus: Path) -> None:
    """Every value of every corpus ClinicalData file, with its key, survives read -> write."""
    for name in _clinical_files(corpus):
        data = (corpus / name).read_bytes()
        subjects = list(read_clinical_data(data, path=name))
        if not subjects:
            continue
        buf = io.BytesIO()
        write_odm(buf, subjects, OdmExportOptions(file_oid="RT", file_type="Transactional"))
        root = etree.fromstring(buf.getvalue(), make_parser())
        assert schema().validate(root), f"{name}: {schema().error_log}"
        back = list(read_clinical_data(buf.getvalue()))
        assert [(s.subject_key, i.key, i.value) for s in back for i in s.items()] == [
            (s.subject_key, i.key, i.value) for s in subjects for i in s.items()
        ], name

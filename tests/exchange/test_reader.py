"""The streaming ClinicalData reader (odm_engine.exchange) and its dialect profiles."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.clinical import ItemKey
from odm_engine.exchange import SubjectRecord, read_clinical_data
from odm_engine.profiles import IMPLICIT_STUDY_EVENT_OID
from odm_engine.safexml import make_parser
from tests.conftest import ODM_NS

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ODM xmlns="{ns}" {extra} FileOID="F.1" FileType="{ft}" ODMVersion="1.3.2" '
    'CreationDateTime="2026-01-01T00:00:00"{attrs}>\n{body}\n</ODM>\n'
)


def clinical(body: str, *, ft: str = "Transactional", extra: str = "", attrs: str = "") -> bytes:
    cd = f'<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">{body}</ClinicalData>'
    return ENVELOPE.format(ns=ODM_NS, extra=extra, ft=ft, attrs=attrs, body=cd).encode()


def read(data: bytes) -> tuple[list[SubjectRecord], list[str]]:
    reader = read_clinical_data(data, path="in.xml")
    subjects = list(reader)
    return subjects, [f.code for f in reader.findings]


AUDIT = (
    '<AuditRecord EditPoint="DataEntry"><UserRef UserOID="U.1"/><LocationRef LocationOID="LOC.1"/>'
    "<DateTimeStamp>2026-01-02T10:00:00Z</DateTimeStamp>"
    "<ReasonForChange>typo</ReasonForChange><SourceID>paper-17</SourceID></AuditRecord>"
)


def test_typed_items_transactions_audit_signature_annotation_isnull() -> None:
    """ODM 1.3.2 §3.1.6: ItemData and typed ItemData*, TransactionType, AuditRecord, IsNull."""
    body = (
        '<SubjectData SubjectKey="001" TransactionType="Upsert">'
        '<SiteRef LocationOID="LOC.1"/>'
        '<StudyEventData StudyEventOID="SE.1" StudyEventRepeatKey="2" TransactionType="Upsert">'
        '<FormData FormOID="F.1" TransactionType="Update">'
        '<Signature><UserRef UserOID="U.9"/><LocationRef LocationOID="LOC.1"/>'
        '<SignatureRef SignatureOID="SD.1"/><DateTimeStamp>2026-01-03T00:00:00Z</DateTimeStamp>'
        "</Signature>"
        '<ItemGroupData ItemGroupOID="IG.1" ItemGroupRepeatKey="3" TransactionType="Upsert">'
        f'<ItemDataInteger ItemOID="IT.AGE" TransactionType="Update">42{AUDIT}</ItemDataInteger>'
        '<ItemData ItemOID="IT.SEX" Value="F"/>'
        '<ItemData ItemOID="IT.WT" IsNull="Yes" TransactionType="Update"/>'
        '<ItemData ItemOID="IT.HT" Value="180"><MeasurementUnitRef MeasurementUnitOID="MU.CM"/>'
        '<Annotation SeqNum="1"><Comment SponsorOrSite="Site">please check</Comment>'
        '<Flag><FlagValue CodeListOID="CL.F">Q</FlagValue></Flag></Annotation></ItemData>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>"
    )
    subjects, codes = read(clinical(body))
    assert codes == ["ODM-PROF-001", "ODM-IMP-022"]
    (subject,) = subjects
    assert (subject.subject_key, subject.site_oid, subject.transaction_type) == (
        "001",
        "LOC.1",
        "Upsert",
    )
    form = subject.events[0].forms[0]
    assert form.transaction_type == "Update"
    assert form.signature is not None and form.signature.signature_oid == "SD.1"
    age, sex, weight, height = subject.items()
    assert age.key == ItemKey("SE.1", "2", "F.1", "", "IG.1", "3", "IT.AGE")
    assert (age.value, age.data_type, age.transaction_type) == ("42", "integer", "Update")
    assert age.audit is not None
    assert (age.audit.user_oid, age.audit.location_oid, age.audit.date_time_stamp) == (
        "U.1",
        "LOC.1",
        "2026-01-02T10:00:00Z",
    )
    assert (age.audit.reason_for_change, age.audit.source_id) == ("typo", "paper-17")
    assert (sex.value, sex.data_type) == ("F", None)
    assert (weight.value, weight.is_null) == (None, True)
    assert height.unit_oid == "MU.CM"
    assert height.annotations[0].comment == "please check"
    assert height.annotations[0].flags[0].value == "Q"
    assert subject.notes[0].key == height.key and subject.notes[0].text == "please check"


def test_vendor_extensions_are_kept_and_reported() -> None:
    extra = 'xmlns:x="urn:example:vendor"'
    body = (
        '<SubjectData SubjectKey="1" x:flag="yes"><StudyEventData StudyEventOID="SE.1">'
        '<FormData FormOID="F.1"><ItemGroupData ItemGroupOID="IG.1">'
        '<ItemData ItemOID="IT.A" Value="1"><x:Note>kept</x:Note></ItemData>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>"
    )
    reader = read_clinical_data(clinical(body, extra=extra))
    (subject,) = list(reader)
    assert subject.ext_attributes == (("{urn:example:vendor}flag", "yes"),)
    (item,) = subject.items()
    assert item.extensions[0].tag == "Note" and b"kept" in item.extensions[0].xml
    messages = [f.message for f in reader.findings if f.code == "ODM-IMP-002"]
    assert messages == [
        "1 Note element(s) of urn:example:vendor kept as vendor extensions: nothing in them "
        "is imported. Map them by hand if their content matters."
    ]


def test_redcap_formdata_under_subjectdata_goes_to_the_implicit_event() -> None:
    """REDCap profile: FormData directly under SubjectData (not allowed by ODM 1.3.2)."""
    body = (
        '<SubjectData SubjectKey="1001" redcap:RecordIdField="record_id">'
        '<FormData FormOID="Form.demo" FormRepeatKey="1">'
        '<ItemGroupData ItemGroupOID="demo.record_id" ItemGroupRepeatKey="1">'
        '<ItemData ItemOID="color___2" Value="1"/></ItemGroupData></FormData></SubjectData>'
    )
    reader = read_clinical_data(
        clinical(body, ft="Snapshot", extra='xmlns:redcap="https://projectredcap.org"'),
        path="rc.xml",
    )
    (subject,) = list(reader)
    (item,) = subject.items()
    assert item.key == ItemKey(
        IMPLICIT_STUDY_EVENT_OID, "", "Form.demo", "1", "demo.record_id", "1", "color___2"
    )
    assert reader.profile.name == "REDCap"
    assert [f.format() for f in reader.findings if f.code == "ODM-IMP-001"] == [
        "rc.xml: ODM-IMP-001 warning: 1 FormData element(s) sit directly under SubjectData, "
        "which ODM 1.3.2 does not allow; profile REDCap reads them into study event "
        '"SE.IMPLICIT". Put FormData inside StudyEventData to choose the event yourself.'
    ]


def test_openclinica_audit_logs_and_discrepancy_notes_are_mapped() -> None:
    oc = 'xmlns:OpenClinica="http://www.openclinica.org/ns/odm_ext_v130/v3.1"'
    body = (
        '<SubjectData SubjectKey="SS_1" OpenClinica:StudySubjectID="1">'
        '<StudyEventData StudyEventOID="SE_1"><FormData FormOID="F_V10">'
        '<ItemGroupData ItemGroupOID="IG_1"><ItemData ItemOID="I_PULSE" Value="59">'
        '<OpenClinica:DiscrepancyNotes EntityID="I_PULSE">'
        '<OpenClinica:DiscrepancyNote ID="DN_7" Status="New" DateUpdated="2011-07-06">'
        "<OpenClinica:ChildNote><OpenClinica:Description>Pulse taken twice"
        '</OpenClinica:Description><UserRef UserOID="USR_2"/></OpenClinica:ChildNote>'
        "</OpenClinica:DiscrepancyNote></OpenClinica:DiscrepancyNotes></ItemData>"
        '</ItemGroupData><OpenClinica:AuditLogs EntityID="F_V10">'
        '<OpenClinica:AuditLog ID="AL_1" UserID="USR_2" DateTimeStamp="2011-07-06T15:33:51" '
        'Type="Event CRF marked complete" OldValue="available" NewValue="unavailable"/>'
        "</OpenClinica:AuditLogs></FormData></StudyEventData></SubjectData>"
    )
    reader = read_clinical_data(clinical(body, ft="Snapshot", extra=oc))
    (subject,) = list(reader)
    assert reader.profile.name == "OpenClinica 3"
    (audit,) = subject.vendor_audit
    assert (audit.entity, audit.user, audit.action) == (
        "F_V10",
        "USR_2",
        "Event CRF marked complete",
    )
    (note,) = subject.notes
    assert note.key is not None and note.key.item_oid == "I_PULSE"
    assert (note.text, note.status, note.author) == ("Pulse taken twice", "New", "USR_2")
    assert "ODM-IMP-008" in [f.code for f in reader.findings]


def test_doctype_is_refused_before_parsing() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE ODM [<!ENTITY x "y">]>\n<ODM/>'
    subjects, codes = read(data)
    assert subjects == [] and codes == ["ODM-XML-002"]


def test_missing_subject_key_is_a_located_error() -> None:
    body = '<SubjectData><StudyEventData StudyEventOID="SE.1"/></SubjectData>'
    reader = read_clinical_data(clinical(body), path="x.xml")
    assert list(reader) == []
    (problem,) = [f for f in reader.findings if f.code == "ODM-IMP-006"]
    assert problem.format() == (
        "x.xml:3: ODM-IMP-006 error: SubjectData has no SubjectKey; it and everything in it "
        "is skipped. Add the SubjectKey attribute."
    )


def test_sha256_of_the_bytes_read() -> None:
    import hashlib

    data = clinical('<SubjectData SubjectKey="1"/>')
    reader = read_clinical_data(data)
    list(reader)
    assert reader.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.header.file_oid == "F.1" and reader.header.transactional


# -- the shared corpus ------------------------------------------------------------------


def _clinical_files(corpus: Path) -> list[str]:
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r["path"] for r in rows if r["kind"] in ("clinicaldata", "both")]


def _oracle(data: bytes) -> Counter[tuple[str, ...]]:
    """Every ItemData value with its full key, found by plain XPath over the whole tree."""
    root = etree.fromstring(data, make_parser())
    out: Counter[tuple[str, ...]] = Counter()
    for item in root.iter():
        if not isinstance(item.tag, str) or not etree.QName(item).localname.startswith("ItemData"):
            continue
        chain = [item]
        while chain[-1].getparent() is not None:
            chain.append(chain[-1].getparent())
        names = [etree.QName(e).localname for e in chain[:5]]
        if names[1:4] != ["ItemGroupData", "FormData", "StudyEventData"] and names[1:4] != [
            "ItemGroupData",
            "FormData",
            "SubjectData",
        ]:
            continue
        group, form, event = chain[1], chain[2], chain[3]
        subject = chain[4] if names[3] == "StudyEventData" else event
        if not item.get("ItemOID") or not group.get("ItemGroupOID"):
            continue
        implicit = names[3] == "SubjectData"
        typed = etree.QName(item).localname != "ItemData"
        value = None if item.get("IsNull") == "Yes" else (item.text if typed else item.get("Value"))
        out[
            (
                subject.get("SubjectKey", ""),
                IMPLICIT_STUDY_EVENT_OID if implicit else event.get("StudyEventOID", ""),
                "" if implicit else event.get("StudyEventRepeatKey", ""),
                form.get("FormOID", ""),
                form.get("FormRepeatKey", ""),
                group.get("ItemGroupOID", ""),
                group.get("ItemGroupRepeatKey", ""),
                item.get("ItemOID", ""),
                str(value),
            )
        ] += 1
    return out


def test_every_clinical_file_of_the_corpus_reads_with_every_value_and_key(corpus: Path) -> None:
    """Acceptance: REDCap, OpenClinica, Rave, OpenEDC, odmlib files, no traceback, all values."""
    files = _clinical_files(corpus)
    assert len(files) >= 8
    for name in files:
        data = (corpus / name).read_bytes()
        reader = read_clinical_data(data, path=name)
        got: Counter[tuple[str, ...]] = Counter()
        for subject in reader:
            for item in subject.items():
                k = item.key
                got[
                    (
                        subject.subject_key,
                        k.study_event_oid,
                        k.study_event_repeat_key,
                        k.form_oid,
                        k.form_repeat_key,
                        k.item_group_oid,
                        k.item_group_repeat_key,
                        k.item_oid,
                        str(item.value),
                    )
                ] += 1
        if any(f.code in ("ODM-XML-002", "ODM-IMP-003") for f in reader.findings):
            continue  # refused on purpose (DOCTYPE, ODM 2.0), with the finding saying so
        expected = _oracle(data)
        missing = expected - got
        assert not missing, (
            f"{name}: {sum(missing.values())} values lost, e.g. {next(iter(missing))}"
        )


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("redcap/redcap-repeating-forms.xml", "REDCap"),
        ("openclinica/openclinica3-extract-multisite.xml", "OpenClinica 3"),
        ("medidata_rave/rave-clinicaldata-double-byte.xml", "Medidata Rave"),
        ("openedc/openedc-example-clinicaldata.xml", "OpenEDC"),
        ("odmlib/odmlib-odm-data-snapshot.xml", "ODM 1.3.2"),
    ],
)
def test_profile_is_chosen_from_the_file(corpus: Path, name: str, profile: str) -> None:
    reader = read_clinical_data((corpus / name).read_bytes(), path=name)
    subjects = list(reader)
    assert subjects
    assert reader.profile.name == profile
    assert any(f.code == "ODM-PROF-001" and profile in f.message for f in reader.findings)


def test_redcap_empty_item_group_oid_is_resolved_from_metadata(corpus: Path) -> None:
    name = "redcap/redcap-repeating-forms.xml"
    reader = read_clinical_data((corpus / name).read_bytes(), path=name)
    subject = next(s for s in list(reader) if s.subject_key == "1019")
    keys = {i.key.item_oid: i.key.item_group_oid for i in subject.items()}
    assert keys["last_name"] == "registration.first_name"
    assert any(f.code == "ODM-IMP-010" for f in reader.findings)

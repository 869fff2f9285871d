"""The plain-SubjectData fast path (``odm_engine.exchange.plain``) held equal to its reference,
``SubjectParser.subject`` (issue 20): the same record for every plain SubjectData, None (the
reference reads it) for anything else, and the same records through the whole reader."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from odm_engine.exchange import read_clinical_data
from odm_engine.exchange.plain import PlainSubjects
from odm_engine.exchange.subject import SubjectParser
from odm_engine.profiles import GENERIC
from tests.conftest import ODM_NS
from tests.exchange.test_reader import clinical

OID = st.sampled_from(["A", "B.1", "C_2"])
REPEAT = st.sampled_from([None, "", "1", "2"])
ODD = st.sampled_from(
    [
        None,
        ' TransactionType="Insert"',
        ' xmlns:v="urn:vendor" v:x="1"',
        "<!-- a comment -->",
        '<AuditRecord><UserRef UserOID="U.1"/></AuditRecord>',
        '<Annotation SeqNum="1"><Comment>note</Comment></Annotation>',
        '<v:Extra xmlns:v="urn:vendor"/>',
    ]
)
"""Something a plain SubjectData does not hold: an attribute or a child element."""


def _attrs(oid_name: str, oid: str, repeat_name: str, repeat: str | None) -> str:
    text = f' {oid_name}="{oid}"'
    return text + (f' {repeat_name}="{repeat}"' if repeat is not None else "")


@st.composite
def subject_xml(draw: st.DrawFn) -> tuple[str, bool]:
    """(a SubjectData, whether it is plain: the fast path reads it; an ItemGroupData without
    ItemData is left to the reference)."""
    odd = draw(st.lists(st.tuples(st.integers(0, 4), ODD), max_size=2))
    where = {level: text for level, text in odd if text is not None}

    placed: list[str] = []

    def extra(level: int) -> tuple[str, str]:
        text = where.get(level, "")
        placed.append(text)
        return (text, "") if text.startswith(" ") else ("", text)

    parts = []
    empty_group = False
    for event in draw(st.lists(st.tuples(OID, REPEAT), max_size=2)):
        attr, child = extra(1)
        parts.append(
            "<StudyEventData"
            + _attrs("StudyEventOID", event[0], "StudyEventRepeatKey", event[1])
            + f"{attr}>{child}"
        )
        for form in draw(st.lists(st.tuples(OID, REPEAT), min_size=0, max_size=2)):
            attr, child = extra(2)
            parts.append(
                f"<FormData{_attrs('FormOID', form[0], 'FormRepeatKey', form[1])}{attr}>{child}"
            )
            for group in draw(st.lists(st.tuples(OID, REPEAT), max_size=2)):
                attr, child = extra(3)
                parts.append(
                    "<ItemGroupData"
                    + _attrs("ItemGroupOID", group[0], "ItemGroupRepeatKey", group[1])
                    + f"{attr}>{child}"
                )
                items = draw(st.lists(st.tuples(OID, st.text('ab1 <&"', max_size=3)), max_size=10))
                empty_group = empty_group or not items
                for item, value in items:
                    escaped = (
                        value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
                    )
                    attr, child = extra(4)
                    parts.append(
                        f'<ItemData ItemOID="{item}" Value="{escaped}"{attr}>{child}</ItemData>'
                    )
                parts.append("</ItemGroupData>")
            parts.append("</FormData>")
        parts.append("</StudyEventData>")
    site = draw(
        st.sampled_from(["", '<SiteRef LocationOID="LOC.1"/>', '<SiteRef LocationOID="-"/>'])
    )
    attr, child = extra(0)
    key = draw(st.sampled_from(["001", ""]))
    xml = f'<SubjectData SubjectKey="{key}"{attr}>{site}{child}{"".join(parts)}</SubjectData>'
    return xml, not any(placed) and key != "" and not empty_group  # fmt: skip


def _element(xml: str) -> etree._Element:
    return etree.fromstring(f'<ClinicalData xmlns="{ODM_NS}">{xml}</ClinicalData>')[0]


@settings(max_examples=300, deadline=None)
@given(case=subject_xml())
def test_a_plain_subject_reads_as_the_reference_reads_it(case: tuple[str, bool]) -> None:
    xml, plain = case
    reference = SubjectParser(ODM_NS, GENERIC, "in.xml").subject(_element(xml), "S.1", "MDV.1", 0)
    fast = PlainSubjects(SubjectParser(ODM_NS, GENERIC, "in.xml")).subject(
        _element(xml), "S.1", "MDV.1", 0
    )
    assert (fast is not None) == plain
    if fast is not None:
        assert fast == reference


def test_the_reader_gives_the_same_records_with_and_without_the_fast_path() -> None:
    """A file mixing plain and other SubjectData: plain ones by the fast path, the records
    equal to the reference's, in file order."""
    plain = (
        '<SubjectData SubjectKey="{k}"><SiteRef LocationOID="LOC.1"/>'
        '<StudyEventData StudyEventOID="SE.1"><FormData FormOID="F.1" FormRepeatKey="2">'
        '<ItemGroupData ItemGroupOID="IG.1"><ItemData ItemOID="IT.A" Value="{k}"/>'
        '<ItemData ItemOID="IT.B" Value="x &amp; y"/></ItemGroupData></FormData>'
        "</StudyEventData></SubjectData>"
    )
    odd = plain.replace("<SiteRef", '<AuditRecord><UserRef UserOID="U"/></AuditRecord><SiteRef')
    body = "".join((odd if n % 3 == 0 else plain).format(k=f"{n:03d}") for n in range(9))
    records = list(read_clinical_data(clinical(body), path="in.xml"))
    assert [r.subject_key for r in records] == [f"{n:03d}" for n in range(9)]
    parser = SubjectParser(ODM_NS, GENERIC, "in.xml")
    root = etree.fromstring(clinical(body))
    for record, el in zip(records, root.iter(f"{{{ODM_NS}}}SubjectData"), strict=True):
        assert record == parser.subject(el, "S.1", "MDV.1", 0)
        if record.audit is None:
            assert PlainSubjects(parser).subject(el, "S.1", "MDV.1", 0) == record

"""A migration recomputes the derivations of its target version (issue 17): ODM 1.3.2
§3.1.4.5 MethodDef Type="Computation", evaluated for each moved subject on its values as the
migration rewrites them; a derived value set or changed is written with an audit row of the
migration (source ``migrate:N:derived``), an unchanged one is not. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from odm_engine.loader import load_odm
from odm_engine.profiles import normalise
from storage.engine import write_transaction
from storage.impact import impact
from storage.studies import load_study
from storage.subjects import form_state
from storage.versions import migrate_subjects
from tests.storage.conftest import MANAGER, STUDY_BODY, study_xml
from tests.storage.helpers import DM, audit_of, dump, save

INITIALS_DEF = '<ItemDef OID="IT.INITIALS" Name="INITIALS" DataType="text" Length="3">'
WEIGHT_REF = '<ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="4"/>'


def derived_version(mdv_oid: str, plus: int) -> bytes:
    """IT.INITIALS retyped integer and IT.NEXT = IT.INITIALS + ``plus`` derived on F.DM."""
    body = STUDY_BODY.replace(INITIALS_DEF, INITIALS_DEF.replace('"text"', '"integer"'))
    body = body.replace(
        WEIGHT_REF,
        WEIGHT_REF
        + '<ItemRef ItemOID="IT.NEXT" Mandatory="No" OrderNumber="5" MethodOID="M.NEXT"/>',
    )
    body = body.replace(
        '<ItemDef OID="IT.INITIALS"',
        '<ItemDef OID="IT.NEXT" Name="NEXT" DataType="integer" Length="4"/>'
        '<ItemDef OID="IT.INITIALS"',
    )
    body += (
        '<MethodDef OID="M.NEXT" Name="Next" Type="Computation"><Description>'
        f'<TranslatedText xml:lang="en">Initials plus {plus}</TranslatedText></Description>'
        f'<FormalExpression Context="OEL">IT.INITIALS + {plus}</FormalExpression></MethodDef>'
    )
    return study_xml(body, mdv_oid=mdv_oid)


def _publish(engine: Engine, xml: bytes) -> None:
    with write_transaction(engine) as conn:
        result = load_study(conn, xml, path="v.xml", publish=True, reason="Amendment")
        assert result.published, [f.format() for f in result.findings]


def _migrate(engine: Engine, to: int, *, dry_run: bool = False) -> object:
    with write_transaction(engine) as conn:
        return migrate_subjects(conn, "S.1", to, dry_run=dry_run, user=MANAGER, reason="Amend")


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return form_state(conn, "S.1", "001", DM).version


def test_migration_derives_on_rewritten_values_audits_and_skips_unchanged(
    study: Engine,
) -> None:
    save(study, {("IG.DM", "", "IT.INITIALS"): "042", ("IG.DM", "", "IT.AGE"): "40"})
    _publish(study, derived_version("MDV.2", 1))
    before, version = dump(study), _version(study)
    dry = _migrate(study, 2, dry_run=True)
    assert dump(study) == before
    assert [(d.subject_key, d.key.item_oid, d.old, d.new) for d in dry.derived] == [  # type: ignore[attr-defined]
        ("001", "IT.NEXT", None, "43")
    ]  # read from '042' as rewritten ('42'), not as stored
    report = _migrate(study, 2)
    assert report.derived == dry.derived  # type: ignore[attr-defined]
    assert _version(study) == version + 1  # one count up for the rewrite and the derivation
    (row,) = audit_of(study, "001", "IT.NEXT")
    assert (row.transaction_type, row.old_value, row.new_value) == ("Insert", None, "43")
    assert (row.source, row.reason, row.username) == ("migrate:2:derived", "Amend", MANAGER)
    assert row.form_version == version + 1
    _publish(study, derived_version("MDV.3", 2))  # a changed MethodDef: the value changes
    assert [(d.old, d.new) for d in _migrate(study, 3).derived] == [("43", "44")]  # type: ignore[attr-defined]
    trail = audit_of(study, "001", "IT.NEXT")
    assert [(e.transaction_type, e.new_value, e.source) for e in trail] == [
        ("Insert", "43", "migrate:2:derived"),
        ("Update", "44", "migrate:3:derived"),
    ]
    _publish(study, derived_version("MDV.4", 2).replace(b"Initials plus 2", b"Initials + 2"))
    version = _version(study)
    assert _migrate(study, 4).derived == ()  # type: ignore[attr-defined]
    assert _version(study) == version  # nothing derived differs: the form is not written
    assert len(audit_of(study, "001", "IT.NEXT")) == 2


def test_migration_leaves_a_derived_item_the_target_hides(study: Engine) -> None:
    """A derived item whose ItemRef the target's condition hides for the subject (ODM
    CollectionExceptionConditionOID) gets no value at the move; the move and its canonical
    rewrite still happen."""
    save(study, {("IG.DM", "", "IT.INITIALS"): "042", ("IG.DM", "", "IT.AGE"): "40"})
    xml = derived_version("MDV.2", 1).replace(
        b'MethodOID="M.NEXT"/>', b'MethodOID="M.NEXT" CollectionExceptionConditionOID="C.OLDER"/>'
    )
    xml = xml.replace(
        b'<MethodDef OID="M.NEXT"',
        b'<ConditionDef OID="C.OLDER" Name="Older"><Description><TranslatedText xml:lang="en">'
        b"Older than 30</TranslatedText></Description>"
        b'<FormalExpression Context="OEL">IT.AGE &gt; 30</FormalExpression></ConditionDef>'
        b'<MethodDef OID="M.NEXT"',
    )
    _publish(study, xml)
    report = _migrate(study, 2)
    assert [(r.old, r.new) for r in report.rewritten] == [("042", "42")]  # type: ignore[attr-defined]
    assert report.derived == ()  # type: ignore[attr-defined]
    assert audit_of(study, "001", "IT.NEXT") == []


def test_impact_counts_the_derived_values_a_move_would_write(study: Engine) -> None:
    """The impact report of a version counts the derived values moving to it would set
    (``ImpactReport.derived``); none once the subject has moved and holds them."""
    save(study, {("IG.DM", "", "IT.INITIALS"): "42", ("IG.DM", "", "IT.AGE"): "40"})
    xml = derived_version("MDV.2", 1)
    odm = load_odm(xml).odm
    assert odm is not None and odm.study is not None
    target = normalise(odm).study
    assert target is not None and (mdv := target.metadata_version()) is not None
    with study.connect() as conn:
        assert impact(conn, "S.1", mdv, study=target).derived == 1
    _publish(study, xml)
    assert len(_migrate(study, 2).derived) == 1  # type: ignore[attr-defined]
    with study.connect() as conn:
        assert impact(conn, "S.1", mdv, study=target).derived == 0

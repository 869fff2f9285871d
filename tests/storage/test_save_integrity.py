"""Integrity of the save path (issue 14): skip logic decided on the server, one table of
status moves, and repeat keys only where a definition repeats. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from odm_engine.clinical import FormKey, ItemKey
from storage.bulk import BulkWriter
from storage.engine import write_transaction
from storage.errors import BulkRejectedError, FormNotEditableError
from storage.form_status import TRANSITIONS, next_status, set_form_status
from storage.models import Form, FormStatus, Role
from storage.signatures import SignatureInfo
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from storage.writes import SaveResult
from tests.storage import helpers
from tests.storage.conftest import study_xml
from tests.storage.helpers import audit_of, dump, queries_of, snapshot, state_of

BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.1" Mandatory="Yes"/>
</StudyEventDef>
<FormDef OID="F.1" Name="History" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.A" Mandatory="Yes"/>
  <ItemGroupRef ItemGroupOID="IG.B" Mandatory="No" CollectionExceptionConditionOID="C.NONE"/>
</FormDef>
<ItemGroupDef OID="IG.A" Name="Any" Repeating="No">
  <ItemRef ItemOID="IT.ANY" Mandatory="Yes"/>
  <ItemRef ItemOID="IT.AGE" Mandatory="No" CollectionExceptionConditionOID="C.NONE"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.B" Name="Details" Repeating="No">
  <ItemRef ItemOID="IT.DOSE" Mandatory="No"/>
</ItemGroupDef>
<ItemDef OID="IT.ANY" Name="ANY" DataType="text" Length="1"><CodeListRef CodeListOID="CL.NY"/>
</ItemDef>
<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">
  <RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>18</CheckValue>
    <ErrorMessage><TranslatedText xml:lang="en">Age must be at least 18.</TranslatedText>
    </ErrorMessage></RangeCheck>
</ItemDef>
<ItemDef OID="IT.DOSE" Name="DOSE" DataType="integer" Length="3">
  <RangeCheck Comparator="LE" SoftHard="Hard"><CheckValue>100</CheckValue>
    <ErrorMessage><TranslatedText xml:lang="en">Dose at most 100.</TranslatedText>
    </ErrorMessage></RangeCheck>
</ItemDef>
<CodeList OID="CL.NY" Name="No/Yes" DataType="text">
  <CodeListItem CodedValue="N"><Decode><TranslatedText>No</TranslatedText></Decode>
  </CodeListItem>
  <CodeListItem CodedValue="Y"><Decode><TranslatedText>Yes</TranslatedText></Decode>
  </CodeListItem>
</CodeList>
<ConditionDef OID="C.NONE" Name="None">
  <Description><TranslatedText xml:lang="en">No history</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.ANY = 'N'</FormalExpression>
</ConditionDef>
"""

F1 = FormKey("SE.1", "", "F.1", "")
IVY, MONA, DAN = "ivy", "mona", "dan"
PASSWORD = "correct horse battery"


@pytest.fixture
def hist(engine: Engine) -> Engine:
    """The study above, ivy (investigator), mona (monitor), dan (data manager), subject 001."""
    with write_transaction(engine) as conn:
        result = load_study(conn, study_xml(BODY), path="study.xml")
        assert result.status == "stored", [f.format() for f in result.findings]
        for name, role in (
            (IVY, Role.INVESTIGATOR),
            (MONA, Role.MONITOR),
            (DAN, Role.DATA_MANAGER),
        ):
            add_user(conn, name, PASSWORD)
            set_role(conn, name, "S.1", role)
        create_subject(
            conn,
            study="S.1",
            subject_key="001",
            site_oid="SITE.1",
            user=IVY,
            role=Role.INVESTIGATOR,
        )
    return engine


def save(
    engine: Engine,
    values: dict[tuple[str, str, str], str | None],
    *,
    version: int,
    reason: str | None = None,
    complete: bool = False,
    user: str = IVY,
    role: Role = Role.INVESTIGATOR,
) -> SaveResult:
    return helpers.save(
        engine,
        values,
        version=version,
        reason=reason,
        form=F1,
        user=user,
        role=role,
        complete=complete,
    )


def _sign(engine: Engine, *, version: int) -> SignatureInfo:
    return helpers.sign(
        engine,
        version=version,
        form=F1,
        user=IVY,
        password=PASSWORD,
        signature_def_oid="SD.1",
        meaning="Approved",
    )


def key(group: str, item: str, repeat: str = "") -> ItemKey:
    return ItemKey("SE.1", "", "F.1", "", group, repeat, item)


def stored(engine: Engine) -> dict[str, str | None]:
    return {k.item_oid: v for k, v in snapshot(engine).values.items()}


def item_audit(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (r.key.item_oid, r.transaction_type, r.old_value, r.new_value)
        for r in audit_of(engine)
        if r.key.item_oid
    ]


# Finding 3: a value posted for an item its condition hides is cleared, never stored.


def test_a_value_posted_for_a_hidden_item_is_not_stored(hist: Engine) -> None:
    """ODM 1.3.2 ItemRef CollectionExceptionConditionOID: IT.AGE is not collected when
    IT.ANY = 'N'; its posted value (failing a hard check) is dropped, not stored."""
    result = save(hist, {("IG.A", "", "IT.ANY"): "N", ("IG.A", "", "IT.AGE"): "5"}, version=0)
    assert result.saved and not result.hard_failures
    assert stored(hist) == {"IT.ANY": "N"}
    assert item_audit(hist) == [("IT.ANY", "Insert", None, "N")]
    assert queries_of(hist) == []


def test_a_group_hidden_by_its_item_group_ref_condition_takes_no_values(hist: Engine) -> None:
    """ItemGroupRef CollectionExceptionConditionOID hides every item of the group."""
    result = save(hist, {("IG.A", "", "IT.ANY"): "N", ("IG.B", "", "IT.DOSE"): "500"}, version=0)
    assert result.saved and not result.hard_failures
    assert stored(hist) == {"IT.ANY": "N"}
    assert [i for i, *_ in item_audit(hist)] == ["IT.ANY"]
    assert queries_of(hist) == []


def test_a_visible_item_still_fails_its_hard_check(hist: Engine) -> None:
    before = dump(hist)
    result = save(hist, {("IG.A", "", "IT.ANY"): "Y", ("IG.A", "", "IT.AGE"): "5"}, version=0)
    assert not result.saved
    assert [r.message for r in result.hard_failures] == ["Age must be at least 18."]
    assert dump(hist) == before


def test_a_stored_value_that_becomes_hidden_is_removed_with_its_audit_row(hist: Engine) -> None:
    save(hist, {("IG.A", "", "IT.ANY"): "Y", ("IG.A", "", "IT.AGE"): "40"}, version=0)
    result = save(
        hist,
        {("IG.A", "", "IT.ANY"): "N", ("IG.A", "", "IT.AGE"): "41"},
        version=1,
        reason="No history",
    )
    assert result.saved and result.form_version == 2
    assert stored(hist) == {"IT.ANY": "N"}
    rows = [r for r in audit_of(hist) if r.key.item_oid == "IT.AGE"]
    assert [(r.transaction_type, r.old_value, r.new_value, r.form_version) for r in rows] == [
        ("Insert", None, "40", 1),
        ("Remove", "40", None, 2),
    ]
    assert rows[-1].reason == "No history"


# Finding 8: status moves follow one table; an unchanged save undoes no verification.


def _status(engine: Engine, target: FormStatus, user: str, role: Role, version: int) -> int:
    with write_transaction(engine) as conn:
        return set_form_status(
            conn,
            study="S.1",
            subject_key="001",
            form=F1,
            status=target,
            user=user,
            role=role,
            expected_version=version,
        )


def test_an_unchanged_complete_save_leaves_a_verified_form_verified(hist: Engine) -> None:
    values = {("IG.A", "", "IT.ANY"): "Y", ("IG.A", "", "IT.AGE"): "40"}
    save(hist, values, version=0)
    assert _status(hist, FormStatus.VERIFIED, MONA, Role.MONITOR, 1) == 2
    before = dump(hist)
    result = save(hist, values, version=2, reason="x", complete=True)
    assert result.saved and result.status is FormStatus.VERIFIED and result.form_version == 2
    assert dump(hist) == before
    assert state_of(hist, F1).status is FormStatus.VERIFIED


def test_an_unchanged_complete_save_leaves_a_signed_form_signed(hist: Engine) -> None:
    values = {("IG.A", "", "IT.ANY"): "N"}
    save(hist, values, version=0)
    _sign(hist, version=1)
    before = dump(hist)
    result = save(hist, values, version=2, reason="x", complete=True)
    assert result.saved and result.status is FormStatus.SIGNED
    assert dump(hist) == before


def test_a_real_change_resets_verification(hist: Engine) -> None:
    save(hist, {("IG.A", "", "IT.ANY"): "Y"}, version=0)
    _status(hist, FormStatus.VERIFIED, MONA, Role.MONITOR, 1)
    result = save(hist, {("IG.A", "", "IT.AGE"): "40"}, version=2, reason="x", complete=True)
    assert result.saved and result.status is FormStatus.COMPLETE
    result = save(hist, {("IG.A", "", "IT.AGE"): "41"}, version=3, reason="y")
    assert result.status is FormStatus.COMPLETE  # a complete form stays complete


def test_a_locked_form_refuses_signature_and_verification(hist: Engine) -> None:
    save(hist, {("IG.A", "", "IT.ANY"): "Y"}, version=0)
    _status(hist, FormStatus.LOCKED, DAN, Role.DATA_MANAGER, 1)
    before = dump(hist)
    with pytest.raises(FormNotEditableError) as caught:
        _sign(hist, version=2)
    assert str(caught.value) == "Form SE.1/F.1 is locked; it cannot be signed."
    with pytest.raises(FormNotEditableError, match="is locked; it cannot be verified"):
        _status(hist, FormStatus.VERIFIED, MONA, Role.MONITOR, 2)
    with pytest.raises(FormNotEditableError, match="is locked"):
        save(hist, {("IG.A", "", "IT.ANY"): "N"}, version=2, reason="x", complete=True)
    assert dump(hist) == before
    assert _status(hist, FormStatus.COMPLETE, DAN, Role.DATA_MANAGER, 2) == 3


def test_the_status_table_names_every_status_and_move() -> None:
    """One table: each move names where it may start; every status is reachable."""
    reached = {t.target for t in TRANSITIONS.values() if t.target is not None}
    assert reached | {FormStatus.NOT_STARTED} == set(FormStatus)
    assert next_status(FormStatus.VERIFIED, "complete", changed=False) is FormStatus.VERIFIED
    assert next_status(FormStatus.SIGNED, "save", changed=True) is FormStatus.IN_PROGRESS
    assert next_status(FormStatus.COMPLETE, "save", changed=True) is FormStatus.COMPLETE
    with pytest.raises(FormNotEditableError):
        next_status(FormStatus.LOCKED, "save", changed=True)
    with pytest.raises(FormNotEditableError):
        next_status(FormStatus.NOT_STARTED, "verify", changed=False)


def test_bulk_import_into_a_verified_form_resets_it_and_a_locked_one_is_refused(
    hist: Engine,
) -> None:
    save(hist, {("IG.A", "", "IT.ANY"): "Y"}, version=0)
    _status(hist, FormStatus.VERIFIED, MONA, Role.MONITOR, 1)
    _import(hist, [(key("IG.A", "IT.AGE"), "40")])
    assert state_of(hist, F1).status is FormStatus.IN_PROGRESS
    with write_transaction(hist) as conn:
        conn.execute(update(Form).values(status=FormStatus.LOCKED.value))
    before = dump(hist)
    with pytest.raises(BulkRejectedError) as caught:
        _import(hist, [(key("IG.A", "IT.AGE"), "41")])
    assert [p.message for p in caught.value.problems] == [
        "Form SE.1/F.1 of subject 001 is locked; it cannot be changed."
    ]
    assert dump(hist) == before


# Finding 10: a repeat key only where the ItemGroupDef repeats.


def _import(engine: Engine, items: list[tuple[ItemKey, str]]) -> None:
    with write_transaction(engine) as conn:
        writer = BulkWriter(
            conn, study="S.1", user=DAN, role=Role.DATA_MANAGER, source="test", reason="import"
        )
        writer.add_subject("001", None, items)
        writer.finish()


def test_a_repeat_key_on_a_non_repeating_group_is_refused(hist: Engine) -> None:
    before = dump(hist)
    result = save(hist, {("IG.A", "5", "IT.ANY"): "Y"}, version=0)
    assert not result.saved
    assert [r.message for r in result.hard_failures] == [
        'ItemGroupDef IG.A does not repeat (Repeating="No"): it takes no '
        'ItemGroupRepeatKey ("5" given). Give its values without one.'
    ]
    assert dump(hist) == before


def test_a_second_instance_of_a_non_repeating_group_is_refused(hist: Engine) -> None:
    """A key of "1" (as OpenClinica and REDCap number every group) names the one instance;
    a second instance beside it is refused."""
    save(hist, {("IG.A", "1", "IT.ANY"): "Y"}, version=0)
    before = dump(hist)
    result = save(hist, {("IG.A", "", "IT.ANY"): "N"}, version=1, reason="x")
    assert not result.saved
    assert [r.message for r in result.hard_failures] == [
        'ItemGroupDef IG.A does not repeat: this form holds it under ItemGroupRepeatKey "1" '
        "already. Give its values under that key."
    ]
    assert dump(hist) == before


def test_bulk_import_refuses_a_repeat_key_on_a_non_repeating_group(hist: Engine) -> None:
    before = dump(hist)
    with pytest.raises(BulkRejectedError) as caught:
        _import(hist, [(key("IG.A", "IT.ANY", "5"), "Y")])
    assert [(p.kind, p.message) for p in caught.value.problems] == [
        (
            "repeat",
            'ItemGroupDef IG.A does not repeat (Repeating="No"): it takes no '
            'ItemGroupRepeatKey ("5" given). Give its values without one.',
        )
    ]
    assert dump(hist) == before
    _import(hist, [(key("IG.A", "IT.ANY", "1"), "Y")])  # vendor numbering: the one instance
    assert stored(hist) == {"IT.ANY": "Y"}


def test_bulk_import_refuses_a_second_instance_of_a_non_repeating_group(study: Engine) -> None:
    """F.ELIG has no edit checks (the bulk path writes it without the check plan): a file
    giving IG.ELIG both without a key and with key "1", or "1" beside a stored instance,
    would store two rows of a group that does not repeat."""

    def elig(repeat: str) -> ItemKey:
        return ItemKey("SE.SCREEN", "", "F.ELIG", "", "IG.ELIG", repeat, "IT.ELIGIBLE")

    def run(items: list[tuple[ItemKey, str]]) -> None:
        with write_transaction(study) as conn:
            writer = BulkWriter(
                conn, study="S.1", user="dan", role=Role.DATA_MANAGER, source="t", reason="r"
            )
            writer.add_subject("001", None, items)
            writer.finish()

    before = dump(study)
    with pytest.raises(BulkRejectedError) as caught:
        run([(elig(""), "Y"), (elig("1"), "N")])
    assert [p.message for p in caught.value.problems] == [
        'ItemGroupDef IG.ELIG does not repeat: this form holds it under ItemGroupRepeatKey "" '
        "already. Give its values under that key."
    ]
    assert dump(study) == before
    run([(elig(""), "Y")])
    with pytest.raises(BulkRejectedError):
        run([(elig("1"), "N")])
    run([(elig(""), "N")])  # the one instance, changed
    assert {k.item_group_repeat_key: v for k, v in snapshot(study).values.items()} == {"": "N"}

"""The use cases of issue 15 called as a plain caller would, without Flask or click: plain
inputs in, a plain result out, the refusals the adapters translate raised as EdcErrors
(``services.form_status``, ``services.signing``, ``services.metadata``, ``services.entry``).
SQLite and PostgreSQL, through the storage fixtures."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Connection, Engine

from odm_engine.entry_validation import MetadataValidator
from odm_engine.free_text import LIMITS, REASON, TextRefusedError
from services import form_status, signing
from services.entry import Posted, enter_form, form_items, read_entry
from services.metadata import load_metadata
from storage.engine import write_transaction
from storage.errors import AccessDeniedError, ConflictError, FormNotEditableError
from storage.logins import Limits, Outcome
from storage.studies import current_metadata
from storage.subjects import find_subject
from storage.vocabulary import FormStatus, Role
from tests.storage.conftest import INVESTIGATOR, IVY_PASSWORD, MANAGER, MONITOR, study_xml
from tests.storage.helpers import DM, audit_of, dump, failures, save, state_of


def _change(user: str, role: Role, version: int) -> form_status.StatusChange:
    return form_status.StatusChange("S.1", "001", DM, user, role, version, reason="review")


def test_verify_lock_and_unlock_take_plain_inputs_and_return_the_new_version(
    study: Engine,
) -> None:
    save(study, {("IG.DM", "", "IT.AGE"): "42", ("IG.DM", "", "IT.SEX"): "F"}, complete=True)
    with write_transaction(study) as conn:
        assert form_status.verify(conn, _change(MONITOR, Role.MONITOR, 1)) == 2
    assert state_of(study, DM).status is FormStatus.VERIFIED
    with write_transaction(study) as conn, pytest.raises(ConflictError):
        form_status.lock(conn, _change(MANAGER, Role.DATA_MANAGER, 1))
    with write_transaction(study) as conn, pytest.raises(AccessDeniedError):
        form_status.lock(conn, _change(INVESTIGATOR, Role.INVESTIGATOR, 2))
    with write_transaction(study) as conn:
        assert form_status.lock(conn, _change(MANAGER, Role.DATA_MANAGER, 2)) == 3
    with write_transaction(study) as conn, pytest.raises(FormNotEditableError):
        form_status.verify(conn, _change(MONITOR, Role.MONITOR, 3))
    with write_transaction(study) as conn:
        assert form_status.unlock(conn, _change(MANAGER, Role.DATA_MANAGER, 3)) == 4
    assert state_of(study, DM).status is FormStatus.COMPLETE
    moves = [(e.old_value, e.new_value) for e in audit_of(study) if e.transaction_type == "Status"]
    assert moves[-3:] == [("complete", "verified"), ("verified", "locked"), ("locked", "complete")]


def _signer(password: str) -> signing.Signing:
    return signing.Signing(
        INVESTIGATOR, password, Role.INVESTIGATOR, "SD.PI", "I approve", client="192.0.2.7"
    )


def test_sign_checks_the_password_then_signs_every_unsigned_form(study: Engine) -> None:
    save(study, {("IG.DM", "", "IT.AGE"): "42", ("IG.DM", "", "IT.SEX"): "F"}, complete=True)
    with write_transaction(study) as conn:
        subject = find_subject(conn, "S.1", "001")
        forms = signing.forms_to_sign(conn, subject)
        assert forms == [(DM, 1)]
        refused = signing.sign(conn, subject, forms, _signer("Wrong-Password-99"), Limits())
    assert refused.outcome is Outcome.REFUSED
    assert state_of(study, DM).status is FormStatus.COMPLETE
    assert failures(study) == [("signature_failed", INVESTIGATOR, "192.0.2.7")]
    with write_transaction(study) as conn:
        subject = find_subject(conn, "S.1", "001")
        done = signing.sign(conn, subject, forms, _signer(IVY_PASSWORD), Limits())
        assert done.outcome is Outcome.ACCEPTED
        assert signing.forms_to_sign(conn, subject) == []
    assert state_of(study, DM).status is FormStatus.SIGNED


def test_load_metadata_stores_finds_unchanged_and_refuses_another_study(study: Engine) -> None:
    with write_transaction(study) as conn:
        assert load_metadata(conn, study_xml(), path="same.xml", loaded_by="ivy").status == (
            "unchanged"
        )
        other = study_xml().replace(b'OID="S.1"', b'OID="S.2"')
        refused = load_metadata(conn, other, path="other.xml", loaded_by="ivy", study_oid="S.1")
    assert refused.status == "refused"
    with study.connect() as conn:
        assert current_metadata(conn, "S.1").number == 1


def test_enter_form_validates_then_saves_with_its_audit_rows(study: Engine) -> None:
    with study.connect() as conn:
        stored = current_metadata(conn, "S.1")
        subject = find_subject(conn, "S.1", "001")
    items = form_items(stored.mdv, "F.DM")
    validator = MetadataValidator(stored.mdv, stored.odm.study)

    def read() -> AbstractContextManager[Connection]:
        return study.begin()

    def write() -> AbstractContextManager[Connection]:
        return write_transaction(study)

    def enter(fields: list[tuple[str, str]], version: int) -> object:
        posted = read_entry(items, DM, fields)
        assert isinstance(posted, Posted) and not posted.problems
        return enter_form(
            read,
            write,
            subject=subject,
            form_key=DM,
            posted=posted,
            validator=validator,
            user=INVESTIGATOR,
            role=Role.INVESTIGATOR,
            expected_version=version,
            reason=None,
            complete=False,
        )

    refused = enter([("IG.DM[].IT.AGE", "12"), ("IG.DM[].IT.SEX", "F")], 0)
    assert refused.saved is False  # the hard range check: nothing written
    assert state_of(study, DM).version == 0
    saved = enter([("IG.DM[].IT.AGE", "42"), ("IG.DM[].IT.SEX", "F")], 0)
    assert saved.saved is True
    assert sorted(state_of(study, DM).values.values()) == ["42", "F"]
    assert sorted(e.new_value for e in audit_of(study) if e.key.item_oid.startswith("IT.")) == [
        "42",
        "F",
    ]


def test_a_status_change_reason_that_cannot_be_stored_is_refused(study: Engine) -> None:
    """The reason goes on the Status audit row and into the audit export (issue 14,
    finding 1): checked like every other reason, nothing stored."""
    save(study, {("IG.DM", "", "IT.AGE"): "42", ("IG.DM", "", "IT.SEX"): "F"}, complete=True)
    before = dump(study)
    for reason in ("SDV\x01done", "x" * (LIMITS[REASON] + 1)):
        change = form_status.StatusChange("S.1", "001", DM, MONITOR, Role.MONITOR, 1, reason)
        with write_transaction(study) as conn, pytest.raises(TextRefusedError, match="Reason"):
            form_status.verify(conn, change)
        assert dump(study) == before

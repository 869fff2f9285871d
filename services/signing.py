"""Sign a subject's casebook: every form whose current content carries no valid signature
(21 CFR 11.50, 11.200).

The password is checked as a sign-in is (``storage.logins.check_password``: a wrong one counts
towards the same lockout and is logged as ``signature_failed``), then each form is signed with
the version the user saw (``storage.signatures.sign_form``: its own re-check, role check,
optimistic lock and audit row). Everything happens in the caller's one write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from odm_engine.clinical import FormKey
from storage.form_status import TRANSITIONS
from storage.logins import Limits, Outcome, Verdict, check_password
from storage.readers.casebook import signature_states, stored_forms
from storage.signatures import sign_form
from storage.subjects import SubjectRef
from storage.vocabulary import AccessEvent, Role

if TYPE_CHECKING:
    from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class Signing:
    """Who signs, with which password and SignatureDef, from where."""

    user: str
    password: str
    role: Role | str
    signature_def_oid: str
    meaning: str
    client: str
    """The client address, for the access log of a failed attempt."""


def forms_to_sign(conn: Connection, subject: SubjectRef) -> list[tuple[FormKey, int]]:
    """The subject's forms with data whose current content carries no valid signature and
    whose status allows signing: (key, version), in key order."""
    forms = stored_forms(conn, subject.id)
    valid = {k for k, s in signature_states(conn, subject).items() if s.valid}
    return [
        (key, f.version)
        for key, f in sorted(forms.items())
        if key not in valid and f.status in TRANSITIONS["sign"].sources
    ]


def sign(
    conn: Connection,
    subject: SubjectRef,
    forms: list[tuple[FormKey, int]],
    signing: Signing,
    limits: Limits,
) -> Verdict:
    """Check the password (throttled, failures logged), then sign ``forms`` (key, version
    the user saw). The verdict of the password check: forms are signed only when it is
    ACCEPTED. Raises AccessDeniedError (the caller rolls back), ConflictError,
    FormNotEditableError."""
    verdict = check_password(
        conn,
        limits,
        signing.user,
        signing.password,
        client=signing.client,
        event=AccessEvent.SIGNATURE_FAILED,
    )
    for key, version in forms if verdict.outcome is Outcome.ACCEPTED else ():
        sign_form(
            conn,
            study=subject.study_oid,
            subject_key=subject.subject_key,
            form=key,
            user=signing.user,
            password=signing.password,
            role=signing.role,
            signature_def_oid=signing.signature_def_oid,
            meaning=signing.meaning,
            expected_version=version,
        )
    return verdict

"""Electronic signatures of forms (21 CFR 11.50, 11.70, 11.200).

Signing asks for the password again, records who, when, the meaning and the SignatureDef, and
the SHA-256 of exactly what was signed (the form's values in a canonical serialisation), so a
later change is visible: the hash no longer matches and ``save_form`` moves the form back
from ``signed``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from odm_engine.clinical import FormKey
from odm_engine.free_text import MEANING, check_text
from storage.audit import AUDIT
from storage.errors import AccessDeniedError, ConflictError
from storage.form_status import claim_version, next_status, open_form_for_change
from storage.models import Form, Role, StudyEvent
from storage.models import Signature as SignatureRow
from storage.refs import SubjectRef
from storage.subjects import find_subject, snapshot_of, stored_items
from storage.users import authenticate


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    id: int
    username: str
    role: str
    signed_at: datetime
    signature_def_oid: str
    meaning: str
    form_version: int
    content_sha256: str


def form_content_hash(conn: Connection, study: str, subject_key: str, form: FormKey) -> str:
    """SHA-256 of the form's values and null reasons, keyed by ODM path, in key order."""
    return subject_form_hash(conn, find_subject(conn, study, subject_key), form)


def subject_form_hash(conn: Connection, subject: SubjectRef, form: FormKey) -> str:
    """:func:`form_content_hash` of a subject already looked up (its values read, nothing else)."""
    state = snapshot_of(subject, stored_items(conn, subject.id, form))
    content = {
        "study": subject.study_oid,
        "subject": subject.subject_key,
        "form": [
            form.study_event_oid,
            form.study_event_repeat_key,
            form.form_oid,
            form.form_repeat_key,
        ],
        "values": sorted([k.describe(), v] for k, v in state.values.items()),
        "nulls": sorted([k.describe(), v] for k, v in state.null_reasons.items()),
    }
    blob = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def sign_form(
    conn: Connection,
    *,
    study: str,
    subject_key: str,
    form: FormKey,
    user: str,
    password: str,
    role: Role | str = Role.INVESTIGATOR,
    signature_def_oid: str,
    meaning: str,
    expected_version: int,
) -> SignatureInfo:
    """Sign a form as ``user`` (password re-checked). The form must not have changed since
    ``expected_version``; it becomes ``signed`` and an audit row records the signing."""
    check_text(meaning, "Signature meaning", MEANING)  # issue 14: exported as ODM text
    if authenticate(conn, user, password) is None:
        raise AccessDeniedError("Signature refused: wrong user name or password.")
    path = f"{form.study_event_oid}/{form.form_oid}"
    change = open_form_for_change(
        conn,
        study=study,
        subject_key=subject_key,
        form=form,
        move="sign",
        user=user,
        role=role,
        expected_version=expected_version,
        path=path,
        missing=lambda: ConflictError(path, expected_version, 0, []),
    )
    signed = next_status(change.status, "sign", changed=False, form=path)  # locked: refused
    now = datetime.now(UTC)
    digest = subject_form_hash(conn, change.subject, form)
    version = claim_version(conn, change, signed, user=user, now=now)
    role_name = str(Role(role))
    sig_id = conn.execute(
        insert(SignatureRow).values(
            form_id=change.form_id,
            user_id=change.user_id,
            username=user,
            role=role_name,
            signed_at=now,
            signature_def_oid=signature_def_oid,
            meaning=meaning,
            form_version=version,
            content_sha256=digest,
        )
    ).inserted_primary_key[0]
    reason = f"Signed ({signature_def_oid}): {meaning}"
    ctx = change.audit(user=user, role=role, reason=reason, source="signature", now=now)
    conn.execute(insert(AUDIT), [ctx.status_row(form, change.status.value, signed.value, version)])
    return SignatureInfo(
        int(sig_id), user, role_name, now, signature_def_oid, meaning, version, digest
    )


def signatures_of(
    conn: Connection, study: str, subject_key: str, form: FormKey
) -> list[SignatureInfo]:
    subject = find_subject(conn, study, subject_key)
    rows = conn.execute(
        select(SignatureRow.__table__)
        .join(Form, Form.id == SignatureRow.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(
            StudyEvent.subject_id == subject.id,
            StudyEvent.study_event_oid == form.study_event_oid,
            StudyEvent.repeat_key == form.study_event_repeat_key,
            Form.form_oid == form.form_oid,
            Form.repeat_key == form.form_repeat_key,
        )
        .order_by(SignatureRow.id)
    )
    return [
        SignatureInfo(
            r.id,
            r.username,
            r.role,
            r.signed_at,
            r.signature_def_oid,
            r.meaning,
            r.form_version,
            r.content_sha256,
        )
        for r in rows
    ]

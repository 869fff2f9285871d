"""Form status changes that are not saves: source data verification, lock and unlock.

Each change claims the next form version (optimistic lock, like ``save_form``) and writes a
``Status`` audit row in the caller's transaction. A later change of a value moves a verified
form back to ``in_progress`` (``storage.writes.RESET_ON_CHANGE``); a locked form refuses saves.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from odm_engine.clinical import FormKey
from storage.audit import AUDIT, AuditContext
from storage.errors import ConflictError, FormNotEditableError, NotFoundError
from storage.models import Form, FormStatus, Role, StudyEvent
from storage.subjects import find_subject
from storage.users import require_role

STATUS_ROLES: dict[FormStatus, frozenset[Role]] = {
    FormStatus.VERIFIED: frozenset({Role.MONITOR}),
    FormStatus.LOCKED: frozenset({Role.DATA_MANAGER}),
    FormStatus.COMPLETE: frozenset({Role.DATA_MANAGER}),
}
"""Who may set each status here: monitors verify; data managers lock and unlock (complete)."""
ALLOWED_FROM: dict[FormStatus, frozenset[FormStatus]] = {
    FormStatus.VERIFIED: frozenset({FormStatus.IN_PROGRESS, FormStatus.COMPLETE}),
    FormStatus.LOCKED: frozenset(
        {FormStatus.IN_PROGRESS, FormStatus.COMPLETE, FormStatus.VERIFIED, FormStatus.SIGNED}
    ),
    FormStatus.COMPLETE: frozenset({FormStatus.LOCKED}),
}


def set_form_status(
    conn: Connection,
    *,
    study: str,
    subject_key: str,
    form: FormKey,
    status: FormStatus,
    user: str,
    role: Role | str,
    expected_version: int,
    reason: str | None = None,
) -> int:
    """Move a saved form to ``status`` (verified, locked, or complete to unlock); returns the
    new form version. Raises ConflictError (stale version), FormNotEditableError (a status
    that cannot follow the current one), AccessDeniedError, NotFoundError."""
    subject = find_subject(conn, study, subject_key)
    action = {FormStatus.VERIFIED: "verify forms", FormStatus.LOCKED: "lock forms"}
    user_id = require_role(
        conn,
        user,
        role,
        study_id=subject.study_id,
        site_id=subject.site_id,
        allowed=STATUS_ROLES.get(status, frozenset()),
        action=action.get(status, "unlock forms"),
    )
    row = conn.execute(
        select(Form.id, Form.status, Form.version)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(
            StudyEvent.subject_id == subject.id,
            StudyEvent.study_event_oid == form.study_event_oid,
            StudyEvent.repeat_key == form.study_event_repeat_key,
            Form.form_oid == form.form_oid,
            Form.repeat_key == form.form_repeat_key,
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"Form {form.study_event_oid}/{form.form_oid} has no data yet.")
    path = f"{form.study_event_oid}/{form.form_oid}"
    if row.version != expected_version:
        raise ConflictError(path, expected_version, row.version, [])
    current = FormStatus(row.status)
    if current not in ALLOWED_FROM.get(status, frozenset()):
        raise FormNotEditableError(f"Form {path} is {current.value}; it cannot become {status}.")
    now = datetime.now(UTC)
    version = row.version + 1
    done = conn.execute(
        update(Form)
        .where(Form.id == row.id, Form.version == expected_version)
        .values(status=status.value, version=version, updated_at=now, updated_by=user)
    )
    if done.rowcount != 1:
        raise ConflictError(path, expected_version, version, [])
    ctx = AuditContext(
        now,
        user_id,
        user,
        str(Role(role)),
        study,
        subject.site_oid,
        subject.id,
        subject_key,
        reason,
        "web",
    )
    conn.execute(insert(AUDIT), [ctx.status_row(form, current.value, status.value, version)])
    return version

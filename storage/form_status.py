"""Form status: the one table of allowed moves, and the changes that are not saves (source
data verification, lock and unlock).

Every path that changes a form's status asks :func:`next_status`: the web save and
``save_form`` (moves ``save`` and ``complete``), :func:`set_form_status` (``verify``,
``lock``, ``unlock``), ``storage.signatures.sign_form`` (``sign``) and the bulk import
(``import``). Each change claims the next form version (optimistic lock, like ``save_form``)
and writes a ``Status`` audit row in the caller's transaction. docs/data-entry.md shows the
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from odm_engine.clinical import FormKey
from storage.audit import AUDIT, AuditContext
from storage.errors import ConflictError, FormNotEditableError, NotFoundError
from storage.models import Form, FormStatus, Role, StudyEvent
from storage.subjects import find_subject
from storage.users import IMPORT_ROLES, SIGN_ROLES, WRITE_ROLES, require_role

_S = FormStatus
RESET_ON_CHANGE = frozenset({_S.NOT_STARTED, _S.VERIFIED, _S.SIGNED})
"""A change of a value moves a form from these to ``in_progress``: a verification or a
signature covers the data as it was (``complete`` stays ``complete``)."""
_OPEN = frozenset(set(FormStatus) - {_S.LOCKED})
_SAVED = frozenset({_S.IN_PROGRESS, _S.COMPLETE, _S.VERIFIED, _S.SIGNED})


@dataclass(frozen=True, slots=True)
class Transition:
    """One move: the statuses it may start from, where it leads, who may make it."""

    sources: frozenset[FormStatus]
    target: FormStatus
    """The status after the move; for ``save`` and ``import``, the status after a change of
    data from a status in RESET_ON_CHANGE (others are kept)."""
    roles: frozenset[Role]
    verb: str
    """How a refusal says it: "Form X is locked; it cannot be <verb>."."""
    action: str
    """What the role check names ("lock forms")."""


TRANSITIONS: dict[str, Transition] = {
    "save": Transition(_OPEN, _S.IN_PROGRESS, WRITE_ROLES, "changed", "enter or change data"),
    "complete": Transition(
        _OPEN, _S.COMPLETE, WRITE_ROLES, "marked complete", "enter or change data"
    ),
    "import": Transition(_OPEN, _S.IN_PROGRESS, IMPORT_ROLES, "changed", "import data"),
    "verify": Transition(
        frozenset({_S.IN_PROGRESS, _S.COMPLETE}),
        _S.VERIFIED,
        frozenset({Role.MONITOR}),
        "verified",
        "verify forms",
    ),
    "sign": Transition(_SAVED, _S.SIGNED, SIGN_ROLES, "signed", "sign forms"),
    "lock": Transition(_SAVED, _S.LOCKED, frozenset({Role.DATA_MANAGER}), "locked", "lock forms"),
    "unlock": Transition(
        frozenset({_S.LOCKED}),
        _S.COMPLETE,
        frozenset({Role.DATA_MANAGER}),
        "unlocked",
        "unlock forms",
    ),
}
"""Every allowed status move (issue 14). A locked form takes only ``unlock``; ``complete``
on a verified or signed form whose data did not change keeps that status (verification and
signature imply completion): an unchanged save can undo neither."""
STATUS_MOVES = {_S.VERIFIED: "verify", _S.LOCKED: "lock", _S.COMPLETE: "unlock"}
"""The move :func:`set_form_status` makes for each status it can set."""


def next_status(current: FormStatus, move: str, *, changed: bool, form: str = "") -> FormStatus:
    """The status after ``move`` from ``current`` (``changed``: the move changes data).
    Raises FormNotEditableError when the table does not allow the move."""
    transition = TRANSITIONS[move]
    if current not in transition.sources:
        raise FormNotEditableError(
            f"Form {form} is {current.value}; it cannot be {transition.verb}."
        )
    if move in ("save", "import", "complete"):
        after = _S.IN_PROGRESS if changed and current in RESET_ON_CHANGE else current
        if move == "complete" and after not in (_S.VERIFIED, _S.SIGNED):
            return _S.COMPLETE
        return after
    return transition.target


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
    move = STATUS_MOVES.get(status)
    if move is None:
        raise FormNotEditableError(f"A form cannot be set to {status} here.")
    transition = TRANSITIONS[move]
    subject = find_subject(conn, study, subject_key)
    user_id = require_role(
        conn,
        user,
        role,
        study_id=subject.study_id,
        site_id=subject.site_id,
        allowed=transition.roles,
        action=transition.action,
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
    status = next_status(current, move, changed=False, form=path)
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

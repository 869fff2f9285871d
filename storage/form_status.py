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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, insert, update

from odm_engine.clinical import FormKey
from odm_engine.free_text import REASON, check_text
from storage import vocabulary
from storage.audit import AUDIT, AuditContext, history
from storage.errors import ChangeSince, ConflictError, FormNotEditableError, NotFoundError
from storage.models import Form, FormStatus, Role
from storage.prepared import Prepared
from storage.subjects import SubjectRef, find_subject, form_row
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
        vocabulary.VERIFY,
        "verified",
        "verify forms",
    ),
    "sign": Transition(_SAVED, _S.SIGNED, SIGN_ROLES, "signed", "sign forms"),
    "lock": Transition(_SAVED, _S.LOCKED, vocabulary.LOCK, "locked", "lock forms"),
    "unlock": Transition(
        frozenset({_S.LOCKED}),
        _S.COMPLETE,
        vocabulary.LOCK,
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


@dataclass(frozen=True, slots=True)
class FormChange:
    """A form opened for a change by :func:`open_form_for_change`: who may make it, and the
    form as stored when it was opened."""

    subject: SubjectRef
    key: FormKey
    move: str
    """The move of TRANSITIONS being made (``save``, ``verify``, ``sign``...)."""
    user_id: int
    form_id: int | None
    """None: the form was never saved (no row yet)."""
    status: FormStatus
    version: int
    """The stored version, equal to the expected one (0: never saved)."""
    path: str
    """How messages name the form."""
    explain: bool
    """A conflict lists the changes made since the expected version (the save path)."""

    def audit(
        self,
        *,
        user: str,
        role: Role | str,
        reason: str | None,
        source: str,
        now: datetime,
    ) -> AuditContext:
        """The audit context of this change's rows."""
        return AuditContext.for_actor(
            self.subject,
            user_id=self.user_id,
            username=user,
            role=role,
            reason=reason,
            source=source,
            now=now,
        )

    def conflict(self, conn: Connection, current: int) -> ConflictError:
        """The ConflictError of a form found at version ``current`` (not the expected one)."""
        if not self.explain:
            return ConflictError(self.path, self.version, current, [])
        return explained_conflict(conn, self.subject, self.key, self.version, current)


def open_form_for_change(
    conn: Connection,
    *,
    study: str,
    subject_key: str,
    form: FormKey,
    move: str,
    user: str,
    role: Role | str,
    expected_version: int,
    subject: SubjectRef | None = None,
    path: str | None = None,
    explain: bool = False,
    missing: Callable[[], Exception] | None = None,
) -> FormChange:
    """The one preamble of every form change (save, status, signature): find the subject
    (``subject``: just looked up by the caller, not read again), check that ``role`` lets
    ``user`` make ``move`` at the subject's site, read the form's status and version, and
    refuse a stale ``expected_version`` (ConflictError) and a move the status table does not
    allow from the stored status (FormNotEditableError).

    ``path``: how messages name the form (default: event and form OIDs with their repeat
    keys); ``explain``: a conflict lists the changes since ``expected_version``;
    ``missing``: the error raised when the form was never saved (default: it opens at
    version 0, ``not_started``). Raises AccessDeniedError and NotFoundError too.
    """
    transition = TRANSITIONS[move]
    if subject is None or (subject.study_oid, subject.subject_key) != (study, subject_key):
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
    row = form_row(conn, subject.id, form)
    if row is None and missing is not None:
        raise missing()
    form_id, status, version = row if row else (None, FormStatus.NOT_STARTED.value, 0)
    change = FormChange(
        subject,
        form,
        move,
        user_id,
        form_id,
        FormStatus(status),
        expected_version,
        path or form_path(form),
        explain,
    )
    if version != expected_version:
        raise change.conflict(conn, version)
    next_status(change.status, move, changed=False, form=change.path)  # refused: raises
    return change


_CLAIM_VERSION = Prepared(
    update(Form)
    .where(Form.id == bindparam("form_id"), Form.version == bindparam("expected"))
    .values(
        version=bindparam("new_version"),
        status=bindparam("new_status"),
        updated_at=bindparam("now"),
        updated_by=bindparam("user"),
    )
)
"""The optimistic lock of every form change, built once (``storage.prepared``)."""


def claim_version(
    conn: Connection, change: FormChange, status: FormStatus, *, user: str, now: datetime
) -> int:
    """Move the stored form of ``change`` to ``status`` at the next version; returns it.

    The UPDATE ... WHERE version = expected is the optimistic lock: a concurrent change that
    got there first leaves no row to update, and this one becomes a conflict.
    """
    done = _CLAIM_VERSION.execute(
        conn,
        {
            "form_id": change.form_id,
            "expected": change.version,
            "new_version": change.version + 1,
            "new_status": status.value,
            "now": now,
            "user": user,
        },
    )
    if done.rowcount != 1:
        raise change.conflict(conn, change.version + 1)
    return change.version + 1


def explained_conflict(
    conn: Connection, subject: SubjectRef, key: FormKey, expected: int, current: int
) -> ConflictError:
    """A ConflictError naming who changed what in the form since version ``expected``."""
    since = history(
        conn, subject.study_oid, subject.subject_key, form=key, after_form_version=expected
    )
    changes = [
        ChangeSince(
            e.seq,
            e.username,
            e.role,
            e.recorded_at.isoformat(timespec="seconds"),
            e.key.describe() if e.key.item_oid else f"{form_path(key)} status",
            e.old_value,
            e.new_value if e.new_is_null is None else f"(null: {e.new_is_null})",
        )
        for e in since
    ]
    return ConflictError(form_path(key), expected, current, changes)


def form_path(key: FormKey) -> str:
    """``EVENT[key]/FORM[key]`` (a repeat key shown only where there is one)."""

    def part(oid: str, rk: str) -> str:
        return f"{oid}[{rk}]" if rk else oid

    return (
        f"{part(key.study_event_oid, key.study_event_repeat_key)}/"
        f"{part(key.form_oid, key.form_repeat_key)}"
    )


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
    that cannot follow the current one), AccessDeniedError, NotFoundError, TextRefusedError (a
    reason that cannot be stored)."""
    move = STATUS_MOVES.get(status)
    if move is None:
        raise FormNotEditableError(f"A form cannot be set to {status} here.")
    check_text(reason, "Reason for change", REASON)  # the Status audit row's
    path = f"{form.study_event_oid}/{form.form_oid}"
    change = open_form_for_change(
        conn,
        study=study,
        subject_key=subject_key,
        form=form,
        move=move,
        user=user,
        role=role,
        expected_version=expected_version,
        path=path,
        missing=lambda: NotFoundError(f"Form {path} has no data yet."),
    )
    status = next_status(change.status, move, changed=False, form=path)
    now = datetime.now(UTC)
    version = claim_version(conn, change, status, user=user, now=now)
    ctx = change.audit(user=user, role=role, reason=reason, source="web", now=now)
    conn.execute(insert(AUDIT), [ctx.status_row(form, change.status.value, status.value, version)])
    return version

"""Verify, lock and unlock a form: the status changes that are not saves.

Each takes plain inputs and an open write transaction (the adapter's) and returns the form's
new version. The rules (which status may follow which, who may move it, the optimistic lock,
the ``Status`` audit row) are ``storage.form_status``'s one table and its one form-change
transaction (``open_form_for_change``). Raises ConflictError (stale version),
FormNotEditableError (a move the table does not allow), NotFoundError (no data yet),
AccessDeniedError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from odm_engine.clinical import FormKey
from storage.form_status import set_form_status
from storage.vocabulary import FormStatus, Role

if TYPE_CHECKING:
    from sqlalchemy import Connection

TARGETS: dict[str, FormStatus] = {
    "verified": FormStatus.VERIFIED,
    "locked": FormStatus.LOCKED,
    "unlocked": FormStatus.COMPLETE,
}
"""The status changes by name (the web form's ``target``): unlocking leaves ``complete``."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """Who changes the status of which form, from the version they read, and why."""

    study: str
    subject_key: str
    form: FormKey
    user: str
    role: Role | str
    expected_version: int
    reason: str | None = None


def change_status(conn: Connection, target: str, change: StatusChange) -> int:
    """Move the form to the status ``target`` names (see :data:`TARGETS`); the new version.
    KeyError for a name not in TARGETS (the adapter refuses it first)."""
    return set_form_status(
        conn,
        study=change.study,
        subject_key=change.subject_key,
        form=change.form,
        status=TARGETS[target],
        user=change.user,
        role=change.role,
        expected_version=change.expected_version,
        reason=change.reason,
    )


def verify(conn: Connection, change: StatusChange) -> int:
    """Source data verified (a monitor): ``verified``."""
    return change_status(conn, "verified", change)


def lock(conn: Connection, change: StatusChange) -> int:
    """Locked against every change (a data manager)."""
    return change_status(conn, "locked", change)


def unlock(conn: Connection, change: StatusChange) -> int:
    """Unlocked (a data manager): ``complete`` again."""
    return change_status(conn, "unlocked", change)

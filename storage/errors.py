"""Faults the store raises: one base class, each subclass also the matching builtin.

A user's value that fails an edit check is not an exception: it comes back as a check result
in :class:`storage.writes.SaveResult`. These exceptions are for things the caller must handle
differently: a stale form version, a missing reason, a locked form, an unknown subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from odm_engine.errors import EdcError


class StorageError(EdcError):
    """Base of every storage fault."""


class NotFoundError(StorageError, LookupError):
    """A study, subject, site, user or form named by the caller does not exist."""


class AccessDeniedError(StorageError, PermissionError):
    """The user does not hold the role named, or the role may not do this."""


class InvalidInputError(StorageError, ValueError):
    """A name or value the caller gave that the store cannot take (empty, taken already, a
    query in a status that does not allow the action); nothing was written."""


class PolicyError(StorageError, ValueError):
    """A password or a change of access the rules refuse; nothing was written.

    ``code`` names the rule (one of :attr:`CODES`; the web app shows its text in the user's
    language, with ``params``); the message is the English text for the CLI.
    """

    CODES = (
        "too_short",
        "contains_username",
        "common",
        "wrong_current",
        "unchanged",
        "site_scoped_role",
        "admin_only",
        "admin_not_clinical",
        "own_account",
        "not_held",
    )

    def __init__(self, code: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class ReasonRequiredError(StorageError, ValueError):
    """A change after the first save of a form came without a reason for change."""


class FormNotEditableError(StorageError, ValueError):
    """The form is locked, or is not collected for this subject (CollectionException)."""


class MetadataRefusedError(StorageError, ValueError):
    """A metadata version could not be stored; ``findings`` says why."""

    def __init__(self, message: str, findings: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


@dataclass(frozen=True, slots=True)
class ChangeSince:
    """One change made to a form after the version the caller read."""

    seq: int
    username: str
    role: str
    recorded_at: str
    item_path: str
    old_value: str | None
    new_value: str | None


class ConflictError(StorageError, RuntimeError):
    """A save against a stale form version. Nothing was written.

    ``changes`` names who changed what since ``expected_version``.
    """

    def __init__(
        self, form: str, expected_version: int, current_version: int, changes: Sequence[ChangeSince]
    ) -> None:
        self.form = form
        self.expected_version = expected_version
        self.current_version = current_version
        self.changes = tuple(changes)
        who = ", ".join(
            f"{c.username} ({c.role}) set {c.item_path} to {c.new_value!r} at {c.recorded_at}"
            for c in self.changes[:5]
        )
        more = f" and {len(self.changes) - 5} more" if len(self.changes) > 5 else ""
        super().__init__(
            f"Form {form} changed since you opened it (your version {expected_version}, now "
            f"{current_version}): {who or 'status change'}{more}. Nothing was saved; reload the "
            "form and enter your changes again."
        )


class QueryChangedError(StorageError, ValueError):
    """A query's status changed between reading it and writing its change. Nothing was
    written."""


class BulkRejectedError(StorageError, ValueError):
    """An import had problems; nothing is kept once the caller rolls back."""

    def __init__(self, problems: Sequence[object]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} problem(s); nothing was imported.")

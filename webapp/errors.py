"""HTTP faults of the web app: :class:`HttpError` and the status of every other error.

A leaf module (it imports no other ``webapp`` module), so every part of the web app may raise
:class:`HttpError`. Views raise it (or let storage errors through); the one handler in
:mod:`webapp.error_pages` turns each into an HTML page with the status :func:`status_of`
gives. Tracebacks go to the log, never to the user.
"""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from odm_engine.free_text import TextRefusedError
from storage.engine import DatabaseFault, database_fault
from storage.errors import AccessDeniedError, ConflictError, FormNotEditableError, NotFoundError

DATABASE_UNAVAILABLE = (
    "The database could not take the change (it may be full, read-only or restarting); "
    "nothing was saved. Your entries are still in this page's form: go back and submit "
    "again in a moment, or tell the administrator if it persists."
)

CHANGED_MEANWHILE = (
    "Someone else stored the same thing at the same moment; nothing of yours was saved. "
    "Reload the page to see what is stored now."
)
VALUE_REFUSED = (
    "The database refused a value of this request (too long, or a character it cannot "
    "store); nothing was saved. Shorten the text or remove control characters and try again."
)


class HttpError(Exception):
    """A page that cannot be shown to this user: status code and a message for them."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def status_of(exc: Exception) -> tuple[int, str]:
    """The status of the error page for ``exc`` and the message it shows."""
    if isinstance(exc, HttpError):
        return exc.status, exc.message
    if isinstance(exc, HTTPException):
        return exc.code or 500, ""
    if isinstance(exc, NotFoundError):
        return 404, ""
    if isinstance(exc, AccessDeniedError):
        return 403, str(exc)
    if isinstance(exc, ConflictError | FormNotEditableError):
        return 409, str(exc)
    if isinstance(exc, TextRefusedError):  # issue 14: a text XML cannot carry, or too long
        return 422, str(exc)
    fault = database_fault(exc)
    if fault is DatabaseFault.CONFLICT:  # issue 14: lost a race for a unique row
        return 409, CHANGED_MEANWHILE
    if fault is DatabaseFault.REFUSED:  # issue 14: a value the database refused (rolled back)
        return 422, VALUE_REFUSED
    if fault is DatabaseFault.UNAVAILABLE:
        # Fault fix (issue 8): a full disk, a read-only database or a lost database server
        # was a bare 500; the transaction was rolled back, so say so and that it may pass.
        return 503, DATABASE_UNAVAILABLE
    return 500, ""

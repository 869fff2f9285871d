"""HTTP faults of the web app and the one handler that renders every error page.

Views raise :class:`HttpError` (or let storage errors through); the handler turns each into
an HTML page with the right status. Tracebacks go to the log, never to the user.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from odm_engine.free_text import TextRefusedError
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


def not_found(message: str = "") -> HttpError:
    return HttpError(404, message)


def forbidden(message: str = "") -> HttpError:
    return HttpError(403, message)


def _status_of(exc: Exception) -> tuple[int, str]:
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
    if isinstance(exc, IntegrityError):  # issue 14: lost a race for a unique row
        return 409, CHANGED_MEANWHILE
    if isinstance(exc, DataError):  # issue 14: a value the database refused (rolled back)
        return 422, VALUE_REFUSED
    if isinstance(exc, OperationalError):
        # Fault fix (issue 8): a full disk, a read-only database or a lost database server
        # was a bare 500; the transaction was rolled back, so say so and that it may pass.
        return 503, DATABASE_UNAVAILABLE
    return 500, ""


def handle_error(exc: Exception) -> tuple[str, int] | Response:
    """Every error, as one HTML page. 500s are logged with their traceback."""
    from webapp.pages import chrome  # noqa: PLC0415 (pages imports this module)

    status, message = _status_of(exc)
    if status >= 500:  # 503 included: the administrator must learn of a full disk
        current_app.logger.exception("Unhandled error", exc_info=exc)
    try:
        frame = chrome()
    except Exception:
        current_app.logger.exception("Error page without navigation")
        frame = chrome(bare=True)
    html = render_template("error.html", chrome=frame, status=status, message=message)
    response = Response(html, status=status, mimetype="text/html")
    if isinstance(exc, HTTPException) and status == 405 and exc.get_response().headers:
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def register(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)

"""The one error handler of the web app: every error as an HTML page with its status.

The status and message come from :func:`webapp.errors.status_of`; the page has the shared
frame (:func:`webapp.pages.chrome`), or a bare one when even that fails. 5xx are logged with
their traceback, never shown.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template
from werkzeug.exceptions import HTTPException

from webapp.errors import status_of
from webapp.pages import chrome


def handle_error(exc: Exception) -> tuple[str, int] | Response:
    """Every error, as one HTML page. 500s are logged with their traceback."""
    status, message = status_of(exc)
    if status >= 500:  # 503 included: the administrator must learn of a full disk
        current_app.logger.exception("Unhandled error", exc_info=exc)
    try:
        frame = chrome()
    except Exception:
        current_app.logger.exception("Error page without navigation")
        frame = chrome(bare=True)
    html = render_template("error.html", chrome=frame, status=status, message=message)
    response = Response(html, status=status, mimetype="text/html")
    if isinstance(exc, HTTPException) and status == 405:
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def register(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)

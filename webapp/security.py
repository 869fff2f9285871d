"""CSRF tokens tied to the session, and the security headers of every response.

A CSRF token is an HMAC (shared secret) of the session: of its ``web_sessions`` row once
signed in, of a random value in the signed cookie before that (the sign-in form). Every
POST must carry it in ``csrf_token``; a token of another session, or none, gets 400.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, g, request, session

from webapp.errors import HttpError
from webapp.runtime import runtime

CSRF_FIELD = "csrf_token"
ANON_KEY = "anon"

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _binding() -> str:
    viewer = getattr(g, "viewer", None)
    if viewer is not None:
        return "session:" + viewer.session_hash
    seed = session.get(ANON_KEY)
    if not isinstance(seed, str):
        seed = secrets.token_urlsafe(16)
        session[ANON_KEY] = seed
    return "anonymous:" + seed


def csrf_token() -> str:
    key = runtime().secret_key.encode()
    return hmac.new(key, _binding().encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    """Refuse a state-changing request without this session's token (400)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent, csrf_token()):
        raise HttpError(
            400,
            "The form's security token is missing or belongs to another session. Reload the "
            "page and submit it again.",
        )


_BY_LOWER = tuple((name.lower(), name, value) for name, value in HEADERS.items())


def add_headers(response: Response) -> Response:
    """The security headers a response does not set itself, and ``no-store`` on HTML.

    Looked up in one pass over the response's headers: werkzeug's ``setdefault`` answers a
    missing header by raising and catching an exception, six of them on every response."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    missing = [(name, value) for lower, name, value in _BY_LOWER if lower not in present]
    if "cache-control" not in present and response.mimetype == "text/html":
        missing.append(("Cache-Control", "no-store"))
    headers.extend(missing)
    return response

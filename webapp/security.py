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


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response

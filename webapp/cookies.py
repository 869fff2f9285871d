"""The signed session cookie: Flask's own, signed by itsdangerous with HMAC-SHA256.

The cookie carries only a random session token (and the sign-in page's language and CSRF
seed); the session itself lives in ``web_sessions``. Signing, the cookie's format, key
derivation, timestamps and expiry are Flask's and itsdangerous's: a cookie that does not
verify, is older than the session lifetime, or was signed with another key is no session
(``BadSignature``, and Flask starts an empty one). The only setting changed is the digest,
SHA-256 for Flask's default SHA-1.

Until issue 15 this module signed cookies itself, to save what itsdangerous spends per
request; measured against it, Flask's session costs 0.02 ms more per request (about 2% of a
form page's server CPU in ``python -m bench web``), well inside the 10% a speed trick must
win to stay (docs/architecture.md, speed tricks).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from webapp.memo import Memo

VERIFIED: Memo[tuple[Any, ...], tuple[tuple[tuple[str, Any], ...], int]] = Memo(
    "cookies.VERIFIED", 4096
)
"""(keys, salt, digest, cookie) -> (the session's items, the UNIX time it was signed) of each
cookie whose signature itsdangerous verified in this worker."""
_PLAIN = (str, int, float, bool, type(None))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, its HMAC over SHA-256; each distinct cookie verified once.

    ``open_session`` is Flask's (:meth:`flask_open_session`, the reference) with one change:
    a cookie whose signature itsdangerous has verified before, with the same keys, is read
    from :data:`VERIFIED` instead of being decoded and verified again, and its age checked
    against the session lifetime as itsdangerous checks it (older than the lifetime, or
    signed in the future: no session). A cookie that does not verify is never kept, so
    forged cookies cost what they cost Flask and fill nothing. Only sessions of plain values
    (str, numbers, booleans, None: what this app stores) are kept; any other goes Flask's way.
    ``tests/webapp/test_cookies.py`` holds both equal on generated cookies. Figure (issue
    20, in process, this machine): 14-26 us against 78-103 us per request, about 0.07 ms of
    a 2.5 ms save's server CPU and more of a form GET's.
    """

    digest_method = staticmethod(hashlib.sha256)

    def flask_open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Flask's own ``open_session`` (the reference)."""
        return super().open_session(app, request)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return self.flask_open_session(app, request)
        fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
        key = (app.secret_key, fallbacks, self.salt, self.digest_method, value)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        found = VERIFIED.peek(key)
        if found is None:
            serializer = self.get_signing_serializer(app)
            assert serializer is not None  # a secret key is set
            try:
                data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if not isinstance(data, dict) or not all(type(v) in _PLAIN for v in data.values()):
                return self.session_class(data)
            found = VERIFIED.get(key, lambda: (tuple(data.items()), int(signed.timestamp())))
        items, signed_at = found
        age = int(time.time()) - signed_at
        if age > max_age or age < 0:  # itsdangerous: SignatureExpired, a BadSignature
            return self.session_class()
        return self.session_class(items)

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

from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, its HMAC over SHA-256."""

    digest_method = staticmethod(hashlib.sha256)

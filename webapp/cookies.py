"""The signed session cookie: Flask's cookie session with a leaner signature.

The cookie carries only a random session token (and the sign-in page's language and CSRF
seed); the session itself lives in ``web_sessions``. Flask signs it with itsdangerous, which
derives its key, parses, base64-decodes and checks a timestamp through several layers on
every request: a tenth of a form page's CPU. This signer does the same job directly:

    payload = base64url(JSON) . issued_at (hex seconds) . base64url(HMAC-SHA256(key, both))

with ``key = SHA-256("edc-session" NUL salt NUL secret_key)``, computed once per secret. A
cookie whose signature does not verify (compared in constant time), that is older than
the session lifetime, or that does not decode to a JSON object is no session at all, as
with Flask's own serializer (``BadSignature``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """``dumps``/``loads`` as Flask's session interface calls them."""

    __slots__ = ("_key",)

    def __init__(self, secret_key: str, salt: str) -> None:
        material = b"edc-session\0" + salt.encode() + b"\0" + secret_key.encode()
        self._key = hashlib.sha256(material).digest()

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def dumps(self, obj: dict[str, Any], now: float | None = None) -> str:
        payload = _b64(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode())
        body = f"{payload}.{int(time.time() if now is None else now):x}"
        return f"{body}.{self._signature(body)}"

    def loads(self, value: str, max_age: int | None = None) -> dict[str, Any]:
        body, _, signature = value.rpartition(".")
        if not body or not hmac.compare_digest(signature, self._signature(body)):
            raise BadSignature("session cookie signature does not match")
        payload, _, issued = body.rpartition(".")
        try:
            age = time.time() - int(issued, 16)
            data = json.loads(_unb64(payload))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadSignature("session cookie is malformed") from exc
        if max_age is not None and age > max_age:
            raise BadSignature("session cookie has expired")
        if not isinstance(data, dict):
            raise BadSignature("session cookie holds no session")
        return data


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, signed by :class:`CookieSigner` (one per secret key)."""

    def get_signing_serializer(self, app: Flask) -> CookieSigner | None:  # type: ignore[override]
        if not app.secret_key:
            return None
        secret = str(app.secret_key)
        cached = app.extensions.get("edc_cookie_signer")
        if cached is None or cached[0] != secret:
            cached = app.extensions["edc_cookie_signer"] = (secret, CookieSigner(secret, self.salt))
        return cached[1]

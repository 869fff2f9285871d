"""The session cookie's signature (Flask's, itsdangerous with HMAC-SHA256): a cookie verifies
only as written, with the app's key, within its lifetime."""

from __future__ import annotations

import os

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from webapp.cookies import SessionInterface

from .conftest import SUBJECT_A, Web

EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", "300"))


def changed_signature(value: str) -> str:
    """``value`` with one signature character changed (not the last: its low bits are base64
    padding, so changing it may leave the signature's bytes as they were)."""
    return value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]


def serializer(secret: str = "secret-1", iface: object | None = None) -> URLSafeTimedSerializer:
    app = Flask("t")
    app.secret_key = secret
    app.session_interface = iface or SessionInterface()  # type: ignore[assignment]
    found = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert found is not None
    return found  # type: ignore[no-any-return]


def test_a_cookie_reads_back_as_written() -> None:
    signer = serializer()
    value = signer.dumps({"sid": "token", "lang": "de"})
    assert signer.loads(value, max_age=60) == {"sid": "token", "lang": "de"}


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=60), max_size=4))
def test_any_session_reads_back_and_a_changed_one_does_not(session: dict[str, str]) -> None:
    signer = serializer()
    value = signer.dumps(session)
    assert signer.loads(value, max_age=60) == session
    with pytest.raises(BadSignature):
        signer.loads(changed_signature(value), max_age=60)


@pytest.mark.parametrize(
    "tamper",
    [
        changed_signature,
        lambda v: "e30" + v[v.index(".") :],  # payload replaced by {}
        lambda v: v.rsplit(".", 1)[0],  # signature removed
        lambda v: "",
        lambda v: "not-a-cookie",
    ],
)
def test_a_changed_cookie_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    signer = serializer()
    with pytest.raises(BadSignature):
        signer.loads(tamper(signer.dumps({"sid": "token"})), max_age=60)


def test_another_secret_another_digest_or_an_old_cookie_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = serializer()
    with pytest.raises(BadSignature):
        serializer("secret-2").loads(signer.dumps({"sid": "t"}))
    sha1 = serializer(iface=SecureCookieSessionInterface())  # Flask's default digest
    with pytest.raises(BadSignature):
        signer.loads(sha1.dumps({"sid": "t"}))
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: 1_000_000)
        old = signer.dumps({"sid": "t"})
    with pytest.raises(BadSignature):
        signer.loads(old, max_age=3600)


def test_a_forged_cookie_in_the_browser_is_no_session(web: Web) -> None:
    inv = web.client("inv_a")
    assert inv.get(f"/subjects/{SUBJECT_A}").status_code == 200
    good = inv.c.get_cookie("edc_session").value
    forged = serializer("not-the-secret").dumps({"sid": "x" * 43})
    for value in (forged, good[:-2] + "xx"):
        inv.c.set_cookie("edc_session", value, domain="localhost")
        r = inv.c.get(f"/subjects/{SUBJECT_A}")
        assert r.status_code == 302 and "/login" in r.headers["Location"]

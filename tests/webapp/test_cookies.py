"""The session cookie's signature: a cookie verifies only as written, within its lifetime."""

from __future__ import annotations

import pytest
from itsdangerous import BadSignature

from webapp.cookies import CookieSigner

from .conftest import SUBJECT_A, Web


def test_a_cookie_reads_back_as_written() -> None:
    signer = CookieSigner("secret-1", "cookie-session")
    value = signer.dumps({"sid": "token", "lang": "de"})
    assert signer.loads(value, max_age=60) == {"sid": "token", "lang": "de"}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),  # signature
        lambda v: "e30" + v[v.index(".") :],  # payload replaced by {}
        lambda v: v.rsplit(".", 1)[0],  # signature removed
        lambda v: "",
        lambda v: "not-a-cookie",
    ],
)
def test_a_changed_cookie_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    signer = CookieSigner("secret-1", "cookie-session")
    with pytest.raises(BadSignature):
        signer.loads(tamper(signer.dumps({"sid": "token"})), max_age=60)


def test_another_secret_or_an_old_cookie_is_refused() -> None:
    signer = CookieSigner("secret-1", "cookie-session")
    with pytest.raises(BadSignature):
        CookieSigner("secret-2", "cookie-session").loads(signer.dumps({"sid": "t"}))
    old = signer.dumps({"sid": "t"}, now=1_000_000)
    with pytest.raises(BadSignature):
        signer.loads(old, max_age=3600)


def test_a_forged_cookie_in_the_browser_is_no_session(web: Web) -> None:
    inv = web.client("inv_a")
    assert inv.get(f"/subjects/{SUBJECT_A}").status_code == 200
    good = inv.c.get_cookie("edc_session").value
    forged = CookieSigner("not-the-secret", "cookie-session").dumps({"sid": "x" * 43})
    for value in (forged, good[:-2] + "xx"):
        inv.c.set_cookie("edc_session", value, domain="localhost")
        r = inv.c.get(f"/subjects/{SUBJECT_A}")
        assert r.status_code == 302 and "/login" in r.headers["Location"]

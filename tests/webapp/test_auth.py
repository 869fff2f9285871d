"""Sign-in, sessions kept in the database, throttling, headers, languages and error pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from storage.models import LoginFailure, WebSession
from tests.webapp.conftest import PASSWORD, SUBJECT_A, Web
from webapp import SETTINGS, Settings
from webapp.security import CSP


def test_login_logout_and_the_session_row(web: Web) -> None:
    client = web.client()
    r = client.post("/login", {"username": "inv_a", "password": PASSWORD, "next": "/queries"})
    assert r.status_code == 303 and r.headers["Location"] == "/queries"
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(WebSession)) == 1
    assert client.get("/sites").status_code == 200
    assert client.post("/logout").status_code == 303
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/sites").status_code == 302


def test_wrong_password_and_open_redirects_refused(web: Web) -> None:
    client = web.client()
    r = client.post("/login", {"username": "inv_a", "password": "nope"})
    assert r.status_code == 401 and "Wrong user name or password." in r.text
    r = client.post("/login", {"username": "inv_a", "password": PASSWORD, "next": "//evil.example"})
    assert r.headers["Location"] == "/"


def age_session(web: Web, **changes: datetime) -> None:
    with web.engine.begin() as conn:
        conn.execute(update(WebSession).values(**changes))


def test_idle_session_expires(web: Web) -> None:
    client = web.client("inv_a")
    age_session(web, last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
    r = client.get("/sites")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(WebSession)) == 0


def test_session_ends_at_its_absolute_expiry(web: Web) -> None:
    client = web.client("inv_a")
    age_session(web, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert client.get("/sites").status_code == 302


def test_expired_session_says_so_on_the_sign_in_page(web: Web) -> None:
    client = web.client("inv_a")
    age_session(web, last_seen_at=datetime.now(UTC) - timedelta(hours=1))
    assert "Your session has ended. Sign in again." in client.get("/login").text


def test_failed_logins_are_throttled_per_user_name(web: Web) -> None:
    client = web.client()
    for _ in range(5):
        assert client.post("/login", {"username": "inv_a", "password": "x"}).status_code == 401
    r = client.post("/login", {"username": "inv_a", "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert client.post("/login", {"username": "dm", "password": PASSWORD}).status_code == 303
    with web.engine.begin() as conn:  # the window passes
        conn.execute(update(LoginFailure).values(failed_at=datetime.now(UTC) - timedelta(hours=1)))
    assert (
        web.client().post("/login", {"username": "inv_a", "password": PASSWORD}).status_code == 303
    )


def test_security_headers_on_pages_and_errors(web: Web) -> None:
    client = web.client("inv_a")
    for url in ("/login", "/sites", f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE", "/nowhere"):
        r = client.get(url)
        assert r.headers["Content-Security-Policy"] == CSP, url
        assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control"):
            assert len(r.headers.getlist(name)) == 1, (url, name)
        assert r.headers["Cache-Control"] == "no-store", url
    static = client.get("/static/form/oel.js")  # sets its own caching: kept
    assert static.status_code == 200 and "no-store" not in static.headers["Cache-Control"]
    assert static.headers["X-Frame-Options"] == "DENY"
    r = client.get(f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE")
    assert "<script>" not in r.text and " onclick=" not in r.text  # no inline script
    cookie = (
        r.headers.get("Set-Cookie", "")
        or web.client()
        .post("/login", {"username": "dm", "password": PASSWORD})
        .headers["Set-Cookie"]
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_error_pages_are_html_without_tracebacks(web: Web) -> None:
    client = web.client("inv_a")
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.mimetype == "text/html" and "Page not found" in r.text
    r = client.get("/subjects/NOPE-001")
    assert r.status_code == 404 and "Traceback" not in r.text
    r = client.get("/admin/users")
    assert r.status_code == 403 and "Only a admin may manage users." in r.text
    assert client.c.put("/sites").status_code == 405


def test_german_interface_from_accept_language_and_from_choice(web: Web) -> None:
    client = web.client("inv_a", accept_language="de-DE,de;q=0.9,en;q=0.5")
    page = client.get(f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE").text
    assert '<html lang="de">' in page
    assert "Speichern" in page and "Abmelden" in page
    assert "Einschluss 1: Der Patient war zu Beginn" in page  # the study's own German text
    english = web.client("inv_a")
    assert (
        "Inclusion 1: The patient was at least 18"
        in english.get(f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE").text
    )
    assert english.post("/language", {"lang": "de", "next": "/sites"}).status_code == 303
    assert "Zentren" in english.get("/sites").text
    assert english.post("/language", {"lang": "fr", "next": "/sites"}).status_code == 303
    assert "Zentren" in english.get("/sites").text  # a language the study lacks is ignored


def test_settings_table_flags_over_environment_over_defaults() -> None:
    assert {s.name for s in SETTINGS} == set(Settings.__dataclass_fields__)
    s = Settings.load(
        environ={"EDC_PORT": "9000", "EDC_COOKIE_SECURE": "yes", "EDC_STUDY": "S"},
        overrides={"port": 9100, "study": None},
    )
    assert (s.port, s.cookie_secure, s.study, s.workers) == (9100, True, "S", 2)
    with pytest.raises(ValueError, match="EDC_WORKERS: 'two' is not a whole number"):
        Settings.load(environ={"EDC_WORKERS": "two"})
    with pytest.raises(ValueError, match="EDC_PROXY_HOPS: '-1' is below 0"):
        Settings.load(environ={"EDC_PROXY_HOPS": "-1"})
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.load(environ={}, overrides={"colour": "red"})


def test_secret_key_is_made_once_and_shared_through_the_database(web: Web) -> None:
    from webapp import create_app

    other = create_app(Settings.load(environ={}, overrides={"database_url": web.url}))
    assert other.secret_key == web.app.secret_key and len(str(other.secret_key)) > 40
    client = web.client("inv_a")
    cookie = client.c.get_cookie("edc_session")
    assert cookie is not None
    second = other.test_client()
    second.set_cookie("edc_session", cookie.value)
    assert second.get("/sites").status_code == 200  # a session from one app is valid on the other

"""Access can be taken away in the browser (issue 14, findings 7 and 13): an administrator
deactivates and reactivates users, revokes roles and resets passwords (the one-time password
shown once, a change forced at the next sign-in); everyone changes their own password under
the password policy; a site-scoped designer or administrator grant acts nowhere; an
administrator cannot take a clinical role."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from storage.engine import write_transaction
from storage.errors import PolicyError
from storage.models import AccessEvent, AccessLogRow, RoleAssignment, Site, Study, WebSession
from storage.users import add_user, get_user
from tests.webapp.conftest import PASSWORD, SITE_A, SUBJECT_A, Web
from webapp.i18n import CATALOGUES

NEW = "Plum-Kettle-Sparrow-9"


def log_rows(web: Web, username: str) -> list[tuple[str, str, str | None]]:
    """The user's access-log rows, newest first (failed sign-ins left out)."""
    with web.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(AccessLogRow.actor, AccessLogRow.event, AccessLogRow.client)
                .where(
                    AccessLogRow.username == username,
                    AccessLogRow.event != AccessEvent.SIGN_IN_FAILED.value,
                )
                .order_by(AccessLogRow.seq.desc())
            )
        ]


def sign_in(web: Web, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """A fresh browser signing in as ``username``: (client, status of the sign-in)."""
    client = web.client()
    client.get("/login")
    return client, client.post("/login", {"username": username, "password": password}).status_code


def admin_client(web: Web, **headers: str):  # type: ignore[no-untyped-def]
    """The administrator on the users page (whose CSRF token the forms carry)."""
    admin = web.client("admin", **headers)
    assert admin.get("/admin/users").status_code == 200
    return admin


def sessions_of(web: Web, username: str) -> int:
    with web.engine.connect() as conn:
        user_id = get_user(conn, username).id
        return len(
            conn.scalars(select(WebSession.token_sha256).where(WebSession.user_id == user_id)).all()
        )


def test_deactivating_a_user_ends_their_session_at_once_and_refuses_sign_in(web: Web) -> None:
    inv = web.client("inv_a")
    assert inv.get(f"/subjects/{SUBJECT_A}").status_code == 200
    admin = admin_client(web)
    r = admin.post("/admin/users/inv_a/deactivate")
    assert r.status_code == 303
    assert sessions_of(web, "inv_a") == 0
    r = inv.get(f"/subjects/{SUBJECT_A}")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert web.client().login("inv_a").status_code == 401
    page = admin.get("/admin/users").text
    assert "inv_a (inactive)" in page and 'data-event="user_deactivated"' in page
    assert log_rows(web, "inv_a")[0] == ("admin", "user_deactivated", "127.0.0.1")
    assert admin.post("/admin/users/inv_a/activate").status_code == 303
    assert web.client().login("inv_a").status_code == 303
    assert log_rows(web, "inv_a")[0] == ("admin", "user_activated", "127.0.0.1")
    r = admin.post("/admin/users/admin/deactivate")
    assert r.status_code == 422 and "cannot deactivate your own account" in r.text
    assert admin.post("/admin/users/nobody/deactivate").status_code == 404


def test_revoking_a_role_takes_the_access_away(web: Web) -> None:
    inv = web.client("inv_a")
    admin = admin_client(web)
    page = admin.get("/admin/users").text
    assert 'action="/admin/users/inv_a/revoke"' in page
    r = admin.post("/admin/users/inv_a/revoke", {"role": "investigator", "site": SITE_A})
    assert r.status_code == 303
    assert inv.get(f"/subjects/{SUBJECT_A}").status_code == 404
    assert log_rows(web, "inv_a")[0] == ("admin", "role_revoked", "127.0.0.1")
    r = admin.post("/admin/users/inv_a/revoke", {"role": "investigator", "site": SITE_A})
    assert r.status_code == 422
    assert "inv_a does not hold investigator in ST.BTZ_RETREAT at LOC.DE01" in r.text
    r = admin.post("/admin/users/inv_a/revoke", {"role": "nurse", "site": SITE_A})
    assert r.status_code == 422 and "Unknown role." in r.text


def test_changing_ones_own_password(web: Web) -> None:
    inv = web.client("inv_a")
    elsewhere = web.client("inv_a")
    page = inv.get("/account/password").text
    assert 'name="current"' in page and 'name="new"' in page and 'name="again"' in page
    cases = [
        ({"current": "wrong", "new": NEW, "again": NEW}, "The current password is wrong."),
        ({"current": PASSWORD, "new": NEW, "again": NEW + "x"}, "The two new passwords differ."),
        ({"current": PASSWORD, "new": "short", "again": "short"}, "at least 12 characters"),
        (
            {"current": PASSWORD, "new": "my-inv_a-pass", "again": "my-inv_a-pass"},
            "must not be or contain the user name",
        ),
        (
            {"current": PASSWORD, "new": "Password1234", "again": "Password1234"},
            "commonly used passwords",
        ),
    ]
    for data, message in cases:
        r = inv.post("/account/password", data)
        assert r.status_code == 422 and message in r.text, message
    r = inv.post("/account/password", {"current": PASSWORD, "new": NEW, "again": NEW})
    assert r.status_code == 303
    assert inv.get(r.headers["Location"]).status_code == 200  # this session goes on
    assert elsewhere.get("/sites").status_code == 302  # the other one ended
    assert web.client().login("inv_a").status_code == 401
    assert web.client().login("inv_a", NEW).status_code == 303
    assert log_rows(web, "inv_a")[0] == ("inv_a", "password_changed", "127.0.0.1")


def test_password_messages_in_german(web: Web) -> None:
    inv = web.client("inv_a", accept_language="de")
    r = inv.post("/account/password", {"current": PASSWORD, "new": "kurz", "again": "kurz"})
    assert r.status_code == 422 and "mindestens 12 Zeichen" in r.text
    admin = admin_client(web, accept_language="de")
    r = admin.post("/admin/users/admin/role", {"role": "investigator", "site": ""})
    assert r.status_code == 422 and "ist Administrator" in r.text


def test_every_policy_rule_and_access_event_has_a_text_in_every_language() -> None:
    for lang, messages in CATALOGUES.items():
        missing = [c for c in PolicyError.CODES if f"policy.{c}" not in messages]
        missing += [e.value for e in AccessEvent if f"users.event.{e.value}" not in messages]
        assert not missing, (lang, missing)


def test_a_reset_shows_a_one_time_password_once_and_forces_a_change(web: Web) -> None:
    inv = web.client("inv_a")
    admin = admin_client(web)
    r = admin.post("/admin/users/inv_a/password")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    once = re.search(r'<code class="one-time-password">([^<]+)</code>', r.text).group(1)
    assert len(once) >= 12 and once not in admin.get("/admin/users").text
    assert log_rows(web, "inv_a")[0] == ("admin", "password_reset", "127.0.0.1")
    assert inv.get("/sites").status_code == 302  # the reset ended the session
    assert web.client().login("inv_a").status_code == 401  # the old password is gone
    user = web.client()
    assert user.login("inv_a", once).status_code == 303
    for url in ("/sites", f"/subjects/{SUBJECT_A}", "/"):
        r = user.get(url)
        assert r.status_code == 302 and r.headers["Location"] == "/account/password", url
    assert "Change your password" in user.get("/account/password").text
    r = user.post(f"/sites/{SITE_A}/subjects", {"subject_key": "DE01-900"})
    assert r.status_code == 403 and "Change your password" in r.text
    r = user.post("/account/password", {"current": once, "new": NEW, "again": NEW})
    assert r.status_code == 303
    assert user.get("/sites").status_code == 200


def test_a_site_scoped_admin_or_designer_grant_acts_nowhere(web: Web) -> None:
    """Such rows cannot be made any more (storage refuses them); one made before is not
    taken as a study-wide grant."""
    with write_transaction(web.engine) as conn:
        for name, role in (("site_admin", "admin"), ("site_designer", "study_designer")):
            user_id = add_user(conn, name, NEW)
            study_id = conn.scalar(select(Study.id))
            site_id = conn.scalar(select(Site.id).where(Site.oid == SITE_A))
            conn.execute(
                insert(RoleAssignment).values(
                    user_id=user_id, study_id=study_id, site_id=site_id, role=role
                )
            )
    site_admin, status = sign_in(web, "site_admin", NEW)
    assert status == 303
    r = site_admin.get("/admin/users")
    assert r.status_code == 403 and "Only a admin of the whole study may manage users" in r.text
    assert 'href="/admin/users"' not in site_admin.get("/account/password").text
    designer, status = sign_in(web, "site_designer", NEW)
    assert status == 303
    assert designer.get("/design").status_code == 403
    admin = admin_client(web)
    r = admin.post("/admin/users/inv_b/role", {"role": "study_designer", "site": SITE_A})
    assert r.status_code == 422
    assert "The role study_designer acts on the whole study" in r.text


def test_an_administrator_cannot_take_a_clinical_role(web: Web) -> None:
    """Finding 13: the administrator granting itself investigator, then entering data."""
    admin = admin_client(web)
    for role in ("investigator", "monitor", "data_manager", "study_designer"):
        r = admin.post("/admin/users/admin/role", {"role": role, "site": ""})
        assert r.status_code == 422 and "admin is an administrator" in r.text, role
    r = admin.post("/admin/users/inv_a/role", {"role": "admin", "site": ""})
    assert r.status_code == 422 and "inv_a holds other roles (investigator)" in r.text
    with web.engine.connect() as conn:
        assert [g.role.value for g in get_user(conn, "admin").roles] == ["admin"]
    assert admin.get(f"/subjects/{SUBJECT_A}").status_code == 404


def test_adding_a_user_applies_the_password_policy(web: Web) -> None:
    admin = admin_client(web)
    new = {"username": "newbie", "role": "monitor", "site": ""}
    r = admin.post("/admin/users", {**new, "password": "newbie-is-me-2"})
    assert r.status_code == 422 and "must not be or contain the user name" in r.text
    r = admin.post("/admin/users", {**new, "password": "administrator123"})
    assert r.status_code == 422 and "commonly used passwords" in r.text
    assert admin.post("/admin/users", {**new, "password": NEW}).status_code == 303
    assert log_rows(web, "newbie") == [
        ("admin", "role_granted", "127.0.0.1"),
        ("admin", "user_added", "127.0.0.1"),
    ]

"""Administrators manage users; designers load metadata versions; `edc demo seed`."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner
from sqlalchemy import inspect, text

from cli import main
from tests.conftest import REPO, odm
from tests.webapp.conftest import PASSWORD, Web


def test_admin_adds_a_user_who_can_then_sign_in(web: Web) -> None:
    admin = web.client("admin")
    assert "inv_a" in admin.get("/admin/users").text
    r = admin.post("/admin/users", {"username": "newbie", "password": "short", "role": "monitor"})
    assert r.status_code == 422 and "at least 12 characters" in r.text
    new = {
        "username": "newbie",
        "password": "a long password",
        "role": "monitor",
        "site": "LOC.AT01",
    }
    assert admin.post("/admin/users", new).status_code == 303
    assert "monitor@LOC.AT01" in admin.get("/admin/users").text
    newbie = web.client()
    r = newbie.post("/login", {"username": "newbie", "password": "a long password"})
    assert r.status_code == 303
    assert newbie.get("/subjects/AT01-001").status_code == 200
    assert newbie.get("/subjects/DE01-001").status_code == 404
    r = admin.post("/admin/users/newbie/role", {"role": "investigator", "site": "LOC.AT01"})
    assert r.status_code == 303 and "investigator@LOC.AT01" in admin.get("/admin/users").text
    # The access log, newest first, names the administrator who made each change.
    page = admin.get("/admin/users").text
    log = page[page.index('<table class="list access-log">') :]
    rows = re.findall(
        r'<tr data-event="([a-z_]+)"><td>[^<]+</td><td>([^<]+)</td><td>[^<]+</td>'
        r"<td>([^<]+)</td><td>([^<]+)</td>",
        log,
    )
    assert rows[:4] == [
        ("role_granted", "admin", "newbie", "investigator@LOC.AT01"),
        ("role_revoked", "admin", "newbie", "monitor@LOC.AT01"),
        ("role_granted", "admin", "newbie", "monitor@LOC.AT01"),
        ("user_added", "admin", "newbie", "–"),
    ]


def test_designer_upload_shows_findings_and_refuses_a_broken_version(web: Web) -> None:
    designer = web.client("designer")
    page = designer.get("/design").text
    assert "MDV.BTZ_RETREAT.1" in page
    broken = odm('<ItemDef OID="IT.X" Name="X" DataType="nonsense"/>', study_oid="ST.BTZ_RETREAT")
    r = designer.post(
        "/design",
        {"metadata": (io.BytesIO(broken), "broken.xml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "nothing was stored" in r.text
    assert 'class="finding-error"' in r.text
    same = (REPO / "metadata" / "bortezomib-retreatment.xml").read_bytes()
    r = designer.post(
        "/design", {"metadata": (io.BytesIO(same), "study.xml")}, content_type="multipart/form-data"
    )
    assert r.status_code == 200 and "metadata unchanged (version 1" in r.text


def _every_row(web: Web) -> dict[str, list[tuple[object, ...]]]:
    with web.engine.connect() as conn:
        return {
            t: sorted((tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))), key=repr)
            for t in sorted(inspect(conn).get_table_names())
            if t not in ("web_sessions", "login_failures")  # the designer's sign-in
        }


OTHER_STUDY = (
    (REPO / "metadata" / "bortezomib-retreatment.xml")
    .read_bytes()
    .replace(b'"ST.BTZ_RETREAT"', b'"ST.OTHER"')
    .replace(b'OID="LOC.DE01"', b'OID="LOC.XX01"')
)


def test_designer_upload_of_another_study_is_refused_and_stores_nothing(web: Web) -> None:
    """Issue 14, finding 2: a second study in the database took every page down."""
    designer = web.client("designer")
    assert "MDV.BTZ_RETREAT.1" in designer.get("/design").text
    before = _every_row(web)
    r = designer.post(
        "/design",
        {"metadata": (io.BytesIO(OTHER_STUDY), "other.xml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422, r.text
    assert (
        "other.xml holds study ST.OTHER, but this page is for study ST.BTZ_RETREAT; "
        "nothing was stored." in r.text
    )
    assert "EDC-STORE-002" in r.text
    assert _every_row(web) == before
    assert web.client().get("/login").status_code == 200


def test_demo_seed_is_rerunnable_and_prints_passwords_once(web: Web) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "seed", "--db", web.url])
    assert first.exit_code == 0, first.output
    assert "investigator-at01-de01" in first.output and "Subjects added: AT01-002" in first.output
    password = next(
        line.split()[1] for line in first.output.splitlines() if "data-manager " in line
    )
    again = runner.invoke(main, ["demo", "seed", "--db", web.url])
    assert again.exit_code == 0 and password not in again.output
    assert "Subjects added: none (all exist)" in again.output
    dm = web.client()
    assert dm.post("/login", {"username": "data-manager", "password": password}).status_code == 303
    assert "Queries opened" not in dm.get("/queries").text
    assert "plausible range" in dm.get("/queries").text  # the demo's soft query
    assert PASSWORD not in first.output

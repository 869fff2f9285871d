"""Access rules the generated matrix (tests/webapp/test_matrix.py) does not cover: session
fixation, password hashes never leaving the server, and an audit trail that no route and no
command can change. Raw SQL UPDATE/DELETE/TRUNCATE on the audit trail is refused by the
database itself: tests/storage/test_audit.py (triggers; revoked grants on PostgreSQL)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cli import main
from storage.models import User
from tests.conftest import REPO
from tests.webapp.conftest import PASSWORD, SITE_A, STUDY, Web
from tests.webapp.test_matrix import form_data, request, routes


def cookie(client, name: str = "edc_session") -> str:  # type: ignore[no-untyped-def]
    found = client.c.get_cookie(name)
    return found.value if found else ""


def test_session_identifier_changes_at_sign_in_and_a_planted_cookie_stays_signed_out(
    web: Web,
) -> None:
    """Session fixation: the cookie a visitor had before signing in (which an attacker may
    have planted) does not become a signed-in session."""
    victim = web.client()
    victim.get("/login")
    planted = cookie(victim)
    assert planted
    victim.login("inv_a")
    assert cookie(victim) not in ("", planted)
    assert victim.get("/sites").status_code == 200
    attacker = web.client()
    attacker.c.set_cookie("edc_session", planted, domain="localhost")
    r = attacker.get("/sites")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def hashes(web: Web) -> list[str]:
    with web.engine.connect() as conn:
        return [h for h in conn.scalars(select(User.password_hash)) if h]


def leaks(body: str, secrets: list[str]) -> list[str]:
    out = [h[:24] for h in secrets if h in body or h.split("$")[-1] in body]
    return out + [p for p in ("pbkdf2:", "scrypt:", PASSWORD) if p in body]


def test_password_hashes_never_appear_in_a_page_or_an_export(web: Web, tmp_path: Path) -> None:
    secrets = hashes(web)
    assert len(secrets) >= 6
    found = []
    for user in ("inv_a", "mon_a", "dm", "designer", "admin"):
        client = web.client(user)
        for rule, method in routes(web):
            if method == "GET":
                url = rule.build(
                    {a: v for a, v in _place().items() if a in rule.arguments},
                    append_unknown=False,
                )[1]  # type: ignore[index]
                body = client.get(url).get_data(as_text=True)
                found += [f"{user} GET {url}: {x}" for x in leaks(body, secrets)]
    dm = web.client("dm")
    dm.get("/exports")
    for url in ("/exports/odm", "/exports/define", "/exports/csv", "/exports/dataset-json"):
        data = {"mode": "audit", "metadata": "1", "admin": "1"}
        for body in _downloaded(dm.post(url, data).data):
            found += [f"dm POST {url}: {x}" for x in leaks(body, secrets)]
    runner = CliRunner()
    outputs = []
    exports = tmp_path / "exports"  # tmp_path also holds the database file itself
    exports.mkdir()
    for args in (
        ["export", "odm", "--transactional", "--audit", "--admin", "--metadata", "-o", "odm"],
        ["export", "define", "-o", "define"],
        ["export", "csv", "-o", "csv"],
        ["export", "dataset-json", "-o", "json"],
        ["user", "list"],
        ["site", "list"],
        ["audit", "DE01-001"],
    ):
        argv = [str(exports / a) if i and args[i - 1] == "-o" else a for i, a in enumerate(args)]
        result = runner.invoke(main, [*argv, "--db", web.url])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    outputs += [p.read_text(errors="replace") for p in exports.rglob("*") if p.is_file()]
    for body in outputs:
        found += leaks(body, secrets)
    assert not found, found


def _downloaded(data: bytes) -> list[str]:
    """The text of a web export: the file, or each file of a zip archive."""
    if not data.startswith(b"PK"):
        return [data.decode()]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [archive.read(name).decode() for name in archive.namelist()]


def _place() -> dict[str, str]:
    return {
        "subject_key": "DE01-001",
        "site_oid": SITE_A,
        "event_oid": "SE.ELIG",
        "event_repeat": "",
        "form_oid": "F.IE",
        "form_repeat": "",
        "username": "inv_a",
        "number": "1",
        "name": "sdv",
        "study_oid": STUDY,
    }


def audit_rows(web: Web) -> list[tuple[object, ...]]:
    with web.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM audit_trail ORDER BY seq"))]


@pytest.fixture
def audited(web: Web) -> dict[str, int]:
    """Saved data, a query, a signature: audit rows of every kind exist before the attack."""
    from tests.webapp.test_matrix import prepared

    ids = prepared.__wrapped__(web)  # type: ignore[attr-defined]
    inv = web.client("inv_a")
    inv.get("/subjects/DE01-001/sign")
    assert inv.post("/subjects/DE01-001/sign", {"password": PASSWORD}).status_code == 303
    return ids


def test_no_route_changes_an_existing_audit_row(web: Web, audited: dict[str, int]) -> None:
    """Every POST route as every role, at both sites: audit rows are only ever appended."""
    before = audit_rows(web)
    assert before
    for user in ("inv_a", "inv_b", "mon_a", "dm", "designer", "admin"):
        client = web.client(user)
        for rule, method in routes(web):
            if method == "POST" and rule.endpoint != "auth.logout":
                for site in (SITE_A, "LOC.AT01"):
                    request(client, rule, method, site, audited)
                    data = {**form_data(rule.endpoint, site, audited), "seq": "1"}
                    client.post(rule.rule.replace("<", "").replace(">", ""), data)
    after = audit_rows(web)
    assert after[: len(before)] == before


COMMANDS = {
    # every `edc` command: what it may do to the audit trail
    "validate": "reads files",
    "info": "reads files",
    "check": "reads files",
    "render": "reads files",
    "explain": "reads files",
    "db upgrade": "schema migrations (Alembic), tested in tests/storage",
    "study load": "adds a metadata version",
    "study versions": "reads the metadata versions",
    "study publish": "publishes a metadata version (records who and why)",
    "study migrate": "audited: every rewritten value an audit row, every move a history row",
    "study diff": "reads files and stored metadata versions",
    "study impact": "reads the stored values",
    "preview": "reads one file; serves it on localhost, no database",
    "design export": "reads files",
    "design import": "reads files, writes an ODM file",
    "site list": "reads",
    "user add": "adds a user (and an access-log row)",
    "user list": "reads",
    "user log": "reads the access log",
    "user set-role": "adds a role (and access-log rows)",
    "user revoke": "removes a role (and an access-log row)",
    "user deactivate": "deactivates a user, ends their web sessions (access-log row)",
    "user activate": "reactivates a user (access-log row)",
    "user reset-password": "a one-time password, sessions end (access-log row)",
    "user passwd": "sets a password, sessions end (access-log row)",
    "audit": "reads the audit trail",
    "import": "appends audit rows through BulkWriter",
    "export odm": "reads",
    "export define": "reads",
    "export csv": "reads",
    "export dataset-json": "reads",
    "serve": "the web app (routes tested above)",
    "demo seed": "appends audit rows through save_form",
    "print blank": "reads",
    "print acrf": "reads",
    "print casebook": "reads",
}


def walk(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        out += walk(command, full + " ") if isinstance(command, click.Group) else [full]
    return out


def test_every_command_is_classified() -> None:
    assert sorted(walk(main)) == sorted(COMMANDS), "classify the new command in COMMANDS"


def test_no_command_changes_an_existing_audit_row(
    web: Web, audited: dict[str, int], tmp_path: Path
) -> None:
    before = audit_rows(web)
    data = tmp_path / "data.xml"
    result = CliRunner().invoke(
        main, ["export", "odm", "--transactional", "--audit", "-o", str(data), "--db", web.url]
    )
    assert result.exit_code == 0, result.output
    edited = data.read_text().replace('Value="Y"', 'Value="N"')  # a forged re-import
    data.write_text(edited)
    out = tmp_path / "o"
    runs = [
        ["import", str(data), "--user", "dm", "--reason", "forged"],
        ["import", str(data), "--user", "dm", "--dry-run"],
        ["study", "load", str(REPO / "metadata" / "bortezomib-retreatment.xml")],
        ["user", "add", "mallory", "--password", "pw-for-the-intruder-1"],
        ["user", "set-role", "mallory", "data_manager", "--study", "ST.BTZ_RETREAT"],
        ["user", "log"],
        ["db", "upgrade"],
        ["demo", "seed"],
        ["audit", "DE01-001"],
        ["export", "odm", "-o", str(out)],
        ["print", "casebook", "DE01-001", "-o", str(tmp_path / "c.pdf")],
    ]
    for argv in runs:
        result = CliRunner().invoke(main, [*argv, "--db", web.url])
        assert result.exception is None or isinstance(result.exception, SystemExit), argv
    after = audit_rows(web)
    assert after[: len(before)] == before
    assert len(after) > len(before)  # commands that write appended rows; none changed one


def test_signing_in_again_ends_the_previous_session_of_that_browser(web: Web) -> None:
    """A second sign-in (another user at a shared workstation) ends the first session in the
    database too: its cookie, if copied before, no longer opens anything."""
    browser = web.client()
    browser.login("inv_a")
    first = cookie(browser)
    assert browser.get("/sites").status_code == 200
    browser.login("mon_a")
    assert cookie(browser) not in ("", first)
    assert '<span class="user" title="Monitor (DE01)">Mon A<' in browser.get("/sites").text
    copied = web.client()
    copied.c.set_cookie("edc_session", first, domain="localhost")
    r = copied.get("/sites")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")

"""SQL metacharacters in every field, path segment and query parameter: no error, no effect
(OpenClinica CVE-2022-24831 is the class). Filter and sort parameters come from allow-lists.
Storage binds every value (SQLAlchemy Core); these tests keep it so."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from storage.models import AuditRow, ItemData, Query
from tests.conftest import REPO
from tests.security.hostile_study import FIELD, FORM_URL, SITE, SQL, SUBJECT, hostile_web
from tests.storage.helpers import dump
from tests.webapp.conftest import Web
from tests.webapp.test_matrix import form_data, routes

ALL_SQL = (*SQL, "1; SELECT pg_sleep(5)--", "x' UNION SELECT password_hash FROM users--")
REFLECT = "<script>alert(9)</script>"
TABLE = re.compile(r"<table.*?</table>", re.DOTALL)
QUERY_PARAMETERS = {
    # name: how it is checked before use
    "status": "allow-list STATUS_FILTERS, else 400 (webapp/views/queries.py)",
    "field": "parsed by renderers.html.parse_field_name, else 404",
    "next": "only a local path (auth._safe_next)",
    "saved": "a flag",
    "opened": "digits only, else shown as 0",
    "done": "shown as escaped text",
    "lang": "allow-list: the study's languages, else the default (design draft, edc preview)",
    "event": "allow-list: the events that hold the form, else the first (edc preview)",
    "q": "subject matrix search: bound as a LIKE pattern, escaped (storage.readers.matrix)",
    "site": "subject matrix, dashboard, query list: allow-list, the sites the viewer holds, "
    "else 400",
    "sort": "subject matrix: allow-list MATRIX_SORTS, else 400",
    "page": "subject matrix: digits only, else the first page",
    "subject": "query list: a subject key, printable, up to 100 characters, else 400; bound",
    "form": "query list: allow-list, the study's FormOIDs, else 400",
    "older_than": "query list: 1 to 4 digits, at most 3650 (days), else 400",
    "raised_by": "query list: allow-list RAISED_BY (any, check, person), else 400",
    "closed": "query list after a bulk close: digits only, else no notice",
    "all": "design draft: '1' lists every change, any other value shows the summary",
}
"""Every request.args name the web app reads. A new one must be added here with its check."""


def test_the_app_reads_only_the_known_query_parameters() -> None:
    names = set()
    for path in (REPO / "webapp").rglob("*.py"):
        names |= set(re.findall(r"request\.args\.get\(\s*[\"']([^\"']+)", path.read_text()))
        assert "request.args[" not in path.read_text(), path
        assert "request.values" not in path.read_text(), path
    assert names == set(QUERY_PARAMETERS)


def test_unknown_filter_values_are_refused_and_unknown_sort_parameters_ignored(web: Web) -> None:
    dm = web.client("dm")
    plain = dm.get("/queries?status=all").get_data(as_text=True)
    for value in (*ALL_SQL, "OPEN", "open ", "closed;"):
        assert dm.get("/queries?" + urlencode({"status": value})).status_code == 400, value
    for extra in ({"sort": ALL_SQL[0]}, {"order": "id desc; DROP TABLE queries"}, {"limit": "-1"}):
        r = dm.get("/queries?" + urlencode({"status": "all", **extra}))
        assert r.status_code == 200
        assert TABLE.findall(r.get_data(as_text=True)) == TABLE.findall(plain)
    r = dm.get("/subjects/DE01-001/SE.ELIG/F.IE?" + urlencode({"saved": "1", "opened": ALL_SQL[0]}))
    assert r.status_code == 200 and "OR 1=1" not in r.get_data(as_text=True)


@pytest.mark.parametrize("user", ["dm", "admin", "inv_a"])
def test_sql_in_every_path_segment_and_query_parameter(web: Web, user: str) -> None:
    """Every route, every path argument and every known query parameter set to SQL (and a
    script to catch reflection): never a 500, nothing reflected as markup, nothing written."""
    client = web.client(user)
    before = dump(web.engine)
    failures = []
    for rule, method in routes(web):
        if rule.endpoint in ("auth.logout", "auth.login_post"):
            continue
        for evil in ALL_SQL:
            values = {a: evil + REFLECT if a != "query_id" else "1" for a in rule.arguments}
            url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            params = {name: evil + REFLECT for name in QUERY_PARAMETERS}
            if method == "GET":
                r = client.get(url + "?" + urlencode(params))
            else:
                data = {k: evil for k in form_data(rule.endpoint, "LOC.DE01", {})}
                r = client.post(url, data)
            body = r.get_data(as_text=True)
            if r.status_code >= 500 or REFLECT in body:
                failures.append(f"{method} {url}: {r.status_code}, reflected={REFLECT in body}")
    assert not failures, "\n".join(failures)
    assert dump(web.engine) == before


def test_sql_in_entered_values_reasons_queries_and_sign_in_is_stored_as_text(
    tmp_path: Path,
) -> None:
    web = hostile_web(tmp_path / "h.sqlite3")
    inv = web.client("inv_a")
    inv.get(FORM_URL)
    assert inv.post(FORM_URL, {FIELD: SQL[0], "expected_version": "0"}).status_code == 303
    inv.get(FORM_URL)
    changed = {FIELD: SQL[1], "expected_version": "1", "reason": SQL[0]}
    assert inv.post(FORM_URL, changed).status_code == 303
    mon = web.client("mon_a")
    mon.get(FORM_URL)
    raised = {"event_oid": "SE.1", "form_oid": "F.1", "field": FIELD, "message": SQL[1]}
    assert mon.post(f"/subjects/{SUBJECT}/queries", raised).status_code == 303
    r = inv.post(f"/sites/{SITE}/subjects", {"subject_key": SQL[0]})
    assert r.status_code == 422
    for name in SQL:
        r = web.client().post("/login", {"username": name, "password": name})
        assert r.status_code == 401
    with web.engine.connect() as conn:
        assert conn.scalars(select(ItemData.value)).all() == [SQL[1]]
        reasons = conn.scalars(select(AuditRow.reason).where(AuditRow.reason.is_not(None))).all()
        assert SQL[0] in reasons
        assert conn.scalars(select(Query.message)).all()[-1] == SQL[1]
    web.engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ("audit", SQL[0]),
        ("audit", SUBJECT, "--item", SQL[1]),
        ("audit", SUBJECT, "--study", SQL[0]),
        ("export", "odm", "-o", "{out}", "--subject", SQL[0], "--site", SQL[1]),
        ("export", "csv", "-o", "{out}", "--study", SQL[0]),
        ("site", "list", "--study", SQL[0]),
        ("user", "set-role", SQL[0], "monitor", "--study", "S.1"),
        ("print", "casebook", SQL[0], "-o", "{out}"),
    ],
)
def test_sql_in_command_line_arguments(tmp_path: Path, args: tuple[str, ...]) -> None:
    web = hostile_web(tmp_path / "h.sqlite3")
    before = dump(web.engine)
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in args]
    result = CliRunner().invoke(main, [*argv, "--db", web.url])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert dump(web.engine) == before
    if args[:2] == ("export", "odm"):
        assert "0 subjects" in result.output
    web.engine.dispose()


def test_sql_in_a_username_added_by_the_admin_is_just_a_name(web: Web) -> None:
    admin = web.client("admin")
    admin.get("/admin/users")
    data = {"username": SQL[0], "password": "long enough pw", "role": "monitor"}
    assert admin.post("/admin/users", data).status_code == 303
    role_url = f"/admin/users/{quote(SQL[0], safe='')}/role"
    assert admin.post(role_url, {"role": "monitor", "site": SQL[1]}).status_code in (404, 422)
    signed_in = web.client().post("/login", {"username": SQL[0], "password": "long enough pw"})
    assert signed_in.status_code == 303

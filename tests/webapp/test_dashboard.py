"""The dashboard (issue 18): its tables equal counts made here straight from the database, its
charts are script-free SVG, its CSV files hold the tables' numbers, and only monitors and data
managers see it, each over their own sites (investigators: 403)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import text

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.queries import open_query
from tests.webapp.conftest import (
    SITE_A,
    SITE_B,
    STUDY,
    SUBJECT_A,
    SUBJECT_B,
    Client,
    Web,
    seeded_schema,
    web_at,
)
from tests.webapp.helpers import ELIGIBLE

TABLES = ("enrolment", "completion", "query_age", "sdv", "checks")
TABLE = re.compile(r'<table class="list" data-table="(\w+)">(.*?)</table>', re.S)
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
ITEM = ItemKey("SE.ELIG", "", "F.IE", "", "IG.IE_IN", "", "IT.IE_IN01")


def tables_of(body: str) -> dict[str, list[list[str]]]:
    """Each table of the page: its rows (header row first) as cell texts."""
    return {
        name: [[html.unescape(c) for c in CELL.findall(r)] for r in ROW.findall(inner)]
        for name, inner in TABLE.findall(body)
    }


def _fill(web: Web) -> None:
    """F.IE saved for both subjects, verified at site A; five queries, two of them by a
    check (one named like a formula), aged 2, 10 and 40 days, one closed."""
    dm = web.client("dm")
    for key in (SUBJECT_A, SUBJECT_B):
        r = dm.post(f"/subjects/{key}/SE.ELIG/F.IE", {**ELIGIBLE, "expected_version": "0"})
        assert r.status_code == 303
    mon = web.client("mon_a")
    mon.get(f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE")
    r = mon.post(
        f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE/status",
        {"target": "verified", "expected_version": "1"},
    )
    assert r.status_code in (303, 409)
    now = datetime.now(UTC)
    plan = [
        (SUBJECT_A, 2, "open", "RC.AGE"),
        (SUBJECT_A, 10, "answered", "RC.AGE"),
        (SUBJECT_B, 40, "open", "=HYPERLINK(1)"),
        (SUBJECT_B, 3, "closed", None),
        (SUBJECT_B, 31, "open", None),
    ]
    with write_transaction(web.engine) as conn:
        for key, days, status, check in plan:
            qid = open_query(
                conn, study=STUDY, subject_key=key, key=ITEM, message="Check",
                user="dm", role="data_manager",
            )  # fmt: skip
            conn.execute(
                text("UPDATE queries SET status = :s, check_id = :c, opened_at = :t WHERE id = :i"),
                {
                    "s": status,
                    "c": check,
                    "t": _stored(web, now - timedelta(days=days)),
                    "i": qid,
                },
            )


@pytest.fixture
def data(web: Web) -> None:
    _fill(web)


def _stored(web: Web, moment: datetime) -> datetime:
    """A UTC moment as the store keeps it: naive UTC on SQLite, aware on PostgreSQL."""
    return moment if web.engine.dialect.name == "postgresql" else moment.replace(tzinfo=None)


def _utc(value: object) -> datetime:
    """A timestamp read back with plain SQL, as naive UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _sites_clause(sites: tuple[str, ...] | None) -> str:
    if sites is None:
        return ""
    listed = ", ".join(f"'{s}'" for s in sites)
    return f" AND s.site_id IN (SELECT id FROM sites WHERE oid IN ({listed}))"


def independent(web: Web, sites: tuple[str, ...] | None) -> dict[str, object]:
    """The dashboard's figures counted here with plain SQL (and Python dates for the ages)."""
    where = _sites_clause(sites)
    with web.engine.connect() as conn:
        subjects = conn.execute(text(f"SELECT created_at FROM subjects s WHERE 1=1{where}")).all()
        forms = conn.execute(
            text(
                "SELECT f.form_oid, f.status FROM forms f JOIN study_events e ON "
                f"e.id = f.study_event_id JOIN subjects s ON s.id = e.subject_id WHERE 1=1{where}"
            )
        ).all()
        queries = conn.execute(
            text(
                "SELECT q.status, q.check_id, q.form_oid, q.opened_at FROM queries q "
                f"JOIN subjects s ON s.id = q.subject_id WHERE 1=1{where}"
            )
        ).all()
    months: dict[str, int] = {}
    for (created,) in subjects:
        month = _utc(created).strftime("%Y-%m")
        months[month] = months.get(month, 0) + 1
    now = datetime.now(UTC).replace(tzinfo=None)
    ages = [0, 0, 0]
    for status, _, _, opened in queries:
        if status != "closed":
            days = (now - _utc(opened)).total_seconds() / 86400
            ages[0 if days < 7 else 1 if days <= 30 else 2] += 1
    by_check: dict[tuple[str, str], int] = {}
    for _, check, form, _ in queries:
        if check is not None:
            by_check[(check, form)] = by_check.get((check, form), 0) + 1
    saved = [f for f in forms if f[1] != "not_started"]
    return {
        "subjects": len(subjects),
        "months": months,
        "forms": len(forms),
        "ages": ages,
        "verified": sum(1 for f in saved if f[1] == "verified"),
        "saved": len(saved),
        "checks": by_check,
    }


def check_page(client: Client, url: str, sites: tuple[str, ...] | None, web: Web) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    found = tables_of(r.get_data(as_text=True))
    assert set(found) >= {"query_age", "sdv", "checks", "completion", "enrolment"}
    want = independent(web, sites)
    enrol = found["enrolment"][1:]
    assert {m: int(n) for m, n, _ in enrol} == want["months"]
    assert int(enrol[-1][2]) == want["subjects"]
    assert sum(int(r[-1]) for r in found["completion"][1:]) == want["forms"]
    assert [int(r[1]) for r in found["query_age"][1:]] == want["ages"]
    overall = found["sdv"][-1]
    assert (int(overall[1]), int(overall[2])) == (want["verified"], want["saved"])
    checks = {(r[0], r[1]): int(r[2]) for r in found["checks"][1:]}
    assert sorted(checks.values()) == sorted(want["checks"].values())  # type: ignore[attr-defined]
    assert {c for c, _ in checks} == {c for c, _ in want["checks"]}  # type: ignore[attr-defined]


def test_tables_equal_independent_counts(web: Web, data: None) -> None:
    dm = web.client("dm")
    check_page(dm, "/dashboard", None, web)
    check_page(dm, f"/dashboard?site={SITE_A}", (SITE_A,), web)
    check_page(dm, f"/studies/{STUDY}/dashboard?site={SITE_B}", (SITE_B,), web)
    assert independent(web, None)["ages"] == [1, 1, 2]  # the fixture's queries, not closed
    mon = web.client("mon_a")
    check_page(mon, "/dashboard", (SITE_A,), web)  # a site monitor counts their site only
    assert independent(web, (SITE_A,))["verified"] == 1


def test_csv_downloads_hold_the_tables(web: Web, data: None) -> None:
    dm = web.client("dm")
    found = tables_of(dm.get("/dashboard").get_data(as_text=True))
    for name in TABLES:
        r = dm.get(f"/dashboard/{name}.csv")
        assert r.status_code == 200 and r.mimetype == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
        page = [[("'" + c if c.startswith("=") else c) for c in row] for row in found[name]]
        assert rows == page, name
    checks = dm.get("/dashboard/checks.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in checks and "\n=HYPERLINK" not in checks  # injection-safe


def test_charts_are_svg_without_script(web: Web, data: None) -> None:
    dm = web.client("dm")
    body = dm.get("/dashboard").get_data(as_text=True)
    assert "<script" not in body.lower()
    assert not re.search(r"\son[a-z]+\s*=", body, re.I)
    for name in TABLES:
        assert f'src="/dashboard/{name}.svg"' in body
        r = dm.get(f"/dashboard/{name}.svg?site={SITE_A}")
        assert r.status_code == 200 and r.mimetype == "image/svg+xml"
        policy = r.headers["Content-Security-Policy"]
        assert "script" not in policy and "default-src 'none'" in policy
        root = etree.fromstring(r.data)  # well-formed
        assert etree.QName(root).localname == "svg"
        for node in root.iter():
            if isinstance(node.tag, str):
                assert etree.QName(node).localname != "script"
                assert not [a for a in node.attrib if etree.QName(a).localname.startswith("on")]


def test_access_and_the_site_filter(web: Web, data: None) -> None:
    for user in ("inv_a", "inv_b", "designer", "admin"):
        client = web.client(user)
        for url in ("/dashboard", "/dashboard/sdv.svg", "/dashboard/sdv.csv"):
            assert client.get(url).status_code == 403, (user, url)
        assert 'href="/dashboard"' not in client.get("/").get_data(as_text=True)
    mon = web.client("mon_a")
    page = mon.get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard"' in page  # the nav link
    assert f'value="{SITE_A}"' in page and f'value="{SITE_B}"' not in page
    for url in (f"/dashboard?site={SITE_B}", f"/dashboard/sdv.csv?site={SITE_B}"):
        assert mon.get(url).status_code == 400, url
    dm = web.client("dm")
    page = dm.get("/dashboard").get_data(as_text=True)
    assert f'value="{SITE_A}"' in page and f'value="{SITE_B}"' in page


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard?site=%3Cscript%3E",
        "/dashboard?site=' OR 1=1 --",
        "/dashboard?site=",
        "/dashboard/nope.svg",
        "/dashboard/..%2Fsdv.csv",
        "/dashboard/sdv.svg?site=LOC.XX",
        "/dashboard/checks.csv?site=%00",
        f"/studies/{STUDY}/dashboard/enrolment.svg",
    ],
)
def test_bad_parameters_are_4xx_never_500(web: Web, url: str) -> None:
    r = web.client("dm").get(url)
    assert r.status_code < 500
    assert "<script>" not in r.get_data(as_text=True)


def test_an_empty_study_shows_empty_tables(web: Web) -> None:
    dm = web.client("dm")
    body = dm.get("/dashboard").get_data(as_text=True)
    found = tables_of(body)
    assert [int(r[1]) for r in found["query_age"][1:]] == [0, 0, 0]
    assert found["enrolment"][-1][2] == "2"  # the two seeded subjects
    for name in TABLES:
        assert dm.get(f"/dashboard/{name}.svg").status_code == 200


@pytest.mark.postgres
def test_tables_equal_independent_counts_on_postgresql() -> None:
    """The month of a subject's creation and the ages are worked out by the database: the
    PostgreSQL expressions (to_char in UTC) give the same tables."""
    with seeded_schema(to_run="the dashboard on PostgreSQL") as url, web_at(url) as web:
        _fill(web)
        dm = web.client("dm")
        check_page(dm, "/dashboard", None, web)
        check_page(dm, f"/dashboard?site={SITE_B}", (SITE_B,), web)
        assert independent(web, None)["ages"] == [1, 1, 2]

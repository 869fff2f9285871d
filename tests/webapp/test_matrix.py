"""Every route x every role x own site / other site, generated from the app's url_map.

A route missing from EXPECT fails ``test_every_route_is_in_the_matrix``, so a new page
cannot escape the access rules. An investigator or monitor of site A gets 404 for every URL
of site B's subjects and site, GET and POST alike; users without a clinical role get 404 for
every subject URL; nobody ever gets a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.routing import Rule

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.models import AuditRow, ItemData, Query
from storage.queries import open_query
from tests.webapp.conftest import (
    PASSWORD,
    SITE_A,
    SITE_B,
    STUDY,
    SUBJECT_A,
    SUBJECT_B,
    USERS,
    Client,
    Web,
)
from tests.webapp.helpers import ELIGIBLE

OWN, OTHER = "own", "other"
CLINICAL = {"investigator", "monitor", "data_manager"}


@dataclass(frozen=True)
class Case:
    role: str
    clinical_here: bool
    """The user holds a clinical role at the site the URL names."""


Expect = Callable[[Case], set[int]]


def role_in(*roles: str, yes: set[int], no: set[int] | None = None) -> Expect:
    def decide(case: Case) -> set[int]:
        return yes if case.role in roles else (no or {403})

    return decide


def scoped(inner: Expect) -> Expect:
    """Subject and site URLs: 404 unless the user holds a clinical role at that site."""
    return lambda case: inner(case) if case.clinical_here else {404}


EXPECT: dict[tuple[str, str], Expect] = {
    ("auth.login", "GET"): lambda c: {302},
    ("auth.login_post", "POST"): lambda c: {401},
    ("auth.language", "POST"): lambda c: {303},
    ("auth.logout", "POST"): lambda c: {303},
    ("subjects.home", "GET"): lambda c: {302},
    ("subjects.sites", "GET"): role_in(*CLINICAL, yes={200}),
    ("subjects.site", "GET"): scoped(lambda c: {200}),
    ("matrix.study", "GET"): role_in(*CLINICAL, yes={200}),
    ("matrix.site", "GET"): scoped(lambda c: {200}),
    ("subjects.add_subject", "POST"): scoped(
        role_in("investigator", "data_manager", yes={303, 422})
    ),
    ("subjects.casebook", "GET"): scoped(lambda c: {200}),
    ("subjects.sign", "GET"): scoped(role_in("investigator", yes={200})),
    ("subjects.sign_post", "POST"): scoped(role_in("investigator", yes={303, 409})),
    ("entry.form", "GET"): scoped(lambda c: {200}),
    ("entry.save", "POST"): scoped(role_in("investigator", "data_manager", yes={303, 409})),
    ("entry.item_history", "GET"): scoped(lambda c: {200}),
    ("entry.status", "POST"): scoped(role_in("monitor", yes={303, 409})),
    ("queries.index", "GET"): role_in(*CLINICAL, yes={200}),
    ("dashboard.index", "GET"): role_in("monitor", "data_manager", yes={200}),
    ("dashboard.chart", "GET"): role_in("monitor", "data_manager", yes={200}),
    ("dashboard.csv", "GET"): role_in("monitor", "data_manager", yes={200}),
    ("queries.subject_queries", "POST"): scoped(role_in("monitor", "data_manager", yes={303})),
    ("queries.query_action", "POST"): scoped(role_in("monitor", "data_manager", yes={303, 409})),
    # data managers only (study-wide here); the selected query is the site's subject's
    ("queries.bulk_close", "POST"): role_in("data_manager", yes={303, 409}),
    ("exports.index", "GET"): role_in("data_manager", yes={200}),
    ("exports.odm", "POST"): role_in("data_manager", yes={200}),
    ("exports.define", "POST"): role_in("data_manager", yes={200}),
    ("exports.csv", "POST"): role_in("data_manager", yes={200}),
    ("exports.dataset_json", "POST"): role_in("data_manager", yes={200}),
    ("design.index", "GET"): role_in("study_designer", yes={200}),
    ("design.upload", "POST"): role_in("study_designer", yes={422}),
    ("design.publish", "POST"): role_in("study_designer", yes={422}),
    # the seeded study holds no draft: the review of version 7 is a 404 for its designers
    ("design.draft", "GET"): role_in("study_designer", yes={404}),
    ("versions.index", "GET"): role_in("data_manager", yes={200}),
    ("versions.migrate", "POST"): role_in("data_manager", yes={422}),
    ("admin.users", "GET"): role_in("admin", yes={200}),
    ("admin.add", "POST"): role_in("admin", yes={303, 422}),
    ("admin.role", "POST"): role_in("admin", yes={303}),
    ("admin.revoke", "POST"): role_in("admin", yes={303, 422}),
    ("admin.deactivate", "POST"): role_in("admin", yes={303}),
    ("admin.activate", "POST"): role_in("admin", yes={303}),
    ("admin.reset", "POST"): role_in("admin", yes={200}),
    ("studies.index", "GET"): lambda c: {200},
    ("studies.create", "POST"): role_in("study_designer", "admin", yes={422}),
    ("account.password", "GET"): lambda c: {200},
    ("account.password_post", "POST"): lambda c: {422},
}
SKIP = {"static", "form_static"}


def routes(web: Web) -> list[tuple[Rule, str]]:
    out = []
    for rule in web.app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        out += [(rule, m) for m in sorted(rule.methods or ()) if m in ("GET", "POST")]
    # signing out ends the session: run it last
    return sorted(out, key=lambda rm: (rm[0].endpoint == "auth.logout", rm[0].rule, rm[1]))


def test_every_route_is_in_the_matrix(web: Web) -> None:
    found = {(rule.endpoint, method) for rule, method in routes(web)}
    assert found == set(EXPECT), "add new routes to EXPECT with their access rule"


def place(site: str) -> dict[str, str]:
    subject = SUBJECT_A if site == SITE_A else SUBJECT_B
    return {
        "subject_key": subject,
        "event_repeat": "",
        "form_repeat": "",
        "site_oid": site,
        "event_oid": "SE.ELIG",
        "form_oid": "F.IE",
        "username": "inv_b",
        "number": "7",  # a metadata version (design.draft)
        "name": "sdv",  # a dashboard table (dashboard.chart, dashboard.csv)
        "study_oid": STUDY,  # the twin of each study-scoped rule under /studies/<OID>
    }


def form_data(endpoint: str, site: str, queries: dict[str, int]) -> dict[str, str]:
    code = site.rsplit(".", 1)[-1]
    back = {"event_oid": "SE.ELIG", "form_oid": "F.IE"}
    return {
        "auth.login_post": {"username": "nobody", "password": "wrong"},
        "auth.language": {"lang": "de", "next": "/"},
        "subjects.add_subject": {"subject_key": f"{code}-777"},
        "subjects.sign_post": {"password": PASSWORD},
        "entry.save": {**ELIGIBLE, "expected_version": "1", "reason": "matrix"},
        "entry.status": {"target": "verified", "expected_version": "1"},
        "queries.subject_queries": {**back, "field": "IG.IE_IN[].IT.IE_IN01", "message": "?"},
        "queries.query_action": {**back, "action": "close", "text": "matrix"},
        "queries.bulk_close": {
            "query": str(queries.get(SUBJECT_A if site == SITE_A else SUBJECT_B, 0)),
            "text": "matrix",
        },
        "exports.odm": {"mode": "audit", "site": site, "since": "2000-01-01", "admin": "1"},
        "exports.csv": {"site": site},
        "exports.dataset_json": {"site": site},
        "design.upload": {},
        "admin.add": {"username": f"new_{code}", "password": "long enough pw", "role": "monitor"},
        "admin.role": {"role": "monitor", "site": SITE_B},
        "admin.revoke": {"role": "investigator", "site": site},
        "account.password_post": {"current": "wrong", "new": "x", "again": "x"},
    }.get(endpoint, {})


@pytest.fixture
def prepared(web: Web) -> dict[str, int]:
    """Both subjects eligible (version 1 of F.IE) and one open query each."""
    dm = web.client("dm")
    ids = {}
    for key in (SUBJECT_A, SUBJECT_B):
        r = dm.post(f"/subjects/{key}/SE.ELIG/F.IE", {**ELIGIBLE, "expected_version": "0"})
        assert r.status_code == 303
        with write_transaction(web.engine) as conn:
            ids[key] = open_query(
                conn,
                study=STUDY,
                subject_key=key,
                key=ItemKey("SE.ELIG", "", "F.IE", "", "IG.IE_IN", "", "IT.IE_IN01"),
                message="Check",
                user="dm",
                role="data_manager",
            )
    return ids


def url_for(rule: Rule, site: str, queries: dict[str, int], study: str = STUDY) -> str:
    values = {k: v for k, v in {**place(site), "study_oid": study}.items() if k in rule.arguments}
    if "query_id" in rule.arguments:
        values["query_id"] = queries[place(site)["subject_key"]]
    url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
    return url + (
        "?field=IG.IE_IN%5B%5D.IT.IE_IN01" if rule.endpoint == "entry.item_history" else ""
    )


def request(
    client: Client, rule: Rule, method: str, site: str, queries: dict[str, int], study: str = STUDY
) -> int:
    url = url_for(rule, site, queries, study)
    if method == "GET":
        return client.get(url).status_code
    return client.post(url, form_data(rule.endpoint, site, queries)).status_code


@pytest.mark.parametrize("username", sorted(USERS))
def test_role_by_site_by_route(web: Web, prepared: dict[str, int], username: str) -> None:
    role, home = USERS[username]
    client = web.client(username)
    failures = []
    for rule, method in routes(web):
        for site in (SITE_A, SITE_B):
            if rule.endpoint == "auth.logout" and site == SITE_A:
                continue
            clinical_here = role in CLINICAL and home in (None, site)
            expected = EXPECT[(rule.endpoint, method)](Case(role, clinical_here))
            got = request(client, rule, method, site, prepared)
            if got not in expected:
                where = OWN if home in (None, site) else OTHER
                failures.append(
                    f"{method} {rule.rule} ({where} site {site}): {got}, expected {expected}"
                )
    assert not failures, "\n".join(failures)


def test_investigator_of_site_a_changes_nothing_at_site_b(
    web: Web, prepared: dict[str, int]
) -> None:
    """Every POST of site B's URLs by site A's investigator: 404, and no row written."""
    client = web.client("inv_a")

    def counts() -> tuple[int, int, int]:
        with web.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in (ItemData, AuditRow, Query)
            )

    before = counts()
    for rule, method in routes(web):
        scoped_rule = {"subject_key", "site_oid"} & set(rule.arguments)
        if method == "POST" and scoped_rule:
            assert request(client, rule, method, SITE_B, prepared) == 404, rule.rule
    assert counts() == before


def test_signed_out_visitors_are_sent_to_sign_in(web: Web, prepared: dict[str, int]) -> None:
    client = web.client()
    for rule, method in routes(web):
        if rule.endpoint.startswith("auth."):
            continue
        url = url_for(rule, SITE_A, prepared)
        if method == "GET":
            r = client.get(url)
            assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), url
        else:
            assert client.post(url, form_data(rule.endpoint, SITE_A, prepared)).status_code == 401


def test_csrf_token_is_required_on_every_post(web: Web, prepared: dict[str, int]) -> None:
    """A POST without the token, or with another session's token, is refused with 400."""
    dm, other = web.client("dm"), web.client("admin")
    for rule, method in routes(web):
        if method != "POST":
            continue
        url = url_for(rule, SITE_A, prepared)
        data = form_data(rule.endpoint, SITE_A, prepared)
        assert dm.post(url, data, csrf=False).status_code == 400, url
        assert dm.post(url, {**data, "csrf_token": other.token}).status_code == 400, url
    assert (
        web.client()
        .post("/login", {"username": "dm", "password": PASSWORD}, csrf=False)
        .status_code
        == 400
    )

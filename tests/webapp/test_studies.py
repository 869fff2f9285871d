"""Two studies in one database, served by one app (issue 16, item 1).

The second study is the real study under another Study OID, with the same site OIDs and the
same SubjectKeys: every lookup must be by study. Users hold roles in both studies (a
different site, or another role), or in one only. The access matrix of ``test_matrix`` runs
over every study-scoped route under ``/studies/<OID>`` x both studies x both sites: where
the user holds no role in the study the answer is 404 (the study's existence is not
revealed), elsewhere the answer is the one-study matrix's for the role held in that study.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from odm_engine.clinical import ItemKey
from storage.engine import make_engine, write_transaction
from storage.models import AccessLogRow, AuditRow, ItemData, Query, Study
from storage.queries import open_query
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import access_log, add_user, set_role
from tests.conftest import REPO
from tests.webapp.conftest import (
    PASSWORD,
    SITE_A,
    SITE_B,
    STUDY,
    SUBJECT_A,
    SUBJECT_B,
    Web,
    seeded_schema,
    web_at,
)
from tests.webapp.helpers import ELIGIBLE
from tests.webapp.live import Http, gunicorn
from tests.webapp.test_matrix import CLINICAL, EXPECT, Case, request, routes
from webapp import Settings, create_app

TWO = "ST.TWO"
TWO_XML = (
    (REPO / "metadata" / "bortezomib-retreatment.xml")
    .read_bytes()
    .replace(b'"ST.BTZ_RETREAT"', b'"ST.TWO"')
    .replace(b'"MDV.BTZ_RETREAT.1"', b'"MDV.TWO.1"')
)
THREE_XML = TWO_XML.replace(b'"ST.TWO"', b'"ST.THREE"').replace(b'"MDV.TWO.1"', b'"MDV.THREE.1"')
ROLES: dict[str, dict[str, tuple[str, str | None]]] = {
    # username: {study: (role, site or None)}; the seed gives the ST.BTZ_RETREAT roles
    "inv_a": {STUDY: ("investigator", SITE_A), TWO: ("investigator", SITE_B)},
    "designer": {STUDY: ("study_designer", None), TWO: ("monitor", SITE_A)},
    "dm": {STUDY: ("data_manager", None)},
    "admin": {STUDY: ("admin", None)},
    "inv_two": {TWO: ("investigator", SITE_A)},
}
SUBJECTS = ((SUBJECT_A, SITE_A), (SUBJECT_B, SITE_B))


def _add_second_study(url: str) -> None:
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        assert load_study(conn, TWO_XML, path="two.xml").status == "stored"
        add_user(conn, "inv_two", PASSWORD, full_name="Inv Two")
        add_user(conn, "dm_two", PASSWORD, full_name="Dm Two")
        set_role(conn, "dm_two", TWO, "data_manager")
        for name, grants in ROLES.items():
            if TWO in grants:
                role, site = grants[TWO]
                set_role(conn, name, TWO, role, site_oid=site, replace=False)
        for key, site in SUBJECTS:
            create_subject(
                conn, study=TWO, subject_key=key, site_oid=site, user="dm_two", role="data_manager"
            )
    engine.dispose()


@pytest.fixture(scope="session")
def two_db(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("two") / "two.sqlite3"
    shutil.copyfile(seeded_db, path)
    _add_second_study(f"sqlite:///{path}")
    return path


@pytest.fixture
def two(tmp_path: Path, two_db: Path) -> Iterator[Web]:
    path = tmp_path / "web.sqlite3"
    shutil.copyfile(two_db, path)
    with web_at(f"sqlite:///{path}") as web:
        yield web


def prefixed(study: str, url: str) -> str:
    return f"/studies/{study}{url}"


def _prepare(web: Web) -> dict[str, dict[str, int]]:
    """In each study: both subjects eligible (F.IE version 1) and one open query each."""
    ids: dict[str, dict[str, int]] = {}
    for study, user in ((STUDY, "dm"), (TWO, "dm_two")):
        client = web.client(user)
        ids[study] = {}
        for key, _site in SUBJECTS:
            url = prefixed(study, f"/subjects/{key}/SE.ELIG/F.IE")
            client.get(url)
            r = client.post(url, {**ELIGIBLE, "expected_version": "0"})
            assert r.status_code == 303, (study, key, r.status_code)
            with write_transaction(web.engine) as conn:
                ids[study][key] = open_query(
                    conn,
                    study=study,
                    subject_key=key,
                    key=ItemKey("SE.ELIG", "", "F.IE", "", "IG.IE_IN", "", "IT.IE_IN01"),
                    message="Check",
                    user=user,
                    role="data_manager",
                )
    return ids


def _expected(username: str, study: str, rule_endpoint: str, method: str, site: str) -> set[int]:
    grant = ROLES[username].get(study)
    if grant is None:
        return {404}
    role, home = grant
    clinical_here = role in CLINICAL and home in (None, site)
    return EXPECT[(rule_endpoint, method)](Case(role, clinical_here))


@pytest.mark.parametrize("username", sorted(ROLES))
def test_role_by_study_by_site_by_route(two: Web, username: str) -> None:
    """Every study-scoped route under /studies/<OID> x {own study, other study} x site."""
    queries = _prepare(two)
    client = two.client(username)
    failures = []
    scoped = [(rule, m) for rule, m in routes(two) if "study_oid" in rule.arguments]
    assert len(scoped) > 30
    for rule, method in scoped:
        for study in (STUDY, TWO):
            for site in (SITE_A, SITE_B):
                expected = _expected(username, study, rule.endpoint, method, site)
                got = request(client, rule, method, site, queries[study], study)
                if got not in expected:
                    failures.append(f"{method} {rule.rule} {study} {site}: {got}, {expected}")
    assert not failures, "\n".join(failures)


def test_a_user_without_a_role_in_a_study_changes_nothing_in_it(two: Web) -> None:
    """Every POST of ST.TWO by its outsider (dm holds a role in the other study only): 404,
    and not a row written; so is a study that does not exist."""
    queries = _prepare(two)
    client = two.client("dm")
    assert client.get("/studies").status_code == 200  # a page of the session: its CSRF token

    def counts() -> tuple[int, ...]:
        with two.engine.connect() as conn:
            return tuple(
                int(conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in (ItemData, AuditRow, Query, AccessLogRow, Study)
            )

    before = counts()
    for rule, method in routes(two):
        if "study_oid" not in rule.arguments or method != "POST":
            continue
        for study in (TWO, "ST.NOPE"):
            got = request(client, rule, method, SITE_A, queries[TWO], study)
            assert got == 404, (rule.rule, study)
    assert counts() == before


def test_a_subject_key_names_the_subject_of_the_urls_study(two: Web) -> None:
    """Same SubjectKey in both studies: a save under ST.TWO writes ST.TWO's subject only."""
    inv = two.client("inv_two")
    url = prefixed(TWO, f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE")
    assert 'name="expected_version" value="0"' in inv.get(url).text
    assert inv.post(url, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    page = two.client("inv_a").get(prefixed(STUDY, f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE")).text
    assert 'name="expected_version" value="0"' in page
    casebook = inv.get(prefixed(TWO, f"/subjects/{SUBJECT_A}")).text
    assert f'href="/studies/{TWO}/subjects/{SUBJECT_A}/SE.ELIG/F.IE"' in casebook


def test_pages_link_within_their_study(two: Web) -> None:
    inv = two.client("inv_a")
    page = inv.get(prefixed(TWO, "/sites")).text
    assert f'href="/studies/{TWO}/sites/LOC.AT01/subjects"' in page
    assert f'href="/studies/{TWO}/queries"' in page and 'href="/studies"' in page
    assert "LOC.DE01/subjects" not in page  # inv_a is at AT01 in ST.TWO, DE01 in the other
    r = inv.get(prefixed(TWO, "/"))
    assert r.status_code == 302 and r.headers["Location"] == f"/studies/{TWO}/sites"


def test_the_home_page_lists_the_studies_of_the_user(two: Web) -> None:
    """Unprefixed study pages, with several studies and no EDC_STUDY: to the home page."""
    home = two.client("inv_a").get("/")
    assert home.status_code == 200
    assert f'href="/studies/{STUDY}/"' in home.text and f'href="/studies/{TWO}/"' in home.text
    only = two.client("inv_two").get("/").text
    assert f'href="/studies/{TWO}/"' in only and STUDY not in only
    admin = two.client("admin").get("/studies").text  # an administrator sees every study
    assert f'href="/studies/{STUDY}/"' in admin and TWO in admin
    assert f'href="/studies/{TWO}/"' not in admin  # listed, not linked: no role there
    for url in ("/sites", f"/subjects/{SUBJECT_A}", "/design", "/exports"):
        r = two.client("inv_a").get(url)
        assert r.status_code == 302 and r.headers["Location"] == "/", url


def test_the_studies_list_speaks_every_interface_language(two: Web) -> None:
    page = two.client("inv_a", Accept_Language="de").get("/").text
    assert "<h1>Studien</h1>" in page and "Ihre Rollen" in page


def test_on_a_one_study_server_who_may_create_a_study_finds_the_studies_page(web: Web) -> None:
    assert 'href="/studies"' in web.client("designer").get("/design").text
    assert 'href="/studies"' in web.client("admin").get("/admin/users").text
    assert 'href="/studies"' not in web.client("inv_a").get("/sites").text


def test_signed_out_visitors_learn_nothing_of_a_study(two: Web) -> None:
    for study in (TWO, "ST.NOPE"):
        r = two.client().get(prefixed(study, "/sites"))
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


def test_edc_study_names_the_study_of_unprefixed_urls(two: Web) -> None:
    settings = Settings.load(environ={}, overrides={"database_url": two.url, "study": TWO})
    web = Web(create_app(settings), two.engine, two.url)
    inv = web.client("inv_two")
    assert inv.get("/sites").status_code == 200
    assert inv.get(f"/subjects/{SUBJECT_A}").status_code == 200
    assert inv.get(prefixed(STUDY, "/sites")).status_code == 404


def test_warm_up_builds_every_hosted_study(two: Web) -> None:
    from webapp import studyview
    from webapp.app import warm_up

    studyview.STUDIES.clear()
    warm_up(two.app)
    assert sorted(c.oid for c in studyview.STUDIES.values()) == [STUDY, TWO]


def _upload(client, url: str, xml: bytes, name: str = "new.xml"):  # type: ignore[no-untyped-def]
    return client.post(
        url, {"metadata": (io.BytesIO(xml), name)}, content_type="multipart/form-data"
    )


def test_a_designer_creates_a_study_and_becomes_its_designer(two: Web) -> None:
    designer = two.client("designer")
    assert 'action="/studies"' in designer.get("/studies").text
    r = _upload(designer, "/studies", THREE_XML)
    assert r.status_code == 303 and r.headers["Location"] == "/studies/ST.THREE/design"
    assert "MDV.THREE.1" in designer.get("/studies/ST.THREE/design").text
    with two.engine.connect() as conn:
        log = access_log(conn, username="designer")
    granted = [(e.actor, e.event.value, e.study_oid, e.role) for e in log]
    assert ("designer", "role_granted", "ST.THREE", "study_designer") in granted
    # the same file again: the study exists; a version of it goes through its design page
    again = _upload(designer, "/studies", THREE_XML)
    assert again.status_code == 422 and "EDC-STORE-004" in again.text
    # a designer of ST.BTZ_RETREAT only may not load a version of ST.TWO from their page
    other = _upload(designer, prefixed(STUDY, "/design"), TWO_XML)
    assert other.status_code == 422 and "EDC-STORE-002" in other.text


def test_who_may_create_a_study(two: Web) -> None:
    """Study designers (of any study) and administrators; clinical roles may not."""
    for user in ("inv_a", "dm", "inv_two"):
        client = two.client(user)
        assert 'action="/studies"' not in client.get("/studies").text
        assert _upload(client, "/studies", THREE_XML).status_code == 403, user
    with two.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Study)) == 2
    admin = two.client("admin")
    r = _upload(admin, "/studies", THREE_XML)
    assert r.status_code == 303 and r.headers["Location"] == "/studies/ST.THREE/admin/users"
    assert admin.get(r.headers["Location"]).status_code == 200  # its administrator


class LiveClient:
    """``test_matrix.request``'s client, over HTTP to a running gunicorn."""

    def __init__(self, base: str, username: str) -> None:
        self.base, self.http = base, Http()
        self.http.request(base + "/login")
        status, _ = self.http.request(base + "/login", {"username": username, "password": PASSWORD})
        assert status == 303, username
        assert self.http.request(base + "/")[0] == 200  # the studies list, and its CSRF token

    def get(self, url: str) -> SimpleNamespace:
        return SimpleNamespace(status_code=self.http.request(self.base + url)[0])

    def post(self, url: str, data: dict[str, str]) -> SimpleNamespace:
        return SimpleNamespace(status_code=self.http.request(self.base + url, data)[0])


@pytest.mark.postgres
@pytest.mark.slow
def test_two_studies_served_by_one_gunicorn() -> None:
    """One gunicorn (two workers) on PostgreSQL serving both studies: the access matrix of a
    user with roles in both studies (inv_a) and of one with a role in one only (dm)."""
    with seeded_schema(to_run="this test") as url:
        _add_second_study(url)
        with web_at(url) as web:
            queries = _prepare(web)
            with gunicorn(url, workers=2) as base:
                for username in ("inv_a", "dm"):
                    client = LiveClient(base, username)
                    failures = []
                    for rule, method in routes(web):
                        if "study_oid" not in rule.arguments:
                            continue
                        for study in (STUDY, TWO):
                            for site in (SITE_A, SITE_B):
                                expected = _expected(username, study, rule.endpoint, method, site)
                                got = request(client, rule, method, site, queries[study], study)  # type: ignore[arg-type]
                                if got not in expected:
                                    failures.append(f"{method} {rule.rule} {study} {site}: {got}")
                    assert not failures, username + "\n" + "\n".join(failures)

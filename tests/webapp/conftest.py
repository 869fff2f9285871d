"""Web app fixtures: the real study on a fresh SQLite database, one user per role, and a
test client that signs in and reads CSRF tokens from the pages like a browser."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import REPO
from tests.postgres import fresh_schema
from webapp import Settings, create_app

STUDY = "ST.BTZ_RETREAT"
SITE_A, SITE_B = "LOC.DE01", "LOC.AT01"
SUBJECT_A, SUBJECT_B = "DE01-001", "AT01-001"
PASSWORD = "correct horse battery"
USERS = {
    # username: (role, site or None for every site)
    "inv_a": ("investigator", SITE_A),
    "inv_b": ("investigator", SITE_B),
    "mon_a": ("monitor", SITE_A),
    "dm": ("data_manager", None),
    "designer": ("study_designer", None),
    "admin": ("admin", None),
}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Web:
    app: Flask
    engine: Engine
    url: str

    def client(self, username: str | None = None, **headers: str) -> Client:
        client = Client(self.app.test_client(), headers)
        if username is not None:
            client.login(username)
        return client


class Client:
    """A browser-like test client: keeps cookies, reads the CSRF token from the last page."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.c = client
        self.headers = {k.replace("_", "-"): v for k, v in headers.items()}
        self.token = ""

    def _remember(self, response):  # type: ignore[no-untyped-def]
        if response.mimetype != "text/html":
            return response  # a download (exports): no token, maybe not text at all
        found = CSRF.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def get(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self._remember(self.c.get(url, headers=self.headers, **kw))

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw):  # type: ignore[no-untyped-def]
        if csrf and not self.token:
            self.get("/login")
        payload = dict(data or {})
        if csrf:
            payload.setdefault("csrf_token", self.token)
        return self._remember(self.c.post(url, data=payload, headers=self.headers, **kw))

    def login(self, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 303:
            self.get("/sites" if USERS.get(username, ("",))[0] in CLINICAL else "/")
        return response


CLINICAL = ("investigator", "monitor", "data_manager")


def seed(engine: Engine) -> None:
    upgrade(engine)
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_bytes()
    with write_transaction(engine) as conn:
        result = load_study(conn, xml, path="bortezomib-retreatment.xml")
        assert result.status == "stored", result.message
        for name, (role, site) in USERS.items():
            add_user(conn, name, PASSWORD, full_name=name.replace("_", " ").title())
            set_role(conn, name, STUDY, role, site_oid=site)
        for key, site in ((SUBJECT_A, SITE_A), (SUBJECT_B, SITE_B)):
            create_subject(
                conn, study=STUDY, subject_key=key, site_oid=site, user="dm", role="data_manager"
            )


@contextmanager
def seeded_schema(*, to_run: str = "the PostgreSQL half") -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema holding the seeded study (see
    :func:`tests.postgres.fresh_schema`)."""
    with fresh_schema("w", to_run=to_run) as url:
        engine = make_engine(url)
        try:
            seed(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded database, made once per test run; each test works on a copy."""
    path = tmp_path_factory.mktemp("web") / "seeded.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    seed(engine)
    engine.dispose()
    return path


@contextmanager
def web_at(url: str) -> Iterator[Web]:
    """The app on the database at ``url`` through Flask's test client (and an engine on it)."""
    engine = make_engine(url)
    try:
        yield Web(
            create_app(Settings.load(environ={}, overrides={"database_url": url})), engine, url
        )
    finally:
        engine.dispose()


@pytest.fixture
def web(tmp_path: Path, seeded_db: Path) -> Iterator[Web]:
    path = tmp_path / "web.sqlite3"
    shutil.copyfile(seeded_db, path)
    with web_at(f"sqlite:///{path}") as web:
        yield web

"""Findings 1 and 12 held on every route at once: a NUL byte or another character XML 1.0
cannot carry, put into every path argument, every known query parameter and every form field
of every route, as each kind of user, is never a 500 and never reaches the database (SQLite
and PostgreSQL). The narrower tests in test_text_at_the_door.py name the messages; this one
makes sure a new route or field cannot skip the door."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import String, Text, inspect, select

from storage.models import Base
from tests.security.test_injection_and_params import QUERY_PARAMETERS
from tests.webapp.conftest import Web, seeded_schema, web_at
from tests.webapp.test_matrix import form_data, routes

BAD = ("\x00", "\x01")
USERS = ("dm", "admin", "designer", "inv_a", "mon_a")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_web(request: pytest.FixtureRequest, tmp_path: Path, seeded_db: Path) -> Iterator[Web]:
    if request.param == "sqlite":
        shutil.copyfile(seeded_db, tmp_path / "w.sqlite3")
        with web_at(f"sqlite:///{tmp_path / 'w.sqlite3'}") as web:
            yield web
        return
    with seeded_schema() as url, web_at(url) as web:
        yield web


def _stored_control_characters(web: Web) -> list[str]:
    found = []
    with web.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if not inspect(conn).has_table(table.name):
                continue
            texts = [c for c in table.columns if isinstance(c.type, String | Text)]
            for column in texts:
                values = conn.scalars(select(column).where(column.is_not(None)))
                found += [f"{table.name}.{column.name}: {v!r}" for v in values if set(v) & set(BAD)]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("user", USERS)
def test_no_route_answers_500_or_stores_a_control_character(any_web: Web, user: str) -> None:
    client = any_web.client(user)
    failures = []
    for rule, method in routes(any_web):
        if rule.endpoint in ("auth.logout",):
            continue
        for bad in BAD:
            evil = f"x{bad}y"
            values = {a: evil if a != "query_id" else "1" for a in rule.arguments}
            url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            if method == "GET":
                r = client.get(url + "?" + urlencode(dict.fromkeys(QUERY_PARAMETERS, evil)))
            else:
                data = {k: evil for k in form_data(rule.endpoint, "LOC.DE01", {})}
                data |= {"reason": evil, "text": evil, "message": evil, "full_name": evil}
                r = client.post(url, data)
            if r.status_code >= 500:
                failures.append(f"{method} {url} {bad!r}: {r.status_code}")
    assert failures == []
    assert _stored_control_characters(any_web) == []

"""Two gunicorn processes on different ports sharing one PostgreSQL database behave as one
service: a session made on one is valid on the other, and a save on one is seen (and its
version enforced) on the other. Nothing lives in a worker's memory or local files."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookiejar import Cookie

import pytest

from tests.webapp.conftest import PASSWORD, SUBJECT_A, seeded_schema
from tests.webapp.helpers import ELIG, ELIGIBLE
from tests.webapp.live import Http, gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with seeded_schema(to_run="this test") as url:
        yield url


def copy_session(source: Http, target: Http) -> None:
    value = source.cookie("edc_session")
    target.jar.set_cookie(
        Cookie(
            0,
            "edc_session",
            value,
            None,
            False,
            "127.0.0.1",
            False,
            False,
            "/",
            True,
            False,
            None,
            False,
            None,
            None,
            {},
        )
    )


def test_session_and_saves_are_shared_by_two_gunicorns(pg_url: str) -> None:
    form = ELIG.format(key=SUBJECT_A)
    with gunicorn(pg_url) as host_a, gunicorn(pg_url) as host_b:
        a = Http()
        a.request(host_a + "/login")
        status, _ = a.request(host_a + "/login", {"username": "inv_a", "password": PASSWORD})
        assert status == 303
        b = Http()
        copy_session(a, b)
        status, page = b.request(host_b + form)
        assert status == 200 and 'name="expected_version" value="0"' in page

        a.request(host_a + form)
        status, _ = a.request(host_a + form, {**ELIGIBLE, "expected_version": "0"})
        assert status == 303
        status, page = b.request(host_b + form)
        assert 'name="expected_version" value="1"' in page
        assert 'name="IG.IE_RES[].IT.IE_ELIG" value="Y" readonly' in page

        stale = {**ELIGIBLE, "IG.IE_IN[].IT.IE_IN01": "Y", "expected_version": "0"}
        status, page = b.request(host_b + form, stale)
        assert status == 409 and "Changed since you opened the form" in page

        status, _ = b.request(host_b + "/logout", {})
        assert status == 303
        assert a.request(host_a + "/sites")[0] == 302  # signed out everywhere

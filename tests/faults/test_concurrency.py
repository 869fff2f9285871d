"""16 concurrent clients saving the same and different forms through gunicorn on loopback
for a bounded time: every acknowledged save is in the database and the audit trail, no two
saves were acknowledged against the same form version (no lost update), every conflict is a
409, nothing is a 500. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.engine import make_engine
from storage.models import AuditRow
from tests.faults.helpers import add_subjects, values_without_audit
from tests.webapp.conftest import PASSWORD
from tests.webapp.live import Http, gunicorn

pytestmark = pytest.mark.slow
CLIENTS, SHARED, SECONDS = 16, 8, 30  # issue 8: 16 clients for 30 s
CONSENT = "/subjects/{key}/SE.ELIG/F.IC"
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


def run_load(url: str) -> None:
    engine = make_engine(url)
    own = add_subjects(engine, CLIENTS - SHARED, first=500)
    shared = "DE01-001"
    acknowledged: list[tuple[str, int, str]] = []  # (subject, expected version, value)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    with gunicorn(url, workers=2) as base:
        stop = time.monotonic() + SECONDS

        def client(n: int) -> None:
            key = shared if n < SHARED else own[n - SHARED]
            h = Http()
            h.request(base + "/login")
            h.request(base + "/login", {"username": "dm", "password": PASSWORD})
            form = base + CONSENT.format(key=key)
            i = 0
            while time.monotonic() < stop:
                _, page = h.request(form)
                found = VERSION.search(page)
                assert found, page[-300:]
                version = int(found.group(1))
                value = (date(1990, 1, 1) + timedelta(days=n * 500 + i)).isoformat()
                i += 1
                data = {
                    "IG.IC[].IT.IC_REQ": "Y",
                    "IG.IC[].IT.IC_DAT": value,
                    "expected_version": str(version),
                    "reason": f"client {n}",
                }
                status, _ = h.request(form, data)
                with lock:
                    statuses[status] += 1
                    if status == 303:
                        acknowledged.append((key, version, value))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 60)
    assert set(statuses) <= {303, 409}, statuses
    assert statuses[303] >= CLIENTS
    assert statuses[409] > 0, "the shared form never conflicted: the test did not race"
    same_version = Counter((k, v) for k, v, _ in acknowledged)
    assert max(same_version.values()) == 1, "two saves acknowledged on one version: lost update"
    with engine.connect() as conn:
        audited = set(
            conn.execute(
                select(AuditRow.subject_key, AuditRow.new_value).where(
                    AuditRow.item_oid == "IT.IC_DAT"
                )
            ).all()
        )
    missing = [(k, val) for k, _, val in acknowledged if (k, val) not in audited]
    assert not missing, f"acknowledged but not in the audit trail: {missing[:5]}"
    assert values_without_audit(engine) == 0
    engine.dispose()


def test_sixteen_clients_on_sqlite(seeded_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "edc.sqlite3"
    shutil.copyfile(seeded_db, db)
    run_load(f"sqlite:///{db}")


@pytest.mark.postgres
def test_sixteen_clients_on_postgresql(pg_url: str) -> None:
    run_load(pg_url)

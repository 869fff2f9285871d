"""A short run of ``python -m bench load`` (issue 15: the load bench had no test): one host,
a handful of users, a few seconds, and the bench's own database check against what the
clients were told (values, versions, an audit row per value, queries, answers). PostgreSQL
only: skipped without ``EDC_TEST_POSTGRES_URL``."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import bench_load
from storage.engine import make_engine


def test_a_short_load_run_stores_what_the_users_were_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = os.environ.get("EDC_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("EDC_TEST_POSTGRES_URL is not set: the load bench runs on PostgreSQL")
    # 2 sites x 2 investigators (2 subjects each) and 1 monitor, instead of 100 + 4 users
    monkeypatch.setattr(bench_load, "SITES", 2)
    monkeypatch.setattr(bench_load, "INVESTIGATORS_PER_SITE", 2)
    monkeypatch.setattr(bench_load, "MONITORS", 1)
    options = bench_load._options(["--seconds", "4", "--hosts", "1", "--think", "0.1,0.4"])
    admin = make_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    template = f"edc_load_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    try:
        bench_load._seed(make_url(base).set(database=template).render_as_string(False))
        found = bench_load._one_run(admin, base, template, 1, options)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()

    tally = found["tally"]
    assert tally.errors == []  # no 5xx, no unexpected status, every request answered
    assert found["problems"] == []  # the database holds what the clients were told
    saves = sum(tally.saves.values())
    assert saves > 0, "nobody saved a form: the check above proved nothing"
    assert len(tally.latencies.get("save", [])) >= saves
    rows = {row.name: row for row in bench_load._rows(1, found, options.seconds, None)}
    assert rows["load.1h.errors"].ours == 0 and rows["load.1h.errors"].met is True

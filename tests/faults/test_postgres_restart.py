"""PostgreSQL restarted mid-session: the app reconnects (pool_pre_ping) and a save made across
the restart is either stored (acknowledged) or reported as failed, never silently lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage.engine import make_engine
from storage.models import ItemData
from tests.faults.helpers import values_without_audit
from tests.webapp.conftest import PASSWORD, SUBJECT_A
from tests.webapp.helpers import ELIG, ELIGIBLE
from tests.webapp.live import Http, gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def cluster() -> list[str]:
    """`pg_ctlcluster VERSION main` when this machine can restart its PostgreSQL, else skip."""
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if shutil.which("pg_ctlcluster") is None or not versions or os.geteuid() != 0:
        pytest.skip("needs root and pg_ctlcluster to restart the local PostgreSQL cluster")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def wait_up(url: str) -> None:
    engine = make_engine(url)
    try:
        for _ in range(150):  # bounded: 30 s
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except Exception:
                time.sleep(0.2)
        raise AssertionError("PostgreSQL did not come back within 30 s")
    finally:
        engine.dispose()


def test_the_app_reconnects_and_the_save_across_the_restart_is_not_silently_lost(
    pg_url: str,
) -> None:
    command = cluster()
    form = ELIG.format(key=SUBJECT_A)
    try:
        with gunicorn(pg_url, workers=1) as base:
            user = Http()
            user.request(base + "/login")
            assert user.request(base + "/login", {"username": "dm", "password": PASSWORD})[0] == 303
            assert user.request(base + form)[0] == 200  # the form is open in the browser
            subprocess.run([*command, "restart"], check=True, capture_output=True, timeout=60)
            wait_up(pg_url)
            status, page = user.request(base + form, {**ELIGIBLE, "expected_version": "0"})
            engine = make_engine(pg_url)
            with engine.connect() as conn:
                stored = conn.scalar(select(func.count()).select_from(ItemData))
            if status == 303:
                assert stored, "acknowledged but not stored"
            else:
                assert status == 503 and "nothing was saved" in page, (status, page[-500:])
                assert not stored
                status, _ = user.request(base + form, {**ELIGIBLE, "expected_version": "0"})
                assert status == 303, "the app did not reconnect"
            assert user.request(base + "/sites")[0] == 200  # the session survived the restart
            assert values_without_audit(engine) == 0
            engine.dispose()

            # Down during the save: the user is told, and the same entries go in afterwards.
            a01 = ELIG.format(key="AT01-001")
            assert user.request(base + a01)[0] == 200
            subprocess.run([*command, "stop"], check=True, capture_output=True, timeout=60)
            try:
                status, page = user.request(base + a01, {**ELIGIBLE, "expected_version": "0"})
            finally:
                subprocess.run([*command, "start"], check=True, capture_output=True, timeout=60)
                wait_up(pg_url)
            assert status == 503 and "nothing was saved" in page, (status, page[-500:])
            status, _ = user.request(base + a01, {**ELIGIBLE, "expected_version": "0"})
            assert status == 303
    finally:
        if subprocess.run([*command, "status"], capture_output=True, check=False).returncode:
            subprocess.run([*command, "start"], capture_output=True, check=False, timeout=60)

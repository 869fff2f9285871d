"""Faults: SIGKILL during `edc import` and during a web save, a full disk and a read-only
database. The database stays consistent (no half form, no value without its audit row) and
nothing committed is lost. BulkWriter itself killed half-way: tests/storage/test_bulk.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine as SAEngine

from storage.engine import make_engine
from storage.models import AuditRow, ItemData
from tests.conftest import REPO
from tests.faults.helpers import add_subjects, children, master_on_port, values_without_audit
from tests.storage.helpers import dump
from tests.webapp.conftest import PASSWORD, Client, Web
from tests.webapp.helpers import ELIG, ELIGIBLE
from tests.webapp.live import EDC, Http, gunicorn
from webapp import Settings, create_app


def big_import(path: Path, subjects: int) -> None:
    """ClinicalData for the example study: ``subjects`` new eligible subjects at DE01."""
    items = "".join(
        f'<ItemData ItemOID="{k.split(".", 1)[1].split("[].", 1)[1]}" Value="{v}"/>'
        for k, v in ELIGIBLE.items()
        if k.startswith("IG.IE_IN")
    )
    with path.open("w") as fh:
        fh.write(
            '<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
            'FileOID="F.KILL" FileType="Snapshot" ODMVersion="1.3.2" '
            'CreationDateTime="2026-01-01T00:00:00">'
            '<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.1">'
        )
        for n in range(subjects):
            fh.write(
                f'<SubjectData SubjectKey="DE01-{n + 1000:05d}"><SiteRef LocationOID="LOC.DE01"/>'
                '<StudyEventData StudyEventOID="SE.ELIG"><FormData FormOID="F.IE">'
                f'<ItemGroupData ItemGroupOID="IG.IE_IN">{items}</ItemGroupData>'
                "</FormData></StudyEventData></SubjectData>"
            )
        fh.write("</ClinicalData></ODM>")


@pytest.mark.slow
def test_sigkill_during_edc_import_leaves_the_database_as_before(web: Web, tmp_path: Path) -> None:
    data = tmp_path / "big.xml"
    big_import(data, 20_000)
    before = dump(web.engine)
    db_file = Path(urlparse(web.url).path)
    wal = db_file.with_name(db_file.name + "-wal")
    start = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen(
        [str(EDC), "import", str(data), "--user", "dm", "--db", web.url],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while (wal.stat().st_size if wal.exists() else 0) < start + 2_000_000:
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import wrote nothing in 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-transaction: megabytes already in the WAL
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    engine = make_engine(web.url)
    assert dump(engine) == before
    assert values_without_audit(engine) == 0
    engine.dispose()


@pytest.mark.slow
def test_sigkill_of_the_gunicorn_worker_during_saves(seeded_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "edc.sqlite3"
    shutil.copyfile(seeded_db, db)
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    keys = add_subjects(engine, 60)
    acknowledged: list[str] = []
    with gunicorn(url, workers=1) as base:
        port = int(base.rsplit(":", 1)[1])
        master = master_on_port(port)

        def client() -> Http:
            # bounded in time, not in tries: the master respawns a killed worker in ~1 s on a
            # quiet machine, but a warming worker on a loaded one (CI) may take several
            give_up = time.monotonic() + 60
            while time.monotonic() < give_up:
                h = Http()
                try:
                    h.request(base + "/login")
                    h.request(base + "/login", {"username": "dm", "password": PASSWORD})
                    return h
                except OSError:
                    time.sleep(0.1)
            raise AssertionError("gunicorn did not come back after its worker was killed")

        def saver(mine: list[str]) -> None:
            h = client()
            for key in mine:
                try:
                    h.request(base + ELIG.format(key=key))
                    status, _ = h.request(
                        base + ELIG.format(key=key), {**ELIGIBLE, "expected_version": "0"}
                    )
                except OSError:
                    h = client()  # the worker died under this request: sign in again
                    continue
                if status == 303:
                    acknowledged.append(key)

        threads = [threading.Thread(target=saver, args=(keys[i::3],)) for i in range(3)]
        for t in threads:
            t.start()
        killed = 0
        deadline = time.monotonic() + 60
        while killed < 3 and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.4)
            for worker in children(master):
                os.kill(worker, signal.SIGKILL)
                killed += 1
        for t in threads:
            t.join(120)
    assert killed >= 1
    assert values_without_audit(engine) == 0
    with engine.connect() as conn:
        saved = conn.execute(
            select(AuditRow.subject_key, ItemData.item_oid)
            .join(ItemData, ItemData.item_oid == AuditRow.item_oid)
            .where(AuditRow.form_oid == "F.IE")
            .distinct()
        ).all()
        per_subject: dict[str, int] = {}
        for key in keys:
            per_subject[key] = len(
                conn.scalars(
                    select(AuditRow.item_oid)
                    .where(AuditRow.subject_key == key, AuditRow.form_oid == "F.IE")
                    .distinct()
                ).all()
            )
    assert saved
    full = max(per_subject.values())
    assert full >= len(ELIGIBLE)
    half = {k: n for k, n in per_subject.items() if n not in (0, full)}
    assert not half, f"half-saved forms: {half}"
    for key in acknowledged:
        assert per_subject[key] == full, f"{key} was acknowledged but is not stored"
    engine.dispose()


def cap_pages(engine: SAEngine) -> None:
    """A full disk for SQLite: no page may be added beyond what the file holds now."""

    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_connection.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()

    engine.dispose()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 4 MB tmpfs when mount is permitted (root, CI); None otherwise."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def test_full_disk_gives_a_clear_error_and_loses_nothing_committed(
    seeded_db: Path, tiny_disk: Path | None, tmp_path: Path
) -> None:
    where = tiny_disk or tmp_path
    db = where / "edc.sqlite3"
    shutil.copyfile(seeded_db, db)
    url = f"sqlite:///{db}"
    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    client = Client(app.test_client(), {})
    client.login("dm")
    a, b = ELIG.format(key="DE01-001"), ELIG.format(key="AT01-001")
    client.get(a)
    assert client.post(a, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    committed = dump(make_engine(url))
    filler = fill(where) if tiny_disk else None
    if tiny_disk is None:
        cap_pages(app.extensions["edc"].engine)
    client.get(b)
    r = client.post(b, {**ELIGIBLE, "expected_version": "0"})
    page = r.get_data(as_text=True)
    assert r.status_code == 503, page
    assert "nothing was saved" in page and "Traceback" not in page
    if filler is not None:
        filler.unlink()
    engine = make_engine(url)
    assert dump(engine) == committed
    assert values_without_audit(engine) == 0
    engine.dispose()


def test_read_only_database_gives_a_clear_error_and_keeps_what_was_committed(
    web: Web,
) -> None:
    client = web.client("dm")
    a = ELIG.format(key="DE01-001")
    client.get(a)
    assert client.post(a, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    committed = dump(web.engine)
    path = urlparse(web.url).path
    ro = create_app(
        Settings.load(
            environ={},
            overrides={
                "database_url": f"sqlite:///file:{path}?mode=ro&uri=true",
                "secret_key": web.app.secret_key,
            },
        )
    )
    reader = Client(ro.test_client(), {})
    reader.c._cookies = client.c._cookies  # the same browser, now served read-only
    b = ELIG.format(key="AT01-001")
    r = reader.get(b)
    assert r.status_code in (200, 503)
    r = reader.post(b, {**ELIGIBLE, "expected_version": "0", "csrf_token": client.token})
    page = r.get_data(as_text=True)
    assert r.status_code == 503, page
    assert "nothing was saved" in page and "Traceback" not in page
    assert dump(web.engine) == committed
    assert sys.platform  # the file itself was never made unwritable: nothing to restore


def test_edc_import_into_a_read_only_database_says_nothing_was_written(
    web: Web, tmp_path: Path
) -> None:
    """The CLI translates a database refusal into one clear message (no traceback)."""
    data = tmp_path / "small.xml"
    big_import(data, 3)
    before = dump(web.engine)
    web.engine.dispose()
    db_file = Path(urlparse(web.url).path)
    read_only = f"sqlite:///file:{db_file}?mode=ro&uri=true"
    proc = subprocess.run(
        [str(EDC), "import", str(data), "--user", "dm", "--db", read_only],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "nothing was written" in proc.stderr
    assert dump(make_engine(web.url)) == before

"""Web writes on a SQLite file: one transaction at a time, handed over without sleeping, and
WAL checkpoints run beside the requests instead of inside one.

Turns. SQLite lets one writer in at a time. A second writer that finds the lock taken does
not wait in a queue: its busy handler sleeps and retries (1, 2, 5, 10, 15, 20, 25 ... ms), so
with two gunicorn workers saving at once a save often sleeps far longer than the other held
the lock, and the worker sits idle meanwhile. The gunicorn workers of one SQLite file
therefore take an exclusive ``flock`` on a file beside the database before ``BEGIN
IMMEDIATE``: the kernel wakes the next writer the moment the lock is released. A thread lock
does the same between threads of one process (``flock`` holds per open file, not per thread).
This only orders writers that already had to take turns; SQLite's own locking stays in
charge (``BEGIN IMMEDIATE`` and ``busy_timeout`` still apply, e.g. against a CLI import,
which does not take the gate). The lock file holds no state: it makes the SQLite file's
single-host nature explicit. With PostgreSQL there is no gate at all. When the file cannot be
created (a read-only directory) writes go ungated and checkpoint as SQLite does by default.

Checkpoints. By default the commit that takes the WAL past 1000 pages copies them back into
the database and syncs it (15-30 ms here, with a form save writing about 12 pages), and the
writers queued behind it wait too. Web connections raise that threshold to
:data:`FALLBACK_PAGES`, a safety net, and every :data:`CHECKPOINT_EVERY` writes a worker
starts a PASSIVE checkpoint on its own connection in a short-lived thread: it does not take
the write lock, so saves go on meanwhile. A checkpoint is as crash-safe from that thread as
from a commit: a process killed during one leaves the database and its WAL consistent.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

SUFFIX = "-webwrite.lock"
CHECKPOINT_EVERY = 32
"""Writes of one worker between two background checkpoints (about 400 WAL pages)."""
FALLBACK_PAGES = 8000
"""``wal_autocheckpoint`` of web connections: a commit checkpoints only if the background
checkpoints fall this far behind (about 32 MB of WAL)."""


class WriteGate:
    """Orders the web workers' write transactions on one SQLite file and checkpoints its WAL
    off the request path. Does nothing for PostgreSQL or an in-memory database."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        is_file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._database = database if is_file else None
        self._path = (database + SUFFIX) if database and is_file else None
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._writes = 0
        self._checkpointing = threading.Lock()
        if self._path is not None and self._file() is not None:
            event.listen(engine, "connect", _raise_autocheckpoint)

    def _file(self) -> int | None:
        """The lock file, opened once per process (a forked worker opens its own)."""
        if self._path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._path = None  # cannot create it: leave the ordering to SQLite
                return None
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate for the body (a write transaction)."""
        with self._thread_lock:
            fd = self._file()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        self._count_write()

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % CHECKPOINT_EVERY == 0 and self._checkpointing.acquire(blocking=False):
            try:
                threading.Thread(
                    target=self._checkpoint, name="wal-checkpoint", daemon=True
                ).start()
            except RuntimeError:  # no thread to be had: the commit fallback checkpoints
                self._checkpointing.release()

    def _checkpoint(self) -> None:
        try:
            uri = Path(str(self._database)).resolve().as_uri() + "?mode=rw"  # never creates it
            conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # busy, read-only, gone: the next checkpoint or a commit (fallback) does it
        finally:
            self._checkpointing.release()


def _raise_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_PAGES}")

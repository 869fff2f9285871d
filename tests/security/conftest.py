"""Security-suite fixtures: reused from the web, storage and hostile-XML tests (imported,
not copied), plus a FIFO that records any attempt to open it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.foundation.test_hostile_xml import listener, secret_file
from tests.webapp.conftest import seeded_db, web

__all__ = ["fifo_sentinel", "listener", "secret_file", "seeded_db", "web"]


class Sentinel:
    """A named pipe: a process that opens it to read blocks until the watcher answers, so
    every open is seen (a regular file's atime is not reliable on relatime mounts)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue  # ENXIO: nobody has it open for reading
            self.opened += 1
            try:
                os.write(fd, b"edc-fifo-sentinel-read")
            finally:
                os.close(fd)

    def __enter__(self) -> Sentinel:
        os.mkfifo(self.path)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


@pytest.fixture
def fifo_sentinel(tmp_path: Path) -> Iterator[Sentinel]:
    with Sentinel(tmp_path / "sentinel.fifo") as sentinel:
        yield sentinel

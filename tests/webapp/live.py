"""A real gunicorn (``edc serve``) on a free loopback port, and a small cookie-keeping HTTP
client for it, for the tests that go through the network like a browser."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

from tests.conftest import REPO

EDC = Path(sys.executable).with_name("edc")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(db_url: str, *, workers: int = 1, log: Path | None = None) -> Iterator[str]:
    """``edc serve`` on 127.0.0.1 and a free port until the block ends; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(EDC), "serve", "--port", str(port), "--workers", str(workers), "--db", db_url],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except (urllib.error.URLError, OSError):  # refused, reset, or a worker warming up
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"edc serve did not start (exit {proc.poll()})") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Http:
    """Keeps cookies, does not follow redirects, remembers the last page's CSRF token."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.token = ""

    def request(self, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({"csrf_token": self.token, **data}).encode()
        try:
            with self.opener.open(urllib.request.Request(url, data=body), timeout=10) as r:
                status, text = r.status, r.read().decode(errors="replace")  # a download: binary
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        found = CSRF.search(text)
        if found:
            self.token = found.group(1)
        return status, text

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)  # type: ignore[misc]

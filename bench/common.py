"""Shared helpers for the benchmarks: timing, peak memory, corpus location, report rows."""

from __future__ import annotations

import os
import resource
import socket
import statistics
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Row:
    """One benchmark line: our figure, the baseline's, and what the target is."""

    name: str
    ours: float
    baseline: float | None
    unit: str
    target: str
    met: bool | None = None
    note: str = ""

    def format(self) -> str:
        ratio = ""
        if self.baseline:
            if self.unit.endswith("/s"):
                ratio = f"{self.ours / self.baseline:6.2f}x baseline rate"
            else:
                ratio = f"{self.baseline / self.ours:6.2f}x faster than baseline"
        verdict = {True: "MET", False: "MISSED", None: "-"}[self.met]
        base = f"{self.baseline:.4g} {self.unit}" if self.baseline is not None else "-"
        return (
            f"{self.name:<48} {self.ours:>10.4g} {self.unit:<8} baseline {base:<16} "
            f"{ratio:<28} target {self.target:<22} {verdict} {self.note}"
        )


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The best wall time of ``repeat`` calls (seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def median_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_mb() -> float:
    """This process's peak resident memory in MB: VmHWM of /proc/self/status (ru_maxrss on
    Linux keeps the high-water mark of the process that forked it across execve)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus_dir() -> Path | None:
    """$EDC_CORPUS, or ../shared/corpus beside the checkout when it exists."""
    env = os.environ.get("EDC_CORPUS")
    if env:
        return Path(env)
    guess = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return guess if guess.is_dir() else None


def postgres_url() -> str | None:
    """EDC_BENCH_POSTGRES_URL, else EDC_TEST_POSTGRES_URL: a server where a bench may create
    and drop its own databases (``edc_bench_*``, ``edc_load_*``, ``bench_*`` schemas)."""
    return os.environ.get("EDC_BENCH_POSTGRES_URL") or os.environ.get("EDC_TEST_POSTGRES_URL")


def scale(default: float = 1.0) -> float:
    """EDC_BENCH_SCALE shrinks (or grows) the data sizes for a quick run."""
    raw = os.environ.get("EDC_BENCH_SCALE")
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class Answer:
    """What a bench client reads of an HTTP answer: status, Set-Cookie, Location, body."""

    status: int
    cookie: str
    location: str
    text: str


def http_call(  # noqa: PLR0917 - one request, its parts by position
    port: int,
    method: str,
    path: str,
    cookie: str,
    token: str,
    form: dict[str, str] | None,
    timeout: float,
) -> Answer:
    """One request on a new connection (the server closes it), as the web and load benches'
    clients send it: the cookie, and a form with its CSRF token. Only the status line,
    Set-Cookie and Location are parsed; the body is read in full."""
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if cookie:
        head.append(f"Cookie: {cookie}")
    body = b""
    if form is not None:
        body = urllib.parse.urlencode({"csrf_token": token, **form}).encode()
        head.append("Content-Type: application/x-www-form-urlencoded")
    head.append(f"Content-Length: {len(body)}")
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    header, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    set_cookie = location = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie":
            set_cookie = value.strip().split(";", 1)[0]
        elif name.lower() == "location":
            location = value.strip()
    return Answer(
        int(lines[0].split(" ", 2)[1]), set_cookie, location, payload.decode(errors="replace")
    )

"""Hostile input is refused with a located finding: no file read, no connection, fast."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SECRET = "edc-secret-sentinel-7f3a"


# Runs `edc validate` in a fresh interpreter and reports that process's own peak memory.
_RUNNER = """
import sys
from cli import main
try:
    main(["validate", sys.argv[1]])
finally:
    # VmHWM is this image's own peak (ru_maxrss would count the forked parent's pages).
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    sys.stderr.write(f"\\nMAXRSS_KB={hwm}\\n")
"""


def run_validate(path: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    elapsed = time.perf_counter() - start
    peak_kb = int(proc.stderr.rsplit("MAXRSS_KB=", 1)[1].split()[0])
    return proc, elapsed, peak_kb / 1024


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.txt"
    p.write_text(SECRET)
    return p


@pytest.fixture
def listener() -> tuple[int, list[bytes]]:
    """A loopback server recording any connection: proof that nothing reached the network."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            seen.append(conn.recv(100) or b"connected")
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], seen
    stop.set()
    t.join(1)
    srv.close()


ROOT = (
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="x" FileType="Snapshot" '
    'CreationDateTime="2026-01-01T00:00:00" ODMVersion="1.3.2">'
)


def cases(secret: Path, port: int) -> dict[str, bytes]:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "external entity": (
            f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
            f"{ROOT}<Study OID='&e;'/></ODM>"
        ).encode(),
        "network entity": (
            f'<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/x">]>{ROOT}&e;</ODM>'
        ).encode(),
        "parameter entity": (
            f'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>{ROOT}</ODM>'
        ).encode(),
        "billion laughs": (
            f'<!DOCTYPE x [<!ENTITY l0 "ha">{lol}]>{ROOT}<Study OID="&l9;"/></ODM>'
        ).encode(),
        "quadratic blow-up": (
            f'<!DOCTYPE x [<!ENTITY a "{"x" * 50000}">]>{ROOT}<Study OID="{"&a;" * 5000}"/></ODM>'
        ).encode(),
        "external DTD": (
            f'<!DOCTYPE ODM SYSTEM "http://127.0.0.1:{port}/odm.dtd">{ROOT}</ODM>'
        ).encode(),
        "XInclude": (
            f'{ROOT}<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            f'href="file://{secret}" parse="text"/></ODM>'
        ).encode(),
        "20 MB text node": (f"{ROOT}<Study OID='x'>{'a' * 20_000_000}</Study></ODM>").encode(),
        "10,000-deep nesting": (f"{ROOT}{'<a>' * 10000}{'</a>' * 10000}</ODM>").encode(),
    }


@pytest.mark.parametrize(
    "name",
    [
        "external entity",
        "network entity",
        "parameter entity",
        "billion laughs",
        "quadratic blow-up",
        "external DTD",
        "XInclude",
        "20 MB text node",
        "10,000-deep nesting",
    ],
)
def test_hostile_input_is_refused(
    name: str, tmp_path: Path, secret_file: Path, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    path = tmp_path / "hostile.xml"
    path.write_bytes(cases(secret_file, port)[name])
    proc, elapsed, peak_mb = run_validate(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    assert " error: " in first
    assert SECRET not in proc.stdout + proc.stderr
    assert seen == []
    assert elapsed < 5  # includes interpreter start-up; the parse itself is milliseconds
    assert peak_mb < 100
    # the 1 s / 100 MB budget applies to the work itself, measured in-process below


@pytest.mark.parametrize("name", ["billion laughs", "quadratic blow-up", "20 MB text node"])
def test_hostile_parse_budget_in_process(name: str, secret_file: Path) -> None:
    from odm_engine.loader import load_odm

    data = cases(secret_file, 9)[name]
    start = time.perf_counter()
    result = load_odm(data, path="h.xml")
    assert time.perf_counter() - start < 1.0
    assert result.odm is None
    assert result.findings[0].severity.value == "error"


def test_gzip_given_as_xml_is_refused(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "study.xml"
    path.write_bytes(gzip.compress(f"{ROOT}</ODM>".encode()))
    proc, _, _ = run_validate(path)
    assert proc.returncode == 1
    assert "ODM-XML-004 error: The file is gzip-compressed, not XML." in proc.stdout


def test_size_limit_is_checked_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odm_engine.loader import load_odm

    monkeypatch.setenv("EDC_MAX_XML_BYTES", "100")
    result = load_odm(f"{ROOT}{' ' * 200}</ODM>".encode(), path="big.xml")
    assert [f.code for f in result.findings] == ["ODM-XML-003"]


def test_invalid_utf8_is_a_located_finding() -> None:
    from odm_engine.loader import load_odm

    result = load_odm(f"{ROOT}\n<Study OID='".encode() + b"\xff\xfe'/></ODM>", path="u.xml")
    [f] = result.findings
    assert f.code == "ODM-XML-001"
    assert f.line == 2

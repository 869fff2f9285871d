"""Web bench: gunicorn (2 sync workers) on loopback, 16 concurrent clients for a bounded time.

Measures, on SQLite (WAL): the p99 latency of a form page GET (target < 25 ms) and of a
20-item form save with edit checks and audit rows (target < 60 ms), and the save throughput
against a bare Flask app doing the same database writes (``bench/web_bare.py``), measured in
the same run (target: ours >= 0.5x). Clients are 4 processes x 4 threads of plain
``http.client`` (no keep-alive: gunicorn's sync workers close each connection), each thread
with its own session and its own subjects, so saves never conflict. The machine's two cores
are shared by the server and the clients.

EDC_BENCH_WEB_SECONDS (default 8) sets the length of each measured phase.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench.common import Row

REPO = Path(__file__).resolve().parents[1]
PROCS, THREADS = 4, 4
SUBJECTS_PER_CLIENT = 4
ITEMS = 20
PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')

ITEM_DEFS = "".join(
    f'<ItemDef OID="IT.B{i:02d}" Name="B{i:02d}" DataType="integer" Length="4">'
    f'<Question><TranslatedText xml:lang="en">Value {i}</TranslatedText></Question>'
    '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>0</CheckValue><ErrorMessage>'
    '<TranslatedText xml:lang="en">Must be 0 or more.</TranslatedText></ErrorMessage></RangeCheck>'
    '<RangeCheck Comparator="LT" SoftHard="Soft"><CheckValue>9000</CheckValue><ErrorMessage>'
    '<TranslatedText xml:lang="en">Unusually high.</TranslatedText></ErrorMessage></RangeCheck>'
    "</ItemDef>"
    for i in range(ITEMS)
)
STUDY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.WEB" FileType="Snapshot" '
    'ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">'
    '<Study OID="S.WEB"><GlobalVariables><StudyName>Web bench</StudyName>'
    "<StudyDescription>Bench</StudyDescription><ProtocolName>W</ProtocolName></GlobalVariables>"
    '<MetaDataVersion OID="MDV.1" Name="V1">'
    '<Protocol><StudyEventRef StudyEventOID="SE.B" Mandatory="Yes"/></Protocol>'
    '<StudyEventDef OID="SE.B" Name="Visit" Repeating="No" Type="Scheduled">'
    '<FormRef FormOID="F.B" Mandatory="Yes"/></StudyEventDef>'
    '<FormDef OID="F.B" Name="Bench form" Repeating="No">'
    '<ItemGroupRef ItemGroupOID="IG.B" Mandatory="Yes"/></FormDef>'
    '<ItemGroupDef OID="IG.B" Name="Values" Repeating="No">'
    + "".join(f'<ItemRef ItemOID="IT.B{i:02d}" Mandatory="Yes"/>' for i in range(ITEMS))
    + f"</ItemGroupDef>{ITEM_DEFS}</MetaDataVersion></Study>"
    '<AdminData StudyOID="S.WEB"><Location OID="LOC.B1" Name="Bench site" LocationType="Site">'
    '<MetaDataVersionRef StudyOID="S.WEB" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>'
    "</Location></AdminData></ODM>"
)


def _subjects() -> list[str]:
    return [f"B1-{n:03d}" for n in range(PROCS * THREADS * SUBJECTS_PER_CLIENT)]


def _setup(url: str) -> None:
    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.studies import load_study
    from storage.subjects import create_subject
    from storage.users import add_user, set_role

    engine = make_engine(url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, STUDY.encode())
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, "bench", PASSWORD)
        set_role(conn, "bench", "S.WEB", "investigator", site_oid="LOC.B1")
        for key in _subjects():
            create_subject(
                conn, study="S.WEB", subject_key=key, site_oid="LOC.B1", user="bench",
                role="investigator",
            )  # fmt: skip
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


class _Session:
    """One client: its own connection per request, its cookie and CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.token = ""

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode({"csrf_token": self.token, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        found = CSRF.search(text)
        if found:
            self.token = found.group(1)
        return response.status, text


def _values(round_: int) -> dict[str, str]:
    return {f"IG.B[].IT.B{i:02d}": str((round_ * 7 + i) % 5000) for i in range(ITEMS)}


def _client(  # noqa: PLR0917 - a thread target takes its arguments by position
    port: int, kind: str, mode: str, subjects: list[str], start: float, stop: float,
    out: list[float], errors: list[int],
) -> None:  # fmt: skip
    session = _Session(port)
    if kind == "ours":
        session.call("GET", "/login")
        session.call("POST", "/login", {"username": "bench", "password": PASSWORD})
        session.call("GET", f"/subjects/{subjects[0]}/SE.B/F.B")
    versions = dict.fromkeys(subjects, 0)
    n = 0
    while time.time() < start:
        time.sleep(0.005)
    while time.time() < stop:
        subject = subjects[n % len(subjects)]
        n += 1
        path = f"/subjects/{subject}/SE.B/F.B" if kind == "ours" else f"/subjects/{subject}"
        begin = time.perf_counter()
        if mode == "get":
            status, _ = session.call("GET", path)
            ok = status == 200
        else:
            form = _values(n)
            if kind == "ours":
                form["expected_version"] = str(versions[subject])
                if versions[subject]:
                    form["reason"] = "bench"
            else:
                form = {k.split("].", 1)[1]: v for k, v in form.items()}
                form["reason"] = "bench"
            status, _ = session.call("POST", path, form)
            ok = status == 303
            if ok:
                versions[subject] += 1
        out.append((time.perf_counter() - begin) * 1000)
        if not ok:
            errors.append(status)


def _process(args: tuple[int, str, str, list[list[str]], float, float]) -> tuple[list[float], int]:
    port, kind, mode, groups, start, stop = args
    out: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(port, kind, mode, g, start, stop, out, errors))
        for g in groups
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, len(errors)


def _load(port: int, kind: str, mode: str, seconds: float) -> dict[str, float]:
    subjects = _subjects()
    groups = [subjects[i :: PROCS * THREADS] for i in range(PROCS * THREADS)]
    start = time.time() + 3.0  # every client signed in before the clock starts
    jobs = [
        (port, kind, mode, groups[p * THREADS : (p + 1) * THREADS], start, start + seconds)
        for p in range(PROCS)
    ]
    with multiprocessing.get_context("spawn").Pool(PROCS) as pool:
        results = pool.map(_process, jobs)
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {
        "rate": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": p99,
        "n": len(latencies),
        "errors": errors,
    }


def run() -> list[Row]:
    seconds = float(os.environ.get("EDC_BENCH_WEB_SECONDS", "8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    edc = str(Path(sys.executable).with_name("edc"))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/web.sqlite3"
        _setup(url)
        port = _free_port()
        ours = _start([edc, "serve", "--port", str(port), "--workers", "2", "--db", url], env, port)
        try:
            save = _load(port, "ours", "save", seconds)
            get = _load(port, "ours", "get", seconds)
        finally:
            ours.terminate()
            ours.wait(15)
        port = _free_port()
        bare_env = {**env, "EDC_BENCH_BARE_DB": f"{tmp}/bare.sqlite3"}
        bare = _start(
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
             "bench.web_bare:create()"],
            bare_env,
            port,
        )  # fmt: skip
        try:
            bare_save = _load(port, "bare", "save", seconds)
            bare_get = _load(port, "bare", "get", seconds)
        finally:
            bare.terminate()
            bare.wait(15)
    note = f"{PROCS * THREADS} clients, {seconds:.0f} s"
    return [
        Row("web.form_get_p99", get["p99"], bare_get["p99"], "ms", "< 25 ms", get["p99"] < 25,
            f"p50 {get['p50']:.1f} ms, {get['n']:.0f} req, {get['errors']:.0f} errors; {note}"),
        Row("web.form_get_rate", get["rate"], bare_get["rate"], "req/s", "-", None,
            "bare: same 20 values read and rendered, no session/metadata"),
        Row("web.save_20_items_p99", save["p99"], bare_save["p99"], "ms", "< 60 ms",
            save["p99"] < 60,
            f"p50 {save['p50']:.1f} ms, {save['n']:.0f} saves, {save['errors']:.0f} errors; "
            "checks + audit rows + CSRF + session"),
        Row("web.save_20_items_rate", save["rate"], bare_save["rate"], "req/s", ">= 0.5x bare",
            save["rate"] >= 0.5 * bare_save["rate"],
            f"ours/bare = {save['rate'] / bare_save['rate']:.2f}"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(row.format())

"""Load bench: several app hosts on one PostgreSQL (``python -m bench load [--seconds N]``).

Each run gets a fresh PostgreSQL database (a copy of one seeded template) on the server
EDC_BENCH_POSTGRES_URL (else EDC_TEST_POSTGRES_URL) names, and 1 or 2 hosts: ``edc serve``
(gunicorn, 2 sync workers each) on their own loopback ports, all on that database. One
client process plays 100 investigators at 10 sites (2 subjects each; opening forms, saving
them with range checks, answering the queries the checks opened) and 4 monitors (verifying
forms, raising queries), each with a think time of 1-3 s, for a bounded time (default 60 s),
every request to the next host in turn (``bench/load_users.py``). Sign-ins happen before the window.

Reported per host count: p50/p99 per request type, throughput, errors (any 5xx or other
unexpected status, or no answer), conflicts (409: a monitor verified a form while its
investigator had it open: refused, as it must be), the database's connections (peak of
``pg_stat_activity`` for the run's database, sampled every 0.25 s) and lock waits, and
where the time went: CPU seconds of the app hosts, of the run's PostgreSQL backends and of
the client, against the whole machine's busy time (other work on the machine shows as the
rest). Afterwards the database is checked by SQL against what the clients were told: each
form's values are the last acknowledged ones (no lost update), its version is its
acknowledged saves plus verifications, every stored value has an audit row with that value,
the audit rows of values number 8 per acknowledged save, and the queries and answers are as
many as acknowledged.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bench import load_users as lu
from bench.bench_web import _free_port, _server_cpu, _start
from bench.common import Row, postgres_url
from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role

SITES = 10
INVESTIGATORS_PER_SITE = 10
SUBJECTS_PER_INVESTIGATOR = 2
MONITORS = 4
STUDY_OID = "S.LOAD"


def _item_defs(group: str) -> str:
    return "".join(
        f'<ItemDef OID="IT.{group}{i}" Name="{group}{i}" DataType="integer" Length="4">'
        f'<Question><TranslatedText xml:lang="en">{group} {i}</TranslatedText></Question>'
        '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>0</CheckValue><ErrorMessage>'
        '<TranslatedText xml:lang="en">Must be 0 or more.</TranslatedText></ErrorMessage>'
        f'</RangeCheck><RangeCheck Comparator="LT" SoftHard="Soft"><CheckValue>{lu.HIGH}'
        '</CheckValue><ErrorMessage><TranslatedText xml:lang="en">Unusually high.'
        "</TranslatedText></ErrorMessage></RangeCheck></ItemDef>"
        for i in range(lu.ITEMS)
    )


def study_xml() -> bytes:
    """One visit with two forms of 8 integer items, each with a hard and a soft range check;
    10 sites."""
    forms = "".join(
        f'<FormDef OID="{f}" Name="{g[3:]}" Repeating="No">'
        f'<ItemGroupRef ItemGroupOID="{g}" Mandatory="Yes"/></FormDef>'
        for f, g in lu.FORMS.items()
    ) + "".join(
        f'<ItemGroupDef OID="{g}" Name="{g[3:]}" Repeating="No">'
        + "".join(f'<ItemRef ItemOID="IT.{g[3:]}{i}" Mandatory="No"/>' for i in range(lu.ITEMS))
        + "</ItemGroupDef>"
        for g in lu.FORMS.values()
    )
    sites = "".join(
        f'<Location OID="{_site(s)}" Name="Site {s}" LocationType="Site">'
        f'<MetaDataVersionRef StudyOID="{STUDY_OID}" MetaDataVersionOID="MDV.1" '
        'EffectiveDate="2026-01-01"/></Location>'
        for s in range(SITES)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
        'FileOID="F.LOAD" FileType="Snapshot" ODMVersion="1.3.2" '
        f'CreationDateTime="2026-01-01T00:00:00"><Study OID="{STUDY_OID}"><GlobalVariables>'
        "<StudyName>Load bench</StudyName><StudyDescription>Load</StudyDescription>"
        '<ProtocolName>L</ProtocolName></GlobalVariables><MetaDataVersion OID="MDV.1" Name="V1">'
        f'<Protocol><StudyEventRef StudyEventOID="{lu.EVENT}" Mandatory="Yes"/></Protocol>'
        f'<StudyEventDef OID="{lu.EVENT}" Name="Visit" Repeating="No" Type="Scheduled">'
        + "".join(f'<FormRef FormOID="{f}" Mandatory="Yes"/>' for f in lu.FORMS)
        + f"</StudyEventDef>{forms}{''.join(_item_defs(g[3:]) for g in lu.FORMS.values())}"
        f'</MetaDataVersion></Study><AdminData StudyOID="{STUDY_OID}">{sites}</AdminData></ODM>'
    ).encode()


def _site(s: int) -> str:
    return f"LOC.S{s:02d}"


def _investigators() -> dict[str, tuple[str, list[str]]]:
    """username: (site, its subjects)."""
    out = {}
    for s in range(SITES):
        for i in range(INVESTIGATORS_PER_SITE):
            first = i * SUBJECTS_PER_INVESTIGATOR
            keys = [f"S{s:02d}-{first + k:03d}" for k in range(SUBJECTS_PER_INVESTIGATOR)]
            out[f"inv-{s:02d}-{i:02d}"] = (_site(s), keys)
    return out


def _monitors() -> dict[str, list[int]]:
    """username: the sites it monitors (site numbers; every site has one monitor)."""
    return {f"mon-{m}": list(range(m, SITES, MONITORS)) for m in range(MONITORS)}


def _seed(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, study_xml())
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, "load-dm", lu.PASSWORD)
        set_role(conn, "load-dm", STUDY_OID, "data_manager")
        for name, (site, keys) in _investigators().items():
            add_user(conn, name, lu.PASSWORD)
            set_role(conn, name, STUDY_OID, "investigator", site_oid=site)
            for key in keys:
                create_subject(conn, study=STUDY_OID, subject_key=key, site_oid=site,
                               user="load-dm", role="data_manager")  # fmt: skip
        for name, sites in _monitors().items():
            add_user(conn, name, lu.PASSWORD)
            for s in sites:
                set_role(conn, name, STUDY_OID, "monitor", site_oid=_site(s), replace=False)
    engine.dispose()


class Sampler(threading.Thread):
    """Every 0.25 s: the run database's connections and lock waits, and its backends' pids
    (their CPU time is read at the end of the window)."""

    def __init__(self, admin: Engine, database: str) -> None:
        super().__init__(daemon=True)
        self.admin, self.database = admin, database
        self.connections: list[int] = []
        self.lock_waits: list[int] = []
        self.pids: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        query = text(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE datname = :db "
            "AND pid <> pg_backend_pid()"
        )
        with self.admin.connect() as conn:
            while not self.done.is_set():
                rows = conn.execute(query, {"db": self.database}).all()
                conn.rollback()
                self.connections.append(len(rows))
                self.lock_waits.append(sum(1 for _, wait in rows if wait == "Lock"))
                self.pids.update(pid for pid, _ in rows)
                self.done.wait(0.25)


def _cpu_of(pids: set[int]) -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _actors(ports: list[int], tally: lu.Tally, think: tuple[float, float]) -> list[lu.Actor]:
    hosts = lu.Hosts(ports)
    actors: list[lu.Actor] = []
    investigators = _investigators()
    for n, (name, (site, keys)) in enumerate(investigators.items()):
        client, rng = lu.Client(hosts, tally), random.Random(n)
        actors.append(lu.Investigator(client, rng, think, name, keys, site=site))
    for n, (name, sites) in enumerate(_monitors().items()):
        keys = [k for site, ks in investigators.values() if int(site[-2:]) in sites for k in ks]
        client, rng = lu.Client(hosts, tally), random.Random(1000 + n)
        actors.append(lu.Monitor(client, rng, think, name, keys))
    return actors


def _sign_in(actors: list[lu.Actor]) -> None:
    """Sign every user in (8 at a time): password hashing is not what is measured."""
    pending = list(actors)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not pending:
                    return
                actor = pending.pop()
            actor.client.sign_in(actor.username, lu.form_path(actor.subjects[0], "F.VIT"))

    workers = [threading.Thread(target=work) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


FORM_ROWS = """SELECT s.subject_key, f.form_oid, f.version FROM forms f
JOIN study_events e ON e.id = f.study_event_id JOIN subjects s ON s.id = e.subject_id"""
VALUE_ROWS = """SELECT s.subject_key, f.form_oid, d.item_oid, d.value FROM item_data d
JOIN item_groups g ON g.id = d.item_group_id JOIN forms f ON f.id = g.form_id
JOIN study_events e ON e.id = f.study_event_id JOIN subjects s ON s.id = e.subject_id"""
UNAUDITED = """SELECT count(*) FROM item_data d JOIN item_groups g ON g.id = d.item_group_id
JOIN forms f ON f.id = g.form_id JOIN study_events e ON e.id = f.study_event_id
WHERE d.value IS DISTINCT FROM (SELECT a.new_value FROM audit_trail a
  WHERE a.subject_id = e.subject_id AND a.study_event_oid = e.study_event_oid
  AND a.form_oid = f.form_oid AND a.item_group_oid = g.item_group_oid
  AND a.item_oid = d.item_oid ORDER BY a.seq DESC LIMIT 1)"""
VALUE_AUDITS = "SELECT count(*) FROM audit_trail WHERE item_oid <> '' AND source = 'web'"


def _check(url: str, tally: lu.Tally) -> list[str]:
    """What the database holds against what the clients were told: one line per mismatch."""

    engine = make_engine(url)
    problems = []
    with engine.connect() as conn:
        versions = {(k, f): v for k, f, v in conn.execute(text(FORM_ROWS))}
        stored: dict[tuple[str, str], dict[str, str]] = {}
        for key, form, item, value in conn.execute(text(VALUE_ROWS)):
            stored.setdefault((key, form), {})[item] = value
        unaudited = conn.scalar(text(UNAUDITED))
        audits = conn.scalar(text(VALUE_AUDITS))
        queries = conn.scalar(text("SELECT count(*) FROM queries"))
        answers = conn.scalar(text("SELECT count(*) FROM query_messages WHERE action = 'answer'"))
    engine.dispose()
    for key in set(versions) | set(tally.saves) | set(tally.verifies):
        expected = tally.saves[key] + tally.verifies[key]
        if versions.get(key, 0) != expected:
            problems.append(f"{key}: version {versions.get(key)}, acknowledged {expected}")
        sent = {f"IT.{n.split('].IT.', 1)[1]}": v for n, v in tally.values.get(key, {}).items()}
        if stored.get(key, {}) != sent:
            problems.append(f"{key}: lost update: stored {stored.get(key)} != saved {sent}")
    if unaudited:
        problems.append(f"{unaudited} stored values without their audit row")
    if audits != sum(tally.saves.values()) * lu.ITEMS:
        problems.append(f"{audits} value audit rows for {sum(tally.saves.values())} saves")
    if queries != tally.raised + tally.opened_by_checks:
        problems.append(f"{queries} queries, {tally.raised} raised + {tally.opened_by_checks} "
                        "opened by checks acknowledged")  # fmt: skip
    if answers != tally.answered:
        problems.append(f"{answers} answers stored, {tally.answered} acknowledged")
    return problems


def _window(ports: list[int], servers: list[int], admin: Engine, database: str,
            options: argparse.Namespace) -> dict:  # fmt: skip
    """Sign everyone in, then let them work for ``seconds``; what was seen and what it cost."""
    tally = lu.Tally()
    low, high = (float(x) for x in options.think.split(","))
    actors = _actors(ports, tally, (low, high))
    _sign_in(actors)
    sampler = Sampler(admin, database)
    sampler.start()
    start = time.time() + 1.0
    stop = start + options.seconds
    threads = [threading.Thread(target=a.run, args=(start, stop)) for a in actors]
    for t in threads:
        t.start()
    time.sleep(max(0.0, start - time.time()))
    app0, db0 = sum(_server_cpu(p) for p in servers), _cpu_of(sampler.pids)
    client0, machine0 = time.process_time(), _machine_busy()
    time.sleep(max(0.0, stop - time.time()))
    app1, db1 = sum(_server_cpu(p) for p in servers), _cpu_of(sampler.pids)
    client1, machine1 = time.process_time(), _machine_busy()
    for t in threads:
        t.join()
    sampler.done.set()
    sampler.join()
    return {
        "tally": tally,
        "app_cpu": app1 - app0,
        "db_cpu": sum(v - db0.get(p, 0.0) for p, v in db1.items()),
        "client_cpu": client1 - client0,
        "machine_busy": machine1[0] - machine0[0],
        "machine_total": machine1[1] - machine0[1],
        "connections": max(sampler.connections, default=0),
        "lock_waits": sum(sampler.lock_waits),
        "samples": len(sampler.lock_waits),
    }


def _one_run(
    admin: Engine, base: str, template: str, hosts: int, options: argparse.Namespace
) -> dict:
    database = f"{template}_{hosts}h"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template}"'))
    url = make_url(base).set(database=database).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    edc = str(Path(sys.executable).with_name("edc"))
    ports = [_free_port() for _ in range(hosts)]
    servers = []
    try:
        for port in ports:
            argv = [edc, "serve", "--port", str(port), "--workers", "2", "--db", url]
            servers.append(_start(argv, env, port))
        found = _window(ports, [s.pid for s in servers], admin, database, options)
    finally:
        for server in servers:
            server.terminate()
            server.wait(15)
    found["problems"] = _check(url, found["tally"])
    with admin.connect() as conn:
        found["db_bytes"] = conn.scalar(text("SELECT pg_database_size(:db)"), {"db": database})
        conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
    return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def _rows(hosts: int, found: dict, seconds: float, one_host_rate: float | None) -> list[Row]:
    tally: lu.Tally = found["tally"]
    rows = []
    for kind in sorted(tally.latencies):
        lat = tally.latencies[kind]
        rows.append(Row(f"load.{hosts}h.{kind}_p99", _pct(lat, 0.99), None, "ms", "-", None,
                        f"p50 {statistics.median(lat):.1f} ms, {len(lat)} requests"))  # fmt: skip
    total = sum(len(v) for v in tally.latencies.values())
    saves = sum(tally.saves.values())
    rows.append(Row(f"load.{hosts}h.throughput", total / seconds, one_host_rate, "req/s", "-",
                    None, f"{saves / seconds:.1f} acknowledged saves/s; conflicts (409) "
                    f"{dict(tally.conflicts)}, refused by hard checks (422) {tally.refused}; "
                    f"{tally.raised} queries raised, {tally.answered} answered"))  # fmt: skip
    errors = len(tally.errors) + len(found["problems"])
    shown = "; ".join([*tally.errors[:3], *found["problems"][:3]])
    shown = shown or "values, versions, audit rows, queries as acknowledged"
    rows.append(Row(f"load.{hosts}h.errors", errors, None, "count", "0", errors == 0,
                    f"HTTP {len(tally.errors)}, database check {len(found['problems'])}: "
                    + shown))  # fmt: skip
    rows.append(Row(f"load.{hosts}h.db_connections_peak", found["connections"], None, "conn",
                    "-", None, f"lock waits in {found['lock_waits']} of "
                    f"{found['samples']} backend samples; database "
                    f"{found['db_bytes'] / 1e6:.0f} MB after the run"))  # fmt: skip
    window = found["machine_total"] or 1.0  # CPU seconds available (all cores)
    share = {k: 100 * found[k] / window for k in ("app_cpu", "db_cpu", "client_cpu")}
    busy = 100 * found["machine_busy"] / window
    rows.append(Row(f"load.{hosts}h.machine_busy", busy, None, "%", "-", None,
                    f"of {window / seconds:.0f} cores: app hosts {share['app_cpu']:.0f}%, "
                    f"PostgreSQL backends {share['db_cpu']:.0f}%, client "
                    f"{share['client_cpu']:.0f}%, other work "
                    f"{busy - sum(share.values()):.0f}%; app CPU "
                    f"{1000 * found['app_cpu'] / max(1, total):.1f} ms/request, db "
                    f"{1000 * found['db_cpu'] / max(1, total):.1f} ms/request"))  # fmt: skip
    return rows


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--hosts", default="1,2", help="host counts to run, e.g. 1,2")
    parser.add_argument(
        "--think",
        default="1,3",
        help="think time range in seconds, MIN,MAX (0,0: as fast as the hosts answer, to find "
        "their capacity)",
    )
    return parser.parse_args(argv or [])


def run(argv: list[str] | None = None) -> list[Row]:
    options = _options(argv)
    base = postgres_url()
    if not base:
        return [Row("load", 0, None, "-", "-", None, "skipped: no PostgreSQL server named "
                    "(EDC_BENCH_POSTGRES_URL or EDC_TEST_POSTGRES_URL)")]  # fmt: skip

    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    template = f"edc_load_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    rows: list[Row] = []
    try:
        _seed(make_url(base).set(database=template).render_as_string(hide_password=False))
        rate = None
        for hosts in (int(h) for h in options.hosts.split(",")):
            found = _one_run(admin, base, template, hosts, options)
            for line in [*found["tally"].errors[:10], *found["problems"][:10]]:
                print(f"  {hosts}h: {line}", flush=True)
            rows += _rows(hosts, found, options.seconds, rate)
            if rate is None:
                rate = sum(len(v) for v in found["tally"].latencies.values()) / options.seconds
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()
    return rows


if __name__ == "__main__":
    for row in run(sys.argv[1:]):
        print(row.format())

"""The simulated users of the load bench (``bench/bench_load.py``): a cookie- and
CSRF-keeping HTTP client that sends each request to the next host in turn (round robin),
and the investigators' and monitors' scripts, each with a think time between actions.

Every request is timed and tallied by type; a status the script does not expect is an
error. A save or status change refused with 409 (someone changed the form since it was
read: a monitor verified it meanwhile) is a conflict, not an error: the script reads the
form again, as a person would. What was acknowledged (303) is remembered, so the database
can be checked against it afterwards: each form's values, its number of saves and
verifications, the queries raised and answered.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.common import http_call

PASSWORD = "load-test-passphrase-1"
EVENT = "SE.V"
FORMS = {"F.VIT": "IG.VIT", "F.LAB": "IG.LAB"}
ITEMS = 8
HIGH = 900
"""A value at or above this fails a soft range check: the save goes through and opens a query."""
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')
OPEN_QUERY = re.compile(r'data-query="(\d+)" class="query-open"')
FIELD = re.compile(r'<option value="(IG\.[^"]+)"')
ALERT = re.compile(r'<p class="alert error">(.*?)</p>', re.S)


class Hosts:
    """The load balancer: each request goes to the next port in turn."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._ports)


@dataclass
class Tally:
    """What all clients saw: latencies per request type, errors, conflicts, and what the
    server acknowledged (for the check of the database afterwards)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    conflicts: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    """Saves refused by a hard check (422, nothing saved): expected, counted apart."""
    saves: Counter[tuple[str, str]] = field(default_factory=Counter)
    verifies: Counter[tuple[str, str]] = field(default_factory=Counter)
    values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    raised: int = 0
    answered: int = 0
    opened_by_checks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One browser: its session cookie and CSRF token. A new connection per request
    (gunicorn's sync workers close each one); only the status line, Set-Cookie and
    Location are parsed, the body is read in full."""

    def __init__(self, hosts: Hosts, tally: Tally) -> None:
        self.hosts = hosts
        self.tally = tally
        self.cookie = ""
        self.token = ""
        self.location = ""

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        answer = http_call(self.hosts.next(), method, path, self.cookie, self.token, form, 60)
        if answer.cookie:
            self.cookie = answer.cookie
        self.location = answer.location
        found = CSRF.search(answer.text)
        if found:
            self.token = found.group(1)
        return answer.status, answer.text

    def timed(
        self, kind: str, method: str, path: str, form: dict[str, str] | None, ok: tuple[int, ...]
    ) -> tuple[int, str]:
        """A request of type ``kind``; a status outside ``ok`` (or no answer) is an error."""
        begin = time.perf_counter()
        try:
            status, text = self.call(method, path, form)
        except (OSError, ValueError, IndexError) as exc:
            status, text = 0, f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - begin) * 1000
        with self.tally.lock:
            self.tally.latencies[kind].append(elapsed)
            if status not in ok:
                found = ALERT.search(text)
                said = found.group(1) if found else text[:120]
                self.tally.errors.append(f"{kind} {method} {path}: {status} {said!r}")
        return status, text

    def sign_in(self, username: str, first_page: str) -> None:
        self.call("GET", "/login")
        status, _ = self.call("POST", "/login", {"username": username, "password": PASSWORD})
        if status != 303:
            raise RuntimeError(f"{username} could not sign in ({status})")
        self.call("GET", first_page)


def form_path(subject: str, form_oid: str) -> str:
    return f"/subjects/{subject}/{EVENT}/{form_oid}"


def _back(form_oid: str) -> dict[str, str]:
    """The hidden fields a query form posts: which form to go back to."""
    return {"event_oid": EVENT, "event_repeat": "", "form_oid": form_oid, "form_repeat": ""}


class Actor:
    """A user's script: ``step`` once per action cycle until the window closes."""

    def __init__(self, client: Client, rng: random.Random, think: tuple[float, float],
                 username: str, subjects: list[str]) -> None:  # fmt: skip
        self.username = username
        self.subjects = subjects
        self.client = client
        self.rng = rng
        self.think_range = think
        self.stop = 0.0

    def think(self) -> bool:
        """Wait a think time; False when the window closed meanwhile."""
        time.sleep(self.rng.uniform(*self.think_range))
        return time.time() < self.stop

    def run(self, start: float, stop: float) -> None:
        self.stop = stop
        time.sleep(max(0.0, start - time.time()) + self.rng.uniform(0, self.think_range[1]))
        while time.time() < stop:
            self.step()

    def step(self) -> None:
        raise NotImplementedError


class Investigator(Actor):
    """Opens one of their subjects' forms, saves new values (sometimes one too high: a soft
    check opens a query; sometimes a negative one: a hard check refuses the save; half the
    time marking the form complete), answers the open queries the page showed, and now and
    then looks at the site's subject list."""

    def __init__(self, client: Client, rng: random.Random, think: tuple[float, float],
                 username: str, subjects: list[str], *, site: str) -> None:  # fmt: skip
        super().__init__(client, rng, think, username, subjects)
        self.site = site

    def _values(self, key: tuple[str, str], group: str) -> dict[str, str]:
        n = self.client.tally.saves[key] + 1  # every save changes every value
        values = {f"{group}[].IT.{group[3:]}{i}": str((n * 7 + i * 31) % 800 + 1)
                  for i in range(ITEMS)}  # fmt: skip
        names = sorted(values)
        if self.rng.random() < 0.1:
            values[names[0]] = str(HIGH + n % 50)
        return values

    def step(self) -> None:
        c, rng = self.client, self.rng
        if rng.random() < 0.15:
            c.timed("subject_list", "GET", f"/sites/{self.site}/subjects", None, (200,))
            if not self.think():
                return
        subject, form_oid = rng.choice(self.subjects), rng.choice(list(FORMS))
        key, path = (subject, form_oid), form_path(subject, form_oid)
        status, page = c.timed("form_get", "GET", path, None, (200,))
        found = VERSION.search(page) if status == 200 else None
        if not found or not self.think():
            return
        for query_id in OPEN_QUERY.findall(page)[:1]:  # answered before the save
            answer = {**_back(form_oid), "action": "answer", "text": "Checked against source."}
            status, _ = c.timed("query_answer", "POST", f"/subjects/{subject}/queries/{query_id}",
                                answer, (303,))  # fmt: skip
            if status == 303:
                with c.tally.lock:
                    c.tally.answered += 1
            if not self.think():
                return
        values = self._values(key, FORMS[form_oid])
        hard = rng.random() < 0.05
        post = {**values, "expected_version": found.group(1), "reason": "load test"}
        if hard:
            post[sorted(values)[-1]] = "-1"
        if rng.random() < 0.5:
            post["action"] = "complete"
        status, _ = c.timed("save", "POST", path, post, (303, 409, 422))
        self._saved(key, status, values, hard)
        self.think()

    def _saved(self, key: tuple[str, str], status: int, values: dict[str, str], hard: bool) -> None:
        tally = self.client.tally
        with tally.lock:
            if status == 303:
                tally.saves[key] += 1
                tally.values[key] = values
                opened = urllib.parse.parse_qs(urllib.parse.urlsplit(self.client.location).query)
                tally.opened_by_checks += int(opened.get("opened", ["0"])[0])
                if hard:
                    tally.errors.append(f"save of {key} with a negative value was accepted")
            elif status == 409:
                tally.conflicts["save"] += 1
            elif status == 422:
                tally.refused += 1
                if not hard:
                    tally.errors.append(f"save of {key} refused (422) without a bad value")


class Monitor(Actor):
    """Opens a form of a subject at one of their sites and verifies it (SDV) when it can be
    verified, else raises a query on one of its items; now and then reads the query list."""

    def step(self) -> None:
        c, rng = self.client, self.rng
        if rng.random() < 0.2:
            c.timed("query_list", "GET", "/queries", None, (200,))
            if not self.think():
                return
        subject, form_oid = rng.choice(self.subjects), rng.choice(list(FORMS))
        path = form_path(subject, form_oid)
        status, page = c.timed("form_get", "GET", path, None, (200,))
        found = VERSION.search(page) if status == 200 else None
        if not found or not self.think():
            return
        if 'value="verified"' in page and rng.random() < 0.6:
            post = {"target": "verified", "expected_version": found.group(1)}
            status, _ = c.timed("verify", "POST", path + "/status", post, (303, 409))
            with c.tally.lock:
                if status == 303:
                    c.tally.verifies[subject, form_oid] += 1
                elif status == 409:
                    c.tally.conflicts["verify"] += 1
        else:
            fields = FIELD.findall(page)
            if not fields:
                return
            post = {**_back(form_oid), "field": rng.choice(fields), "message": "Please confirm."}
            status, _ = c.timed("query_raise", "POST", f"/subjects/{subject}/queries", post, (303,))
            if status == 303:
                with c.tally.lock:
                    c.tally.raised += 1
        self.think()

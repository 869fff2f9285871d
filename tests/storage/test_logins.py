"""Password checks with throttling (storage/logins.py): failures counted per user and client
address, per user and per address, one password hash whatever the user name, the count and
the record atomic under 60 parallel attempts, every failure in the access log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from storage import logins
from storage.engine import write_transaction
from storage.logins import DUMMY_HASH, Limits, Outcome, check_password
from storage.models import AccessEvent, LoginFailure, User
from storage.users import add_user
from tests.storage.helpers import failures

ADA, BOB = "Lighthouse-Orbit-42", "Marmalade-Canyon-7"
LIMITS = Limits(per_user_and_client=3, per_user=7, per_client=5, window=timedelta(minutes=15))
A, B = "10.0.0.1", "10.0.0.2"


@pytest.fixture
def users(engine: Engine) -> Engine:
    with write_transaction(engine) as conn:
        add_user(conn, "ada", ADA)
        add_user(conn, "bob", BOB)
    return engine


def attempt(
    engine: Engine,
    username: str,
    password: str,
    client: str,
    event: AccessEvent = AccessEvent.SIGN_IN_FAILED,
) -> Outcome:
    with write_transaction(engine) as conn:
        return check_password(conn, LIMITS, username, password, client=client, event=event).outcome


def test_failures_lock_out_the_user_from_that_address_only(users: Engine) -> None:
    for _ in range(3):
        assert attempt(users, "ada", "wrong", A) is Outcome.REFUSED
    assert attempt(users, "ada", ADA, A) is Outcome.THROTTLED  # even the right one
    assert attempt(users, "ada", ADA, B) is Outcome.ACCEPTED  # nobody locks ada out
    assert attempt(users, "bob", BOB, A) is Outcome.ACCEPTED
    with users.begin() as conn:  # the window passes
        conn.execute(update(LoginFailure).values(failed_at=datetime.now(UTC) - timedelta(hours=1)))
    assert attempt(users, "ada", ADA, A) is Outcome.ACCEPTED


def test_one_address_spraying_many_user_names_is_stopped(users: Engine) -> None:
    names = ["ada", "bob", "carl", "dora", "eve"]  # known and unknown alike
    assert [attempt(users, n, "Winter2026", A) for n in names] == [Outcome.REFUSED] * 5
    assert attempt(users, "bob", BOB, A) is Outcome.THROTTLED
    assert attempt(users, "bob", BOB, B) is Outcome.ACCEPTED


def test_the_per_user_ceiling_holds_across_addresses(users: Engine) -> None:
    """Guessing one password from many addresses: at most ``per_user`` in the window."""
    outcomes = [attempt(users, "ada", "wrong", f"10.1.0.{n}") for n in range(9)]
    assert outcomes == [Outcome.REFUSED] * 7 + [Outcome.THROTTLED] * 2
    assert attempt(users, "bob", BOB, "10.1.0.1") is Outcome.ACCEPTED


def test_a_success_clears_the_failures_of_that_user_and_address(users: Engine) -> None:
    for _ in range(2):
        attempt(users, "ada", "wrong", A)
    attempt(users, "ada", "wrong", B)
    assert attempt(users, "ada", ADA, A) is Outcome.ACCEPTED
    with users.connect() as conn:
        left = conn.execute(select(LoginFailure.username, LoginFailure.remote_addr)).all()
    assert [tuple(r) for r in left] == [("ada", B)]


def test_every_failure_is_in_the_access_log_with_the_client(users: Engine) -> None:
    attempt(users, "ada", "wrong", A)
    attempt(users, "nobody", "wrong", B)
    attempt(users, "bob", "wrong", A, AccessEvent.SIGNATURE_FAILED)
    attempt(users, "ada", ADA, B)  # a success is no access-log row
    assert failures(users) == [
        ("sign_in_failed", "ada", A),
        ("sign_in_failed", "nobody", B),
        ("signature_failed", "bob", A),
    ]


def test_a_deactivated_user_is_refused_with_the_right_password(users: Engine) -> None:
    with users.begin() as conn:
        conn.execute(update(User).where(User.username == "ada").values(active=False))
    assert attempt(users, "ada", ADA, A) is Outcome.REFUSED


class Hashes:
    """Counts the password hashes computed by storage.logins."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, pwhash: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
        return check_password_hash(pwhash, password)


def test_unknown_deactivated_and_known_users_cost_one_hash_each(
    users: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer time does not tell whether a user name exists: one hash in every case."""
    with users.begin() as conn:
        conn.execute(update(User).where(User.username == "bob").values(active=False))
    counted = Hashes()
    monkeypatch.setattr(logins, "check_password_hash", counted)
    for name, password in [
        ("nobody", "wrong"),
        ("bob", BOB),
        ("ada", "wrong"),
        ("ada", ADA),
    ]:
        before = counted.calls
        attempt(users, name, password, f"10.2.0.{before}")
        assert counted.calls == before + 1, name


def test_the_dummy_hash_has_the_method_and_cost_of_a_new_password() -> None:
    assert DUMMY_HASH.split("$")[0] == generate_password_hash("x").split("$")[0]
    assert not check_password_hash(DUMMY_HASH, "")


def test_sixty_parallel_wrong_attempts_reach_the_password_check_at_most_limit_times(
    users: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting and recording a failure are one atomic step (a lock per user name and per
    address), so parallel attempts cannot all pass the count before any is recorded."""
    counted = Hashes()
    monkeypatch.setattr(logins, "check_password_hash", counted)
    start = threading.Barrier(60)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            outcomes.append(attempt(users, "ada", "wrong", A))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert counted.calls == 3
    assert outcomes.count(Outcome.REFUSED) == 3
    assert outcomes.count(Outcome.THROTTLED) == 57
    with users.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LoginFailure)) == 3

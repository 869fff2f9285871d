"""Password checks that count against a lockout: sign-in and the e-signature's password.

Every wrong password is a row in ``login_failures`` (user name, client address, time) and an
access-log row (``sign_in_failed`` or ``signature_failed``, with the client). Within
``Limits.window`` an attempt is refused without looking at the password when

- the user name has ``per_user_and_client`` failures from this client address (the lockout a
  user sees: it cannot be used to lock a user out from everywhere, only from the address the
  failures came from),
- the user name has ``per_user`` failures from all addresses together (a ceiling on guessing
  one account from many addresses), or
- the client address has ``per_client`` failures for all user names together (a ceiling on
  trying one password against many accounts).

Counting and recording are one atomic step: the caller's write transaction (``BEGIN
IMMEDIATE`` on SQLite, see :func:`storage.engine.write_transaction`) and, on PostgreSQL,
transaction-scoped advisory locks on the user name and on the client address, taken in that
order and held until commit. The failure row is written before the password is checked and
removed again when it matches, so parallel attempts cannot all pass the count before any of
them is recorded.

The time of an answer does not tell whether a user name exists or is active: exactly one
password hash is computed for every attempt that is not throttled, against
:data:`DUMMY_HASH` when there is no active user of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, case, delete, func, insert, or_, select, text
from werkzeug.security import check_password_hash

from storage.models import AccessEvent, LoginFailure, User
from storage.users import _log

DUMMY_HASH = (
    "scrypt:32768:8:1$3s9KafC9aUDsVMvR$c23fd506446f81703d84a6c7b0c10cb1bc0884f3da8254305e7e91d"
    "08ee079c7ba6a6dcb7a30a43397b2914de12465f5120d8cc76abeaec3496b3f91584ac977"
)
"""A werkzeug hash of the same method and cost as new passwords (scrypt, werkzeug's default;
``tests/storage/test_logins.py`` fails when they drift apart) that no password matches:
checked when the user name is unknown or inactive, so the answer takes as long."""

ANONYMOUS = "anonymous"
"""The actor of a ``sign_in_failed`` row: nobody is signed in yet."""
USER_LOCK, CLIENT_LOCK = 7101, 7102
"""First keys of PostgreSQL's two-key advisory locks; the second key is the name's hash."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Failures allowed within ``window`` (see the module's docstring)."""

    per_user_and_client: int = 5
    per_user: int = 50
    per_client: int = 20
    window: timedelta = timedelta(minutes=15)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    """A wrong password, or no active user of that name."""
    THROTTLED = "throttled"
    """Too many failures: the password was not looked at."""


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    user_id: int | None = None
    """The user's id when ACCEPTED."""


def check_password(
    conn: Connection,
    limits: Limits,
    username: str,
    password: str,
    *,
    client: str,
    event: AccessEvent = AccessEvent.SIGN_IN_FAILED,
) -> Verdict:
    """Check ``username``'s password from ``client`` unless throttled, recording a failure
    (``event`` in the access log) in ``conn``'s write transaction, which the caller commits
    whatever the outcome."""
    name, client = username[:100], client[:64]
    now = datetime.now(UTC)
    since = now - limits.window
    if conn.dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:first, hashtext(:key))")
        conn.execute(lock, {"first": USER_LOCK, "key": name})
        conn.execute(lock, {"first": CLIENT_LOCK, "key": client})
    conn.execute(
        delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.failed_at < since)
    )
    pair, of_user, of_client = _failures(conn, name, client, since)
    if (
        pair >= limits.per_user_and_client
        or of_user >= limits.per_user
        or of_client >= limits.per_client
    ):
        return Verdict(Outcome.THROTTLED)
    conn.execute(insert(LoginFailure).values(username=name, remote_addr=client, failed_at=now))
    row = conn.execute(
        select(User.id, User.password_hash).where(User.username == username, User.active)
    ).one_or_none()
    matches = check_password_hash(DUMMY_HASH if row is None else row.password_hash, password)
    if row is not None and matches:
        conn.execute(
            delete(LoginFailure).where(
                LoginFailure.username == name, LoginFailure.remote_addr == client
            )
        )
        return Verdict(Outcome.ACCEPTED, int(row.id))
    actor = name if event is AccessEvent.SIGNATURE_FAILED else ANONYMOUS
    _log(conn, actor, event, name, client=client)
    return Verdict(Outcome.REFUSED)


def _failures(conn: Connection, name: str, client: str, since: datetime) -> tuple[int, int, int]:
    """Failures since ``since``: of the user from this client, of the user, of the client."""
    of_user = LoginFailure.username == name
    of_client = LoginFailure.remote_addr == client
    row = conn.execute(
        select(
            func.coalesce(func.sum(case((of_user & of_client, 1), else_=0)), 0),
            func.coalesce(func.sum(case((of_user, 1), else_=0)), 0),
            func.coalesce(func.sum(case((of_client, 1), else_=0)), 0),
        ).where(LoginFailure.failed_at >= since, or_(of_user, of_client))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])

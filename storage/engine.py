"""Engines and transactions: SQLite in WAL mode with foreign keys, or PostgreSQL.

The URL comes from the caller (``--db``), else ``EDC_DATABASE_URL``, else
``sqlite:///edc.sqlite3``. Write transactions start with :func:`write_transaction`, which on
SQLite issues ``BEGIN IMMEDIATE`` so a writer never fails half-way when upgrading a read lock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DATABASE_ERRORS",
    "DEFAULT_URL",
    "Connection",
    "DatabaseFault",
    "Engine",
    "connection_of",
    "database_fault",
    "database_url",
    "make_engine",
    "write_transaction",
]
"""``Connection`` and ``Engine`` are the opaque handles the web app passes to storage: it
names them from here and imports no SQLAlchemy (an import-linter contract)."""

DEFAULT_URL = "sqlite:///edc.sqlite3"
BUSY_TIMEOUT_MS = 10_000


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``explicit`` if given, else ``EDC_DATABASE_URL``, else ``sqlite:///edc.sqlite3``."""
    env = os.environ if environ is None else environ
    return explicit or env.get("EDC_DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), set up for this application.

    SQLite: WAL journal, ``foreign_keys=ON``, ``busy_timeout``, and real transactions
    (pysqlite's own transaction handling is turned off; SQLAlchemy emits BEGIN).
    """
    url = database_url(url)
    if make_url(url).get_backend_name() == "postgresql" and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _bind_none(value: None) -> None:
    return value


def _configure_sqlite(engine: Engine) -> None:
    # Python's sqlite3 binds None as NULL only after looking for an adapter, then for
    # ``__adapt__`` and ``__conform__`` attributes, each miss formatting an AttributeError:
    # about a third of the cost of binding an audit row, which has five or six NULLs. With an
    # adapter registered for None the first lookup finds it; NULL is still what is bound.
    # The registry is the sqlite3 module's (process-wide); None is not a base type, so the
    # module's fast path for int, float and str is kept.
    sqlite3.register_adapter(type(None), _bind_none)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if engine.url.database not in (None, "", ":memory:"):
                # WAL with synchronous=NORMAL: a commit is appended to the WAL without an
                # fsync (the WAL is synced at each checkpoint). A killed process loses nothing
                # committed and never corrupts the file; a power loss or OS crash can lose the
                # last commits since the previous checkpoint, never consistency. FULL would
                # fsync every commit for that last guarantee.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("edc_begin", "DEFERRED")
        # On the driver: ``exec_driver_sql`` ran SQLAlchemy's whole execution machinery for
        # these few bytes, twice per web request.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that writes: committed on success, rolled back on error."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(edc_begin="IMMEDIATE")  # modifies conn in place
        with conn.begin():
            yield conn


def connection_of(target: Connection | Session) -> Connection:
    """The Core connection behind a Session (joining its transaction), or the connection."""
    return target.connection() if isinstance(target, Session) else target


DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)
"""What any database call may raise (for a caller that passes over a database it cannot use)."""


class DatabaseFault(StrEnum):
    """What a database error means to the user (the web app's error page says it)."""

    CONFLICT = "conflict"
    """Lost a race for a unique row (IntegrityError)."""
    REFUSED = "refused"
    """A value the database refused: too long, or a character it cannot store (DataError)."""
    UNAVAILABLE = "unavailable"
    """Full disk, read-only database, lost server (OperationalError)."""
    OTHER = "other"
    """Any other SQLAlchemy error."""


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The kind of database error ``exc`` is, or None when it is no database error."""
    if isinstance(exc, IntegrityError):
        return DatabaseFault.CONFLICT
    if isinstance(exc, DataError):
        return DatabaseFault.REFUSED
    if isinstance(exc, OperationalError):
        return DatabaseFault.UNAVAILABLE
    if isinstance(exc, SQLAlchemyError):
        return DatabaseFault.OTHER
    return None

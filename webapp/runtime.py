"""What one app instance holds: its settings, its database engine and the shared secret.

Nothing here is per-user state: sessions, failed sign-ins and locks live in the database
(``web_sessions``, ``login_failures``, form versions), so any worker serves any request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, g, has_request_context

from storage.app_secrets import kept_secret
from storage.engine import Connection, Engine, make_engine, write_transaction
from storage.write_gate import WriteGate
from webapp.settings import Settings

SECRET_NAME = "web.secret_key"  # noqa: S105 - the name of the row, not a secret


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    secret_key: str
    write_gate: WriteGate


def shared_secret(engine: Engine, configured: str) -> str:
    """The configured key, else the key kept in the database (made by the first worker)."""
    if configured:
        return configured
    return kept_secret(engine, SECRET_NAME)


def make_runtime(settings: Settings) -> Runtime:
    is_sqlite = settings.database_url.startswith("sqlite")
    engine = make_engine(settings.database_url, pool_pre_ping=not is_sqlite)
    gate = WriteGate(engine)  # before the first connection: it sets up SQLite connections
    return Runtime(settings, engine, shared_secret(engine, settings.secret_key), gate)


def runtime() -> Runtime:
    rt = current_app.extensions["edc"]
    assert isinstance(rt, Runtime)
    return rt


READ_CONNECTION = "edc_read_connection"
"""Where a request keeps its read connection (on ``flask.g``)."""


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for reads: within a request, one connection and one read transaction for
    all its reads (one pool checkout and one BEGIN per page, and the page reads one state).

    The read transaction ends before every write (:func:`writing`), so reads after a write
    see it, and at the end of the request (:func:`end_reading`). On an error the connection
    is closed (its transaction rolled back) and the next read opens another.
    """
    if not has_request_context():
        with runtime().engine.connect() as conn:
            yield conn
        return
    conn = g.get(READ_CONNECTION)
    if conn is None:
        conn = runtime().engine.connect()
        setattr(g, READ_CONNECTION, conn)
    try:
        yield conn
    except BaseException:
        end_reading()
        raise


def end_reading(_exc: BaseException | None = None) -> None:
    """Close the request's read connection, if any (rolling back its read transaction)."""
    if has_request_context():
        conn = g.pop(READ_CONNECTION, None)
        if conn is not None:
            conn.close()


@contextmanager
def writing() -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error. On SQLite the
    web workers take turns through the write gate (see ``storage.write_gate``)."""
    rt = runtime()
    conn = g.get(READ_CONNECTION) if has_request_context() else None
    if conn is None:
        with rt.write_gate.held(), write_transaction(rt.engine) as conn:
            yield conn
        return
    # The request's read connection writes too (no second pool checkout): its read snapshot
    # ends first, so later reads see this write.
    if conn.in_transaction():
        conn.rollback()
    sqlite = conn.dialect.name == "sqlite"
    try:
        with rt.write_gate.held():
            if sqlite:
                conn.execution_options(edc_begin="IMMEDIATE")  # in place, for this BEGIN
            try:
                with conn.begin():
                    yield conn
            finally:
                if sqlite:
                    conn.execution_options(edc_begin="DEFERRED")
    except BaseException:
        end_reading()  # a failed write leaves no connection behind for the next read
        raise

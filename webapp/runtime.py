"""What one app instance holds: its settings, its database engine and the shared secret.

Nothing here is per-user state: sessions, failed sign-ins and locks live in the database
(``web_sessions``, ``login_failures``, form versions), so any worker serves any request.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from storage.engine import make_engine, write_transaction
from storage.models import AppSecret
from webapp.settings import Settings

SECRET_NAME = "web.secret_key"  # noqa: S105 - the name of the row, not a secret


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    secret_key: str


def shared_secret(engine: Engine, configured: str) -> str:
    """The configured key, else the key kept in the database (made by the first worker)."""
    if configured:
        return configured
    with engine.connect() as conn:
        found = conn.scalar(select(AppSecret.value).where(AppSecret.name == SECRET_NAME))
    if found:
        return found
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(AppSecret).values(name=SECRET_NAME, value=secrets.token_urlsafe(48))
            )
    except IntegrityError:
        pass  # another worker made it first: read theirs
    with engine.connect() as conn:
        return str(conn.scalar(select(AppSecret.value).where(AppSecret.name == SECRET_NAME)))


def make_runtime(settings: Settings) -> Runtime:
    is_sqlite = settings.database_url.startswith("sqlite")
    engine = make_engine(settings.database_url, pool_pre_ping=not is_sqlite)
    return Runtime(settings, engine, shared_secret(engine, settings.secret_key))


def runtime() -> Runtime:
    rt = current_app.extensions["edc"]
    assert isinstance(rt, Runtime)
    return rt


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for reads (its transaction is rolled back on return)."""
    with runtime().engine.connect() as conn:
        yield conn


@contextmanager
def writing() -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error."""
    with write_transaction(runtime().engine) as conn:
        yield conn

"""A fresh PostgreSQL schema for one test, on the server ``$EDC_TEST_POSTGRES_URL`` names
(the test is skipped where it is not set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from storage.engine import make_engine

PG_ENV = "EDC_TEST_POSTGRES_URL"


@contextmanager
def fresh_schema(prefix: str = "t", *, to_run: str = "the PostgreSQL half") -> Iterator[str]:
    """The URL of a new, empty schema (its connections' search_path), dropped with all it
    holds afterwards. Skips the test (saying what it would ``to_run``) without a server."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: set it to a PostgreSQL URL to run {to_run}")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, pool_pre_ping=True)  # survives tests/faults restarting PostgreSQL
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

"""The storage fixtures (a migrated database on SQLite and PostgreSQL, study S.1 loaded) for
the use-case tests."""

from tests.storage.conftest import db, engine, study  # noqa: F401

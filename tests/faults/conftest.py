"""Fault-test fixtures, reused from the web tests (imported, not copied)."""

from __future__ import annotations

from tests.webapp.conftest import seeded_db, web
from tests.webapp.test_two_hosts import pg_url

__all__ = ["pg_url", "seeded_db", "web"]

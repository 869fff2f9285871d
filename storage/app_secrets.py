"""Secrets the application keeps in its own database (``app_secrets``), made on first use.

The web workers share one signing key: the first to start makes it, every other reads it.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from storage.engine import write_transaction
from storage.models import AppSecret


def kept_secret(engine: Engine, name: str) -> str:
    """The secret stored as ``name``, made (random, 48 bytes) and stored when there is none.

    Two processes making it at once: one insert wins, the other reads the winner's."""
    with engine.connect() as conn:
        found = conn.scalar(select(AppSecret.value).where(AppSecret.name == name))
    if found:
        return str(found)
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(AppSecret).values(name=name, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another worker made it first: read theirs
    with engine.connect() as conn:
        return str(conn.scalar(select(AppSecret.value).where(AppSecret.name == name)))

"""Small helpers for web tests: URLs of the real study's forms and rows in the database."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from storage.models import AuditRow, ItemData, Query

ELIG = "/subjects/{key}/SE.ELIG/F.IE"
CONSENT = "/subjects/{key}/SE.ELIG/F.IC"
DEMOGRAPHICS = "/subjects/{key}/SE.DCV/F.DM"

ELIGIBLE = {
    **{f"IG.IE_IN[].IT.IE_IN0{n}": "Y" for n in range(1, 8)},
    **{f"IG.IE_EX[].IT.IE_EX0{n}": "N" for n in range(1, 4)},
}


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def rows(engine: Engine) -> tuple[int, int, int]:
    """(item values, audit rows, queries) in the database."""
    return count(engine, ItemData), count(engine, AuditRow), count(engine, Query)

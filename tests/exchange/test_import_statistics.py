"""After an import commits, the planner's statistics of the tables it wrote are up to date
(storage.table_stats, issue 20): ANALYZE on PostgreSQL, sqlite_stat1 rows on SQLite; a dry
run writes nothing, statistics included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from tests.exchange.helpers import edc as _edc
from tests.exchange.helpers import vs_database, vs_study

CLINICAL = """<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">
<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>
 <StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">
  <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>
  <ItemData ItemOID="IT.HEIGHT" Value="172.5"/></ItemGroupData></FormData></StudyEventData>
</SubjectData></ClinicalData>"""


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with vs_database(request.param, tmp_path, "stats") as url:
        yield url


def _analysed(url: str) -> set[str]:
    """The tables with planner statistics: manually ANALYZEd (PostgreSQL) or with
    sqlite_stat1 rows (SQLite)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
                    "AND schemaname = current_schema()"
                )
            )
        else:
            known = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"))
            if known.first() is None:
                return set()
            rows = conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))
        found = {row[0] for row in rows}
    engine.dispose()
    return found


def test_import_brings_statistics_up_to_date(db: str, tmp_path: Path) -> None:
    data = tmp_path / "data.xml"
    data.write_bytes(vs_study(CLINICAL))
    dry = _edc("import", str(data), "--user", "dm", "--dry-run", db=db)
    assert dry.exit_code == 0, dry.output
    assert "item_data" not in _analysed(db)
    result = _edc("import", str(data), "--user", "dm", db=db)
    assert result.exit_code == 0, result.output
    assert {"subjects", "study_events", "forms", "item_groups", "item_data", "audit_trail"} <= (
        _analysed(db)
    )

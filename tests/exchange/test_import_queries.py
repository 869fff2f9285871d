"""``edc import`` says how many queries it opened (issue 21: it said "0 queries" when the soft
checks opened two), and a derivation query tells the truth about the stored value: the import
stores the derived value, so the query says it replaced the file's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.exchange.helpers import edc as _edc
from tests.exchange.helpers import vs_database, vs_study


def _subject(key: str, items: str) -> str:
    return (
        f'<SubjectData SubjectKey="{key}"><SiteRef LocationOID="LOC.1"/>'
        '<StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">'
        f'<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>{items}'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with vs_database(request.param, tmp_path, "q") as url:
        yield url


def _import(db: str, tmp_path: Path, *subjects: str) -> Result:
    clinical = '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
    path = tmp_path / "data.xml"
    path.write_bytes(vs_study(clinical + "".join(subjects) + "</ClinicalData>"))
    return _edc("import", str(path), "--user", "dm", db=db)


def _queries(url: str) -> list[tuple[str, str]]:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT item_oid, message FROM queries ORDER BY id")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_the_summary_counts_the_queries_the_soft_checks_opened(db: str, tmp_path: Path) -> None:
    weight = '<ItemData ItemOID="IT.WEIGHT" Value="{}"/>'
    result = _import(
        db,
        tmp_path,
        _subject("001", weight.format(10)),
        _subject("002", weight.format(70)),
        _subject("003", weight.format(12)),
    )
    assert result.exit_code == 0, result.output
    assert _queries(db) == [("IT.WEIGHT", "Weight looks too low")] * 2
    assert "(3 new subjects, 12 audit rows, 2 queries)." in result.output


def test_a_derivation_query_says_the_derived_value_replaced_the_files(
    db: str, tmp_path: Path
) -> None:
    items = (
        '<ItemData ItemOID="IT.WEIGHT" Value="80"/><ItemData ItemOID="IT.HEIGHT" Value="200"/>'
        '<ItemData ItemOID="IT.BMI" Value="30.00"/>'
    )
    result = _import(db, tmp_path, _subject("001", items))
    assert result.exit_code == 0, result.output
    assert "1 queries)" in result.output
    assert _queries(db) == [
        (
            "IT.BMI",
            "IT.BMI: 30.00 was replaced by the derived value 20.00 (IT.WEIGHT / ((IT.HEIGHT / "
            "100) * (IT.HEIGHT / 100))), which is stored. Correct the inputs if 30.00 was right.",
        )
    ]

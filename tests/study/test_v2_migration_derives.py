"""Migrating the clean version 1 subjects to version 2 recomputes version 2's derivations
(issue 17): the derived endpoints stored for a migrated subject equal those an import of the
same data under version 2 stores, each written with an audit row of the migration, and a
second migration writes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from odm_engine.compiled_study import CompiledStudy
from storage.audit import history
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.studies import metadata_of
from storage.subjects import find_subject, list_subjects, subject_snapshot
from storage.version_derivations import derivations_of
from tests.postgres import fresh_schema
from tests.storage.conftest import Db, db  # noqa: F401 - fixture
from tests.study.test_v2_amendment import (
    CLEAN_KEYS,
    CLEAN_V1,
    STUDY,
    V2,
    _import,
    _load_and_publish_v2,
    edc,
    store_v1,
    v1_db,  # noqa: F401 - fixture
)

DERIVED = ("IT.L1_ENDALL", "IT.L1_AGE", "IT.L2_TFI", "IT.ST_PFS", "IT.ST_OS", "IT.ST_PDDAT")
"""Derived items of version 2 (M.L1_ENDALL, M.L1_AGE, M.L2_TFI, the endpoints on F.STAT)."""
MIGRATE = ("study", "migrate", "--to", "2", "--user", "dm", "--reason", "Amendment 1")


@contextmanager
def _other_db(db: Db, tmp_path: Path) -> Iterator[str]:  # noqa: F811 - the fixture's Db
    """A second empty database of the same kind as ``db``."""
    if db.kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        return
    with fresh_schema("ref") as url:
        yield url


def _values(url: str) -> dict[str, dict[object, str]]:
    """SubjectKey -> its stored values."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                key: dict(subject_snapshot(conn, STUDY, key).values)
                for key in list_subjects(conn, STUDY)
            }
    finally:
        engine.dispose()


def _imported_under_v2(url: str, tmp_path: Path) -> dict[str, dict[object, str]]:
    """The clean example imported into a study whose current version is 2 (its
    MetaDataVersionOID changed to version 2's), as a reference."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        store_v1(engine)
    finally:
        engine.dispose()
    _load_and_publish_v2(url)
    data = tmp_path / "clean-under-v2.xml"
    old = b'MetaDataVersionOID="MDV.BTZ_RETREAT.1"'
    assert old in CLEAN_V1.read_bytes()
    data.write_bytes(CLEAN_V1.read_bytes().replace(old, b'MetaDataVersionOID="MDV.BTZ_RETREAT.2"'))
    _import(url, data)
    return _values(url)


def _derived(values: dict[object, str]) -> dict[object, str]:
    return {k: v for k, v in values.items() if k.item_oid in DERIVED}  # type: ignore[attr-defined]


def test_migration_derives_what_an_import_under_v2_stores(
    db: Db,  # noqa: F811 - fixture
    v1_db: str,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    _import(v1_db, CLEAN_V1)
    before = _values(v1_db)
    assert not any(k.item_oid == "IT.L1_ENDALL" for v in before.values() for k in v)  # type: ignore[attr-defined]
    code, out = edc(v1_db, "study", "impact", str(V2), "--format", "json")
    assert code in (0, 1), out
    impact = json.loads(out)["derived"]
    _load_and_publish_v2(v1_db)
    code, out = edc(v1_db, *MIGRATE[:4], "--dry-run", *MIGRATE[4:])
    assert code == 0, out
    dry = int(out.split(" derived value(s) of version 2 (would be set or changed)")[0].split()[-1])
    assert _values(v1_db) == before  # the dry run wrote nothing
    assert impact == dry > 0  # the impact of the file counts them too
    code, out = edc(v1_db, *MIGRATE)
    assert code == 0, out
    assert f"{dry} derived value(s) of version 2 (set or changed, each audited):" in out
    migrated = _values(v1_db)
    with _other_db(db, tmp_path) as url:
        imported = _imported_under_v2(url, tmp_path)
    assert set(migrated) == set(imported) == CLEAN_KEYS
    for key in CLEAN_KEYS:
        assert migrated[key] == imported[key], key  # every value, derived ones included
    derived = {s: _derived(v) for s, v in migrated.items()}
    endall = {
        s: v for s, d in derived.items() for k, v in d.items() if k.item_oid == "IT.L1_ENDALL"
    }  # type: ignore[attr-defined]
    assert endall["AT01-001"] == "2013-08-31"  # transplant 2013-08, its last possible day
    assert {"AT01-001", "DE02-001"} <= endall.keys()  # not where a date is still missing
    at01 = {k.item_oid: v for k, v in derived["AT01-001"].items()}  # type: ignore[attr-defined]
    assert (at01["IT.L2_TFI"], at01["IT.ST_PFS"], at01["IT.ST_PDDAT"]) == ("28", "165", "2016-07")
    for item in ("IT.L2_TFI", "IT.ST_PFS", "IT.ST_OS"):
        assert any(k.item_oid == item for d in derived.values() for k in d)  # type: ignore[attr-defined]
    engine: Engine = make_engine(v1_db)
    try:
        with engine.connect() as conn:
            rows = [
                e
                for key in CLEAN_KEYS
                for e in history(conn, STUDY, key)
                if e.source == "migrate:2:derived"
            ]
            v2 = metadata_of(conn, STUDY, 2)
            plan = CompiledStudy.of(v2.odm.find_study(STUDY), v2.mdv).plan  # type: ignore[arg-type]
            refs = [find_subject(conn, STUDY, key) for key in sorted(CLEAN_KEYS)]
            assert list(derivations_of(conn, plan, refs, {})) == []  # nothing left to derive
    finally:
        engine.dispose()
    assert len(rows) == dry
    assert {(r.username, r.reason) for r in rows} == {("dm", "Amendment 1")}
    audited = {(r.subject_key, r.key): r.new_value for r in rows}
    for subject, values in derived.items():
        for key, value in values.items():
            if before[subject].get(key) != value:  # set or changed at the migration
                assert audited[(subject, key)] == value
    code, out = edc(v1_db, *MIGRATE)  # again: nobody to move, nothing derived
    assert code == 0 and "0 subject(s) moved" in out and "derived value" not in out, out
    assert _values(v1_db) == migrated

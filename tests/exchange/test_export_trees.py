"""The snapshot export's batched tree reader equals its reference, the per-subject reader
(storage.export_trees): asked for every subject of a generated study, and as a whole export,
byte for byte, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from odm_engine.exchange import read_clinical_data
from renderers.odm import OdmExportOptions, write_odm
from storage import export_records
from storage.engine import Engine, make_engine, write_transaction
from storage.exchange import import_subjects
from storage.export_trees import BatchedTrees, per_subject_trees
from storage.migrate import upgrade
from storage.models import Site, Subject
from storage.studies import load_study
from storage.users import add_user, set_role
from tests.exchange.helpers import vs_study
from tests.postgres import fresh_schema


def _vs(rng: random.Random, repeat: int) -> str:
    test, value = rng.choice((("SYSBP", "120"), ("DIABP", "80"), ("HEIGHT", "172")))
    return (
        f'<ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="{repeat}">'
        f'<ItemData ItemOID="IT.VSTESTCD" Value="{test}"/>'
        f'<ItemData ItemOID="IT.VSORRES" Value="{value}"/></ItemGroupData>'
    )


def _subject(rng: random.Random, key: str) -> str:
    """A subject with a random site, demographics (a soft check fails on a low weight: a
    query, written as an Annotation), baseline and follow-up vital signs; some have no data."""
    parts = [f'<SubjectData SubjectKey="{key}"><SiteRef LocationOID="LOC.{rng.randint(1, 2)}"/>']
    if rng.random() < 0.9:
        weight = rng.choice(("70.5", "15.0"))
        parts.append(
            '<StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">'
            f'<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>'
            f'<ItemData ItemOID="IT.WEIGHT" Value="{weight}"/></ItemGroupData></FormData>'
            '<FormData FormOID="F.VS">'
            + "".join(_vs(rng, r) for r in range(1, rng.randint(1, 4)))
            + "</FormData></StudyEventData>"
        )
        parts.extend(
            f'<StudyEventData StudyEventOID="SE.FU" StudyEventRepeatKey="{e}">'
            f'<FormData FormOID="F.VS">{_vs(rng, 1)}</FormData></StudyEventData>'
            for e in range(1, rng.randint(1, 4))
        )
    parts.append("</SubjectData>")
    return "".join(parts)


def _study(seed: int) -> bytes:
    """60 subjects with keys of mixed case, length and digits (their order is the database's)."""
    rng = random.Random(seed)
    keys = {f"{rng.choice(('S', 's', 'P-', ''))}{rng.randint(0, 999)}" for _ in range(60)}
    clinical = "".join(_subject(rng, key) for key in sorted(keys, key=lambda _k: rng.random()))
    return vs_study(
        f'<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">{clinical}</ClinicalData>'
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database holding the generated study's data."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'edc.db'}"
        else:
            url = stack.enter_context(fresh_schema("trees"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        data = tmp_path / "data.xml"
        data.write_bytes(_study(seed=20))
        with write_transaction(engine) as conn:
            load_study(conn, vs_study(), path="study.xml")
            add_user(conn, "dm", "import-manager-pw")
            set_role(conn, "dm", "S.1", "data_manager")
            import_subjects(conn, "S.1", read_clinical_data(str(data)), user="dm", source="t")
        yield engine


def _in_key_order(engine: Engine, site: str | None = None) -> list[int]:
    query = select(Subject.id).outerjoin(Site, Site.id == Subject.site_id)
    if site is not None:
        query = query.where(Site.oid == site)
    with engine.connect() as conn:
        return list(conn.scalars(query.order_by(Subject.subject_key)))


@pytest.mark.parametrize("rows", [1, 7, 20_000])
def test_batched_trees_equal_per_subject_trees(
    engine: Engine, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every subject asked in key order (as the export asks), with batches of one subject,
    a few, and all: the same tree as the reference; an unknown subject has none in both."""
    monkeypatch.setattr(BatchedTrees, "ROWS", rows)
    with engine.connect() as conn:
        reference = per_subject_trees(conn)
        for site in (None, "LOC.2"):
            subjects = select(Subject.id).where(Subject.study_id == 1)
            if site is not None:
                subjects = subjects.where(
                    Subject.site_id.in_(select(Site.id).where(Site.oid == site))
                )
            batched = BatchedTrees(conn, subjects)
            ids = _in_key_order(engine, site)
            assert len(ids) > 10
            trees = [batched(subject_id) for subject_id in ids]
            assert trees == [reference(subject_id) for subject_id in ids]
            assert sum(len(groups) for groups, _head in trees) > 2 * len(ids)
        assert BatchedTrees(conn, select(Subject.id))(10**9) == reference(10**9) == ({}, ("", None))


def _export(engine: Engine, **selection: object) -> bytes:
    out = io.BytesIO()
    options = OdmExportOptions(file_oid="E", creation_datetime="2026-01-01T00:00:00")
    with engine.connect() as conn:
        stats = write_odm(out, export_records.iter_snapshot(conn, "S.1", **selection), options)
    assert stats.subjects > 0
    return out.getvalue()


@pytest.mark.parametrize(
    "selection", [{}, {"site": "LOC.1"}, {"subject_keys": ("S1", "s2", "P-3")}], ids=str
)
def test_snapshot_export_equals_the_per_subject_reference(
    engine: Engine, selection: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole snapshot export through the batched trees (small batches: many boundaries)
    is byte for byte the export through one query per subject."""
    monkeypatch.setattr(BatchedTrees, "ROWS", 5)
    if "subject_keys" in selection:
        with engine.connect() as conn:
            keys = list(conn.scalars(select(Subject.subject_key).order_by(Subject.id)))
        selection = {"subject_keys": tuple(keys[::7])}
    fast = _export(engine, **selection)
    monkeypatch.setattr(
        export_records, "BatchedTrees", lambda conn, _subjects: per_subject_trees(conn)
    )
    assert _export(engine, **selection) == fast
    assert fast.count(b"<SubjectData") >= 5
    assert b"<Annotation" in fast  # the soft check's queries are on the values

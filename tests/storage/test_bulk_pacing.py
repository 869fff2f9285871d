"""An import runs with fewer cyclic collections (``storage.bulk.pacing``) and stores exactly
what it stores under the interpreter's default pacing, the reference; the thresholds are put
back after, also on error and when imports overlap (issue 20)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from sqlalchemy import Engine, text

from odm_engine.exchange import read_clinical_data
from storage.bulk.pacing import YOUNG_THRESHOLD, fewer_collections
from storage.engine import write_transaction
from storage.exchange import import_subjects
from tests.storage.conftest import MANAGER

DATA = (
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.1" FileType="Snapshot" '
    'ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">'
    '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
    + "".join(
        f'<SubjectData SubjectKey="P{n:03d}"><SiteRef LocationOID="SITE.1"/>'
        '<StudyEventData StudyEventOID="SE.SCREEN">'
        '<FormData FormOID="F.ELIG"><ItemGroupData ItemGroupOID="IG.ELIG">'
        '<ItemData ItemOID="IT.ELIGIBLE" Value="Y"/></ItemGroupData></FormData>'
        '<FormData FormOID="F.DM"><ItemGroupData ItemGroupOID="IG.DM">'
        f'<ItemData ItemOID="IT.AGE" Value="{20 + n}"/><ItemData ItemOID="IT.SEX" Value="F"/>'
        f'<ItemData ItemOID="IT.WEIGHT" Value="{60 + n}.5"/></ItemGroupData></FormData>'
        "</StudyEventData></SubjectData>"
        for n in range(30)
    )
    + "</ClinicalData></ODM>"
).encode()

_ROWS = (
    "SELECT s.subject_key, d.item_oid, d.value FROM item_data d "
    "JOIN item_groups g ON g.id = d.item_group_id JOIN forms f ON f.id = g.form_id "
    "JOIN study_events e ON e.id = f.study_event_id JOIN subjects s ON s.id = e.subject_id "
    "ORDER BY d.id",
    "SELECT subject_key, item_oid, transaction_type, new_value, source FROM audit_trail "
    "WHERE item_oid <> '' ORDER BY seq",
)


def _stored(engine: Engine) -> list[list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return [[tuple(r) for r in conn.execute(text(sql))] for sql in _ROWS]


def test_an_import_stores_the_same_rows_as_under_default_pacing(study: Engine) -> None:
    """Reference: ``import_subjects`` without the pacing (``__wrapped__``), of the same
    subjects under other SubjectKeys (P... then Q...)."""
    with write_transaction(study) as conn:
        plain = import_subjects.__wrapped__(  # type: ignore[attr-defined]
            conn, "S.1", read_clinical_data(DATA), user=MANAGER, source="ref"
        )
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD
    again = DATA.replace(b'SubjectKey="P', b'SubjectKey="Q')
    with write_transaction(study) as conn:
        paced = import_subjects(conn, "S.1", read_clinical_data(again), user=MANAGER, source="pace")
    assert plain.result is not None and paced.result is not None
    assert paced.result.items_written == plain.result.items_written == 30 * 4
    items, audit = _stored(study)
    assert [(str(k).replace("Q", "P"), *rest) for k, *rest in items[120:]] == items[:120]
    ref = [row[:4] for row in audit if row[4] == "ref"]
    pace = [(str(row[0]).replace("Q", "P"), *row[1:4]) for row in audit if row[4] == "pace"]
    assert pace == ref and len(ref) == 120


def test_the_thresholds_are_raised_inside_and_put_back_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        with fewer_collections():  # nested (another import): still raised
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        raise RuntimeError("import failed")
    assert gc.get_threshold() == before


def test_overlapping_imports_in_two_threads_leave_the_default() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with fewer_collections():
        thread.start()
        inside.wait(5)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the other import still runs
    leave.set()
    thread.join()
    assert gc.get_threshold() == before


def test_cycles_made_during_an_import_are_still_collected() -> None:
    class Node:
        other: object = None

    gc.collect()
    with fewer_collections():
        node = Node()
        node.other = node  # a cycle: only the cyclic collector frees it
        gone = weakref.ref(node)
        del node
        keep = [[] for _ in range(YOUNG_THRESHOLD * 3)]  # allocations that trigger collections
        assert gone() is None
    assert len(keep) == YOUNG_THRESHOLD * 3

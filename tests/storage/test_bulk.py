"""The bulk path: same rules and audit rows as save_form, one transaction, all or nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterable

import pytest
from sqlalchemy import Engine

from odm_engine.clinical import ItemKey
from odm_engine.entry_validation import EnteredValue, IsNull
from storage.audit import SUBJECT_LEVEL
from storage.bulk import BulkResult, BulkWriter
from storage.engine import write_transaction
from storage.errors import BulkRejectedError
from storage.models import Role
from storage.subjects import data_mark, find_subject
from tests.conftest import REPO
from tests.storage.conftest import INVESTIGATOR, MANAGER, Db
from tests.storage.helpers import audit_of, count, dump, queries_of, save, snapshot

SOURCE = "import:F.1:" + "ab" * 32


def dm_key(item: str, event: str = "SE.SCREEN") -> ItemKey:
    return ItemKey(event, "", "F.DM", "", "IG.DM", "", item)


def ae_key(event_repeat: str, group_repeat: str) -> ItemKey:
    return ItemKey("SE.FU", event_repeat, "F.AE", "", "IG.AE", group_repeat, "IT.AETERM")


def bulk(
    engine: Engine,
    subjects: Iterable[tuple[str, str | None, list[tuple[ItemKey, EnteredValue]]]],
    *,
    reason: str | None = None,
) -> BulkResult:
    with write_transaction(engine) as conn:
        writer = BulkWriter(
            conn,
            study="S.1",
            user=MANAGER,
            role=Role.DATA_MANAGER,
            source=SOURCE,
            reason=reason,
            batch_size=7,
        )
        for key, site, items in subjects:
            writer.add_subject(key, site, items)
        return writer.finish()


def test_bulk_import_writes_values_and_the_same_audit_rows_as_save_form(study: Engine) -> None:
    values = {"IT.AGE": "042", "IT.SEX": "F", "IT.INITIALS": IsNull("NASK")}
    save(study, {("IG.DM", "", k): v for k, v in values.items()})
    result = bulk(study, [("002", "SITE.1", [(dm_key(k), v) for k, v in values.items()])])
    # the subject's creation, three values and the form's status
    assert result == BulkResult(subjects_created=1, items_written=3, audit_rows=5, queries_opened=0)

    def shape(subject: str) -> list[tuple[object, ...]]:
        return [
            (
                r.key,
                r.transaction_type,
                r.old_value,
                r.new_value,
                r.old_is_null,
                r.new_is_null,
                r.form_version,
                r.site_oid,
                r.study_oid,
            )
            for r in audit_of(study, subject)
        ]

    assert shape("002")[1:] == shape("001")[1:]
    enrolled = shape("002")[0]
    assert enrolled[:4] == (SUBJECT_LEVEL, "Insert", None, "002") and enrolled[7] == "SITE.1"
    rows = audit_of(study, "002")
    assert {(r.username, r.role, r.source, r.subject_key) for r in rows} == {
        (MANAGER, "data_manager", SOURCE, "002")
    }
    assert snapshot(study, "002").values == {dm_key("IT.AGE"): "42", dm_key("IT.SEX"): "F"}


def test_bulk_updates_existing_subjects_with_a_reason_and_only_changed_values(
    study: Engine,
) -> None:
    bulk(study, [("001", None, [(dm_key("IT.AGE"), "40"), (ae_key("1", "1"), "Cough")])])
    result = bulk(
        study,
        [
            (
                "001",
                None,
                [
                    (dm_key("IT.AGE"), "41"),
                    (ae_key("1", "1"), "Cough"),
                    (ae_key("1", "2"), "Fever"),
                ],
            )
        ],
        reason="Corrected export from the lab",
    )
    assert result.items_written == 2 and result.subjects_created == 0
    last = [
        (
            r.key.item_oid,
            r.key.item_group_repeat_key,
            r.transaction_type,
            r.old_value,
            r.new_value,
            r.form_version,
            r.reason,
        )
        for r in audit_of(study)[-2:]
    ]
    assert last == [
        ("IT.AGE", "", "Update", "40", "41", 2, "Corrected export from the lab"),
        ("IT.AETERM", "2", "Insert", None, "Fever", 2, "Corrected export from the lab"),
    ]
    assert snapshot(study).values[ae_key("1", "2")] == "Fever"


def test_a_key_given_twice_for_a_new_subject_is_written_once_with_its_later_value(
    study: Engine,
) -> None:
    """The one-pass path for new subjects hands a repeated key to the general path: the
    later value wins, as a later save of the same key would, and no row is doubled."""
    items = [(dm_key("IT.AGE"), "40"), (dm_key("IT.SEX"), "F"), (dm_key("IT.AGE"), "41")]
    result = bulk(study, [("002", "SITE.1", items)])
    assert result.items_written == 2 and result.subjects_created == 1
    assert snapshot(study, "002").values == {dm_key("IT.AGE"): "41", dm_key("IT.SEX"): "F"}
    assert [(r.key.item_oid, r.new_value) for r in audit_of(study, "002") if r.key.item_oid] == [
        ("IT.AGE", "41"),
        ("IT.SEX", "F"),
    ]


def test_one_bad_value_rejects_the_import_with_every_problem_listed(study: Engine) -> None:
    before = dump(study)
    with pytest.raises(BulkRejectedError) as caught:
        bulk(
            study,
            [
                ("010", "SITE.1", [(dm_key("IT.AGE"), "40")] * 3),
                ("011", "SITE.1", [(dm_key("IT.AGE"), "old"), (dm_key("IT.SEX"), "X")]),
                ("012", "SITE.9", [(dm_key("IT.AGE"), "50")]),
                ("013", "SITE.1", [(ae_key("1", "1"), "x" * 101)]),
            ],
        )
    problems = caught.value.problems
    assert [(p.subject_key, p.kind) for p in problems] == [
        ("011", "datatype"),
        ("011", "codelist"),
        ("012", "metadata"),
        ("013", "datatype"),
    ]
    assert problems[2].message == (
        'Subject 012: SiteRef LocationOID="SITE.9" names no site of this study. Add the '
        "Location to AdminData and load it."
    )
    assert dump(study) == before


def test_changing_stored_data_without_a_reason_is_a_problem(study: Engine) -> None:
    bulk(study, [("001", None, [(dm_key("IT.AGE"), "40")])])
    before = dump(study)
    with pytest.raises(BulkRejectedError) as caught:
        bulk(study, [("001", None, [(dm_key("IT.AGE"), "41")])])
    assert caught.value.problems[0].message == (
        "Form F.DM of subject 001 holds data already: give a reason for change (--reason)."
    )
    assert dump(study) == before


def test_investigator_may_not_import(study: Engine) -> None:
    from storage.errors import AccessDeniedError

    with write_transaction(study) as conn, pytest.raises(AccessDeniedError):
        BulkWriter(conn, study="S.1", user=INVESTIGATOR, role=Role.INVESTIGATOR, source="x")


KILLED_IMPORT = textwrap.dedent(
    """
    import sys
    from odm_engine.clinical import ItemKey
    from storage.bulk import BulkWriter
    from storage.engine import make_engine, write_transaction
    engine = make_engine(sys.argv[1])
    flushes = 0
    def flushed(items):
        global flushes
        flushes += 1
        print(f"flushed {items}", flush=True)
    with write_transaction(engine) as conn:
        writer = BulkWriter(conn, study="S.1", user="dan", role="data_manager",
                            source="import:KILL:0", batch_size=2000, on_flush=flushed)
        for n in range(1_000_000):
            items = [(ItemKey("SE.FU", "1", "F.AE", "", "IG.AE", str(g), "IT.AETERM"), f"AE {g}")
                     for g in range(1, 51)]
            writer.add_subject(f"K{n:07d}", "SITE.1", items)
        writer.finish()
    """
)


@pytest.mark.slow
def test_import_killed_halfway_leaves_the_database_exactly_as_before(db: Db, study: Engine) -> None:
    """One transaction: SIGKILL after several batches were sent leaves nothing behind."""
    bulk(study, [("001", None, [(dm_key("IT.AGE"), "40")])])
    before = dump(study)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, db.url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert all(line.startswith("flushed ") for line in lines), (lines, proc.stderr.read())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert int(lines[-1].split()[1]) >= 4_000  # items sent to the database before the kill
    assert dump(study) == before
    assert count(study, "subjects") == 1


def test_bulk_runs_the_check_plan_hard_checks_reject_soft_checks_open_queries(
    study: Engine,
) -> None:
    """RangeCheck Hard blocks the import; Soft imports and opens a query, as in save_form."""
    before = dump(study)
    with pytest.raises(BulkRejectedError) as caught:
        bulk(study, [("020", "SITE.1", [(dm_key("IT.AGE"), "12")])])
    assert [(p.subject_key, p.kind, p.severity, p.message) for p in caught.value.problems] == [
        ("020", "range", "hard", "Age must be at least 18."),
    ]
    assert dump(study) == before
    result = bulk(
        study, [("021", "SITE.1", [(dm_key("IT.AGE"), "30"), (dm_key("IT.WEIGHT"), "210")])]
    )
    assert result.queries_opened == 1
    assert [(q.key.item_oid, q.origin) for q in queries_of(study, "021")] == [
        ("IT.WEIGHT", "check")
    ]


def test_bulk_refuses_data_for_a_form_that_is_not_collected(study: Engine) -> None:
    """FormRef CollectionExceptionConditionOID (not eligible): no data may be imported."""
    elig = ItemKey("SE.SCREEN", "", "F.ELIG", "", "IG.ELIG", "", "IT.ELIGIBLE")
    with pytest.raises(BulkRejectedError) as caught:
        bulk(study, [("022", "SITE.1", [(elig, "N"), (dm_key("IT.AGE"), "30")])])
    assert [(p.kind, p.message) for p in caught.value.problems] == [
        ("condition",
         "Form F.DM is not collected for subject 022: its collection exception condition "
         "(C.NOT_ELIGIBLE) is true. It cannot be saved."),
    ]  # fmt: skip


def test_the_data_mark_grows_with_every_write_of_item_data(study: Engine) -> None:
    """save_form trusts values read before its transaction while the subject's data mark is
    unchanged: every path that writes item data must move it."""

    def mark() -> int:
        with study.connect() as conn:
            return data_mark(conn, find_subject(conn, "S.1", "001").id)

    seen = [mark()]
    bulk(study, [("001", None, [(dm_key("IT.AGE"), "40")])])  # a new form
    seen.append(mark())
    bulk(study, [("001", None, [(dm_key("IT.AGE"), "41")])], reason="Lab")  # a changed value
    seen.append(mark())
    bulk(study, [("001", None, [(ae_key("1", "1"), "Cough")])], reason="Lab")  # a new event
    seen.append(mark())
    save(study, {("IG.DM", "", "IT.AGE"): None}, version=2, reason="Removed")
    seen.append(mark())
    assert seen == sorted(set(seen)), seen

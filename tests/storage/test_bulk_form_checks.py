"""A new subject's local forms checked value by value (``storage.bulk.form_checks``
``local_outcome``) import exactly as through the reference, ``evaluate_form`` per form
instance (``form_outcomes``): the same rows, audit trail, queries and problems (issue 20)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from odm_engine.clinical import ItemKey
from odm_engine.entry_validation import IsNull, MetadataValidator
from storage.audit import history
from storage.bulk import BulkWriter
from storage.engine import write_transaction
from storage.errors import BulkRejectedError
from storage.models import Role
from storage.queries import list_queries
from storage.studies import current_metadata
from storage.subjects import subject_snapshot
from tests.storage.conftest import MANAGER, STUDY_BODY
from tests.storage.helpers import rolled_back, study_for_manager

LOCAL_BODY = STUDY_BODY.replace('CollectionExceptionConditionOID="C.NOT_ELIGIBLE"', "")
"""The test study with F.DM's condition taken away: its checks (IT.AGE >= 18 hard, IT.WEIGHT
< 200 soft) each read one value, so F.DM is a local form."""


class WholeForms:
    """The study's validator without its local checks: every form through evaluate_form."""

    def __init__(self, validator: MetadataValidator) -> None:
        self._validator = validator

    def __getattr__(self, name: str) -> Any:
        if name == "local_checks":
            raise AttributeError(name)
        return getattr(self._validator, name)


@pytest.fixture
def local_study(engine: Engine) -> Engine:
    return study_for_manager(engine, LOCAL_BODY)


VALUE = st.sampled_from(["42", "17", "150", "250", "abc", "", IsNull("NASK")])
SUBJECT = st.tuples(
    st.sampled_from(["001", "002", "003"]),
    st.dictionaries(st.sampled_from(["IT.AGE", "IT.WEIGHT", "IT.SEX", "IT.INITIALS"]), VALUE),
    st.sampled_from([None, "Y", "N"]),
)


def _items(subject: tuple[Any, ...]) -> list[tuple[ItemKey, Any]]:
    _key, dm, eligible = subject
    items = [(ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", oid), v) for oid, v in dm.items()]
    if eligible is not None:
        items.append(
            (ItemKey("SE.SCREEN", "", "F.ELIG", "", "IG.ELIG", "", "IT.ELIGIBLE"), eligible)
        )
    return items


def _import(conn: Connection, subjects: list[tuple[Any, ...]], whole_forms: bool) -> object:
    validator = MetadataValidator.for_odm(current_metadata(conn, "S.1").odm, "S.1")
    writer = BulkWriter(
        conn,
        study="S.1",
        user=MANAGER,
        role=Role.DATA_MANAGER,
        source="import:test",
        reason="bulk",
        batch_size=5,
        validator=WholeForms(validator) if whole_forms else validator,  # type: ignore[arg-type]
    )
    for subject in subjects:
        writer.add_subject(subject[0], "SITE.1", _items(subject))
    try:
        result = writer.finish()
    except BulkRejectedError as refused:
        return sorted(refused.problems, key=repr)  # the same problems, maybe another order
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    keys = sorted({s[0] for s in subjects})
    return (
        result,
        [subject_snapshot(conn, "S.1", k) for k in keys],
        [[replace(e, seq=0, recorded_at=epoch) for e in history(conn, "S.1", k)] for k in keys],
        [
            [(q.key, q.check_id, q.message, q.status) for q in list_queries(conn, "S.1", k)]
            for k in keys
        ],
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(subjects=st.lists(SUBJECT, min_size=1, max_size=4))
# Most drawn imports are refused (a hard problem anywhere): these two import, soft query and all.
@example(subjects=[("001", {"IT.AGE": "42", "IT.WEIGHT": "250", "IT.SEX": "F"}, "Y")])
@example(subjects=[("002", {"IT.AGE": IsNull("NASK"), "IT.WEIGHT": "150"}, None)])
def test_local_checks_import_as_the_whole_form_evaluation_does(
    local_study: Engine, subjects: list[tuple[Any, ...]]
) -> None:
    local, whole = (
        rolled_back(local_study, _import, subjects, whole_forms) for whole_forms in (False, True)
    )
    assert local == whole


def test_a_soft_local_check_opens_its_query_and_a_hard_one_rejects(local_study: Engine) -> None:
    """RangeCheck Soft (IT.WEIGHT < 200): imported, one query; Hard (IT.AGE >= 18): refused."""
    with write_transaction(local_study) as conn:
        heavy = _import(conn, [("005", {"IT.AGE": "30", "IT.WEIGHT": "250"}, None)], False)
    assert isinstance(heavy, tuple)
    assert heavy[0].queries_opened == 1
    assert [q[1:3] for q in heavy[3][0]] == [
        ("IT.WEIGHT#RC1", "Weight of 200 kg or more: please confirm.")
    ]
    with write_transaction(local_study) as conn:
        young = _import(conn, [("006", {"IT.AGE": "17"}, None)], False)
    assert [(p.subject_key, p.check_id, p.message) for p in young] == [  # type: ignore[attr-defined]
        ("006", "IT.AGE#RC1", "Age must be at least 18.")
    ]

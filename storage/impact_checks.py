"""Stored values failing a new or changed hard expression RangeCheck (issue 16, impact).

An expression check (``IT.SYSBP GT IT.DIABP``) reads more of a subject's data than the value
it sits on, so :mod:`storage.impact`'s one-check-per-distinct-value pass cannot decide it.
Here only the subjects holding values of items whose hard expression checks are new or changed
(``odm_engine.stored_checks.changed_expression_items``) are read, one subject at a time, and
the engine's own form evaluation decides (``odm_engine.stored_checks.expression_failures``).
A version that changes no expression check costs one ``if``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Select

from odm_engine.clinical import ItemKey, SubjectSnapshot
from odm_engine.expressions import CheckPlan
from odm_engine.stored_checks import expression_failures
from storage.models import ItemData, Site
from storage.models import Subject as SubjectRow
from storage.subjects import stored_items


def expression_problems(
    conn: Connection,
    located: Callable[..., Select[Any]],
    plan: CheckPlan,
    items: frozenset[str],
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(location, message) of each stored value of ``items`` failing one of its hard
    expression checks under ``plan``; ``located`` selects over the scope's item data (the
    subjects a report or a migration looks at). The location is the 11 leading fields of
    ``storage.impact.ValueProblem``."""
    if not items:
        return
    subjects = conn.execute(
        located(SubjectRow.id, SubjectRow.subject_key, Site.oid)
        .where(ItemData.item_oid.in_(sorted(items)))
        .distinct()
        .order_by(SubjectRow.subject_key)
    ).all()
    for subject_id, subject_key, site_oid in subjects:
        stored = stored_items(conn, subject_id)
        snapshot = SubjectSnapshot(
            subject_key,
            site_oid,
            {k: r[1] for k, r in stored.items() if r[2] is None and r[1] is not None},
            {k: r[2] for k, r in stored.items() if r[2] is not None},
        )
        for result in expression_failures(plan, snapshot, items):
            key: ItemKey = result.item_key
            value = snapshot.values.get(key)
            yield (
                (subject_id, subject_key, site_oid, *key[:6], key.item_oid, value),
                f"{key.item_oid} = {value!r} fails the new hard RangeCheck {result.check_id}: "
                f"{result.message} Correct the value (or the data it is compared with), or "
                "make the check soft or looser in the new version.",
            )

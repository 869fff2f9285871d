"""The impact of a new metadata version on the values already stored (issue 16, item 4).

:func:`iter_value_problems` yields every stored value that would be invalid under ``new``:
values of items ``new`` no longer defines or no longer reaches where they are stored, values
that no longer read as the new DataType or exceed the new Length or SignificantDigits, codes no
longer in the item's CodeList, and values failing a new or tightened hard RangeCheck
(Comparator or FormalExpression). :func:`impact` counts them per kind, item, site and subject
and adds the forms holding data whose structure (groups, items) changed.

Computed in SQL, never one subject at a time (but for expression RangeChecks, which read the
rest of a subject's data: :mod:`storage.impact_checks` evaluates those one subject at a time,
only for subjects holding values of items whose hard expression checks changed): the places
holding data are read grouped (StudyEventOID, FormOID, ItemGroupOID, ItemOID), each distinct
stored value of an item whose rules changed (``odm_engine.stored_values.changed_items``) is
read once with its count and checked once by the engine (``StoredValueChecker``), and only
the failing values are read back with their locations. Queries are streamed
(``stream_results``: a server-side cursor on PostgreSQL), so memory grows with the distinct
failing values, not with the stored ones.

Figure: ``python -m bench impact`` rows ``impact.sqlite.retyped_1m`` and
``impact.postgresql.retyped_1m`` (one item retyped text -> integer over 1,000,000 stored
values, 1,000 of them failing): seconds and the ratio to a bare ``COUNT(*)`` plus streamed
SELECT of the same values in the same run, and ``impact.<db>.peak``, the peak RSS (VmHWM) of
the impact step in its own process. Measured on a 2-core machine: SQLite 2.8-4.3 s (bare read
0.5-0.8 s), PostgreSQL 3.0-3.9 s (bare 0.9-1.0 s), peak 65 MB and 72 MB (target < 10 s,
< 200 MB). Memory grows with the problems kept (``keep``), not with the values stored: past
:data:`IN_LIMIT` failing distinct values an item's rows are checked as they stream. That worst
case (every one of 1,000,000 values distinct and failing) took 17-21 s at about 100 MB with
``keep=100`` on SQLite, most of it spent reading and reporting a million problems.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, func, select

from odm_engine import model as m
from odm_engine.compiled_study import CompiledStudy
from odm_engine.stored_checks import changed_expression_items
from odm_engine.stored_values import (
    KINDS,
    FormStructureChange,
    StoredValueChecker,
    ValueVerdict,
    changed_items,
    form_structure_changes,
    place_verdict,
)
from storage.errors import NotFoundError
from storage.impact_checks import expression_problems
from storage.models import Form, ItemData, ItemGroup, Site, StudyEvent
from storage.models import Subject as SubjectRow
from storage.refs import SubjectRef
from storage.studies import current_metadata, study_id_of
from storage.version_derivations import SubjectDerivations, derivations_of, has_derivations

STREAM = {"stream_results": True, "yield_per": 2000}
"""Execution options of every query that may return many rows."""
IN_LIMIT = 10_000
"""Failing distinct values of one item read back with ``value IN (...)``; more: every row
of the item is streamed and checked here (no oversized statement, no set of a million
values in memory)."""


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """One stored value that would be invalid under the new version, where it is stored."""

    subject_id: int
    subject_key: str
    site_oid: str | None
    study_event_oid: str
    study_event_repeat_key: str
    form_oid: str
    form_repeat_key: str
    item_group_oid: str
    item_group_repeat_key: str
    item_oid: str
    value: str | None
    """The stored canonical text (None: stored as null, with an IsNull reason)."""
    problem: str
    """One line: what is wrong and how to fix it."""
    kind: str
    """removed_item, unreachable, type, length, significant_digits, code or hard_check
    (``odm_engine.stored_values.KINDS``)."""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class FormImpact:
    """A FormDef whose groups or items change, and how much stored data it holds."""

    form_oid: str
    instances: int
    """Form instances holding at least one value."""
    subjects: int
    change: FormStructureChange

    def as_dict(self) -> dict[str, Any]:
        return {
            "form_oid": self.form_oid,
            "instances": self.instances,
            "subjects": self.subjects,
            "change": self.change.describe(),
            "groups_added": list(self.change.groups_added),
            "groups_removed": list(self.change.groups_removed),
            "items_added": list(self.change.items_added),
            "items_removed": list(self.change.items_removed),
            "removed": self.change.removed,
        }


@dataclass(frozen=True, slots=True)
class ImpactReport:
    """What ``new`` would do to the stored data of a study (or of the subjects asked about)."""

    study_oid: str
    current_version: int
    """The number of the stored version ``new`` is compared with."""
    new_version_oid: str
    total: int
    """Stored values that would be invalid."""
    by_kind: Mapping[str, int]
    by_item: Mapping[str, int]
    by_site: Mapping[str, int]
    """Site OID ("" for subjects at no site) -> invalid values."""
    by_subject: Mapping[str, int]
    forms: tuple[FormImpact, ...]
    problems: tuple[ValueProblem, ...]
    """The invalid values, the first ``keep`` of them when :func:`impact` was given one."""
    checked_items: tuple[str, ...] = field(default=())
    """Items whose rules for a value changed: their distinct stored values were checked."""
    derived: int = 0
    """Derived values ``new``'s MethodDefs would set, change or clear when the subjects move
    to it (computed on the stored values, before any canonical rewrite)."""

    @property
    def has_impact(self) -> bool:
        return self.total > 0 or bool(self.forms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "study_oid": self.study_oid,
            "current_version": self.current_version,
            "new_version_oid": self.new_version_oid,
            "total": self.total,
            "by_kind": dict(self.by_kind),
            "by_item": dict(self.by_item),
            "by_site": dict(self.by_site),
            "by_subject": dict(self.by_subject),
            "forms": [f.as_dict() for f in self.forms],
            "checked_items": list(self.checked_items),
            "derived": self.derived,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class _Scope:
    """The subjects looked at: a study, optionally narrowed to subjects, a site or one key."""

    study_id: int
    where: tuple[Any, ...]

    def located(self, *columns: Any) -> Select[Any]:
        """SELECT ``columns`` over the scope's item data, joined up to subject and site."""
        return (
            select(*columns)
            .select_from(ItemData)
            .join(ItemGroup, ItemGroup.id == ItemData.item_group_id)
            .join(Form, Form.id == ItemGroup.form_id)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .join(SubjectRow, SubjectRow.id == StudyEvent.subject_id)
            .outerjoin(Site, Site.id == SubjectRow.site_id)
            .where(SubjectRow.study_id == self.study_id, *self.where)
        )


LOCATION = (
    SubjectRow.id,
    SubjectRow.subject_key,
    Site.oid,
    StudyEvent.study_event_oid,
    StudyEvent.repeat_key,
    Form.form_oid,
    Form.repeat_key,
    ItemGroup.item_group_oid,
    ItemGroup.repeat_key,
    ItemData.item_oid,
    ItemData.value,
    ItemData.unit,
)
ORDER = (
    SubjectRow.subject_key,
    StudyEvent.study_event_oid,
    StudyEvent.repeat_key,
    Form.form_oid,
    Form.repeat_key,
    ItemGroup.item_group_oid,
    ItemGroup.repeat_key,
)


def _scope(
    conn: Connection,
    study_oid: str,
    subject_ids: Collection[int] | None,
    site_oid: str | None,
    subject_key: str | None,
) -> _Scope:
    study_id = study_id_of(conn, study_oid)
    where: list[Any] = []
    if site_oid is not None:
        if (
            conn.scalar(select(Site.id).where(Site.study_id == study_id, Site.oid == site_oid))
            is None
        ):
            raise NotFoundError(f"Study {study_oid} has no site {site_oid!r}; see `edc site list`.")
        where.append(Site.oid == site_oid)
    if subject_key is not None:
        found = conn.scalar(
            select(SubjectRow.id).where(
                SubjectRow.study_id == study_id, SubjectRow.subject_key == subject_key
            )
        )
        if found is None:
            raise NotFoundError(f"Study {study_oid} has no subject {subject_key!r}.")
        where.append(SubjectRow.id == found)
    if subject_ids is not None:
        where.append(SubjectRow.id.in_(sorted(subject_ids)))
    return _Scope(study_id, tuple(where))


def iter_value_problems(
    conn: Connection,
    study_oid: str,
    new: m.MetaDataVersion,
    *,
    subject_ids: Collection[int] | None = None,
    site_oid: str | None = None,
    subject_key: str | None = None,
    study: m.Study | None = None,
    old: m.MetaDataVersion | None = None,
    compiled: CompiledStudy | None = None,
) -> Iterator[ValueProblem]:
    """Every stored value of ``study_oid`` that would be invalid under ``new``: first the
    values of items whose rules changed that fail them (a data manager corrects those),
    item by item, then the values ``new`` has no place for (removed or unreachable items:
    kept, read-only), each item's in subject order.

    ``study``: the Study around ``new`` (its measurement units convert range checks; without
    it none do). ``old``: the version to compare with (default: the study's current one,
    ``storage.studies.current_metadata``). ``subject_ids``/``site_oid``/``subject_key``
    narrow the subjects looked at; an unknown site or subject is a NotFoundError.
    ``compiled``: ``new`` compiled already (a migration compiles its target once for every
    source version); compiled here when None.
    """
    scope = _scope(conn, study_oid, subject_ids, site_oid, subject_key)
    before = old if old is not None else current_metadata(conn, study_oid).mdv
    if compiled is None:
        compiled = (
            CompiledStudy.of(study, new) if study is not None else CompiledStudy.of_version(new)
        )
    places = _failing_places(conn, scope, new)
    checker = StoredValueChecker(compiled.plan)
    failing = _failing_values(conn, scope, checker, sorted(changed_items(before, new)))
    for item_oid in sorted(failing):
        yield from _value_problems(
            conn, scope, checker, item_oid, failing=failing[item_oid], places=places
        )
    for row, message in expression_problems(
        conn, scope.located, compiled.plan, changed_expression_items(before, new)
    ):
        yield ValueProblem(*row, message, "hard_check")
    yield from _place_problems(conn, scope, places)


Place = tuple[str, str, str, str]
"""(StudyEventOID, FormOID, ItemGroupOID, ItemOID) of stored values."""


def _failing_places(
    conn: Connection, scope: _Scope, new: m.MetaDataVersion
) -> dict[Place, ValueVerdict]:
    """The places holding data that ``new`` has no place for, with why."""
    rows = conn.execute(
        scope.located(
            StudyEvent.study_event_oid, Form.form_oid, ItemGroup.item_group_oid, ItemData.item_oid
        ).group_by(
            StudyEvent.study_event_oid, Form.form_oid, ItemGroup.item_group_oid, ItemData.item_oid
        )
    )
    failing: dict[Place, ValueVerdict] = {}
    for event, form, group, item in rows:
        verdict = place_verdict(new, event, form, group, item)
        if verdict is not None:
            failing[(event, form, group, item)] = verdict
    return failing


def _problem(row: Any, verdict: ValueVerdict) -> ValueProblem:
    return ValueProblem(*row[:11], verdict.message, verdict.kind)


def _place_problems(
    conn: Connection, scope: _Scope, places: Mapping[Place, ValueVerdict]
) -> Iterator[ValueProblem]:
    """Every value stored at one of ``places``."""
    items = sorted({place[3] for place in places})
    if not items:
        return
    query = (
        scope.located(*LOCATION)
        .where(ItemData.item_oid.in_(items))
        .order_by(ItemData.item_oid, *ORDER)
    )
    for row in conn.execute(query, execution_options=STREAM):
        verdict = places.get((row[3], row[5], row[7], row[9]))
        if verdict is not None:
            yield _problem(row, verdict)


Failing = set[tuple[str, str | None]] | None
"""The distinct (value, unit) of one item that fail its new rules; None: more than
:data:`IN_LIMIT` of them, so every value of the item is checked on the way to its location."""


def _failing_values(
    conn: Connection, scope: _Scope, checker: StoredValueChecker, items: list[str]
) -> dict[str, Failing]:
    """ItemOID -> the distinct (value, unit) stored for it that fail its new rules, each
    distinct value read once (grouped in SQL) and checked once. An item with more than
    :data:`IN_LIMIT` of them is marked None and not checked further here: memory stays flat
    when a retype fails nearly every value."""
    failing: dict[str, Failing] = {}
    if not items:
        return failing
    query = (
        scope.located(ItemData.item_oid, ItemData.value, ItemData.unit)
        .where(ItemData.item_oid.in_(items), ItemData.value.is_not(None))
        .group_by(ItemData.item_oid, ItemData.value, ItemData.unit)
    )
    for item_oid, value, unit in conn.execute(query, execution_options=STREAM):
        if item_oid in failing and failing[item_oid] is None:
            continue
        if checker.verdict(item_oid, value, unit) is not None:
            held = failing.setdefault(item_oid, set())
            assert held is not None
            held.add((value, unit))
            if len(held) > IN_LIMIT:
                failing[item_oid] = None
    return failing


def _value_problems(
    conn: Connection,
    scope: _Scope,
    checker: StoredValueChecker,
    item_oid: str,
    *,
    failing: Failing,
    places: Mapping[Place, ValueVerdict],
) -> Iterator[ValueProblem]:
    """The locations of ``item_oid``'s failing values (those at a failing place are reported
    there already). ``failing`` None: every stored value of the item is checked here."""
    query = scope.located(*LOCATION).where(
        ItemData.item_oid == item_oid, ItemData.value.is_not(None)
    )
    if failing is not None:
        query = query.where(ItemData.value.in_(sorted({value for value, _unit in failing})))
    seen: dict[tuple[str, str | None], ValueVerdict | None] = {}
    for row in conn.execute(query.order_by(*ORDER), execution_options=STREAM):
        value_unit = (row[10], row[11])
        if failing is not None and value_unit not in failing:
            continue
        if (row[3], row[5], row[7], row[9]) in places:
            continue
        if value_unit not in seen:
            if len(seen) >= IN_LIMIT:
                seen.clear()
            seen[value_unit] = checker.verdict(item_oid, *value_unit)
        verdict = seen[value_unit]
        if verdict is not None:
            yield _problem(row, verdict)


def impact(
    conn: Connection,
    study_oid: str,
    new: m.MetaDataVersion,
    *,
    subject_ids: Collection[int] | None = None,
    site_oid: str | None = None,
    subject_key: str | None = None,
    study: m.Study | None = None,
    keep: int | None = None,
) -> ImpactReport:
    """The counts of :func:`iter_value_problems` per kind, item, site and subject, the forms
    holding data whose structure changes, and the problems themselves (the first ``keep``
    when given: the counts still cover all of them)."""
    current = current_metadata(conn, study_oid)
    compiled = CompiledStudy.of(study, new) if study is not None else CompiledStudy.of_version(new)
    by_kind: Counter[str] = Counter()
    by_item: Counter[str] = Counter()
    by_site: Counter[str] = Counter()
    by_subject: Counter[str] = Counter()
    kept: list[ValueProblem] = []
    for problem in iter_value_problems(
        conn,
        study_oid,
        new,
        subject_ids=subject_ids,
        site_oid=site_oid,
        subject_key=subject_key,
        study=study,
        old=current.mdv,
        compiled=compiled,
    ):
        by_kind[problem.kind] += 1
        by_item[problem.item_oid] += 1
        by_site[problem.site_oid or ""] += 1
        by_subject[problem.subject_key] += 1
        if keep is None or len(kept) < keep:
            kept.append(problem)
    scope = _scope(conn, study_oid, subject_ids, site_oid, subject_key)
    return ImpactReport(
        study_oid=study_oid,
        current_version=current.number,
        new_version_oid=new.oid,
        total=sum(by_kind.values()),
        by_kind={k: by_kind[k] for k in KINDS if by_kind[k]},
        by_item=dict(sorted(by_item.items())),
        by_site=dict(sorted(by_site.items())),
        by_subject=dict(sorted(by_subject.items())),
        forms=_changed_forms(conn, scope, current.mdv, new),
        problems=tuple(kept),
        derived=sum(len(d.changes) for d in _derivations(conn, study_oid, scope, compiled)),
        checked_items=tuple(
            sorted(changed_items(current.mdv, new) | changed_expression_items(current.mdv, new))
        ),
    )


def _changed_forms(
    conn: Connection, scope: _Scope, old: m.MetaDataVersion, new: m.MetaDataVersion
) -> tuple[FormImpact, ...]:
    """The FormDefs holding data in scope whose groups or items differ from ``old`` to
    ``new``, with their form instances and subjects holding values."""
    changes = {
        oid: change
        for oid in old.form_defs
        if (change := form_structure_changes(old, new, oid)) is not None
    }
    if not changes:
        return ()
    rows = conn.execute(
        scope.located(
            Form.form_oid,
            func.count(func.distinct(Form.id)),
            func.count(func.distinct(SubjectRow.id)),
        )
        .where(Form.form_oid.in_(sorted(changes)))
        .group_by(Form.form_oid)
        .order_by(Form.form_oid)
    )
    return tuple(
        FormImpact(form_oid, int(instances), int(subjects), changes[form_oid])
        for form_oid, instances, subjects in rows
    )


def _derivations(
    conn: Connection, study_oid: str, scope: _Scope, compiled: CompiledStudy
) -> Iterator[SubjectDerivations]:
    """The derived values ``compiled`` would change for the scope's subjects, subject by
    subject."""
    if not has_derivations(compiled.plan):
        return iter(())
    rows = conn.execute(
        select(SubjectRow.id, SubjectRow.subject_key, SubjectRow.site_id, Site.oid)
        .outerjoin(Site, Site.id == SubjectRow.site_id)
        .where(SubjectRow.study_id == scope.study_id, *scope.where)
    )
    refs = [
        SubjectRef(sid, scope.study_id, study_oid, key, site, oid) for sid, key, site, oid in rows
    ]
    return derivations_of(conn, compiled.plan, refs, {})

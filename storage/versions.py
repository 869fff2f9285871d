"""Moving subjects to a newer published metadata version, audited (issue 16, item 5).

Each subject records the version its data are collected under (``subjects.metadata_version``).
:func:`migrate_subjects` moves the subjects asked about to published version ``to_number``:

- A subject with a stored value the new version would make invalid (no longer of its type,
  Length or SignificantDigits, a code no longer in its CodeList, a new or tightened hard
  RangeCheck: :func:`storage.impact.iter_value_problems`) is *not* moved. The report lists
  each such value with its problem, so a data manager can correct it first.
- The others move. Every value whose canonical text changes under the new definition (an
  ``integer`` retyped ``float`` keeps ``42``; a ``float`` retyped with fewer digits writes
  its new canonical form) is rewritten with an audit row (TransactionType Update, the reason)
  and its form's version is counted up, in the same transaction; the move itself is a row of
  the append-only ``subject_versions``.
- Values of items the new version removes (or no longer reaches) never block a move and are
  never deleted: they stay in ``item_data`` and the audit trail, and the report names them.
- Every derivation of the new version is recomputed for each moved subject, forms in
  dependency order, on its values as rewritten (:mod:`storage.version_derivations`); each
  derived value that changes is written with an audit row (source ``migrate:<n>:derived``)
  in the same transaction, and the report lists it (``derived``).

A dry run computes the same report and writes nothing.

Figure: ``python -m bench migrate``, rows ``migrate.sqlite.1000_subjects`` and
``migrate.postgresql.1000_subjects`` (1,000 subjects, 9,900 values rewritten and audited):
seconds, against bare UPDATEs of the same values by id in the same run; rows
``migrate.<db>.1000_subjects_derived``: the same with 9,900 derived values set and audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update

from odm_engine import model as m
from odm_engine.clinical import ItemKey
from odm_engine.compiled_study import CompiledStudy
from odm_engine.datatypes.codec import canonical_checker
from odm_engine.free_text import REASON, check_text
from odm_engine.stored_values import changed_items
from storage.audit import AuditContext
from storage.errors import InvalidInputError, NotFoundError
from storage.impact import ValueProblem, iter_value_problems
from storage.models import (
    AuditRow,
    Form,
    ItemData,
    ItemGroup,
    MetadataPublication,
    Role,
    Site,
    StudyEvent,
    SubjectVersion,
    TransactionType,
)
from storage.models import Subject as SubjectRow
from storage.refs import SubjectRef
from storage.studies import StoredMetadata, metadata_of, study_id_of
from storage.users import require_role
from storage.version_derivations import (
    _BUMP_FORM,
    DerivedValue,
    _chunks,
    derivations_of,
    write_derivations,
)
from storage.vocabulary import MIGRATE

BLOCKING = frozenset({"type", "length", "significant_digits", "code", "hard_check"})
"""Problem kinds that keep a subject on its version; ``removed_item`` and ``unreachable``
values are kept as they are (read-only) and do not block."""


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A value whose canonical text changes under the new version."""

    subject_key: str
    key: ItemKey
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class MigrationReport:
    study_oid: str
    to_number: int
    dry_run: bool
    moved: tuple[tuple[str, int], ...]
    """(SubjectKey, the version it was on) of each subject moved (or, dry run, that would be)."""
    stayed: Mapping[str, tuple[ValueProblem, ...]]
    """SubjectKey -> the values that keep it on its version, each with its problem."""
    rewritten: tuple[Rewrite, ...]
    kept: tuple[ValueProblem, ...] = ()
    """Values of moved subjects whose item the new version removes: kept, read-only."""
    already: tuple[str, ...] = field(default=())
    """Subjects asked about that are on ``to_number`` (or a later version) already."""
    derived: tuple[DerivedValue, ...] = field(default=())
    """Derived values of moved subjects the new version's MethodDefs set, change or clear."""

    @property
    def all_moved(self) -> bool:
        return not self.stayed


@dataclass(frozen=True, slots=True)
class _Candidate:
    ref: SubjectRef
    number: int


@dataclass(frozen=True, slots=True)
class _Change:
    """A value to rewrite: its subject, form row (and the version it gets), item_data row."""

    subject: _Candidate
    form_id: int
    form_version: int
    row_id: int
    key: ItemKey
    old: str
    new: str


def migrate_subjects(
    conn: Connection,
    study_oid: str,
    to_number: int,
    *,
    site_oid: str | None = None,
    subject_key: str | None = None,
    dry_run: bool = False,
    user: str,
    reason: str,
) -> MigrationReport:
    """Move the study's subjects (those of ``site_oid``, or the one ``subject_key``) to
    published version ``to_number``; see the module docstring. ``user`` must hold the data
    manager role study-wide; ``reason`` goes on every audit row and history row.
    InvalidInputError: empty reason, a draft or unknown version; NotFoundError: an unknown
    study, site or subject."""
    if not reason.strip():
        raise InvalidInputError("A migration needs a reason (it is on every audit row).")
    check_text(reason, "Reason for change", REASON)  # on audit rows and exports
    study_id = study_id_of(conn, study_oid)
    user_id = require_role(
        conn,
        user,
        Role.DATA_MANAGER,
        study_id=study_id,
        site_id=None,
        allowed=MIGRATE,
        action="migrate subjects to another metadata version",
    )
    target = _published(conn, study_oid, study_id, to_number)
    study = _study(target)
    compiled = (  # once, for every source version
        CompiledStudy.of(study, target.mdv) if study else CompiledStudy.of_version(target.mdv)
    )
    candidates, already = _candidates(
        conn, study_oid, study_id, to_number, site_oid=site_oid, subject_key=subject_key
    )
    stayed, kept, rewrites = _sort_out(conn, study_oid, target.mdv, compiled, candidates)
    movers = [c for c in candidates if c.ref.id not in stayed]
    kept = [p for p in kept if p.subject_id not in stayed]
    rewritten: dict[int, dict[ItemKey, str]] = defaultdict(dict)
    for c in rewrites:
        rewritten[c.subject.ref.id][c.key] = c.new
    derived = list(derivations_of(conn, compiled.plan, [c.ref for c in movers], rewritten))
    if not dry_run:
        now = datetime.now(UTC)  # one time on every row the migration writes
        _write(
            conn, movers, rewrites, to_number, user=user, user_id=user_id, reason=reason, now=now
        )
        write_derivations(
            conn,
            derived,
            {c.form_id: c.form_version for c in rewrites},
            to_number=to_number,
            user=user,
            user_id=user_id,
            reason=reason,
            now=now,
        )
    keys = {c.ref.id: c.ref.subject_key for c in candidates}
    return MigrationReport(
        study_oid,
        to_number,
        dry_run,
        tuple((c.ref.subject_key, c.number) for c in movers),
        {keys[sid]: tuple(problems) for sid, problems in sorted(stayed.items())},
        tuple(Rewrite(c.subject.ref.subject_key, c.key, c.old, c.new) for c in rewrites),
        tuple(kept),
        tuple(already),
        tuple(v for d in derived for v in d.values()),
    )


def _sort_out(
    conn: Connection,
    study_oid: str,
    new: m.MetaDataVersion,
    compiled: CompiledStudy,
    candidates: list[_Candidate],
) -> tuple[dict[int, list[ValueProblem]], list[ValueProblem], list[_Change]]:
    """(subject id -> the problems that keep it on its version, the values kept from removed
    items, the canonical rewrites of the others), source version by source version."""
    stayed: dict[int, list[ValueProblem]] = defaultdict(list)
    kept: list[ValueProblem] = []
    rewrites: list[_Change] = []
    by_number: dict[int, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_number[c.number].append(c)
    for number, group in sorted(by_number.items()):
        old = metadata_of(conn, study_oid, number)
        ids = [c.ref.id for c in group]
        for p in iter_value_problems(
            conn,
            study_oid,
            new,
            subject_ids=ids,
            study=compiled.study,
            old=old.mdv,
            compiled=compiled,
        ):
            (stayed[p.subject_id] if p.kind in BLOCKING else kept).append(p)
        movers = [c for c in group if c.ref.id not in stayed]
        rewrites += _rewrites(conn, movers, old.mdv, new)
    return stayed, kept, rewrites


def subjects_behind(conn: Connection, study_id: int, number: int) -> dict[str, int]:
    """SubjectKey -> version of the study's subjects on another version than ``number``."""
    rows = conn.execute(
        select(SubjectRow.subject_key, SubjectRow.metadata_version).where(
            SubjectRow.study_id == study_id, SubjectRow.metadata_version != number
        )
    )
    return {key: int(version) for key, version in rows}


def subjects_per_version(conn: Connection, study_oid: str) -> dict[int, int]:
    """Version number -> how many of the study's subjects are on it."""
    rows = conn.execute(
        select(SubjectRow.metadata_version, func.count(SubjectRow.id))
        .where(SubjectRow.study_id == study_id_of(conn, study_oid))
        .group_by(SubjectRow.metadata_version)
    )
    return {int(number): int(n) for number, n in rows}


def _study(stored: StoredMetadata) -> m.Study | None:
    return stored.odm.find_study(stored.study_oid) or stored.odm.study


def _published(conn: Connection, study_oid: str, study_id: int, number: int) -> StoredMetadata:
    target = metadata_of(conn, study_oid, number)  # NotFoundError for an unknown number
    published = conn.scalar(
        select(MetadataPublication.id).where(
            MetadataPublication.study_id == study_id, MetadataPublication.number == number
        )
    )
    if published is None:
        raise InvalidInputError(
            f"Version {number} of study {study_oid} is a draft: publish it first "
            f"(`edc study publish {number} --user U --reason R`)."
        )
    return target


def _candidates(
    conn: Connection,
    study_oid: str,
    study_id: int,
    to_number: int,
    *,
    site_oid: str | None,
    subject_key: str | None,
) -> tuple[list[_Candidate], list[str]]:
    """The subjects asked about below ``to_number``, and those on it (or later) already."""
    query = (
        select(
            SubjectRow.id,
            SubjectRow.subject_key,
            SubjectRow.site_id,
            Site.oid,
            SubjectRow.metadata_version,
        )
        .outerjoin(Site, Site.id == SubjectRow.site_id)
        .where(SubjectRow.study_id == study_id)
        .order_by(SubjectRow.subject_key)
    )
    if site_oid is not None:
        if (
            conn.scalar(select(Site.id).where(Site.study_id == study_id, Site.oid == site_oid))
            is None
        ):
            raise NotFoundError(f"No site {site_oid!r} in study {study_oid}.")
        query = query.where(Site.oid == site_oid)
    if subject_key is not None:
        query = query.where(SubjectRow.subject_key == subject_key)
    rows = conn.execute(query).all()
    if subject_key is not None and not rows:
        raise NotFoundError(f"No subject {subject_key!r} in study {study_oid}.")
    candidates = [
        _Candidate(SubjectRef(sid, study_id, study_oid, key, site_id, site), number)
        for sid, key, site_id, site, number in rows
        if number < to_number
    ]
    return candidates, [key for _s, key, _i, _o, number in rows if number >= to_number]


def _rewrites(
    conn: Connection,
    movers: list[_Candidate],
    old: m.MetaDataVersion,
    new: m.MetaDataVersion,
) -> list[_Change]:
    """Each stored value of ``movers`` whose canonical text under ``new`` differs from the
    stored one."""
    items = sorted(changed_items(old, new))
    if not movers or not items:
        return []
    checkers = {
        oid: canonical_checker(
            new.item_defs[oid].data_type,
            length=new.item_defs[oid].length,
            significant_digits=new.item_defs[oid].significant_digits,
        )
        for oid in items
    }
    by_id = {c.ref.id: c for c in movers}
    out = []
    for chunk in _chunks(list(by_id)):
        for row in conn.execute(_values_of(chunk, items)):
            canonical = checkers[row.item_oid](row.value)
            if isinstance(canonical, str) and canonical != row.value:
                key = ItemKey(
                    row.study_event_oid,
                    row.event_key,
                    row.form_oid,
                    row.form_key,
                    row.item_group_oid,
                    row.group_key,
                    row.item_oid,
                )
                subject = by_id[row.subject_id]
                version = row.form_version + 1  # one count up per form, whatever it holds
                out.append(
                    _Change(subject, row.form_id, version, row.row_id, key, row.value, canonical)
                )
    return out


def _values_of(subject_ids: list[int], items: list[str]) -> Select:  # type: ignore[type-arg]
    """The non-null stored values of ``items`` for the subjects, with their keys."""
    return (
        select(
            StudyEvent.subject_id,
            Form.id.label("form_id"),
            Form.version.label("form_version"),
            ItemData.id.label("row_id"),
            StudyEvent.study_event_oid,
            StudyEvent.repeat_key.label("event_key"),
            Form.form_oid,
            Form.repeat_key.label("form_key"),
            ItemGroup.item_group_oid,
            ItemGroup.repeat_key.label("group_key"),
            ItemData.item_oid,
            ItemData.value,
        )
        .join(ItemGroup, ItemGroup.id == ItemData.item_group_id)
        .join(Form, Form.id == ItemGroup.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(
            StudyEvent.subject_id.in_(subject_ids),
            ItemData.item_oid.in_(items),
            ItemData.value.is_not(None),
        )
        .order_by(StudyEvent.subject_id, ItemData.id)
    )


def _write(
    conn: Connection,
    movers: list[_Candidate],
    rewrites: list[_Change],
    to_number: int,
    *,
    user: str,
    user_id: int,
    reason: str,
    now: datetime,
) -> None:
    """Rewrite the values, one audit row each, count up their forms' versions, and move the
    subjects with a history row each: all in the caller's transaction, each kind of row
    written in one executemany."""
    forms = {c.form_id: c.form_version for c in rewrites}
    if forms:
        conn.execute(
            _BUMP_FORM.values(updated_at=now, updated_by=user),
            [{"fid": f, "v": v} for f, v in forms.items()],
        )
        conn.execute(_REWRITE, [{"rid": c.row_id, "v": c.new} for c in rewrites])
    contexts: dict[int, AuditContext] = {}
    audit = []
    for c in rewrites:
        ctx = contexts.get(c.subject.ref.id)
        if ctx is None:
            contexts[c.subject.ref.id] = ctx = AuditContext.for_actor(
                c.subject.ref,
                user_id=user_id,
                username=user,
                role=Role.DATA_MANAGER,
                reason=reason,
                source=f"migrate:{to_number}",
                now=now,
            )
        change = (c.old, None), (c.new, None)
        audit.append(ctx.row(c.key, TransactionType.UPDATE, *change, c.form_version))
    if audit:
        conn.execute(insert(AuditRow), audit)
    if movers:
        conn.execute(
            update(SubjectRow)
            .where(SubjectRow.id == bindparam("sid"))
            .values(metadata_version=to_number),
            [{"sid": c.ref.id} for c in movers],
        )
        conn.execute(
            insert(SubjectVersion),
            [
                {
                    "subject_id": c.ref.id,
                    "from_number": c.number,
                    "to_number": to_number,
                    "recorded_at": now,
                    "username": user,
                    "reason": reason.strip(),
                }
                for c in movers
            ],
        )


_REWRITE = update(ItemData).where(ItemData.id == bindparam("rid")).values(value=bindparam("v"))

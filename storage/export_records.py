"""Storage side of export: stored clinical data read back out as SubjectRecords.

:func:`iter_snapshot` (current values) and :func:`iter_changes` (every change from the audit
trail) stream records in subject order from one SELECT each (the snapshot reads the keys of
each subject's values with a small second SELECT per subject), for
:func:`renderers.odm.write_odm` or the tabular writers; :func:`admin_data` gives the study's
users and sites as ODM AdminData. :mod:`storage.export_source` chooses among them; the
mirror image, storing imported records, is :mod:`storage.exchange`. Every function here only
reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, or_, select

from odm_engine import model as m
from odm_engine.clinical import ItemKey
from odm_engine.exchange.records import (
    Annotation,
    Flag,
    FormRecord,
    ItemGroupRecord,
    ItemKeys,
    ItemValue,
    Signature,
    StudyEventRecord,
    SubjectRecord,
)
from storage.export_history import (
    change_groups,
    history_events,
    merge_by_time,
    signature_of,
    up_to_subject,
)
from storage.export_trees import BatchedTrees, TreeReader
from storage.models import (
    AccessLogRow,
    AuditRow,
    Form,
    ItemData,
    ItemGroup,
    MetadataVersion,
    Query,
    QueryMessage,
    RoleAssignment,
    Site,
    StudyEvent,
    Subject,
    User,
)
from storage.models import Signature as SignatureRow
from storage.queries import SYSTEM_USER
from storage.studies import StoredMetadata, current_metadata, study_id_of

Version = tuple[Any, str] | None
"""(condition, OID): the rows a SQL condition picks (all: None) under MetaDataVersion OID
(:mod:`storage.export_versions`); None: all subjects, under the current version's OID."""


def _subject_filter(
    query: Any,
    study_id: int,
    site: str | None,
    keys: Iterable[str],
    version: Version = None,
    *,
    changed_since: datetime | None = None,
) -> Any:
    """``query`` (which reads ``subjects``) narrowed to the exported subjects: of the study,
    of ``version``'s condition, of ``site``, with those ``keys``, with an audited change after
    ``changed_since``."""
    query = query.where(Subject.study_id == study_id)
    if version is not None and version[0] is not None:
        query = query.where(version[0])
    if site is not None:
        query = query.where(
            Subject.site_id.in_(select(Site.id).where(Site.study_id == study_id, Site.oid == site))
        )
    wanted = list(keys)
    if wanted:
        query = query.where(Subject.subject_key.in_(wanted))
    if changed_since is not None:
        changed = select(AuditRow.subject_id).where(AuditRow.recorded_at > changed_since)
        query = query.where(Subject.id.in_(changed.distinct()))
    return query


_GROUP_ORDER = (
    Subject.subject_key,
    StudyEvent.study_event_oid,
    StudyEvent.repeat_key,
    Form.form_oid,
    Form.repeat_key,
    ItemGroup.item_group_oid,
    ItemGroup.repeat_key,
)
"""ItemGroupData in export order: by subject, then by ODM key (unique within a subject)."""


def iter_snapshot(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
    transaction_type: str | None = None,
    version: Version = None,
) -> Iterator[SubjectRecord]:
    """Current values, one record per subject (changed after ``since``; of ``version``).

    The values come from one streamed SELECT of six narrow columns (subject id, group id,
    ItemOID, value, IsNull, unit); the keys they belong to (event, form and group OIDs and repeat
    keys) from ordered batches of subjects beside it (:class:`storage.export_trees.BatchedTrees`),
    so a million rows never carry them. Each record is yielded as soon as its subject's last
    value is read.
    """
    mdv_oid = version[1] if version else current_metadata(conn, study_oid).mdv.oid
    study_id = study_id_of(conn, study_oid)
    query = (
        select(
            Subject.id,
            ItemData.item_group_id,
            ItemData.item_oid,
            ItemData.value,
            ItemData.is_null,
            ItemData.unit,
        )
        .join(StudyEvent, StudyEvent.subject_id == Subject.id)
        .join(Form, Form.study_event_id == StudyEvent.id)
        .join(ItemGroup, ItemGroup.form_id == Form.id)
        .join(ItemData, ItemData.item_group_id == ItemGroup.id)
    )
    query = _subject_filter(query, study_id, site, subject_keys, version, changed_since=since)
    query = query.order_by(*_GROUP_ORDER, ItemData.id)
    # The batches of trees are read among the same subjects, but for the version's condition
    # (it may name a value's item): a subject outside it is read and never asked for.
    exported = _subject_filter(
        select(Subject.id), study_id, site, subject_keys, changed_since=since
    )
    builder = _SnapshotBuilder(
        study_oid,
        mdv_oid,
        trees=BatchedTrees(conn, exported),
        transaction_type=transaction_type,
        queries=_queries(conn, study_id),
        signatures=_signatures(conn, study_id),
    )
    if conn.dialect.name == "sqlite":
        # The driver's own cursor, iterated as it steps through the result: the columns are
        # integers and text, which need no result processing, so a million rows make no
        # Row objects (SQLAlchemy fetches nothing before it is asked to).
        result = conn.execute(query)
        rows: Iterable[Any] = result.cursor
    else:  # a server-side cursor, 10,000 rows per round trip (this statement's only: the
        # batches of trees beside it are plain queries)
        result = conn.execute(query, execution_options={"yield_per": 10_000})
        rows = chain.from_iterable(result.partitions())
    try:
        yield from builder.records(rows)
    finally:
        result.close()


_new_tuple = tuple.__new__
_NO_GROUP = ("", "", "", "", "", "")


class _SnapshotBuilder:
    """Turns ordered value rows into SubjectRecords, holding one subject at a time."""

    def __init__(
        self,
        study_oid: str,
        mdv_oid: str,
        *,
        trees: TreeReader,
        transaction_type: str | None,
        queries: dict[int, dict[ItemKey, tuple[Annotation, ...]]],
        signatures: dict[int, Signature],
    ) -> None:
        self.trees, self.study_oid, self.mdv_oid = trees, study_oid, mdv_oid
        self.tt, self.queries, self.signatures = transaction_type, queries, signatures
        self.keys = ItemKeys()

    def records(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[SubjectRecord]:
        new, tt, add = _new_tuple, self.tt, self.keys.add
        subject = group = None
        tree: dict[int, tuple[Any, ...]] = {}
        head: tuple[str, str | None] = ("", None)
        events: list[tuple[str, str, list[Any]]] = []
        items: list[ItemValue] = []
        keys: dict[str, ItemKey] = {}
        prefix: tuple[str, ...] = ()
        notes: dict[ItemKey, tuple[Annotation, ...]] | None = None
        for sid, gid, item_oid, value, is_null, unit in rows:
            if gid != group:
                group = gid
                if sid != subject:
                    if events:
                        yield self._record(head, events)
                    subject, events = sid, []
                    tree, head = self.trees(sid)
                    notes = self.queries.get(sid)
                items, keys, prefix = self._open_group(tree.get(gid), events)
            key = keys.get(item_oid) or add(keys, prefix, item_oid)
            items.append(  # an ItemValue, built without its Python-level __new__
                new(
                    ItemValue,
                    (
                        key,
                        value,
                        is_null is not None,
                        None,
                        unit,
                        tt,
                        None,
                        None,
                        notes.get(key, ()) if notes else (),
                        (),
                        (),
                        0,
                    ),
                )
            )
        if events:
            yield self._record(head, events)

    def _open_group(
        self, info: tuple[Any, ...] | None, events: list[tuple[str, str, list[Any]]]
    ) -> tuple[list[ItemValue], dict[str, ItemKey], tuple[str, ...]]:
        """The item list of a group that starts (its form and event too, when they start)."""
        items: list[ItemValue] = []
        if info is None:  # removed since the values were read: its values are left out
            return items, {}, _NO_GROUP
        eoid, erk, fid, foid, frk, goid, grk = info
        if not events or events[-1][0] != eoid or events[-1][1] != erk:
            events.append((eoid, erk, []))
        forms = events[-1][2]
        if not forms or forms[-1][0] != fid:
            forms.append((fid, foid, frk, []))
        forms[-1][3].append((goid, grk, items))
        prefix = (eoid, erk, foid, frk, goid, grk)
        return items, self.keys.of_group(prefix), prefix

    def _record(
        self, head: tuple[str, str | None], events: list[tuple[str, str, list[Any]]]
    ) -> SubjectRecord:
        signature = self.signatures.get
        subject_key, site_oid = head
        return SubjectRecord(
            study_oid=self.study_oid,
            metadata_version_oid=self.mdv_oid,
            subject_key=subject_key,
            site_oid=site_oid,
            events=tuple(
                [  # lists, not generators: built 40,000 times in a registry export
                    StudyEventRecord(
                        study_event_oid=eoid,
                        repeat_key=erk,
                        forms=tuple(
                            [
                                FormRecord(
                                    form_oid=foid,
                                    repeat_key=frk,
                                    groups=tuple(
                                        [
                                            ItemGroupRecord(
                                                item_group_oid=goid,
                                                repeat_key=grk,
                                                items=tuple(items),
                                            )
                                            for goid, grk, items in groups
                                        ]
                                    ),
                                    signature=signature(fid),
                                )
                                for fid, foid, frk, groups in forms
                            ]
                        ),
                    )
                    for eoid, erk, forms in events
                ]
            ),
            transaction_type=self.tt,
        )


def _queries(conn: Connection, study_id: int) -> dict[int, dict[ItemKey, tuple[Annotation, ...]]]:
    """Queries as ODM Annotations (comment = message, flag = status), by subject and item."""
    out: dict[int, dict[ItemKey, tuple[Annotation, ...]]] = {}
    rows = conn.execute(
        select(
            Query.subject_id,
            Query.study_event_oid,
            Query.study_event_repeat_key,
            Query.form_oid,
            Query.form_repeat_key,
            Query.item_group_oid,
            Query.item_group_repeat_key,
            Query.item_oid,
            Query.status,
            Query.message,
            Query.id,
        )
        .join(Subject, Subject.id == Query.subject_id)
        .where(Subject.study_id == study_id)
        .order_by(Query.id)
    )
    for sid, *key, status, message, qid in rows:
        of_subject = out.setdefault(sid, {})
        item = ItemKey(*key)
        notes = of_subject.get(item, ())
        of_subject[item] = (
            *notes,
            Annotation(
                seq_num=str(len(notes) + 1),
                comment=message,
                flags=(Flag(value=status, type="query"),),
                id=f"Q.{qid}",
            ),
        )
    return out


def _signatures(conn: Connection, study_id: int) -> dict[int, Signature]:
    """The latest signature of each signed form."""
    out: dict[int, Signature] = {}
    query = select(
        SignatureRow.id,
        SignatureRow.form_id,
        SignatureRow.username,
        SignatureRow.signature_def_oid,
        SignatureRow.signed_at,
        Site.oid,
    ).join(Form, Form.id == SignatureRow.form_id)
    rows = conn.execute(
        up_to_subject(query).where(Subject.study_id == study_id).order_by(SignatureRow.id)
    )
    for sig_id, form_id, user, sig_oid, signed_at, site in rows:
        out[form_id] = signature_of(sig_id, user, site, sig_oid, signed_at)
    return out


def iter_changes(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
    version: Version = None,
) -> Iterator[SubjectRecord]:
    """Every audited event (of ``version``: :data:`Version`), oldest first within each subject:
    value changes (each with its TransactionType and AuditRecord; a form's first save is its
    ``FormData`` Insert), subject creations, form status changes (SDV, signing, lock: a Flag of
    ``EDC.FORM_STATUS``), signatures and query messages (:mod:`storage.export_history`).

    One record per (subject, form save): the rows one save wrote share a form version.
    """
    mdv_oid = version[1] if version else current_metadata(conn, study_oid).mdv.oid
    study_id = study_id_of(conn, study_oid)
    subjects = _subject_filter(select(Subject.id), study_id, site, subject_keys, version)
    events = history_events(conn, study_oid, mdv_oid, subjects, since)
    a = AuditRow
    query = select(
        a.subject_id,
        a.subject_key,
        a.site_oid,
        a.form_version,
        a.study_event_oid,
        a.study_event_repeat_key,
        a.form_oid,
        a.form_repeat_key,
        a.item_group_oid,
        a.item_group_repeat_key,
        a.item_oid,
        a.transaction_type,
        a.new_value,
        a.new_is_null,
        a.username,
        a.recorded_at,
        a.reason,
        a.source,
        a.new_unit,
        a.old_value,
    ).join(Subject, Subject.id == a.subject_id)
    query = _subject_filter(query, study_id, site, subject_keys, version)
    if since is not None:
        query = query.where(a.recorded_at > since)
    query = query.order_by(a.subject_id, a.seq)
    # this statement's option: Connection.execution_options would turn every later query on
    # the connection into a server-side cursor (PostgreSQL)
    rows = conn.execute(query, execution_options={"yield_per": 10_000})
    yield from merge_by_time(change_groups(rows, study_oid, mdv_oid), events)


def admin_data(conn: Connection, study_oid: str) -> m.AdminData:
    """The study's AdminData: its sites (with the EffectiveDate the metadata gives), the
    Users and SignatureDefs of the loaded metadata, and every user with a role in the study,
    a row naming the study in the access log (a role granted or revoked, an account added by
    a history import) or a change in its data, as an ODM AdminData model."""
    stored = current_metadata(conn, study_oid)
    study_id = study_id_of(conn, study_oid)
    given = next(
        (a for a in stored.odm.admin_data if a.study_oid in (None, study_oid)), m.AdminData()
    )
    ref = m.MetaDataVersionRef(
        study_oid=study_oid,
        metadata_version_oid=stored.mdv.oid,
        effective_date=_effective_date(conn, study_id, given, stored),
    )
    locations = _locations(conn, study_id, given, ref)
    users = dict(given.users)
    for username, full_name, email in conn.execute(
        select(User.username, User.full_name, User.email)
        .where(
            or_(
                User.id.in_(
                    select(RoleAssignment.user_id).where(RoleAssignment.study_id == study_id)
                ),
                User.username.in_(
                    select(AuditRow.username)
                    .join(Subject, Subject.id == AuditRow.subject_id)
                    .where(Subject.study_id == study_id)
                ),
                # a role once held, or added by a history import (storage.history_import)
                User.username.in_(
                    select(AccessLogRow.username).where(AccessLogRow.study_oid == study_oid)
                ),
            )
        )
        .order_by(User.username)
    ):
        users.setdefault(
            username,
            m.User(
                oid=username,
                login_name=username,
                full_name=full_name or None,
                emails=(email,) if email else (),
            ),
        )
    if SYSTEM_USER not in users and _system_wrote(conn, study_id):
        users[SYSTEM_USER] = m.User(
            oid=SYSTEM_USER,
            login_name=SYSTEM_USER,
            full_name="System: closes a check's query when a save makes the value pass",
        )
    return m.AdminData(
        study_oid=study_oid,
        users=users,
        locations=locations,
        signature_defs=_signature_defs(conn, study_id, given),
    )


def _system_wrote(conn: Connection, study_id: int) -> bool:
    """Whether a query message of the study is the system's (its UserRef needs a User)."""
    found = conn.scalar(
        select(QueryMessage.id)
        .join(Query, Query.id == QueryMessage.query_id)
        .join(Subject, Subject.id == Query.subject_id)
        .where(Subject.study_id == study_id, QueryMessage.username == SYSTEM_USER)
        .limit(1)
    )
    return found is not None


def _effective_date(
    conn: Connection, study_id: int, given: m.AdminData, stored: StoredMetadata
) -> str:
    """The EffectiveDate of the current MetaDataVersion the metadata's AdminData gives (the
    earliest); else the day that version was loaded."""
    dates = sorted(
        ref.effective_date
        for location in given.locations.values()
        for ref in location.metadata_version_refs
        if ref.metadata_version_oid == stored.mdv.oid and ref.effective_date
    )
    if dates:
        return dates[0]
    loaded = conn.scalar(
        select(MetadataVersion.loaded_at).where(
            MetadataVersion.study_id == study_id, MetadataVersion.number == stored.number
        )
    )
    return loaded.strftime("%Y-%m-%d")


def _locations(
    conn: Connection, study_id: int, given: m.AdminData, fallback: m.MetaDataVersionRef
) -> dict[str, m.Location]:
    """The study's sites; the MetaDataVersionRefs as the metadata gives them, if it does."""
    out = {}
    for oid, name, kind in conn.execute(
        select(Site.oid, Site.name, Site.location_type)
        .where(Site.study_id == study_id)
        .order_by(Site.oid)
    ):
        known = given.locations.get(oid)
        refs = tuple(r for r in (known.metadata_version_refs if known else ()) if r.effective_date)
        out[oid] = m.Location(
            oid=oid, name=name, location_type=kind, metadata_version_refs=refs or (fallback,)
        )
    return out


def _signature_defs(
    conn: Connection, study_id: int, given: m.AdminData
) -> dict[str, m.SignatureDef]:
    """The metadata's SignatureDefs, and one for each other SignatureOID signed with (its
    meaning as the signer saw it), so every SignatureRef resolves."""
    out = dict(given.signature_defs)
    query = select(SignatureRow.signature_def_oid, SignatureRow.meaning).join(
        Form, Form.id == SignatureRow.form_id
    )
    rows = conn.execute(
        up_to_subject(query).where(Subject.study_id == study_id).order_by(SignatureRow.id)
    )
    for oid, meaning in rows:
        out.setdefault(oid, m.SignatureDef(oid=oid, methodology="Electronic", meaning=meaning))
    return out

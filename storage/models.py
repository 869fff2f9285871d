"""The schema: SQLAlchemy 2 typed models, keyed exactly as ODM keys clinical data.

Studies own metadata versions (the ODM XML verbatim with its SHA-256), sites (AdminData
Locations) and subjects. A subject holds study events, forms, item groups and item data, each
identified by its OID plus its repeat key (``""`` when ODM gave none). Item values are ODM
canonical text; a null value has ``is_null`` set to its reason.

Item data and audit rows are written through Core (``ItemData.__table__``), never as ORM
objects per item. The audit table is append-only: the migration adds triggers that reject
UPDATE and DELETE (see :mod:`storage.audit`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The enums live in storage.vocabulary (no SQL: the web app imports them); stored here and
# re-exported for the storage modules that name them with the tables (``X as X``: mypy's
# explicit re-export, which ruff's PLC0414 takes for a useless alias).
from storage.vocabulary import MAX_REPEAT_KEY
from storage.vocabulary import AccessEvent as AccessEvent  # noqa: PLC0414
from storage.vocabulary import FormStatus as FormStatus  # noqa: PLC0414
from storage.vocabulary import QueryStatus as QueryStatus  # noqa: PLC0414
from storage.vocabulary import Role as Role  # noqa: PLC0414
from storage.vocabulary import TransactionType as TransactionType  # noqa: PLC0414

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OID = String(100)
"""ODM OIDs are xs:string; 100 characters covers every file in the corpus."""
REPEAT_KEY = String(MAX_REPEAT_KEY)
ID = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; INTEGER on SQLite so the key is the rowid."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC: aware on the way in and out, naive UTC on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _one_of(column: str, values: type[StrEnum]) -> str:
    """The rule of :func:`_in` as comparisons joined by OR: SQLite checks ``IN (...)`` of
    more than two values by building a temporary index for every row (migration 0005)."""
    return " OR ".join(f"{column} = {v.value!r}" for v in values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    oid: Mapped[str] = mapped_column(OID, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class MetadataVersion(Base):
    """One loaded ODM metadata file, kept verbatim so any past version can be re-read."""

    __tablename__ = "metadata_versions"
    __table_args__ = (UniqueConstraint("study_id", "number"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    number: Mapped[int]
    """1, 2, 3... per study in load order; the current version is the highest *published*
    one (:class:`MetadataPublication`): a newer number may be a draft."""
    oid: Mapped[str] = mapped_column(OID)
    """The MetaDataVersion OID inside the file."""
    sha256: Mapped[str] = mapped_column(String(64))
    odm_xml: Mapped[bytes] = mapped_column(LargeBinary)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str | None] = mapped_column(String(100))


class MetadataPublication(Base):
    """A metadata version made current: append-only, so a publication cannot be undone or
    back-dated. A version without a row here is a draft (loaded, not yet used for entry)."""

    __tablename__ = "metadata_publications"
    __table_args__ = (UniqueConstraint("study_id", "number"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    number: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("study_id", "oid"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    oid: Mapped[str] = mapped_column(OID)
    """The AdminData Location OID."""
    name: Mapped[str] = mapped_column(String(200))
    location_type: Mapped[str | None] = mapped_column(String(50))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    must_change_password: Mapped[bool] = mapped_column(default=False)
    """Set by an administrator's reset: the one-time password only opens the change form."""
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RoleAssignment(Base):
    """A user's role in a study, at one site or (``site_id`` NULL) at every site."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "study_id", "site_id", "role"),
        CheckConstraint(_in("role", Role), name="role"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    role: Mapped[str] = mapped_column(String(20))


class AccessLogRow(Base):
    """Who gave or took away which access, when: append-only like the audit trail.

    Role rows name the study, the site (NULL: every site) and the role; the user is named,
    not referenced, so the log reads on its own.
    """

    __tablename__ = "access_log"
    __table_args__ = (CheckConstraint(_one_of("event", AccessEvent), name="event"),)
    seq: Mapped[int] = mapped_column(ID, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    """The user who made the change, or ``cli``/``demo`` for commands run on the server."""
    event: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(100))
    study_oid: Mapped[str | None] = mapped_column(OID)
    site_oid: Mapped[str | None] = mapped_column(OID)
    role: Mapped[str | None] = mapped_column(String(20))
    client: Mapped[str | None] = mapped_column(String(64))
    """The client address of the web request behind the row; NULL from the CLI."""


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("study_id", "subject_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    subject_key: Mapped[str] = mapped_column(String(100))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    metadata_version: Mapped[int]
    """The number of the metadata version the subject's data are collected under: the newest
    published one at enrolment, changed only by a migration (:class:`SubjectVersion`)."""


class SubjectVersion(Base):
    """A subject moved from one metadata version to another: append-only history."""

    __tablename__ = "subject_versions"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    from_number: Mapped[int]
    to_number: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    username: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class StudyEvent(Base):
    __tablename__ = "study_events"
    __table_args__ = (UniqueConstraint("subject_id", "study_event_oid", "repeat_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    study_event_oid: Mapped[str] = mapped_column(OID)
    repeat_key: Mapped[str] = mapped_column(REPEAT_KEY, default="")


class Form(Base):
    """A form instance. ``version`` counts saves, for optimistic locking."""

    __tablename__ = "forms"
    __table_args__ = (
        UniqueConstraint("study_event_id", "form_oid", "repeat_key"),
        CheckConstraint(_in("status", FormStatus), name="status"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    study_event_id: Mapped[int] = mapped_column(ForeignKey("study_events.id"))
    form_oid: Mapped[str] = mapped_column(OID)
    repeat_key: Mapped[str] = mapped_column(REPEAT_KEY, default="")
    status: Mapped[str] = mapped_column(String(20), default=FormStatus.NOT_STARTED.value)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(100))


class ItemGroup(Base):
    __tablename__ = "item_groups"
    __table_args__ = (UniqueConstraint("form_id", "item_group_oid", "repeat_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    item_group_oid: Mapped[str] = mapped_column(OID)
    repeat_key: Mapped[str] = mapped_column(REPEAT_KEY, default="")


class ItemData(Base):
    """The current value of one item: canonical ODM text, or NULL with ``is_null`` set."""

    __tablename__ = "item_data"
    __table_args__ = (UniqueConstraint("item_group_id", "item_oid"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    item_group_id: Mapped[int] = mapped_column(ForeignKey("item_groups.id"))
    item_oid: Mapped[str] = mapped_column(OID)
    value: Mapped[str | None] = mapped_column(Text)
    is_null: Mapped[str | None] = mapped_column(String(50))
    """The IsNull reason when the value was recorded as null; NULL otherwise."""
    unit: Mapped[str | None] = mapped_column(OID)
    """The MeasurementUnitOID chosen with the value; NULL: none chosen (the ItemDef's only or
    first MeasurementUnitRef applies)."""


class AuditRow(Base):
    """One change, append-only. ``seq`` orders the rows for replay.

    The ODM key is copied in full (not only referenced) so the trail reads on its own and
    survives any later change to the tables it describes.
    """

    __tablename__ = "audit_trail"
    __table_args__ = (
        Index("ix_audit_trail_subject_seq", "subject_id", "seq"),
        CheckConstraint(_one_of("transaction_type", TransactionType), name="transaction_type"),
    )
    seq: Mapped[int] = mapped_column(ID, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    site_oid: Mapped[str | None] = mapped_column(OID)
    study_oid: Mapped[str] = mapped_column(OID)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    subject_key: Mapped[str] = mapped_column(String(100))
    study_event_oid: Mapped[str] = mapped_column(OID)
    study_event_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    form_oid: Mapped[str] = mapped_column(OID)
    form_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_group_oid: Mapped[str] = mapped_column(OID)
    item_group_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_oid: Mapped[str] = mapped_column(OID)
    """``""`` on form-level rows (TransactionType ``Status``)."""
    transaction_type: Mapped[str] = mapped_column(String(10))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    old_is_null: Mapped[str | None] = mapped_column(String(50))
    new_is_null: Mapped[str | None] = mapped_column(String(50))
    old_unit: Mapped[str | None] = mapped_column(OID)
    new_unit: Mapped[str | None] = mapped_column(OID)
    """MeasurementUnitOIDs before and after (NULL: none chosen)."""
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    """``web``, ``import:<FileOID>:<sha256>``, ``derived``..."""
    form_version: Mapped[int]
    """The form version this change produced."""


class SourceAuditRow(Base):
    """An audit entry of the system a file was imported from, kept as the file gave it.

    ``kind``: ``AuditRecord`` (ODM, on the element the key names: every key column empty for
    SubjectData, item columns empty above ItemData) or ``vendor`` (an entry a vendor keeps
    outside ODM, e.g. OpenClinica:AuditLog, with its ``entity``). ``import_source`` is the
    ``source`` of the import's own audit rows (``import:<FileOID>:<sha256>``). Append-only.
    """

    __tablename__ = "source_audit"
    __table_args__ = (Index("ix_source_audit_subject_seq", "subject_id", "seq"),)
    seq: Mapped[int] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    import_source: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str | None] = mapped_column(String(200))
    study_event_oid: Mapped[str] = mapped_column(OID)
    study_event_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    form_oid: Mapped[str] = mapped_column(OID)
    form_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_group_oid: Mapped[str] = mapped_column(OID)
    item_group_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_oid: Mapped[str] = mapped_column(OID)
    transaction_type: Mapped[str | None] = mapped_column(String(50))
    """The element's TransactionType (a vendor entry: its action)."""
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    """The ItemData's Value in the file (a vendor entry: its old and new value)."""
    user_oid: Mapped[str | None] = mapped_column(String(200))
    location_oid: Mapped[str | None] = mapped_column(String(200))
    date_time_stamp: Mapped[str | None] = mapped_column(String(50))
    """As written in the file (ODM: xs:dateTime)."""
    reason: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(Text)


class Query(Base):
    """A data query on one item: from a soft check (``origin='check'``) or from a person."""

    __tablename__ = "queries"
    __table_args__ = (
        Index("ix_queries_subject_status", "subject_id", "status"),
        CheckConstraint(_in("status", QueryStatus), name="status"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    study_event_oid: Mapped[str] = mapped_column(OID)
    study_event_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    form_oid: Mapped[str] = mapped_column(OID)
    form_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_group_oid: Mapped[str] = mapped_column(OID)
    item_group_repeat_key: Mapped[str] = mapped_column(REPEAT_KEY)
    item_oid: Mapped[str] = mapped_column(OID)
    status: Mapped[str] = mapped_column(String(10))
    origin: Mapped[str] = mapped_column(String(10))
    """``check`` (opened by a soft check) or ``person``."""
    check_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QueryMessage(Base):
    """The conversation of a query: every open, answer and close with who and when."""

    __tablename__ = "query_messages"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Signature(Base):
    """An electronic signature of a form: who, when, meaning, and the hash of what was signed."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signature_def_oid: Mapped[str] = mapped_column(OID)
    meaning: Mapped[str] = mapped_column(Text)
    form_version: Mapped[int]
    content_sha256: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A signed-in web session. The browser holds a random token; this row holds its SHA-256,
    so any web worker on the database can check it and logout ends it everywhere."""

    __tablename__ = "web_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """The absolute end of the session; idle expiry is measured from ``last_seen_at``."""
    lang: Mapped[str | None] = mapped_column(String(10))


class LoginFailure(Base):
    """One failed sign-in, counted per user name to throttle password guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_failed_at", "username", "failed_at"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppSecret(Base):
    """Secrets every web worker shares (the session signing key), made once and kept here."""

    __tablename__ = "app_secrets"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))

"""What a casebook prints besides the metadata: plain data the caller fetches from storage.

Renderers never import storage (the layer rule in pyproject.toml); the ``edc print casebook``
command reads the subject's snapshot, audit trail, queries and signatures from the store and
hands them over as these frozen records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit trail entry. ``key.item_oid`` is empty for a form status change."""

    seq: int
    recorded_at: datetime
    username: str
    role: str
    key: ItemKey
    transaction_type: str
    old_value: str | None = None
    new_value: str | None = None
    old_null_reason: str | None = None
    new_null_reason: str | None = None
    reason: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class QueryMessageRow:
    """One message of a query's conversation: open, answer, close or reopen."""

    action: str
    text: str
    username: str
    role: str
    recorded_at: datetime
    status_after: str


@dataclass(frozen=True, slots=True)
class QueryRow:
    id: int
    key: ItemKey
    status: str
    origin: str
    message: str
    opened_by: str
    opened_at: datetime
    check_id: str | None = None
    messages: tuple[QueryMessageRow, ...] = ()
    """The whole conversation, oldest first (empty: only ``message`` is known)."""


@dataclass(frozen=True, slots=True)
class SignatureRow:
    form: FormKey
    username: str
    role: str
    signed_at: datetime
    meaning: str
    signature_def_oid: str
    form_version: int
    content_sha256: str


@dataclass(frozen=True, slots=True)
class CasebookData:
    """One subject's data for printing: values, form statuses and the three appendices."""

    snapshot: SubjectSnapshot
    site_name: str | None = None
    form_status: Mapping[FormKey, str] = field(default_factory=dict)
    audit: tuple[AuditRow, ...] = ()
    queries: tuple[QueryRow, ...] = ()
    signatures: tuple[SignatureRow, ...] = ()
    printed_at: datetime | None = None

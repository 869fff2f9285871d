"""A subject's casebook for print: the subject's data, audit trail, queries and signatures
read from the store as the print renderer's records (``edc print casebook``)."""

from __future__ import annotations

from itertools import chain

from renderers.print import AuditRow, CasebookData, QueryMessageRow, QueryRow, SignatureRow
from storage.audit import history
from storage.engine import Connection
from storage.queries import list_queries
from storage.readers.query_threads import query_threads
from storage.signatures import signatures_of
from storage.studies import list_sites
from storage.subjects import form_state, subject_snapshot


def casebook_data(conn: Connection, study_oid: str, subject: str) -> CasebookData:
    """A subject's data, audit trail, queries and signatures as the print renderer's records."""
    snapshot = subject_snapshot(conn, study_oid, subject)
    entries = history(conn, study_oid, subject)
    forms = sorted(
        {k.form_key for k in chain(snapshot.values, snapshot.null_reasons)}
        | {e.key.form_key for e in entries if e.key.form_oid}  # not the enrolment row
    )
    sites = {s.oid: s.name for s in list_sites(conn, study_oid)}
    queries = list_queries(conn, study_oid, subject)
    threads = query_threads(conn, [q.id for q in queries])
    return CasebookData(
        snapshot=snapshot,
        site_name=sites.get(snapshot.site_oid or ""),
        form_status={f: form_state(conn, study_oid, subject, f).status.value for f in forms},
        audit=tuple(
            AuditRow(
                e.seq,
                e.recorded_at,
                e.username,
                e.role,
                e.key,
                e.transaction_type,
                e.old_value,
                e.new_value,
                e.old_is_null,
                e.new_is_null,
                e.reason,
                e.source,
            )
            for e in entries
        ),
        queries=tuple(
            QueryRow(
                q.id,
                q.key,
                str(q.status),
                q.origin,
                q.message,
                q.opened_by,
                q.opened_at,
                q.check_id,
                tuple(
                    QueryMessageRow(
                        m.action, m.text, m.username, m.role, m.recorded_at, m.status_after
                    )
                    for m in threads.get(q.id, ())
                ),
            )
            for q in queries
        ),
        signatures=tuple(
            SignatureRow(
                f,
                s.username,
                s.role,
                s.signed_at,
                s.meaning,
                s.signature_def_oid,
                s.form_version,
                s.content_sha256,
            )
            for f in forms
            for s in signatures_of(conn, study_oid, subject, f)
        ),
    )

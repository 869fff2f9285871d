"""The casebook's appendices: audit trail, queries and electronic signatures as tables."""

from __future__ import annotations

from datetime import datetime

from odm_engine.clinical import FormKey, ItemKey
from renderers.print.data import CasebookData, QueryRow
from renderers.print.view import TableView
from renderers.print.wording import Wording


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _form_path(key: FormKey) -> str:
    def part(oid: str, rk: str) -> str:
        return f"{oid}[{rk}]" if rk else oid

    return "/".join(
        (
            part(key.study_event_oid, key.study_event_repeat_key),
            part(key.form_oid, key.form_repeat_key),
        )
    )


def _where(b: Wording, key: ItemKey) -> str:
    """``SE.DCV/F.DM/IG.DM/IT.DM_SEX`` plus the question, the form for a status row, or
    "Subject" for the subject's creation."""
    if not key.form_oid:
        return b.ui["subject"]
    if not key.item_oid:
        return _form_path(key.form_key)
    item = b.mdv.item_defs.get(key.item_oid)
    question = b.text(item.question, item.name) if item else ""
    return f"{key.describe()}\n{question}" if question else key.describe()


def _conversation(b: Wording, q: QueryRow) -> str:
    """Every message of the query, one paragraph each: when, who (role), what they did and
    the status it left, then their text. A monitor's close reads next to the answer it
    closed on."""
    if not q.messages:
        return q.message
    return "\n".join(
        f"{_when(m.recorded_at)} {m.username} ({m.role}), {b.ui['qaction.' + m.action]} "
        f"[{m.status_after}]: {m.text}"
        for m in q.messages
    )


def _shown(value: str | None, null_reason: str | None) -> str:
    if null_reason:
        return f"({null_reason})"
    return value or ""


def appendices(b: Wording, data: CasebookData | None) -> tuple[TableView, ...]:
    if data is None:
        return ()
    ui = b.ui
    audit = TableView(
        "app-audit",
        ui["appendix_audit"],
        ("#", ui["when"], ui["who"], ui["where"], ui["change"], ui["old"], ui["new"], ui["reason"]),
        tuple(
            (
                str(r.seq),
                _when(r.recorded_at),
                f"{r.username} ({r.role})",
                _where(b, r.key),
                r.transaction_type,
                _shown(r.old_value, r.old_null_reason),
                _shown(r.new_value, r.new_null_reason),
                " ".join(p for p in (r.reason or "", f"[{r.source}]" if r.source else "") if p),
            )
            for r in data.audit
        ),
        ui["none"],
        (5, 11, 11, 27, 8, 12, 12, 14),
    )
    queries = TableView(
        "app-queries",
        ui["appendix_queries"],
        ("#", ui["where"], ui["status"], ui["origin"], ui["conversation"]),
        tuple(
            (
                str(q.id),
                _where(b, q.key),
                q.status,
                q.origin + (f" {q.check_id}" if q.check_id else ""),
                _conversation(b, q),
            )
            for q in data.queries
        ),
        ui["none"],
        (5, 22, 9, 12, 52),
    )
    signatures = TableView(
        "app-signatures",
        ui["appendix_signatures"],
        (
            ui["signed_form"],
            ui["who"],
            ui["when"],
            ui["meaning"],
            ui["form_version"],
            ui["content_hash"],
        ),
        tuple(
            (
                _form_path(s.form),
                f"{s.username} ({s.role})",
                _when(s.signed_at),
                f"{s.meaning} ({s.signature_def_oid})",
                str(s.form_version),
                s.content_sha256,
            )
            for s in data.signatures
        ),
        ui["none"],
        (17, 14, 12, 22, 7, 28),
    )
    return (audit, queries, signatures)

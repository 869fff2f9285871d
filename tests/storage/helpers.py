"""Small helpers for storage tests: one save in its own transaction, row counts, whole-table
dumps and the readers of study S.1."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, select, text

from odm_engine.clinical import FormKey, SubjectSnapshot
from storage.audit import AuditEntry, history
from storage.engine import write_transaction
from storage.models import AccessLogRow
from storage.queries import QueryInfo, list_queries
from storage.signatures import SignatureInfo, sign_form
from storage.studies import load_study
from storage.subjects import FormState, form_state, subject_snapshot
from storage.users import add_user, set_role
from storage.vocabulary import Role
from storage.writes import SaveResult, save_form
from tests.storage.conftest import INVESTIGATOR, IVY_PASSWORD, MANAGER, study_xml

TABLES = (
    "studies",
    "metadata_versions",
    "sites",
    "users",
    "role_assignments",
    "subjects",
    "study_events",
    "forms",
    "item_groups",
    "item_data",
    "audit_trail",
    "queries",
    "query_messages",
    "signatures",
)

DM = FormKey("SE.SCREEN", "", "F.DM", "")
ELIG = FormKey("SE.SCREEN", "", "F.ELIG", "")


def save(
    engine: Engine,
    values: Mapping[Any, Any],
    *,
    version: int = 0,
    reason: str | None = None,
    form: FormKey = DM,
    user: str = INVESTIGATOR,
    role: Role = Role.INVESTIGATOR,
    subject: str = "001",
    **options: Any,
) -> SaveResult:
    """``save_form`` of ``values`` on study S.1 in a transaction of its own (committed when
    it returns); ``options``: complete, units, prevalidated ..."""
    with write_transaction(engine) as conn:
        return save_form(
            conn,
            study="S.1",
            subject_key=subject,
            form_key=form,
            values=values,
            user=user,
            role=role,
            expected_version=version,
            reason=reason,
            **options,
        )


def sign(
    engine: Engine,
    *,
    version: int,
    form: FormKey = DM,
    user: str = INVESTIGATOR,
    password: str = IVY_PASSWORD,
    signature_def_oid: str = "SD.PI",
    meaning: str = "I approve the data of this form",
) -> SignatureInfo:
    """``sign_form`` on subject 001 of study S.1 in a transaction of its own."""
    with write_transaction(engine) as conn:
        return sign_form(
            conn,
            study="S.1",
            subject_key="001",
            form=form,
            user=user,
            password=password,
            signature_def_oid=signature_def_oid,
            meaning=meaning,
            expected_version=version,
        )


def failures(engine: Engine) -> list[tuple[str, str, str | None]]:
    """The access log's failed sign-ins and signatures: (event, user name, client)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AccessLogRow.event, AccessLogRow.username, AccessLogRow.client)
            .where(AccessLogRow.event.in_(["sign_in_failed", "signature_failed"]))
            .order_by(AccessLogRow.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def study_for_manager(engine: Engine, body: str, path: str = "study.xml") -> Engine:
    """Study S.1 of ``body`` (``study_xml``) loaded, with dan its data manager."""
    with write_transaction(engine) as conn:
        result = load_study(conn, study_xml(body), path=path)
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, MANAGER, "Copper-Meadow-56")
        set_role(conn, MANAGER, "S.1", Role.DATA_MANAGER)
    return engine


class _Undo(Exception):
    """Leaves a transaction, rolled back, with what was made in it."""


def rolled_back(engine: Engine, run: Callable[..., object], *args: object) -> object:
    """What ``run(conn, *args)`` returns in a write transaction that is then rolled back (to
    run two imports on the same data and compare what each left behind)."""
    try:
        with write_transaction(engine) as conn:
            raise _Undo(run(conn, *args))
    except _Undo as undo:
        return undo.args[0]


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in key order: equal dumps mean an unchanged database."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
            out[table] = [tuple(r) for r in rows]
    return out


def audit_of(engine: Engine, subject: str = "001", item_oid: str | None = None) -> list[AuditEntry]:
    with engine.connect() as conn:
        return history(conn, "S.1", subject, item_oid=item_oid)


def snapshot(engine: Engine, subject: str = "001") -> SubjectSnapshot:
    with engine.connect() as conn:
        return subject_snapshot(conn, "S.1", subject)


def queries_of(engine: Engine, subject: str = "001") -> list[QueryInfo]:
    with engine.connect() as conn:
        return list_queries(conn, "S.1", subject)


def state_of(engine: Engine, form: FormKey, subject: str = "001") -> FormState:
    with engine.connect() as conn:
        return form_state(conn, "S.1", subject, form)

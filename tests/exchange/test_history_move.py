"""Issue 19: a study moves between servers with nothing lost.

``edc export odm --transactional --audit --metadata --admin`` from one database, ``edc import
FILE --with-history`` into an empty one (after ``edc db upgrade`` and ``edc study load`` of the
same metadata), and a second export from the new database equals the first but for the
file's own header. On SQLite and PostgreSQL, with the demo data plus value updates with
reasons, queries in every state (open, answered, closed, reopened), SDV, a lock and a
signature.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from lxml import etree
from sqlalchemy import func, insert, select

from cli import main
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.safexml import make_parser
from storage.engine import make_engine, write_transaction
from storage.form_status import set_form_status
from storage.models import (
    AccessLogRow,
    AuditRow,
    Form,
    Query,
    QueryMessage,
    RoleAssignment,
    SourceAuditRow,
    Study,
    StudyEvent,
    Subject,
    User,
)
from storage.models import Signature as SignatureRow
from storage.queries import open_query, transition
from storage.signatures import sign_form
from storage.users import authenticate
from storage.vocabulary import FormStatus, Role
from storage.writes import save_form
from tests.postgres import fresh_schema

METADATA = Path(__file__).parents[2] / "metadata" / "bortezomib-retreatment.xml"
STUDY = "ST.BTZ_RETREAT"
DM = FormKey("SE.DCV", "", "F.DM", "")
IC = FormKey("SE.ELIG", "", "F.IC", "")
HEADER = ("FileOID", "CreationDateTime", "AsOfDateTime")
"""The ODM root attributes that describe the file itself, not the study."""


def _edc(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"EDC_DATABASE_URL": url})


def _ok(url: str, *args: str) -> str:
    result = _edc(url, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _version(conn: Any, subject_key: str, form: FormKey) -> int:
    return int(
        conn.scalar(
            select(Form.version)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .join(Subject, Subject.id == StudyEvent.subject_id)
            .where(Subject.subject_key == subject_key, Form.form_oid == form.form_oid)
        )
        or 0
    )


def _history(conn: Any, password: str) -> None:
    """On top of the demo: updates with reasons, a person's query, queries answered, closed
    and reopened, a form verified, one locked and one signed."""
    inv = "investigator-at01-de01"
    save_form(
        conn,
        study=STUDY,
        subject_key="AT01-001",
        form_key=DM,
        values={("IG.VS", "", "IT.VS_HEIGHT"): "166"},
        user=inv,
        role=Role.INVESTIGATOR,
        expected_version=_version(conn, "AT01-001", DM),
        reason="Transcription error: the chart says 166 cm",
    )
    first, second, third = conn.scalars(select(Query.id).order_by(Query.id).limit(3))
    transition(conn, first, "answer", text="Checked: correct", user=inv, role="investigator")
    transition(conn, first, "close", text="Thanks", user="monitor", role="monitor")
    transition(conn, second, "answer", text="Weighed again", user=inv, role="investigator")
    transition(conn, second, "reopen", text="Unit?", user="monitor", role="monitor")
    transition(conn, third, "close", text="Source confirms", user="monitor", role="monitor")
    person = open_query(
        conn,
        study=STUDY,
        subject_key="AT01-002",
        key=ItemKey("SE.ELIG", "", "F.IC", "", "IG.IC", "", "IT.IC_REQ"),
        message="Consent form on file?",
        user="monitor",
        role=Role.MONITOR,
    )
    transition(conn, person, "answer", text="Yes, signed 2025-03-02", user=inv, role="investigator")
    for key, form, status, user, role in (
        ("AT01-001", DM, FormStatus.VERIFIED, "monitor", Role.MONITOR),
        ("AT01-002", IC, FormStatus.LOCKED, "data-manager", Role.DATA_MANAGER),
    ):
        set_form_status(
            conn,
            study=STUDY,
            subject_key=key,
            form=form,
            status=status,
            user=user,
            role=role,
            expected_version=_version(conn, key, form),
            reason="Locked for the interim analysis" if status is FormStatus.LOCKED else None,
        )
    sign_form(
        conn,
        study=STUDY,
        subject_key="AT01-001",
        form=DM,
        user=inv,
        password=password,
        signature_def_oid="SD.INV_CASEBOOK",
        meaning="Reviewed",
        expected_version=_version(conn, "AT01-001", DM),
    )


def _database(stack: ExitStack, kind: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'{name}.db'}"
    return stack.enter_context(fresh_schema(name, to_run="the PostgreSQL round trip"))


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(old server, new server): the first with the demo and the history above, the second
    with only the schema, the metadata and the importing administrator."""
    with ExitStack() as stack:
        old = _database(stack, request.param, tmp_path, "old")
        new = _database(stack, request.param, tmp_path, "new")
        _ok(old, "db", "upgrade")
        _ok(old, "study", "load", str(METADATA))
        seeded = _ok(old, "demo", "seed")
        found = re.search(r"investigator-at01-de01\s+(\S+)", seeded)
        assert found is not None, seeded
        engine = make_engine(old)
        with write_transaction(engine) as conn:
            _history(conn, found.group(1))
        engine.dispose()
        _ok(new, "db", "upgrade")
        _ok(new, "study", "load", str(METADATA))
        _ok(new, "user", "add", "admin", "--password", "move-the-study-9", "--full-name", "Admin")
        _ok(new, "user", "set-role", "admin", "admin", "--study", STUDY)
        yield old, new


def _export(url: str, out: Path) -> bytes:
    _ok(url, "export", "odm", "--transactional", "--audit", "--metadata", "--admin", "-o", str(out))
    return out.read_bytes()


def _without_header(data: bytes) -> bytes:
    root = etree.fromstring(data, make_parser())
    for name in HEADER:
        root.attrib.pop(name, None)
    return etree.tostring(root)


def _state(url: str) -> dict[str, Any]:
    """What the move must keep, read from the tables."""
    engine = make_engine(url)
    with engine.connect() as conn:
        state = {
            "forms": sorted(
                conn.execute(
                    select(Subject.subject_key, Form.form_oid, Form.status, Form.version)
                    .join(StudyEvent, StudyEvent.subject_id == Subject.id)
                    .join(Form, Form.study_event_id == StudyEvent.id)
                ).all()
            ),
            "queries": conn.execute(
                select(
                    Query.id,
                    Query.status,
                    Query.origin,
                    Query.check_id,
                    Query.opened_by,
                    Query.opened_at,
                    Query.message,
                ).order_by(Query.id)
            ).all(),
            "messages": conn.execute(
                select(
                    QueryMessage.query_id,
                    QueryMessage.action,
                    QueryMessage.text,
                    QueryMessage.username,
                    QueryMessage.recorded_at,
                ).order_by(QueryMessage.query_id, QueryMessage.id)
            ).all(),
            "signatures": conn.execute(
                select(
                    SignatureRow.id,
                    SignatureRow.username,
                    SignatureRow.meaning,
                    SignatureRow.form_version,
                    SignatureRow.content_sha256,
                )
            ).all(),
            "audit": conn.execute(
                select(
                    AuditRow.username,
                    AuditRow.subject_key,
                    AuditRow.item_oid,
                    AuditRow.transaction_type,
                    AuditRow.old_value,
                    AuditRow.new_value,
                    AuditRow.reason,
                    AuditRow.source,
                    AuditRow.form_version,
                ).order_by(AuditRow.subject_key, AuditRow.seq)  # per subject: replayed so
            ).all(),
        }
    engine.dispose()
    return state


def _ms(rows: list[Any], column: int) -> list[Any]:
    """``rows`` with the time in ``column`` to the millisecond an ODM DateTimeStamp keeps."""
    return [
        (*r[:column], r[column].replace(microsecond=r[column].microsecond // 1000 * 1000),
         *r[column + 1:])
        for r in rows
    ]  # fmt: skip


def test_a_study_moves_to_another_server_with_nothing_lost(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    old, new = servers
    first = _export(old, tmp_path / "first.xml")
    moved = _edc(new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin")
    assert moved.exit_code == 0, moved.output
    second = _export(new, tmp_path / "second.xml")
    assert first != second  # the header differs: the comparison below is not vacuous
    assert _without_header(second) == _without_header(first)

    snapshots = [
        _ok(url, "export", "odm", "--metadata", "--admin", "-o", str(tmp_path / f"{n}.xml"))
        and (tmp_path / f"{n}.xml").read_bytes()
        for n, url in (("old", old), ("new", new))
    ]
    assert _without_header(snapshots[0]) == _without_header(snapshots[1])

    before, after = _state(old), _state(new)
    assert after["forms"] == before["forms"]
    assert {"signed", "locked"} <= {f[2] for f in after["forms"]}
    assert "verified" in {a[5] for a in after["audit"] if a[3] == "Status"}  # then signed
    assert after["signatures"] == before["signatures"]  # the recomputed hash matches too
    assert after["audit"] == before["audit"]
    assert _ms(after["queries"], 5) == _ms(before["queries"], 5)
    assert {q[2] for q in after["queries"]} == {"check", "person"}  # origin and check id kept
    assert _ms(after["messages"], 4) == _ms(before["messages"], 4)
    assert {q[1] for q in after["queries"]} == {"open", "answered", "closed"}
    assert "reopen" in {m[1] for m in after["messages"]}


def test_people_come_back_inactive_and_the_importer_is_recorded(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    old, new = servers
    _export(old, tmp_path / "first.xml")
    _ok(new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin")
    engine = make_engine(new)
    with engine.connect() as conn:
        users = dict(conn.execute(select(User.username, User.active)).all())
        assert users.pop("admin") is True
        assert "monitor" in users and "investigator-at01-de01" in users
        assert not any(users.values())  # nobody signs in as them until an admin says so
        assert authenticate(conn, "monitor", "") is None
        assert conn.scalar(select(RoleAssignment.id).where(RoleAssignment.user_id != 1)) is None
        added = conn.execute(
            select(AccessLogRow.actor, AccessLogRow.username).where(
                AccessLogRow.event == "user_added", AccessLogRow.study_oid == STUDY
            )
        ).all()
        assert {a for a, _u in added} == {"admin"}
        assert {u for _a, u in added} == set(users)
        sources = set(conn.scalars(select(SourceAuditRow.import_source)))
        assert len(sources) == 1 and next(iter(sources)).startswith("history:")
        who = set(conn.scalars(select(SourceAuditRow.user_oid)))
        assert who == {"admin"}
    engine.dispose()


def test_a_dry_run_writes_nothing(servers: tuple[str, str], tmp_path: Path) -> None:
    old, new = servers
    _export(old, tmp_path / "first.xml")
    tried = _ok(
        new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin", "--dry-run"
    )
    assert "dry run" in tried and "6 new subjects" in tried
    engine = make_engine(new)
    with engine.connect() as conn:
        assert conn.scalar(select(Subject.id)) is None
        assert conn.scalar(select(User.id).where(User.username == "monitor")) is None
    engine.dispose()


def test_a_study_with_data_is_refused(servers: tuple[str, str], tmp_path: Path) -> None:
    old, new = servers
    _export(old, tmp_path / "first.xml")
    _ok(new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin")
    again = _edc(new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin")
    assert again.exit_code == 2, again.output
    assert "holds 6 subject(s)" in again.output and "--with-history" in again.output


def test_a_snapshot_is_not_a_history(servers: tuple[str, str], tmp_path: Path) -> None:
    """A file without the subjects' creation records is rejected, and nothing is kept."""
    old, new = servers
    out = tmp_path / "snapshot.xml"
    _ok(old, "export", "odm", "--admin", "-o", str(out))
    refused = _edc(new, "import", str(out), "--with-history", "--user", "admin")
    assert refused.exit_code == 1, refused.output
    assert "not its creation" in refused.output
    engine = make_engine(new)
    with engine.connect() as conn:
        assert conn.scalar(select(Subject.id)) is None
        assert conn.scalar(select(User.id).where(User.username == "monitor")) is None
    engine.dispose()


def test_a_query_number_another_study_holds_rejects_the_file(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    """Numbers are kept, never renumbered: one taken already rejects the whole file."""
    old, new = servers
    _export(old, tmp_path / "first.xml")
    engine = make_engine(new)
    with write_transaction(engine) as conn:
        study_id = conn.execute(
            insert(Study).values(oid="ST.OTHER", name="Other")
        ).inserted_primary_key[0]
        now = datetime.now(UTC)
        subject_id = conn.execute(
            insert(Subject).values(
                study_id=study_id, subject_key="X-1", created_at=now, metadata_version=1
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(Query).values(
                id=1,
                subject_id=subject_id,
                **dict.fromkeys(ItemKey._fields, "X"),
                status="open",
                origin="person",
                message="Another study's query",
                opened_by="someone",
                opened_at=now,
                updated_at=now,
            )
        )
    engine.dispose()
    refused = _edc(new, "import", str(tmp_path / "first.xml"), "--with-history", "--user", "admin")
    assert refused.exit_code == 1, refused.output
    assert "query number 1 is taken on this server" in refused.output
    engine = make_engine(new)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Subject)) == 1  # only X-1
    engine.dispose()

"""Metadata versions as drafts, then published; subjects on their version; audited migration
(issue 16, items 2 and 5). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from cli import main
from odm_engine.clinical import ItemKey
from storage.bulk import BulkWriter
from storage.engine import make_engine, write_transaction
from storage.errors import (
    AccessDeniedError,
    BulkRejectedError,
    InvalidInputError,
    NotFoundError,
)
from storage.migrate import current_revision, downgrade, upgrade
from storage.models import ItemData, SubjectVersion
from storage.readers.listings import metadata_versions, newest_versions
from storage.studies import current_metadata, load_study, metadata_of, publish_version
from storage.subjects import create_subject, find_subject, list_subjects, subject_version
from storage.versions import migrate_subjects
from storage.vocabulary import Role
from tests.conftest import REPO
from tests.storage.conftest import INVESTIGATOR, MANAGER, STUDY_BODY, Db, study_xml
from tests.storage.helpers import audit_of, count, dump, save

AGE_REF = '<ItemRef ItemOID="IT.AGE" Mandatory="Yes" OrderNumber="1"/>'
INITIALS_DEF = '<ItemDef OID="IT.INITIALS" Name="INITIALS" DataType="text" Length="3">'
MALE = """<CodeListItem CodedValue="M">
    <Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode>
  </CodeListItem>"""
WEIGHT_CHECK = '<RangeCheck Comparator="LT" SoftHard="Soft">\n    <CheckValue>200</CheckValue>'
HARD_WEIGHT = (
    '<RangeCheck Comparator="LT" SoftHard="Hard"><CheckValue>150</CheckValue>\n'
    '<ErrorMessage><TranslatedText xml:lang="en">Under 150 kg.</TranslatedText></ErrorMessage>'
    "</RangeCheck>\n" + WEIGHT_CHECK
)


def amended() -> bytes:
    """Version 2: IT.INITIALS retyped text -> integer, code M dropped from CL.SEX, a hard
    RangeCheck (< 150) on IT.WEIGHT, IT.AGE removed from its group."""
    body = STUDY_BODY.replace(AGE_REF, "")
    body = body.replace(INITIALS_DEF, INITIALS_DEF.replace('"text"', '"integer"'))
    body = body.replace(MALE, "").replace(WEIGHT_CHECK, HARD_WEIGHT)
    assert body.count("integer") == 2 and 'CodedValue="M"' not in body
    return study_xml(body, mdv_oid="MDV.2")


def changed_name() -> bytes:
    return study_xml(
        STUDY_BODY.replace('Name="Demographics" Repeating', 'Name="DM" Repeating'),
        mdv_oid="MDV.2",
    )


def test_a_changed_file_is_a_draft_and_the_current_version_stays(study: Engine) -> None:
    with write_transaction(study) as conn:
        result = load_study(conn, changed_name(), path="v2.xml", loaded_by="desi")
        assert (result.status, result.version_number, result.published) == ("stored", 2, False)
        assert current_metadata(conn, "S.1").number == 1
        assert [v.number for v in newest_versions(conn, "S.1")] == [1]
        assert [(v.number, v.status) for v in metadata_versions(conn, "S.1")] == [
            (2, "draft"),
            (1, "published"),
        ]
        assert metadata_of(conn, "S.1", 2).mdv.form_defs["F.DM"].name == "DM"
        assert metadata_of(conn, "S.1", 1).sha256 != metadata_of(conn, "S.1", 2).sha256
        with pytest.raises(NotFoundError, match=r"Study S\.1 has no metadata version 3"):
            metadata_of(conn, "S.1", 3)
        with pytest.raises(NotFoundError, match=r"No study 'S\.9'"):
            metadata_of(conn, "S.9", 1)
        create_subject(
            conn, study="S.1", subject_key="002", site_oid="SITE.1",
            user=INVESTIGATOR, role=Role.INVESTIGATOR,
        )  # fmt: skip
        assert subject_version(conn, "S.1", "002") == 1  # a draft is never a start
        publish_version(conn, "S.1", 2, user="desi", reason="Amendment 1")
        assert current_metadata(conn, "S.1").number == 2
        assert [v.number for v in newest_versions(conn, "S.1")] == [2]
        create_subject(
            conn, study="S.1", subject_key="003", site_oid="SITE.1",
            user=INVESTIGATOR, role=Role.INVESTIGATOR,
        )  # fmt: skip
        assert subject_version(conn, "S.1", "003") == 2
        # the subject's lookup reads its version with it (the web's pages use that one)
        assert find_subject(conn, "S.1", "003").metadata_version == 2
        assert find_subject(conn, "S.1", "001").metadata_version == 1
        assert subject_version(conn, "S.1", "001") == 1  # until migrated
        versions = metadata_versions(conn, "S.1")
    assert versions[0].published_by == "desi" and versions[0].publication_reason == "Amendment 1"


def test_publishing_refuses_unknown_published_older_and_unreasoned(study: Engine) -> None:
    with write_transaction(study) as conn:
        load_study(conn, changed_name(), path="v2.xml")
        with pytest.raises(InvalidInputError, match="needs a reason"):
            publish_version(conn, "S.1", 2, user="desi", reason="  ")
        with pytest.raises(NotFoundError, match="no metadata version 7"):
            publish_version(conn, "S.1", 7, user="desi", reason="R")
        with pytest.raises(InvalidInputError, match="published already"):
            publish_version(conn, "S.1", 1, user="desi", reason="R")
        load_study(conn, amended().replace(b"MDV.2", b"MDV.3"), path="v3.xml")
        publish_version(conn, "S.1", 3, user="desi", reason="R")
        with pytest.raises(InvalidInputError, match="older than the current version 3"):
            publish_version(conn, "S.1", 2, user="desi", reason="R")
        assert current_metadata(conn, "S.1").number == 3


def test_an_identical_file_is_a_no_op_naming_its_version_never_a_rollback(study: Engine) -> None:
    """`make demo` loads metadata/ again after a designer published a newer version: the file
    is identical to version 1, so nothing happens and version 2 stays current."""
    with write_transaction(study) as conn:
        load_study(conn, changed_name(), publish=True, reason="Amendment 1", loaded_by="desi")
    before = dump(study)
    with write_transaction(study) as conn:
        again = load_study(conn, study_xml(), path="study.xml")
        assert again.status == "unchanged" and again.version_number == 1
        assert "identical to it; nothing stored. The current version is 2." in again.message
        draft_again = load_study(conn, changed_name(), path="v2.xml")
        assert draft_again.status == "unchanged" and draft_again.version_number == 2
        assert current_metadata(conn, "S.1").number == 2
    assert dump(study) == before


def test_a_reused_metadataversion_oid_with_other_content_is_refused(study: Engine) -> None:
    reused = study_xml(STUDY_BODY.replace('Name="Demographics" Repeating', 'Name="X" Repeating'))
    with write_transaction(study) as conn:
        result = load_study(conn, reused, path="reused.xml")
    assert result.status == "refused" and result.version_number == 1
    (finding,) = [f for f in result.findings if f.code == "EDC-STORE-003"]
    assert (finding.path, finding.oid) == ("reused.xml", "MDV.1") and finding.line
    assert "rename the MetaDataVersion OID" in finding.message
    assert count(study, "metadata_versions") == 1


def test_append_only_publications_and_subject_versions(study: Engine) -> None:
    with write_transaction(study) as conn:
        load_study(conn, changed_name(), publish=True, reason="Amendment 1")
        migrate_subjects(conn, "S.1", 2, user=MANAGER, reason="Amendment 1")
    for table in ("metadata_publications", "subject_versions"):
        for statement in (f"UPDATE {table} SET reason = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match=f"{table} is append-only"):
                with study.begin() as conn:
                    conn.exec_driver_sql(statement)


def _enrol(engine: Engine, *keys: str) -> None:
    with write_transaction(engine) as conn:
        for key in keys:
            create_subject(
                conn, study="S.1", subject_key=key, site_oid="SITE.1",
                user=INVESTIGATOR, role=Role.INVESTIGATOR,
            )  # fmt: skip


@pytest.fixture
def amendment(study: Engine) -> Engine:
    """Five subjects on version 1; version 2 (:func:`amended`) published.

    001 moves (INITIALS '042' reads '42' as an integer: rewritten; its AGE is kept),
    002 holds code M (dropped), 003 weighs 160 (the new hard check), 004 has initials 'AB'
    (not an integer), 005 holds nothing."""
    _enrol(study, "002", "003", "004", "005")
    dm = ("IG.DM", "")
    save(study, {(*dm, "IT.INITIALS"): "042", (*dm, "IT.SEX"): "F", (*dm, "IT.AGE"): "40"})
    save(study, {(*dm, "IT.SEX"): "M"}, subject="002")
    save(study, {(*dm, "IT.WEIGHT"): "160"}, subject="003")
    save(study, {(*dm, "IT.INITIALS"): "AB"}, subject="004")
    with write_transaction(study) as conn:
        result = load_study(conn, amended(), path="v2.xml", publish=True, reason="Amendment 1")
        assert result.published, [f.format() for f in result.findings]
    return study


def test_a_dry_run_lists_exactly_the_affected_values_and_writes_nothing(amendment: Engine) -> None:
    before = dump(amendment)
    with write_transaction(amendment) as conn:
        report = migrate_subjects(conn, "S.1", 2, dry_run=True, user=MANAGER, reason="Amendment 1")
    assert dump(amendment) == before
    assert report.moved == (("001", 1), ("005", 1)) and not report.all_moved
    stayed = {k: [(p.item_oid, p.value, p.kind) for p in v] for k, v in report.stayed.items()}
    assert stayed == {
        "002": [("IT.SEX", "M", "code")],
        "003": [("IT.WEIGHT", "160", "hard_check")],
        "004": [("IT.INITIALS", "AB", "type")],
    }
    assert [(r.subject_key, r.key.item_oid, r.old, r.new) for r in report.rewritten] == [
        ("001", "IT.INITIALS", "042", "42")
    ]
    assert [(p.subject_key, p.item_oid, p.value) for p in report.kept] == [("001", "IT.AGE", "40")]


def test_migration_moves_the_unaffected_audits_each_change_and_keeps_the_rest(
    amendment: Engine,
) -> None:
    with write_transaction(amendment) as conn:
        report = migrate_subjects(conn, "S.1", 2, user=MANAGER, reason="Amendment 1")
        assert [k for k, _n in report.moved] == ["001", "005"]
        keys = ("001", "002", "003", "004", "005")
        assert [subject_version(conn, "S.1", k) for k in keys] == [2, 1, 1, 1, 2]
        history = conn.execute(
            select(SubjectVersion.from_number, SubjectVersion.to_number, SubjectVersion.username,
                   SubjectVersion.reason).order_by(SubjectVersion.id)
        ).all()  # fmt: skip
        values = dict(conn.execute(select(ItemData.item_oid, ItemData.value)).all())
    assert [tuple(h) for h in history] == [(1, 2, MANAGER, "Amendment 1")] * 2
    trail = audit_of(amendment, "001", "IT.INITIALS")
    assert [(e.transaction_type, e.old_value, e.new_value) for e in trail][-1] == (
        "Update", "042", "42",
    )  # fmt: skip
    assert trail[-1].reason == "Amendment 1" and trail[-1].username == MANAGER
    assert values["IT.AGE"] == "40"  # a removed item's value is never deleted
    assert [(e.transaction_type, e.new_value) for e in audit_of(amendment, "002", "IT.SEX")] == [
        ("Insert", "M")
    ]  # a subject that stayed: untouched
    with write_transaction(amendment) as conn:  # again: the moved are on 2 already
        again = migrate_subjects(conn, "S.1", 2, subject_key="001", user=MANAGER, reason="R")
    assert again.moved == () and again.already == ("001",) and again.all_moved


def test_migration_refuses_a_draft_no_reason_and_a_non_data_manager(study: Engine) -> None:
    with write_transaction(study) as conn:
        load_study(conn, changed_name(), path="v2.xml")
        with pytest.raises(InvalidInputError, match="is a draft: publish it first"):
            migrate_subjects(conn, "S.1", 2, user=MANAGER, reason="R")
        with pytest.raises(InvalidInputError, match="needs a reason"):
            migrate_subjects(conn, "S.1", 2, user=MANAGER, reason="")
        with pytest.raises(AccessDeniedError):
            migrate_subjects(conn, "S.1", 2, user=INVESTIGATOR, reason="R")
        with pytest.raises(NotFoundError, match="No site"):
            migrate_subjects(conn, "S.1", 1, site_oid="SITE.9", user=MANAGER, reason="R")


def edc(db: Db, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", db.url])
    return result.exit_code, result.output


def test_the_command_line_draft_publish_migrate(db: Db, amendment: Engine, tmp_path: Path) -> None:
    v3 = tmp_path / "v3.xml"
    v3.write_bytes(
        amended().replace(b"MDV.2", b"MDV.3").replace(b'Name="Demographics" R', b'Name="D" R')
    )
    code, out = edc(db, "study", "load", str(v3), "--user", "desi")
    assert code == 0 and "as a draft; version 2 stays current" in out
    assert "edc study publish 3 --user U --reason R" in out
    code, out = edc(db, "study", "versions")
    lines = out.splitlines()
    assert code == 0 and lines[1].split()[:4] == ["3", "MDV.3", lines[1].split()[2], "draft"]
    assert lines[2].startswith("*  2  MDV.2") and "published" in lines[2]
    code, out = edc(db, "study", "versions", "--study", "S.NONE")
    assert code == 2 and "No study 'S.NONE'" in out
    assert edc(db, "study", "publish", "3", "--user", "desi", "--reason", "")[0] == 2
    code, out = edc(db, "study", "publish", "3", "--user", "desi", "--reason", "Amendment 2")
    assert code == 0 and "version 3 published" in out
    args = ("study", "migrate", "--to", "3", "--user", MANAGER, "--reason", "Amendment 2")
    code, out = edc(db, *args, "--dry-run")
    assert code == 1 and "2 subject(s) would move to version 3" in out
    assert "IT.SEX = 'M' [code]" in out and "'042' -> '42'" in out
    code, out = edc(db, *args, "--subject", "005")
    assert code == 0 and "1 subject(s) moved to version 3" in out
    assert edc(db, *args, "--site", "SITE.1", "--subject", "001")[0] == 2
    assert edc(db, "study", "migrate", "--to", "9", "--user", MANAGER, "--reason", "R")[0] == 2


def test_migration_0009_gives_existing_versions_and_subjects_their_numbers(
    db: Db, study: Engine
) -> None:
    """On a database with data at 0008 (two versions, the newest current by the old rule),
    0009 publishes both and puts every subject on the newest; down and up again work."""
    downgrade(study, "0008")
    with study.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO metadata_versions (study_id, number, oid, sha256, odm_xml, "
                "loaded_at, loaded_by) SELECT study_id, 2, 'MDV.2', 'f00d', odm_xml, loaded_at, "
                "'old' FROM metadata_versions WHERE number = 1"
            )
        )
    upgrade(study)
    assert current_revision(study) == "0009"
    with study.connect() as conn:
        assert [(v.number, v.status) for v in metadata_versions(conn, "S.1")] == [
            (2, "published"),
            (1, "published"),
        ]
        assert subject_version(conn, "S.1", "001") == 2
        assert current_metadata(conn, "S.1").number == 2


def test_make_demo_again_after_a_published_amendment_keeps_the_amendment_current(
    db: Db, tmp_path: Path
) -> None:
    """`make demo` runs `edc study load metadata/bortezomib-retreatment.xml` every time: after a
    designer published version 2, the shipped file is version 1 again, a no-op."""
    shipped = REPO / "metadata" / "bortezomib-retreatment.xml"
    v2 = tmp_path / "v2.xml"
    v2.write_bytes(
        shipped.read_bytes()
        .replace(b"MDV.BTZ_RETREAT.1", b"MDV.BTZ_RETREAT.2")
        .replace(b"Inclusion 1:", b"Inclusion 1 (amended):")
    )
    assert edc(db, "study", "load", str(shipped))[0] == 0
    code, out = edc(db, "study", "load", str(v2), "--publish", "--reason", "Amendment 1")
    assert code == 0 and "published: it is the current version" in out
    code, out = edc(db, "study", "load", str(shipped))
    assert code == 0 and "metadata unchanged (version 1" in out
    assert "The current version is 2." in out
    code, out = edc(db, "demo", "seed")
    assert code == 0
    code, out = edc(db, "study", "versions")
    assert out.splitlines()[1].startswith("*  2  MDV.BTZ_RETREAT.2")
    with make_engine(db.url).connect() as conn:
        assert current_metadata(conn, "ST.BTZ_RETREAT").number == 2
        keys = list_subjects(conn, "ST.BTZ_RETREAT")
        assert keys and {subject_version(conn, "ST.BTZ_RETREAT", k) for k in keys} == {2}


def test_a_thousand_subjects_dry_run_and_migration(study: Engine) -> None:
    """The acceptance study (issue 16): 1,000 subjects imported in bulk on version 1; version
    2 retypes IT.INITIALS, drops code M, adds a hard check on IT.WEIGHT and removes IT.AGE.
    Subject i holds initials 'AB' (i % 10 == 1), sex M (2), weight 160 (3), else initials
    '0dd' (rewritten without the zero); every subject an age (kept)."""

    def values(i: int) -> list[tuple[ItemKey, str]]:
        dm = ("SE.SCREEN", "", "F.DM", "", "IG.DM", "")
        odd = {1: ("IT.INITIALS", "AB"), 2: ("IT.SEX", "M"), 3: ("IT.WEIGHT", "160")}
        item, value = odd.get(i % 10, ("IT.INITIALS", f"0{i % 100:02d}"))
        return [(ItemKey(*dm, "IT.AGE"), "40"), (ItemKey(*dm, item), value)]

    with write_transaction(study) as conn:
        writer = BulkWriter(
            conn, study="S.1", user=MANAGER, role=Role.DATA_MANAGER, source="import:T:" + "0" * 64
        )
        for i in range(2, 1001):  # 001 exists (the fixture's), without data
            writer.add_subject(f"{i:04d}", "SITE.1", values(i))
        writer.finish()
        load_study(conn, amended(), path="v2.xml", publish=True, reason="Amendment 1")
    before = dump(study)
    with write_transaction(study) as conn:
        dry = migrate_subjects(conn, "S.1", 2, dry_run=True, user=MANAGER, reason="A1")
    assert dump(study) == before
    blocked = {i for i in range(2, 1001) if i % 10 in (1, 2, 3)}
    assert {int(k) for k in dry.stayed} == blocked and len(blocked) == 299
    kinds = {"1": "type", "2": "code", "3": "hard_check"}
    assert all(
        [p.kind for p in problems] == [kinds[key[-1]]] for key, problems in dry.stayed.items()
    )
    assert len(dry.moved) == 1000 - 299 and len(dry.rewritten) == 1000 - 299 - 1
    assert all(r.new == str(int(r.old)) for r in dry.rewritten)
    assert len(dry.kept) == 1000 - 299 - 1  # the ages of the subjects that move
    with write_transaction(study) as conn:
        done = migrate_subjects(conn, "S.1", 2, user=MANAGER, reason="A1")
        migrated = conn.execute(
            text("SELECT count(*) FROM audit_trail WHERE source = 'migrate:2' AND reason = 'A1'")
        ).scalar_one()
        moved = conn.execute(text("SELECT count(*) FROM subjects WHERE metadata_version = 2"))
        assert moved.scalar_one() == len(done.moved) == 701
    assert (done.moved, done.rewritten, done.stayed.keys()) == (
        dry.moved,
        dry.rewritten,
        dry.stayed.keys(),
    )
    assert migrated == 700 and count(study, "subject_versions") == 701
    assert count(study, "item_data") == len(before["item_data"])  # nothing deleted


def test_an_import_into_a_subject_on_an_older_version_is_refused(amendment: Engine) -> None:
    """The bulk path checks values against the current version: into a subject still on
    version 1 it refuses (migrate first); a new subject starts on version 2."""
    key = ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", "IT.SEX")
    before = dump(amendment)
    with pytest.raises(BulkRejectedError) as refused, write_transaction(amendment) as conn:
        writer = BulkWriter(conn, study="S.1", user=MANAGER, role=Role.DATA_MANAGER, source="t")
        writer.add_subject("005", "SITE.1", [(key, "F")])
        writer.finish()
    assert [p.check_id for p in refused.value.problems] == ["MetaDataVersion"]
    assert "edc study migrate --to 2 --subject 005" in refused.value.problems[0].message
    assert dump(amendment) == before
    with write_transaction(amendment) as conn:
        writer = BulkWriter(conn, study="S.1", user=MANAGER, role=Role.DATA_MANAGER, source="t")
        writer.add_subject("006", "SITE.1", [(key, "F")])
        writer.finish()
        assert subject_version(conn, "S.1", "006") == 2

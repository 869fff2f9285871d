"""A subject's forms are shown and checked with the metadata version the subject is on
(issue 16): after a newer version is published, subjects not yet migrated keep theirs, new
subjects start on the new one, and a migrated subject sees the new one."""

from __future__ import annotations

import io

from storage.engine import write_transaction
from storage.studies import current_metadata, load_study
from storage.subjects import create_subject, subject_version
from storage.versions import migrate_subjects
from tests.conftest import REPO
from tests.webapp.conftest import SITE_A, STUDY, SUBJECT_A, Web
from tests.webapp.helpers import DEMOGRAPHICS, ELIG, ELIGIBLE

OLD = "Inclusion 1: The patient was at least 18 years old"
NEW = "Inclusion 1 (amended): The patient was at least 21 years old"
FORM = "Eligibility: inclusion and exclusion criteria"
SEX_REF = '<ItemRef ItemOID="IT.DM_SEX" OrderNumber="2" Mandatory="Yes"/>'


def version_2() -> bytes:
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_text(encoding="utf-8")
    assert OLD in xml and "MDV.BTZ_RETREAT.1" in xml
    xml = xml.replace(OLD, NEW).replace(FORM, FORM + " (amended)")
    return xml.replace("MDV.BTZ_RETREAT.1", "MDV.BTZ_RETREAT.2").encode()


def test_each_subject_sees_the_form_of_its_own_version(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        result = load_study(conn, version_2(), path="v2.xml", loaded_by="designer")
        assert result.status == "stored" and not result.published
    inv = web.client("inv_a")
    page = inv.get(ELIG.format(key=SUBJECT_A)).get_data(as_text=True)
    assert OLD in page and NEW not in page  # a draft changes nothing
    with write_transaction(web.engine) as conn:
        load_study(conn, version_2(), path="v2.xml", publish=True, reason="Amendment 1")
        create_subject(
            conn, study=STUDY, subject_key="DE01-002", site_oid=SITE_A, user="dm",
            role="data_manager",
        )  # fmt: skip
        assert subject_version(conn, STUDY, "DE01-002") == 2
    page = inv.get(ELIG.format(key=SUBJECT_A)).get_data(as_text=True)
    assert OLD in page and NEW not in page  # not migrated: still version 1
    casebook = inv.get(f"/subjects/{SUBJECT_A}").get_data(as_text=True)
    assert f"{FORM}<" in casebook and "(amended)" not in casebook
    casebook = inv.get("/subjects/DE01-002").get_data(as_text=True)
    assert f"{FORM} (amended)" in casebook
    page = inv.get(ELIG.format(key="DE01-002")).get_data(as_text=True)
    assert NEW in page and OLD not in page
    with write_transaction(web.engine) as conn:
        report = migrate_subjects(conn, STUDY, 2, subject_key=SUBJECT_A, user="dm", reason="A1")
        assert report.moved == ((SUBJECT_A, 1),)
    page = inv.get(ELIG.format(key=SUBJECT_A)).get_data(as_text=True)
    assert NEW in page and OLD not in page


def test_the_designer_uploads_a_draft_then_publishes_it_with_a_reason(web: Web) -> None:
    designer = web.client("designer")
    designer.get("/design")
    r = designer.post(
        "/design",
        {"metadata": (io.BytesIO(version_2()), "v2.xml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and "as a draft; version 1 stays current" in r.text
    assert ">draft" in r.text and 'name="number" value="2"' in r.text
    assert designer.post("/design/publish", {"number": "2", "reason": " "}).status_code == 422
    assert designer.post("/design/publish", {"number": "9", "reason": "R"}).status_code == 422
    assert designer.post("/design/publish", {"number": "x²", "reason": "R"}).status_code == 422
    assert (
        web.client("dm").post("/design/publish", {"number": "2", "reason": "R"}).status_code == 403
    )
    r = designer.post("/design/publish", {"number": "2", "reason": "Amendment 1"})
    assert r.status_code == 200 and "Version 2 published" in r.text
    assert 'name="number"' not in r.text
    assert designer.post("/design/publish", {"number": "2", "reason": "R"}).status_code == 422
    with web.engine.connect() as conn:
        assert current_metadata(conn, STUDY).number == 2


def test_a_data_manager_dry_runs_then_migrates_on_the_web(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        load_study(conn, version_2(), path="v2.xml", publish=True, reason="Amendment 1")
    dm = web.client("dm")
    page = dm.get("/versions").get_data(as_text=True)
    assert '<option value="2">2</option>' in page and "MDV.BTZ_RETREAT.2" in page
    assert dm.post("/versions/migrate", {"to": "2", "reason": ""}).status_code == 422
    assert dm.post("/versions/migrate", {"to": "7", "reason": "R"}).status_code == 422
    assert dm.post("/versions/migrate", {"to": "²", "reason": "R"}).status_code == 422
    r = dm.post("/versions/migrate", {"to": "2", "reason": "A1", "dry_run": "1"})
    assert r.status_code == 200 and "Dry run: 2 subject(s) would move to version 2" in r.text
    with web.engine.connect() as conn:
        assert subject_version(conn, STUDY, SUBJECT_A) == 1
    r = dm.post("/versions/migrate", {"to": "2", "reason": "A1", "site": SITE_A, "dry_run": "0"})
    assert r.status_code == 200 and "1 subject(s) moved to version 2" in r.text
    with web.engine.connect() as conn:
        assert subject_version(conn, STUDY, SUBJECT_A) == 2
    assert web.client("inv_a").get("/versions").status_code == 403
    designer = web.client("designer")
    designer.get("/design")
    assert designer.post("/versions/migrate", {"to": "2", "reason": "R"}).status_code == 403


def test_a_value_of_a_removed_item_is_shown_read_only_after_migration(web: Web) -> None:
    """IT.DM_SEX leaves IG.DM in version 2: a subject's stored sex stays, listed under the
    form as not in this version, and the form saves without it."""
    inv = web.client("inv_a")
    eligible = {**ELIGIBLE, "expected_version": "0"}
    assert inv.post(ELIG.format(key=SUBJECT_A), eligible).status_code == 303
    dm = {"IG.DM[].IT.DM_SEX": "F", "expected_version": "0"}
    assert inv.post(DEMOGRAPHICS.format(key=SUBJECT_A), dm).status_code == 303
    page = inv.get(DEMOGRAPHICS.format(key=SUBJECT_A)).get_data(as_text=True)
    assert "Not in this version" not in page
    xml = version_2().decode()
    assert xml.count(SEX_REF) == 1
    with write_transaction(web.engine) as conn:
        load_study(conn, xml.replace(SEX_REF, "").encode(), publish=True, reason="A1")
        migrate_subjects(conn, STUDY, 2, subject_key=SUBJECT_A, user="dm", reason="A1")
    page = inv.get(DEMOGRAPHICS.format(key=SUBJECT_A)).get_data(as_text=True)
    assert "Not in this version (kept, read-only)" in page
    assert "<td>IG.DM/IT.DM_SEX</td><td><code>F</code></td>" in page
    assert 'name="IG.DM[].IT.DM_SEX"' not in page
    later = {"IG.DM[].IT.DM_BRTHDAT": "1950-03", "expected_version": "1", "reason": "late"}
    assert inv.post(DEMOGRAPHICS.format(key=SUBJECT_A), later).status_code == 303
    page = inv.get(DEMOGRAPHICS.format(key=SUBJECT_A)).get_data(as_text=True)
    assert "<td>IG.DM/IT.DM_SEX</td><td><code>F</code></td>" in page


def test_the_web_report_lists_the_derived_values_a_migration_sets(web: Web) -> None:
    """A version whose MethodDef M.IE_ELIG changes (ODM 1.3.2 §3.1.4.5): the dry run and the
    migration list the derived value that changes, old -> new (issue 17)."""
    inv = web.client("inv_a")
    r = inv.post(ELIG.format(key=SUBJECT_A), {**ELIGIBLE, "expected_version": "0"})
    assert r.status_code in (200, 302, 303)
    xml = version_2().decode()
    derived_y = "'Y',\n             if(definitely("
    assert xml.count(derived_y) == 1
    xml = xml.replace(derived_y, "'N',\n             if(definitely(")  # eligible -> 'N'
    with write_transaction(web.engine) as conn:
        load_study(conn, xml.encode(), path="v2.xml", publish=True, reason="Amendment 1")
    dm = web.client("dm")
    dm.get("/versions")
    r = dm.post("/versions/migrate", {"to": "2", "reason": "A1", "site": SITE_A, "dry_run": "1"})
    assert r.status_code == 200 and "1 derived value(s) of the new version set or changed" in r.text
    row = f"<tr><td>{SUBJECT_A}</td><td>F.IE/IG.IE_RES/IT.IE_ELIG</td>"
    assert row in r.text
    r = dm.post("/versions/migrate", {"to": "2", "reason": "A1", "site": SITE_A, "dry_run": "0"})
    assert r.status_code == 200 and row + "<td><code>Y</code> &rarr; <code>N</code></td>" in r.text

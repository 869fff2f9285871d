"""Publishing and migrating on the web refuse a reason the database and the exports cannot
carry (issue 14, finding 1): 422 on the page with the character named, nothing stored."""

from __future__ import annotations

from storage.engine import write_transaction
from storage.studies import current_metadata, load_study
from storage.subjects import subject_version
from tests.webapp.conftest import STUDY, SUBJECT_A, Web
from tests.webapp.test_subject_versions import version_2


def test_a_publication_reason_with_a_control_character_is_a_422_on_the_page(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        assert load_study(conn, version_2(), path="v2.xml").status == "stored"
    designer = web.client("designer")
    designer.get("/design")
    r = designer.post("/design/publish", {"number": "2", "reason": "Amendment\x011"})
    assert r.status_code == 422
    assert "U+0001 at position 10" in r.text and 'name="number" value="2"' in r.text
    with web.engine.connect() as conn:
        assert current_metadata(conn, STUDY).number == 1


def test_a_migration_reason_with_a_control_character_is_a_422_on_the_page(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        load_study(conn, version_2(), path="v2.xml", publish=True, reason="Amendment 1")
    dm = web.client("dm")
    dm.get("/versions")
    r = dm.post("/versions/migrate", {"to": "2", "reason": "A\x0b1", "dry_run": "0"})
    assert r.status_code == 422
    assert "U+000B at position 2" in r.text and "MDV.BTZ_RETREAT.2" in r.text
    with web.engine.connect() as conn:
        assert subject_version(conn, STUDY, SUBJECT_A) == 1

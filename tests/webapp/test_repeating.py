"""Repeating study events and forms in the web app, and keys that need escaping in URLs.

The first study has no repeating event or form, so these tests load a variant of it in
which the adverse drug reaction log (SE.ADR) and its form (F.ADR) repeat, as do the
resource-use form (F.MRU) of the one data collection visit. Each instance has its own URL
(``/subjects/K/SE.ADR/2/F.ADR/1``; ``~`` stands for an empty repeat key), its own values,
status, history, queries and signature; the casebook lists the instances and offers the next.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from cli import main
from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.models import Form, ItemData, ItemGroup, StudyEvent
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import REPO
from tests.webapp.conftest import PASSWORD, SITE_A, STUDY, SUBJECT_A, SUBJECT_B, USERS, Web
from tests.webapp.helpers import ELIG, ELIGIBLE
from webapp import Settings, create_app
from webapp.urlkeys import decode_key, encode_key

A = f"/subjects/{SUBJECT_A}"
ADR = A + "/SE.ADR/{event}/F.ADR/{form}"
NO_ADR = {"IG.ADR_ANY[].IT.AE_ANY": "N"}
SLASHED = "DE01/007"


def repeating_variant() -> bytes:
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_text(encoding="utf-8")
    for old in (
        '<StudyEventDef OID="SE.ADR" Name="Adverse drug reaction log" Repeating="No"',
        '<FormDef OID="F.ADR" Name="Adverse drug reactions" Repeating="No"',
        '<FormDef OID="F.MRU" Name="Medical resource utilisation" Repeating="No"',
    ):
        assert old in xml
        xml = xml.replace(old, old.replace('Repeating="No"', 'Repeating="Yes"'))
    # The study's one check across events reads the ADR answer as a single value; with the
    # log repeating, the design-time checker (ODM-EXPR-107) asks for an aggregate.
    single = "is_present([SE.ADR/F.ADR/IT.AE_ANY])"
    assert single in xml
    xml = xml.replace(single, "count([SE.ADR/F.ADR/IT.AE_ANY]) &gt;= 1")
    return xml.encode("utf-8")


@pytest.fixture(scope="module")
def repeating_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repeating") / "seeded.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, repeating_variant(), path="repeating.xml")
        assert result.status == "stored", result.message
        for name, (role, site) in USERS.items():
            add_user(conn, name, PASSWORD, full_name=name)
            set_role(conn, name, STUDY, role, site_oid=site)
        for key in (SUBJECT_A, SLASHED):
            create_subject(
                conn, study=STUDY, subject_key=key, site_oid=SITE_A, user="dm", role="data_manager"
            )
    engine.dispose()
    return path


@pytest.fixture
def rweb(tmp_path: Path, repeating_db: Path) -> Iterator[Web]:
    path = tmp_path / "web.sqlite3"
    shutil.copyfile(repeating_db, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    yield Web(app, engine, url)
    engine.dispose()


def eligible(web: Web, key: str = SUBJECT_A) -> None:
    inv = web.client("inv_a")
    url = ELIG.format(key=key.replace("/", "~s"))
    assert inv.post(url, {**ELIGIBLE, "expected_version": "0"}).status_code == 303


def stored_instances(web: Web) -> set[tuple[str, str, str, str, str]]:
    """(event, event repeat, form, form repeat, IT.AE_ANY) of the subject's ADR values."""
    with web.engine.connect() as conn:
        rows = conn.execute(
            select(
                StudyEvent.study_event_oid,
                StudyEvent.repeat_key,
                Form.form_oid,
                Form.repeat_key,
                ItemData.value,
            )
            .join(Form, Form.study_event_id == StudyEvent.id)
            .join(ItemGroup, ItemGroup.form_id == Form.id)
            .join(ItemData, ItemData.item_group_id == ItemGroup.id)
            .where(ItemData.item_oid == "IT.AE_ANY")
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]


def sections(casebook: str) -> list[tuple[str, str]]:
    """(event OID, repeat key) of each event section of a casebook page, in order."""
    return re.findall(
        r'<section class="event" data-event="([^"]+)"(?: data-repeat="([^"]*)")?', casebook
    )


def test_each_instance_of_a_repeating_event_and_form_keeps_its_own_data(rweb: Web) -> None:
    eligible(rweb)
    inv = rweb.client("inv_a")
    casebook = inv.get(A).text
    # No instance yet: the event's place says so and offers the first one.
    assert ("SE.ADR", "") in sections(casebook)
    first = ADR.format(event=1, form=1)
    assert f'class="button add-event" href="{first}"' in casebook
    page = inv.get(first)
    assert page.status_code == 200 and "in first or second line #1" in page.text
    assert "adverse drug reactions to bortezomib #1" in page.text
    for event, form, answer in (("1", "1", "N"), ("1", "2", "Y"), ("2", "1", "N")):
        values = {"IG.ADR_ANY[].IT.AE_ANY": answer, "expected_version": "0"}
        if answer == "Y":
            values |= {
                "IG.ADR[1].IT.ADR_TERM": "Neuropathy",
                "IG.ADR[1].IT.ADR_STDAT": "2019-03-02",
                "IG.ADR[1].IT.ADR_ONGO": "Y",
                "IG.ADR[1].IT.ADR_GRADE": "2",
                "IG.ADR[1].IT.ADR_SER": "N",
            }
        r = inv.post(ADR.format(event=event, form=form), values)
        assert r.status_code == 303, r.text
        assert r.headers["Location"].startswith(ADR.format(event=event, form=form) + "?saved=1")
    assert stored_instances(rweb) == {
        ("SE.ADR", "1", "F.ADR", "1", "N"),
        ("SE.ADR", "1", "F.ADR", "2", "Y"),
        ("SE.ADR", "2", "F.ADR", "1", "N"),
    }
    assert 'value="Y" checked' in inv.get(ADR.format(event=1, form=2)).text
    assert 'value="N" checked' in inv.get(ADR.format(event=2, form=1)).text

    casebook = inv.get(A).text
    assert [s for s in sections(casebook) if s[0] == "SE.ADR"] == [("SE.ADR", "1"), ("SE.ADR", "2")]
    section_1 = casebook[casebook.index('data-event="SE.ADR" data-repeat="1"') :]
    section_1 = section_1[: section_1.index("</section>")]
    assert re.findall(r'data-form="F.ADR" data-repeat="(\d+)"', section_1) == ["1", "2"]
    assert f'href="{ADR.format(event=1, form=3)}">Add another' in section_1
    assert f'class="button add-event" href="{ADR.format(event=3, form=1)}"' in casebook
    # The repeating form of a non-repeating event: its first instance is offered as "1".
    assert f'href="{A}/SE.DCV/~/F.MRU/1"' in casebook


def test_repeat_keys_only_where_the_metadata_repeats(rweb: Web) -> None:
    eligible(rweb)
    inv = rweb.client("inv_a")
    assert inv.get(f"{A}/SE.DCV/~/F.MRU/1").status_code == 200
    assert inv.get(f"{A}/SE.DCV/F.MRU").status_code == 404  # a repeating form needs its key
    assert inv.get(f"{A}/SE.ADR/F.ADR").status_code == 404  # so does a repeating event
    assert inv.get(f"{A}/SE.DCV/2/F.DM/~").status_code == 404  # SE.DCV does not repeat
    assert inv.get(f"{A}/SE.ELIG/~/F.IE/~").status_code == 200  # the long form of F.IE's URL
    assert inv.get(f"{A}/SE.ADR/{'9' * 101}/F.ADR/1").status_code == 404  # longer than stored
    assert inv.get(f"{A}/SE.ADR/1~x/F.ADR/1").status_code == 404  # not a well-formed escape
    before = stored_instances(rweb)
    r = inv.post(f"{A}/SE.DCV/3/F.DM/~", {"expected_version": "0"})
    assert r.status_code == 404 and stored_instances(rweb) == before


def test_status_history_queries_and_signature_of_one_instance(rweb: Web) -> None:
    eligible(rweb)
    inv, mon, dm = rweb.client("inv_a"), rweb.client("mon_a"), rweb.client("dm")
    one, two = ADR.format(event=1, form=1), ADR.format(event=2, form=1)
    for url in (one, two):
        assert inv.post(url, {**NO_ADR, "expected_version": "0"}).status_code == 303
    # A query raised on instance 2 is shown on instance 2 only.
    r = mon.post(
        f"{A}/queries",
        {
            "event_oid": "SE.ADR",
            "event_repeat": "2",
            "form_oid": "F.ADR",
            "form_repeat": "1",
            "field": "IG.ADR_ANY[].IT.AE_ANY",
            "message": "Confirm against the source.",
        },
    )
    assert r.status_code == 303 and r.headers["Location"] == two
    assert "Confirm against the source. (open)" in inv.get(two).text
    assert "Confirm against the source." not in inv.get(one).text
    listing = dm.get("/queries").text
    # the instance by its position in the event's name, not by OIDs (issue 18)
    assert f'href="{two}"' in listing and "first or second line #2 › " in listing
    # Verified (SDV) on instance 1 only.
    assert (
        mon.post(one + "/status", {"target": "verified", "expected_version": "1"}).status_code
        == 303
    )
    assert "Verified (SDV)" in mon.get(one).text and "Verified (SDV)" not in mon.get(two).text
    # Instance 1's field history lists instance 1's rows only.
    cleared = {"IG.ADR_ANY[].IT.AE_ANY": "", "expected_version": "2", "reason": "Re-checked"}
    assert inv.post(one, cleared).status_code == 303
    history_1, history_2 = (history_rows(inv, url) for url in (one, two))
    assert [r[0] for r in history_1] == ["Insert", "Remove"] and "Re-checked" in history_1[1][1]
    assert [r[0] for r in history_2] == ["Insert"]
    # Signing covers every instance; a change to one breaks that one's signature.
    assert "adverse drug reactions to bortezomib #1" in inv.get(f"{A}/sign").text
    assert inv.post(f"{A}/sign", {"password": PASSWORD}).status_code == 303
    assert "signature-valid" in inv.get(A).text
    version = re.search(r'name="expected_version" value="(\d+)"', inv.get(two).text)
    assert version
    changed = {
        "IG.ADR_ANY[].IT.AE_ANY": "",
        "expected_version": version.group(1),
        "reason": "Entered twice",
    }
    assert inv.post(two, changed).status_code == 303
    casebook = inv.get(A).text
    assert "Signature broken: 1 form(s)" in casebook


def history_rows(client, form: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(transaction type, whole row text) of the history of IT.AE_ANY on one form instance."""
    page = client.get(form)
    link = re.search(r'<a class="history-link" href="([^"]+)"', page.text)
    assert link and link.group(1).startswith(form + "/history?field=")
    history = client.get(link.group(1).replace("&amp;", "&")).text
    assert "SE.ADR[" in history
    body = history[history.index("<tbody>") : history.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [(t, row) for row in rows for t in re.findall(r"(Insert|Update|Remove)", row)[:1]]


def test_a_subject_key_with_a_slash_is_reachable(rweb: Web) -> None:
    """SubjectKeys from other EDCs may hold a "/": it travels as ``~s`` in the URL."""
    eligible(rweb, SLASHED)
    dm = rweb.client("dm")
    subjects = dm.get(f"/sites/{SITE_A}/subjects").text
    assert 'href="/subjects/DE01~s007"' in subjects
    casebook = dm.get("/subjects/DE01~s007")
    assert casebook.status_code == 200 and f"Casebook of subject {SLASHED}" in casebook.text
    assert 'href="/subjects/DE01~s007/SE.ELIG/F.IE"' in casebook.text
    assert dm.get("/subjects/DE01/007").status_code == 404  # a "/" is never the key's
    assert SUBJECT_B not in subjects


@given(st.text())
def test_url_keys_round_trip_and_stay_in_one_segment(key: str) -> None:
    segment = encode_key(key)
    assert "/" not in segment and segment not in ("", ".", "..")
    assert decode_key(segment) == key


@pytest.mark.parametrize("segment", ["~x", "a~", "..", ".", "~"])
def test_url_key_segments_that_name_no_key(segment: str) -> None:
    if segment == "~":
        assert decode_key(segment) == ""
        return
    with pytest.raises(ValueError):
        decode_key(segment)


def test_an_event_imported_with_a_repeat_key_it_does_not_need_stays_one_instance(
    web: Web, tmp_path: Path
) -> None:
    """OpenClinica numbers every event (StudyEventRepeatKey="1" on a non-repeating one): the
    casebook shows that instance alone, and its other forms are entered under the same key."""
    data = tmp_path / "oc.xml"
    data.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileOID="F.OC" '
        'FileType="Snapshot" CreationDateTime="2026-01-01T00:00:00Z">'
        '<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.1">'
        f'<SubjectData SubjectKey="{SUBJECT_A}"><SiteRef LocationOID="LOC.DE01"/>'
        '<StudyEventData StudyEventOID="SE.EOS" StudyEventRepeatKey="1">'
        '<FormData FormOID="F.EOS"><ItemGroupData ItemGroupOID="IG.DS">'
        '<ItemData ItemOID="IT.DS_COMPL" Value="N"/><ItemData ItemOID="IT.DS_REAS" '
        'Value="NOTELIG"/></ItemGroupData></FormData>'
        "</StudyEventData></SubjectData></ClinicalData></ODM>",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["import", str(data), "--user", "dm", "--db", web.url])
    assert result.exit_code == 0, result.output
    inv = web.client("inv_a")
    casebook = inv.get(A).text
    assert [s for s in sections(casebook) if s[0] == "SE.EOS"] == [("SE.EOS", "1")]
    url = f"{A}/SE.EOS/1/F.EOS/~"
    assert f'href="{url}"' in casebook
    page = inv.get(url)
    assert page.status_code == 200 and 'value="N" checked' in page.text
    assert inv.get(f"{A}/SE.EOS/2/F.EOS/~").status_code == 404  # no such instance stored

"""Texts at the door (issue 14, findings 1, 12 and 14): a character XML 1.0 cannot carry (a
``\\x08`` in a query broke every ODM export for good; NUL made PostgreSQL answer 500), a text
over its length limit, a key over its column, two simultaneous adds of one subject: each is
a clean 4xx naming the field, on SQLite and PostgreSQL, and nothing is written. Data stored
before the check (raw SQL here) is exported with U+FFFD in its place, never a failed export.
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import Engine, func, insert, select, update

from cli import main
from odm_engine.free_text import LIMITS, TextRefusedError, check_text, xml_safe, xml_safe_copy
from odm_engine.safexml import make_parser
from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.models import AuditRow, ItemData, Query, Subject, User
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import odm
from tests.postgres import fresh_schema
from tests.storage.helpers import dump
from tests.webapp.conftest import PASSWORD, Web, web_at
from tests.webapp.live import Http, gunicorn

STUDY, SITE, SUBJECT = "S.1", "LOC.DE01", "DE01-001"
FORM = f"/subjects/{SUBJECT}/SE.V/F.T"
TEXT, NUM, DEC = "IG.T[].IT.TEXT", "IG.T[].IT.NUM", "IG.T[].IT.DEC"
REPEATS = f"/subjects/{SUBJECT}/SE.R/{{event}}/F.R/~"
BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/>
  <StudyEventRef StudyEventOID="SE.R" Mandatory="No"/></Protocol>
<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.T" Mandatory="Yes"/></StudyEventDef>
<StudyEventDef OID="SE.R" Name="Visits" Repeating="Yes" Type="Unscheduled">
  <FormRef FormOID="F.R" Mandatory="No"/></StudyEventDef>
<FormDef OID="F.T" Name="Texts" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.T" Mandatory="Yes"/></FormDef>
<FormDef OID="F.R" Name="Rows" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.R" Mandatory="No"/></FormDef>
<ItemGroupDef OID="IG.T" Name="Texts" Repeating="No">
  <ItemRef ItemOID="IT.TEXT" Mandatory="No"/><ItemRef ItemOID="IT.NUM" Mandatory="No"/>
  <ItemRef ItemOID="IT.DEC" Mandatory="No"/></ItemGroupDef>
<ItemGroupDef OID="IG.R" Name="Rows" Repeating="Yes">
  <ItemRef ItemOID="IT.NOTE" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="IT.TEXT" Name="TEXT" DataType="text" Length="200">
  <Question><TranslatedText xml:lang="en">Text</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.NUM" Name="NUM" DataType="integer" Length="5">
  <Question><TranslatedText xml:lang="en">Number</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.DEC" Name="DEC" DataType="float" Length="8" SignificantDigits="2">
  <Question><TranslatedText xml:lang="en">Decimal</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.NOTE" Name="NOTE" DataType="text" Length="200">
  <Question><TranslatedText xml:lang="en">Note</TranslatedText></Question></ItemDef>
"""
ADMIN = f"""<AdminData StudyOID="{STUDY}">
<Location OID="{SITE}" Name="Hamburg" LocationType="Site">
  <MetaDataVersionRef StudyOID="{STUDY}" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location></AdminData>"""
USERS = {
    "inv_a": ("investigator", SITE),
    "mon_a": ("monitor", SITE),
    "dm": ("data_manager", None),
    "admin": ("admin", None),
}
CONTROL = {"backspace": "\x08", "SOH": "\x01", "NUL": "\x00", "U+FFFF": "\uffff"}


def seed(engine: Engine) -> None:
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, odm(BODY, admin=ADMIN), path="texts.xml")
        assert result.status == "stored", [f.format() for f in result.findings]
        for name, (role, site) in USERS.items():
            add_user(conn, name, PASSWORD, full_name=name)
            set_role(conn, name, STUDY, role, site_oid=site)
        create_subject(
            conn, study=STUDY, subject_key=SUBJECT, site_oid=SITE, user="dm", role="data_manager"
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("texts") / "seeded.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    seed(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path, seeded: Path) -> Iterator[Web]:
    """The small study above on a copy of a seeded SQLite file, or on a fresh PostgreSQL
    schema; the app through Flask's test client."""
    if request.param == "sqlite":
        shutil.copyfile(seeded, tmp_path / "w.sqlite3")
        with web_at(f"sqlite:///{tmp_path / 'w.sqlite3'}") as web:
            yield web
        return
    with fresh_schema("x") as url:
        engine = make_engine(url)
        try:
            seed(engine)
        finally:
            engine.dispose()
        with web_at(url) as web:
            yield web


def saved(web: Web, values: dict[str, str], version: int = 0, reason: str = "") -> int:
    inv = web.client("inv_a")
    inv.get(FORM)
    data = {**values, "expected_version": str(version)}
    if reason:
        data["reason"] = reason
    return inv.post(FORM, data).status_code  # type: ignore[no-any-return]


def raise_query(web: Web, message: str) -> int:
    mon = web.client("mon_a")
    mon.get(FORM)
    form = {"event_oid": "SE.V", "form_oid": "F.T", "field": TEXT, "message": message}
    return mon.post(f"/subjects/{SUBJECT}/queries", form).status_code  # type: ignore[no-any-return]


def query_id(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.scalar(select(func.max(Query.id))) or 0)


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)  # type: ignore[no-any-return]


# -- the pure check -----------------------------------------------------------------------


def test_the_check_names_the_field_the_character_and_its_position() -> None:
    """XML 1.0 §2.2 Char: tab, LF and CR are the only C0 controls taken."""
    assert check_text("a\tb\nc\r", "Reason for change", "reason") == "a\tb\nc\r"
    with pytest.raises(TextRefusedError) as refused:
        check_text("ab\x08c", "Reason for change", "reason")
    assert str(refused.value) == (
        "Reason for change: character U+0008 at position 3 is a control character that cannot "
        "be stored or exported (XML 1.0 cannot carry it). Remove it and try again."
    )
    with pytest.raises(TextRefusedError, match="U\\+0000 at position 1"):
        check_text("\x00", "Username", "username")
    with pytest.raises(TextRefusedError, match="U\\+FFFE"):
        check_text("\ufffe", "Query message", "query")
    with pytest.raises(TextRefusedError) as refused:
        check_text("x" * 2001, "Reason for change", "reason")
    assert str(refused.value) == (
        "Reason for change: 2001 characters is too long; at most 2000 are taken. "
        "Shorten it and try again."
    )
    assert check_text("x" * 2000, "Reason for change", "reason") == "x" * 2000
    assert check_text("\U0001f600 é", "Query message", "query") == "\U0001f600 é"


def test_xml_safe_copies_replace_every_forbidden_character() -> None:
    from odm_engine.clinical import ItemKey
    from odm_engine.exchange.records import AuditRecord, ItemValue

    assert xml_safe("a\x00b\x08c\uffff\td") == "a\ufffdb\ufffdc\ufffd\td"
    item = ItemValue(
        ItemKey("SE", "", "F", "", "IG", "1\x01", "IT"),
        "v\x08",
        audit=AuditRecord(reason_for_change="r\x00"),
    )
    clean = xml_safe_copy(item)
    assert clean.key.item_group_repeat_key == "1\ufffd"
    assert clean.value == "v\ufffd"
    assert clean.audit is not None and clean.audit.reason_for_change == "r\ufffd"
    assert isinstance(clean.key, ItemKey)


# -- at the door: web ----------------------------------------------------------------------


@pytest.mark.parametrize("char", sorted(CONTROL))
def test_a_control_character_in_any_text_is_refused_and_names_the_field(
    web: Web, char: str
) -> None:
    """Entered value, reason for change, query message, answer and closing comment, a
    repeat key, a new user's name and full name: each a 422 with the field named, the
    database unchanged (finding 1 and, for NUL, finding 12)."""
    c = CONTROL[char]
    shown = f"U+{ord(c):04X}"
    assert saved(web, {TEXT: "first"}) == 303
    assert raise_query(web, "please check") == 303
    qid = query_id(web)
    before = dump(web.engine)
    failures = []

    def expect(what: str, response, field: str) -> None:  # type: ignore[no-untyped-def]
        body = page(response)
        if response.status_code != 422 or shown not in body or field not in body:
            failures.append((what, response.status_code, body[-600:]))

    inv = web.client("inv_a")
    inv.get(FORM)
    expect("value", inv.post(FORM, {TEXT: f"a{c}b", "expected_version": "1", "reason": "r"}), "")
    inv.get(FORM)
    r = inv.post(FORM, {TEXT: "second", "expected_version": "1", "reason": f"typo{c}"})
    expect("reason", r, "Reason for change")
    mon = web.client("mon_a")
    mon.get(FORM)
    form = {"event_oid": "SE.V", "form_oid": "F.T", "field": TEXT, "message": f"why{c}"}
    expect("query", mon.post(f"/subjects/{SUBJECT}/queries", form), "Query message")
    inv.get(FORM)
    r = inv.post(f"/subjects/{SUBJECT}/queries/{qid}", {"action": "answer", "text": f"ok{c}"})
    expect("answer", r, "Query answer")
    dm = web.client("dm")
    dm.get(FORM)
    r = dm.post(f"/subjects/{SUBJECT}/queries/{qid}", {"action": "close", "text": f"done{c}"})
    expect("close", r, "Query comment")
    inv.get(REPEATS.format(event="1"))
    r = inv.post(REPEATS.format(event="1"), {f"IG.R[1{c}].IT.NOTE": "n", "expected_version": "0"})
    expect("group repeat key", r, "ItemGroupRepeatKey")
    admin = web.client("admin")
    admin.get("/admin/users")
    user = {"password": "long enough password", "role": "monitor", "site": SITE}
    expect("username", admin.post("/admin/users", {**user, "username": f"eve{c}"}), "Username")
    r = admin.post("/admin/users", {**user, "username": "eve", "full_name": f"Eve{c}"})
    expect("full name", r, "Full name")
    assert failures == []
    assert dump(web.engine) == before


def test_nul_in_sign_in_urls_and_history_field_is_a_clean_4xx(web: Web) -> None:
    """Finding 12: a NUL byte in the sign-in username, in a SubjectKey or repeat key of the
    URL and in the history ``field=`` parameter reached PostgreSQL and came back as a 500."""
    anon = web.client()
    anon.get("/login")
    r = anon.post("/login", {"username": "inv_a\x00", "password": PASSWORD})
    assert r.status_code == 422 and "Username" in page(r) and "U+0000" in page(r)
    inv = web.client("inv_a")
    for url in (
        f"/subjects/{quote('DE01-001' + chr(0))}",
        f"/subjects/{quote('DE01' + chr(0))}/SE.V/F.T",
        f"/subjects/{SUBJECT}/SE.R/{quote('1' + chr(0))}/F.R/~",
        f"{FORM}/history?field={quote('IG.T[].IT.TE' + chr(0) + 'XT')}",
        f"{FORM}/history?field={quote('IG.T[' + chr(0) + '].IT.TEXT')}",
    ):
        assert inv.get(url).status_code == 404, url
    r = inv.post(REPEATS.format(event=quote("1\x00")), {"expected_version": "0"})
    assert r.status_code in (404, 405)  # no route takes the key


def test_texts_over_their_limits_are_refused_with_the_limit_named(web: Web) -> None:
    """Finding 14: reason 2000, query 4000, username 100, full name 200, keys 100 characters
    (a repeat key of 101 reached PostgreSQL's VARCHAR(100) and was a 500)."""
    assert saved(web, {TEXT: "first"}) == 303
    before = dump(web.engine)
    inv = web.client("inv_a")
    inv.get(FORM)
    r = inv.post(FORM, {TEXT: "2nd", "expected_version": "1", "reason": "r" * 2001})
    assert r.status_code == 422 and "at most 2000" in page(r)
    mon = web.client("mon_a")
    mon.get(FORM)
    form = {"event_oid": "SE.V", "form_oid": "F.T", "field": TEXT, "message": "q" * 4001}
    r = mon.post(f"/subjects/{SUBJECT}/queries", form)
    assert r.status_code == 422 and "at most 4000" in page(r)
    admin = web.client("admin")
    admin.get("/admin/users")
    user = {"password": "long enough password", "role": "monitor", "site": SITE}
    r = admin.post("/admin/users", {**user, "username": "u" * 101})
    assert r.status_code == 422 and "at most 100" in page(r)
    r = admin.post("/admin/users", {**user, "username": "eve", "full_name": "n" * 201})
    assert r.status_code == 422 and "at most 200" in page(r)
    long_key = "9" * 101
    inv.get(REPEATS.format(event="1"))
    r = inv.post(REPEATS.format(event=long_key), {"IG.R[1].IT.NOTE": "n", "expected_version": "0"})
    assert r.status_code == 404  # a form instance no URL may open (StudyContext.may_open)
    r = inv.post(
        REPEATS.format(event="1"), {f"IG.R[{long_key}].IT.NOTE": "n", "expected_version": "0"}
    )
    assert r.status_code == 422 and "at most 100" in page(r)
    assert dump(web.engine) == before
    # the limits themselves are what the documentation says
    assert (LIMITS["reason"], LIMITS["query"], LIMITS["username"], LIMITS["full_name"]) == (
        2000,
        4000,
        100,
        200,
    )


def test_two_simultaneous_adds_of_one_subject_give_one_subject_and_a_clean_answer(
    web: Web,
) -> None:
    """Finding 12: the add that lost the race hit the unique constraint (IntegrityError)
    and was a 500. Here another transaction inserts the subject and commits only while the
    web's add is past its existence check (PostgreSQL) or waiting for the write lock
    (SQLite); the web's add must answer 409/422 with a message, and one subject exist."""
    key = "DE01-002"
    inv = web.client("inv_a")
    inv.get(f"/sites/{SITE}/subjects")
    results: list[int | str] = []
    other = web.engine.connect()
    trans = other.begin()
    subject_id = other.scalar(select(Subject.study_id).where(Subject.subject_key == SUBJECT))
    other.execute(
        insert(Subject).values(
            study_id=subject_id,
            subject_key=key,
            site_id=None,
            created_at=func.now(),
            metadata_version=1,
        )
    )

    def add() -> None:
        r = inv.post(f"/sites/{SITE}/subjects", {"subject_key": key})
        results.append(r.status_code)
        results.append(page(r))

    thread = threading.Thread(target=add)
    thread.start()
    thread.join(1.5)  # the web's insert now waits on the uncommitted row (or lock)
    trans.commit()
    other.close()
    thread.join(30)
    status, body = results
    assert status in (409, 422), body[-800:]
    assert key in body and "exists already" in body
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(Subject.subject_key == key)) == 1


@pytest.mark.slow
def test_through_a_real_gunicorn_control_characters_get_422_and_exports_still_work(
    tmp_path: Path, seeded: Path
) -> None:
    """The same door through the network, as a browser meets it."""
    path = tmp_path / "live.sqlite3"
    shutil.copyfile(seeded, path)
    url = f"sqlite:///{path}"
    with gunicorn(url) as base:
        anon = Http()
        anon.request(base + "/login")
        status, body = anon.request(base + "/login", {"username": "mon\x00a", "password": "x"})
        assert status == 422 and "U+0000" in body
        mon = Http()
        mon.request(base + "/login")
        assert mon.request(base + "/login", {"username": "mon_a", "password": PASSWORD})[0] == 303
        mon.request(base + FORM)
        form = {"event_oid": "SE.V", "form_oid": "F.T", "field": TEXT, "message": "bad\x08"}
        status, body = mon.request(base + f"/subjects/{SUBJECT}/queries", form)
        assert status == 422 and "Query message" in body and "U+0008" in body
        dm = Http()
        dm.request(base + "/login")
        assert dm.request(base + "/login", {"username": "dm", "password": PASSWORD})[0] == 303
        dm.request(base + "/exports")
        status, xml = dm.request(base + "/exports/odm", {"mode": "audit", "admin": "1"})
        assert status == 200
        etree.fromstring(xml.encode(), make_parser())


# -- stored before the fix: exports never fail ---------------------------------------------


def poison(web: Web) -> None:
    """Control characters put in by raw SQL, as data stored before the check would be:
    a value, a query message, a reason for change (a new audit row: the trail is
    append-only), a user's full name. NUL only where the database takes it (SQLite)."""
    assert saved(web, {TEXT: "clean", NUM: "-3", DEC: "-1.5"}) == 303
    assert raise_query(web, "fine") == 303
    bad = "\x08\x01" + ("\x00" if web.url.startswith("sqlite") else "") + "\uffff"
    with write_transaction(web.engine) as conn:
        conn.execute(update(ItemData).where(ItemData.item_oid == "IT.TEXT").values(value=f"v{bad}"))
        conn.execute(update(Query).values(message=f"q{bad}"))
        conn.execute(update(User).where(User.username == "inv_a").values(full_name=f"Ivy{bad}"))
        row = (
            conn.execute(select(AuditRow.__table__).order_by(AuditRow.seq.desc()))
            .mappings()
            .first()
        )
        assert row is not None
        copy = {k: v for k, v in row.items() if k != "seq"}
        copy.update(reason=f"r{bad}", new_value=f"v{bad}", form_version=row["form_version"] + 1)
        conn.execute(insert(AuditRow).values(**copy))


def edc(*args: str) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)


def test_every_export_writes_stored_control_characters_as_replacement_characters(
    web: Web, tmp_path: Path
) -> None:
    """Finding 1: ``edc export odm`` exited 1 and ``/exports/odm`` answered 500 on such data."""
    poison(web)
    for mode in (["--snapshot"], ["--transactional"], ["--transactional", "--audit"]):
        out = tmp_path / f"odm{len(mode)}.xml"
        edc("export", "odm", *mode, "--metadata", "--admin", "-o", str(out), "--db", web.url)
        root = etree.fromstring(out.read_bytes(), make_parser())
        strings = [s for el in root.iter() for s in (el.text or "", *el.attrib.values())]
        assert any(s.startswith("v\ufffd\ufffd") for s in strings), mode
        assert any("Ivy\ufffd" in s for s in strings), mode
    audit = etree.fromstring((tmp_path / "odm2.xml").read_bytes(), make_parser())
    reasons = [el.text for el in audit.iter("{*}ReasonForChange")]
    assert any(r and r.startswith("r\ufffd") for r in reasons)
    edc("export", "define", "-o", str(tmp_path / "define.xml"), "--db", web.url)
    etree.fromstring((tmp_path / "define.xml").read_bytes(), make_parser())
    edc("export", "csv", "-o", str(tmp_path / "csv"), "--db", web.url)
    with (tmp_path / "csv" / "t.csv").open(newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert any(c.startswith("v\ufffd\ufffd") for c in cells), cells
    edc("export", "dataset-json", "-o", str(tmp_path / "json"), "--db", web.url)
    data = json.loads((tmp_path / "json" / "t.json").read_text(encoding="utf-8"))
    assert any(isinstance(v, str) and v.startswith("v\ufffd") for r in data["rows"] for v in r)
    dm = web.client("dm")
    dm.get("/exports")
    for route, form in (
        ("/exports/odm", {"mode": "audit", "admin": "1", "metadata": "1"}),
        ("/exports/csv", {}),
        ("/exports/dataset-json", {}),
        ("/exports/define", {}),
    ):
        r = dm.post(route, form)
        assert r.status_code == 200, route
        if route == "/exports/odm":
            etree.fromstring(r.get_data(), make_parser())


# -- at the door: the command line ---------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        (("S" * 101, "1", "1"), "SubjectKey"),
        (("DE01-009", "9" * 101, "1"), "StudyEventRepeatKey"),
        (("DE01-010", "1", "8" * 101), "ItemGroupRepeatKey"),
    ],
)
def test_an_import_with_a_key_over_its_column_is_rejected_with_the_field_named(
    web: Web, tmp_path: Path, keys: tuple[str, str, str], field: str
) -> None:
    """PostgreSQL's VARCHAR(100) refused such a key mid-import: a traceback, exit 1."""
    envelope = odm().decode()
    head = envelope[: envelope.index("<Study ")]
    data = (
        f'<ClinicalData StudyOID="{STUDY}" MetaDataVersionOID="MDV.1">'
        f'<SubjectData SubjectKey="{keys[0]}"><SiteRef LocationOID="{SITE}"/>'
        f'<StudyEventData StudyEventOID="SE.R" StudyEventRepeatKey="{keys[1]}">'
        f'<FormData FormOID="F.R"><ItemGroupData ItemGroupOID="IG.R" '
        f'ItemGroupRepeatKey="{keys[2]}"><ItemData ItemOID="IT.NOTE" Value="x"/>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData></ODM>\n"
    )
    path = tmp_path / "import.xml"
    path.write_text(head + data, encoding="utf-8")
    before = dump(web.engine)
    result = CliRunner().invoke(main, ["import", str(path), "--user", "dm", "--db", web.url])
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{field}: 101 characters is too long; at most 100" in result.output
    assert dump(web.engine) == before


def test_an_import_reason_with_a_control_character_is_a_usage_error(
    web: Web, tmp_path: Path
) -> None:
    path = tmp_path / "import.xml"
    path.write_bytes(odm())
    result = CliRunner().invoke(
        main, ["import", str(path), "--user", "dm", "--reason", "typo\x08", "--db", web.url]
    )
    assert result.exit_code == 2, result.output
    assert "Reason for change" in result.output and "U+0008" in result.output
    result = CliRunner().invoke(
        main, ["user", "add", "eve\x01", "--password", "x", "--db", web.url]
    )
    assert result.exit_code == 2 and "Username: character U+0001" in result.output


def test_a_signature_meaning_xml_cannot_carry_is_refused_by_the_store(web: Web) -> None:
    """The meaning comes from the study's SignatureDef (parsed XML, so clean); the store
    checks it anyway, as every text it writes."""
    from odm_engine.clinical import FormKey
    from storage.signatures import sign_form

    assert saved(web, {TEXT: "signed text"}) == 303
    before = dump(web.engine)
    with pytest.raises(TextRefusedError, match="Signature meaning: character U\\+0007"):
        with write_transaction(web.engine) as conn:
            sign_form(
                conn,
                study=STUDY,
                subject_key=SUBJECT,
                form=FormKey("SE.V", "", "F.T", ""),
                user="inv_a",
                password=PASSWORD,
                signature_def_oid="SD.1",
                meaning="I agree\x07",
                expected_version=1,
            )
    assert dump(web.engine) == before

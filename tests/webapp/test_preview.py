"""``edc preview``: the designer's live preview of an ODM file (issue 16, item 7).

Through Flask's test client: the forms listed and rendered as sites see them, a finding next
to its item with a working line link, the language switch, a new render after the file is
rewritten (new SHA-256, new content), a file that does not load shown as its findings (200),
"try it" running a hard range check, a skip condition and a derivation; and the command's
refusal to bind to anything but localhost.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from lxml import html

from cli import main
from cli.preview import is_loopback
from tests.conftest import odm
from tests.webapp.test_browser import ARGS, CHROMIUM, require_chromium
from webapp.preview import create_app

YN = """<CodeList OID="CL.YN" Name="Yes/No" DataType="text">
  <CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText>
    <TranslatedText xml:lang="de">Ja</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="N"><Decode><TranslatedText xml:lang="en">No</TranslatedText>
    <TranslatedText xml:lang="de">Nein</TranslatedText></Decode></CodeListItem></CodeList>"""

BODY = f"""<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.VS" Mandatory="Yes"/><FormRef FormOID="F.2" Mandatory="No"/></StudyEventDef>
<FormDef OID="F.VS" Name="Vital signs" Repeating="No">
  <Description><TranslatedText xml:lang="en">Vital signs</TranslatedText>
    <TranslatedText xml:lang="de">Vitalzeichen</TranslatedText></Description>
  <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/></FormDef>
<FormDef OID="F.2" Name="Second form" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.2" Mandatory="Yes"/></FormDef>
<ItemGroupDef OID="IG.VS" Name="Vital signs" Repeating="No">
  <ItemRef ItemOID="IT.SMOKER" Mandatory="Yes"/>
  <ItemRef ItemOID="IT.CIGS" Mandatory="No" CollectionExceptionConditionOID="C.NONSMOKER"/>
  <ItemRef ItemOID="IT.AGE" Mandatory="No"/>
  <ItemRef ItemOID="IT.H" Mandatory="No"/>
  <ItemRef ItemOID="IT.W" Mandatory="No"/>
  <ItemRef ItemOID="IT.BMI" Mandatory="No" MethodOID="MT.BMI"/>
  <ItemRef ItemOID="IT.TEMP" Mandatory="No"/></ItemGroupDef>
<ItemGroupDef OID="IG.2" Name="Other" Repeating="No">
  <ItemRef ItemOID="IT.NOTE" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="IT.SMOKER" Name="Smoker" DataType="text" Length="1">
  <Question><TranslatedText xml:lang="en">Does the patient smoke?</TranslatedText>
    <TranslatedText xml:lang="de">Raucht der Patient?</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.YN"/></ItemDef>
<ItemDef OID="IT.CIGS" Name="Cigarettes per day" DataType="integer" Length="3"/>
<ItemDef OID="IT.AGE" Name="Age" DataType="integer" Length="3">
  <RangeCheck Comparator="LE" SoftHard="Hard"><CheckValue>120</CheckValue>
    <ErrorMessage><TranslatedText xml:lang="en">Age over 120: check the birth date.</TranslatedText>
    </ErrorMessage></RangeCheck></ItemDef>
<ItemDef OID="IT.H" Name="Height" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.W" Name="Weight" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.BMI" Name="BMI" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.TEMP" Name="Temperature" DataType="float" Length="4" SignificantDigits="1">
  <RangeCheck Comparator="GT" SoftHard="Soft"><CheckValue>warm</CheckValue></RangeCheck></ItemDef>
<ItemDef OID="IT.NOTE" Name="Note" DataType="text" Length="20"/>
{YN}
<ConditionDef OID="C.NONSMOKER" Name="Not a smoker">
  <Description><TranslatedText xml:lang="en">Not a smoker</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.SMOKER != 'Y'</FormalExpression></ConditionDef>
<MethodDef OID="MT.BMI" Name="BMI" Type="Computation">
  <Description><TranslatedText xml:lang="en">BMI</TranslatedText></Description>
  <FormalExpression Context="OEL">round(IT.W / (IT.H / 100 * (IT.H / 100)), 1)</FormalExpression>
</MethodDef>"""


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    path = tmp_path / "STUDY.xml"
    path.write_bytes(odm(BODY))
    return path


@pytest.fixture
def client(study_file: Path) -> FlaskClient:
    return create_app(study_file).test_client()


def page(client: FlaskClient, url: str, status: int = 200) -> html.HtmlElement:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    return html.fromstring(response.text)


def line_of(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(needle)


def test_index_lists_the_events_and_forms_and_each_form_renders(client: FlaskClient) -> None:
    doc = page(client, "/")
    event = doc.xpath("//tr[@data-event='SE.1']")[0]
    assert event.xpath(".//li/@data-form") == ["F.VS", "F.2"]
    for href in event.xpath(".//li/a/@href"):
        form = page(client, href)
        body = form.xpath("//div[@class='edc-form']")
        assert len(body) == 1  # the renderer's form body, as the app embeds it
        assert form.xpath("//script[@src='/static/form/form.js']")
    vs = page(client, "/form/F.VS?event=SE.1")
    assert vs.xpath("//input[@name='IG.VS[].IT.AGE']")
    assert vs.xpath("//div[@data-field='IG.VS[].IT.CIGS'][@data-condition='C.NONSMOKER']")
    assert client.get("/static/form/form.js").status_code == 200
    assert client.get("/form/F.NONE").status_code == 404


def test_a_finding_sits_next_to_its_item_and_links_to_its_line(
    client: FlaskClient, study_file: Path
) -> None:
    doc = page(client, "/form/F.VS?event=SE.1")
    at_item = doc.xpath("//div[@data-item='IT.TEMP']/ul[contains(@class,'preview-findings')]/li")
    at_item = [li for li in at_item if li.get("data-code") != "ODM-ITEM-001"]  # no Question
    assert [li.get("data-code") for li in at_item] == ["ODM-RC-001"]
    assert "warm" in at_item[0].text_content()
    line = line_of(study_file, "CheckValue>warm<")
    link = at_item[0].xpath("./a[@class='line']/@href")[0]
    assert link == f"/source#L{line}"
    assert not doc.xpath(
        "//div[@data-item='IT.AGE']/ul[contains(@class,'preview-findings')]"
        # the fixture's items have no Question, and its German lacks the RangeCheck message
        "/li[@data-code!='ODM-ITEM-001' and @data-code!='ODM-LANG-002']"
    )
    source = page(client, link.split("#")[0])
    row = source.xpath(f"//tr[@id='L{line}']")[0]
    assert "warm" in row.xpath(".//pre")[0].text_content()
    assert row.xpath(".//li[@data-code='ODM-RC-001']")
    # the other form does not show it next to an element, but lists it
    other = page(client, "/form/F.2")
    assert not other.xpath("//div[@class='edc-form']//li[@data-code='ODM-RC-001']")
    assert other.xpath("//main/ul[@class='preview-findings']/li[@data-code='ODM-RC-001']")
    index = page(client, "/")
    shown_on = index.xpath("//li[@data-code='ODM-RC-001']//span[@class='shown-on']/a/text()")
    assert shown_on == ["F.VS"]


def test_the_language_switch_offers_the_study_languages(client: FlaskClient) -> None:
    doc = page(client, "/form/F.VS?event=SE.1")
    switch = doc.xpath("//nav[@class='languages']/a")
    assert [a.text for a in switch] == ["en", "de"]
    german = page(client, switch[1].get("href"))
    assert german.xpath("//h2[@class='form-title']/text()") == ["Vitalzeichen"]
    assert "Raucht der Patient?" in german.text_content()
    assert "Does the patient smoke?" in doc.text_content()
    assert page(client, "/form/F.VS?lang=xx").xpath("//html/@lang") == ["en"]


def test_a_rewritten_file_is_shown_at_once(client: FlaskClient, study_file: Path) -> None:
    before = client.get("/_state").json
    assert before is not None and before["loads"] is True
    assert "Temperature" in client.get("/form/F.VS").text
    study_file.write_bytes(odm(BODY.replace('Name="Temperature"', 'Name="Body temperature"')))
    after = client.get("/_state").json
    assert after is not None and after["sha256"] != before["sha256"]
    doc = page(client, "/form/F.VS")
    assert doc.xpath("//body/@data-sha") == [after["sha256"]]
    assert "Body temperature" in doc.text_content()
    study_file.write_bytes(odm(BODY))  # undone: the earlier snapshot again
    again = client.get("/_state").json
    assert again is not None and again["sha256"] == before["sha256"]


def test_a_file_that_does_not_load_shows_its_findings(
    client: FlaskClient, study_file: Path
) -> None:
    good = client.get("/form/F.VS").text
    assert "edc-form" in good
    study_file.write_bytes(odm(BODY).replace(b"</ItemGroupDef>", b"</ItemGroup>", 1))
    for url in ("/", "/form/F.VS", "/source"):
        response = client.get(url)
        assert response.status_code == 200
    doc = page(client, "/form/F.VS")
    assert not doc.xpath("//div[@class='edc-form']")  # the last good render is not shown
    assert doc.xpath("//h1/text()") == ["The file does not load"]
    xml = doc.xpath("//li[@data-code='ODM-XML-001']")
    assert xml and xml[0].xpath("./a[@class='line']/@href")[0].startswith("/source#L")
    state = client.get("/_state").json
    assert state is not None and state["loads"] is False
    study_file.unlink()
    gone = page(client, "/")
    assert gone.xpath("//li[@data-code='EDC-PREVIEW-001']")


def _try(client: FlaskClient, fields: dict[str, str]) -> html.HtmlElement:
    response = client.post("/form/F.VS?event=SE.1", data=fields)
    assert response.status_code == 200, response.text[:500]
    return html.fromstring(response.text)


def test_try_it_runs_a_hard_range_check(client: FlaskClient) -> None:
    doc = _try(client, {"IG.VS[].IT.SMOKER": "Y", "IG.VS[].IT.AGE": "130"})
    assert "Nothing was saved" in doc.xpath("//section[@class='try-outcome']/p")[0].text_content()
    assert "Age over 120" in doc.xpath("//ul[@class='try-hard']")[0].text_content()
    messages = doc.xpath("//div[@data-item='IT.AGE']/ul[@class='messages']")[0].text_content()
    assert "Age over 120" in messages  # next to the field, as the app shows it
    assert doc.xpath("//input[@name='IG.VS[].IT.AGE']/@value") == ["130"]
    ok = _try(client, {"IG.VS[].IT.SMOKER": "Y", "IG.VS[].IT.AGE": "40"})
    assert "Saved. Queries opened: 0." in ok.text_content()
    assert not ok.xpath("//ul[@class='try-hard']")


def test_try_it_runs_skip_logic_and_derivations(client: FlaskClient) -> None:
    doc = _try(
        client,
        {"IG.VS[].IT.SMOKER": "N", "IG.VS[].IT.H": "180", "IG.VS[].IT.W": "81"},
    )
    skipped = doc.xpath("//ul[@class='try-skipped']/li/code/text()")
    assert skipped == ["IG.VS/IT.CIGS"]
    assert doc.xpath("//div[@data-item='IT.CIGS']/@data-not-collected") == ["true"]
    assert doc.xpath("//ul[@class='try-derived']/li/code/text()") == ["IT.BMI"]
    assert "= 25.0" in doc.xpath("//ul[@class='try-derived']/li")[0].text_content()
    shown = doc.xpath("//input[@name='IG.VS[].IT.BMI']/@value")
    assert [float(v) for v in shown] == [25.0]  # the form shows the derived value
    smoker = _try(client, {"IG.VS[].IT.SMOKER": "Y"})
    assert not smoker.xpath("//ul[@class='try-skipped']")
    assert not smoker.xpath("//div[@data-item='IT.CIGS']/@data-not-collected")


def test_the_page_polls_the_state_of_the_file(client: FlaskClient) -> None:
    doc = page(client, "/form/F.VS?event=SE.1")
    body = doc.xpath("//body")[0]
    assert body.get("data-state") == "/_state"
    assert body.get("data-url") == "/form/F.VS?event=SE.1&lang=en"
    assert doc.xpath("//script[@src='/static/preview.js']")
    script = client.get("/static/preview.js").text
    assert re.search(r"INTERVAL = 300\b", script)
    response = client.get("/_state")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_the_command_refuses_a_host_that_is_not_loopback(study_file: Path, host: str) -> None:
    result = CliRunner().invoke(main, ["preview", str(study_file), "--host", host])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output and "--allow-remote" in result.output


def test_the_command_serves_loopback_and_remote_when_allowed(
    study_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int, bool]] = []

    def run_simple(host: str, port: int, app: object, **options: object) -> None:
        calls.append((host, port, bool(options.get("threaded"))))

    monkeypatch.setattr("werkzeug.serving.run_simple", run_simple)
    ok = CliRunner().invoke(main, ["preview", str(study_file), "--port", "8123"])
    assert ok.exit_code == 0, ok.output
    remote = ["preview", str(study_file), "--host", "0.0.0.0", "--allow-remote"]
    assert CliRunner().invoke(main, remote).exit_code == 0
    assert calls == [("127.0.0.1", 8123, True), ("0.0.0.0", 8100, True)]
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.1.1"))
    missing = CliRunner().invoke(main, ["preview", str(study_file.with_name("none.xml"))])
    assert missing.exit_code == 2


@contextmanager
def served(path: Path) -> Iterator[str]:
    """The preview of ``path`` on a free loopback port, in a thread, until the block ends."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(path), threaded=True)  # bound, no race
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.browser
@pytest.mark.slow
def test_the_open_page_shows_a_save_within_a_second(study_file: Path) -> None:
    """Chromium shows the preview; the file is rewritten; the page changes within 1 s."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with served(study_file) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        errors: list[str] = []
        try:
            view = browser.new_page(locale="en-GB")
            view.on("pageerror", lambda exc: errors.append(str(exc)))
            view.goto(base + "/form/F.VS?event=SE.1")
            label = view.locator("#main label", has_text="Temperature")
            assert label.count() == 1
            view.check('input[type=radio][name="IG.VS[].IT.SMOKER"][value="N"]')
            cigs = view.locator('[data-field="IG.VS[].IT.CIGS"]')
            cigs.wait_for(state="hidden", timeout=2000)  # the app's form script runs here too
            before = view.get_attribute("body", "data-sha")
            changed = BODY.replace('Name="Temperature"', 'Name="Body temperature"')
            study_file.write_bytes(odm(changed))
            written = time.monotonic()
            view.locator("#main label", has_text="Body temperature").wait_for(timeout=1000)
            seen = time.monotonic() - written
            assert view.get_attribute("body", "data-sha") != before
            assert seen < 1.0, seen
            study_file.write_bytes(odm(changed).replace(b"</ItemGroupDef>", b"</ItemGroup>", 1))
            view.locator("h1", has_text="The file does not load").wait_for(timeout=1000)
            assert view.locator("div.edc-form").count() == 0
        finally:
            browser.close()
    assert not errors, errors


PLACES = """<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.1" Name="Form" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.ONE" Mandatory="Yes" CollectionExceptionConditionOID="C.BAD"/>
  <ItemGroupRef ItemGroupOID="IG.ROWS" Mandatory="No"/></FormDef>
<ItemGroupDef OID="IG.ONE" Name="One" Repeating="No">
  <ItemRef ItemOID="IT.CODED" Mandatory="No"/></ItemGroupDef>
<ItemGroupDef OID="IG.ROWS" Name="Rows" Repeating="Yes">
  <ItemRef ItemOID="IT.DOSE" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="IT.CODED" Name="Coded" DataType="text" Length="2">
  <CodeListRef CodeListOID="CL.MISSING"/></ItemDef>
<ItemDef OID="IT.DOSE" Name="Dose" DataType="integer" Length="3">
  <RangeCheck Comparator="GT" SoftHard="Hard"><CheckValue>lots</CheckValue></RangeCheck></ItemDef>
<ConditionDef OID="C.BAD" Name="Bad">
  <Description><TranslatedText xml:lang="en">Bad</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.NOWHERE = 1</FormalExpression></ConditionDef>"""


def test_findings_are_placed_at_groups_columns_and_by_line(tmp_path: Path) -> None:
    """A ConditionDef's finding under the legend of the group whose Ref names it; an item of
    a repeating group's at its column head (not in every row); a CodeListRef naming no
    CodeList (the finding names the missing OID) at the item whose element holds its line."""
    path = tmp_path / "PLACES.xml"
    path.write_bytes(odm(PLACES))
    doc = page(create_app(path).test_client(), "/form/F.1")
    group = doc.xpath("//fieldset[@data-group='IG.ONE']/ul[contains(@class,'at-group')]/li")
    assert "ODM-EXPR-102" in [li.get("data-code") for li in group]
    column = doc.xpath("//th[@data-item='IT.DOSE']/ul[contains(@class,'preview-findings')]/li")
    column = [li for li in column if li.get("data-code") != "ODM-ITEM-001"]  # no Question
    assert [li.get("data-code") for li in column] == ["ODM-RC-001"]
    assert len(doc.xpath("//li[@data-code='ODM-RC-001']")) == 1  # not repeated per row
    coded = doc.xpath(
        "//div[@data-item='IT.CODED']/ul[contains(@class,'at-item')]/li"
        "[@data-code!='ODM-ITEM-001']"  # the fixture's items have no Question
    )
    assert [li.get("data-code") for li in coded] == ["ODM-REF-001"]
    line = line_of(path, '<ItemDef OID="IT.CODED"')  # the loader reports it at the ItemDef
    assert coded[0].xpath("./a/@href") == [f"/source#L{line}"]


def test_try_it_says_the_engines_messages_in_the_pages_language(client: FlaskClient) -> None:
    response = client.post("/form/F.VS?event=SE.1&lang=de", data={"IG.VS[].IT.AGE": "1234"})
    assert response.status_code == 200, response.text[:500]
    hard = html.fromstring(response.text).xpath("//ul[@class='try-hard']")[0].text_content()
    assert (
        "IT.AGE: '1234' hat 4 Ziffern; höchstens 3 sind erlaubt (Length=3). Prüfen Sie den "
        "Wert; ist er richtig, ist die Length der ItemDef zu klein."
    ) in hard

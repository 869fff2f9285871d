"""Script, event handlers, javascript: URLs and template syntax in every ODM text field and
in entered values are shown as text in every page, export and PDF (stored XSS: REDCap
CVE-2012-6565, CVE-2021-42136; template injection). ODM text is data, never markup."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree

from cli import main
from odm_engine.safexml import make_parser
from tests.printing.conftest import page_texts
from tests.security.hostile_study import (
    FIELD,
    FORM_URL,
    HOSTILE_SUBJECT,
    PAYLOAD,
    SITE,
    SUBJECT,
    hostile_web,
)
from tests.webapp.conftest import Web

SCRIPT = "<script>alert(1)</script>"
TEMPLATE = "{{ 7*7 }}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The hostile study with the payload also entered as a value, a reason for change, a
    query and its answer."""
    web = hostile_web(tmp_path_factory.mktemp("hostile") / "h.sqlite3")
    inv = web.client("inv_a")
    inv.get(FORM_URL)
    r = inv.post(FORM_URL, {FIELD: PAYLOAD, "IG.1[].IT.CODED": "A", "expected_version": "0"})
    assert r.status_code == 303
    inv.get(FORM_URL)
    changed = {FIELD: f"{PAYLOAD} 2", "expected_version": "1", "reason": PAYLOAD}
    assert inv.post(FORM_URL, changed).status_code == 303
    mon = web.client("mon_a")
    mon.get(FORM_URL)
    raised = {"event_oid": "SE.1", "form_oid": "F.1", "field": FIELD, "message": PAYLOAD}
    assert mon.post(f"/subjects/{SUBJECT}/queries", raised).status_code == 303
    yield web
    web.engine.dispose()


def assert_inert(html: str, where: str, *, inline_js: bool = False) -> None:
    """Parsed as a browser would: scripts only from /static/ (the standalone preview inlines
    oel.js), JSON data blocks that still parse as JSON (a ``</script>`` in the payload would
    have ended them early), no on* handler, no javascript: URL, the payload shown as text."""
    doc = lxml.html.fromstring(html)
    for script in doc.iter("script"):
        body = script.text or ""
        if script.get("type") == "application/json":
            json.loads(body)
        elif inline_js and not script.get("src"):
            assert "alert(" not in body, where
        else:
            assert script.get("src", "").startswith("/static/"), (where, script.attrib)
            assert not body.strip(), where
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (where, el.tag, name)
            if name in ("href", "src", "action", "formaction"):
                assert not value.strip().lower().startswith("javascript:"), (where, value)
    text = doc.text_content()
    assert SCRIPT in text, f"{where}: the payload is not shown as text"
    assert TEMPLATE in text, f"{where}: template syntax was evaluated or dropped"


def pages() -> dict[str, str]:
    history = f"{FORM_URL}/history?field={quote(FIELD)}"
    return {
        "sites": "/sites",
        "subject list": f"/sites/{SITE}/subjects",
        "casebook": f"/subjects/{SUBJECT}",
        "casebook of a hostile SubjectKey": f"/subjects/{quote(HOSTILE_SUBJECT, safe='')}",
        "form": FORM_URL,
        "item history": history,
        "queries": "/queries?status=all",
        "signing": f"/subjects/{SUBJECT}/sign",
    }


@pytest.mark.parametrize("page", sorted(pages()))
def test_every_page_shows_the_payload_as_text(hostile: Web, page: str) -> None:
    user = "mon_a" if page == "queries" else "inv_a"
    r = hostile.client(user).get(pages()[page])
    assert r.status_code == 200, page
    assert_inert(r.get_data(as_text=True), page)


def test_a_refused_value_is_shown_back_as_text(hostile: Web) -> None:
    """The hard-error page re-renders what the user typed: still text."""
    inv = hostile.client("inv_a")
    inv.get(FORM_URL)
    r = inv.post(FORM_URL, {FIELD: "x" * 201 + PAYLOAD, "expected_version": "2", "reason": "r"})
    assert r.status_code == 422
    assert_inert(r.get_data(as_text=True), "refused form")


def test_standalone_preview_shows_the_payload_as_text(tmp_path: Path) -> None:
    from tests.security.hostile_study import hostile_study_xml

    source, out = tmp_path / "h.xml", tmp_path / "form.html"
    source.write_bytes(hostile_study_xml())
    result = CliRunner().invoke(main, ["render", "F.1", "--metadata", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert_inert(html, "preview", inline_js=True)


def xml_strings(path: Path) -> list[str]:
    root = etree.fromstring(path.read_bytes(), make_parser())
    out = []
    for el in root.iter():
        out += [el.text or "", *el.attrib.values()]
    return out


def edc(*args: str) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("fmt", ["odm", "define", "csv", "dataset-json"])
def test_exports_are_well_formed_and_keep_the_payload_as_data(
    hostile: Web, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    if fmt == "odm":
        edc("export", "odm", "--metadata", "--admin", "-o", str(out), "--db", hostile.url)
        strings = xml_strings(out)
    elif fmt == "define":
        edc("export", "define", "-o", str(out), "--db", hostile.url)
        strings = xml_strings(out)
    elif fmt == "csv":
        edc("export", "csv", "-o", str(out), "--db", hostile.url)
        strings = [
            cell
            for f in sorted(out.iterdir())
            for row in csv.reader(f.open(newline="", encoding="utf-8"))
            for cell in row
        ]
    else:
        edc("export", "dataset-json", "-o", str(out), "--db", hostile.url)
        strings = []

        def walk(node: object) -> None:
            if isinstance(node, str):
                strings.append(node)
            elif isinstance(node, dict):
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        for f in sorted(out.iterdir()):
            walk(json.loads(f.read_text(encoding="utf-8")))
    assert any(PAYLOAD in s for s in strings), f"{fmt}: the payload did not survive as text"


@pytest.mark.slow
def test_printed_pdfs_show_the_payload_as_text(hostile: Web, tmp_path: Path) -> None:
    blank, casebook = tmp_path / "blank.pdf", tmp_path / "casebook.pdf"
    edc("print", "blank", "-o", str(blank), "--db", hostile.url)
    edc("print", "casebook", SUBJECT, "-o", str(casebook), "--db", hostile.url)
    for pdf in (blank, casebook):
        text = " ".join(page_texts(pdf.read_bytes()))
        assert SCRIPT in text, pdf.name
        assert TEMPLATE in text, pdf.name

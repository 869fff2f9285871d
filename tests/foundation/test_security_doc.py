"""docs/security.md names a standing test for every control (issue 14, acceptance): every test
and test file it names exists, so a renamed or removed test cannot leave a control unproven
on the page."""

from __future__ import annotations

import re

from tests.conftest import REPO

DOC = (REPO / "docs" / "security.md").read_text(encoding="utf-8")


def _defined_tests() -> set[str]:
    return {
        name
        for path in (REPO / "tests").rglob("test_*.py")
        for name in re.findall(r"^\s*(?:async )?def (test_\w+)\(", path.read_text(), re.M)
    }


def test_every_test_the_page_names_exists() -> None:
    files = set(re.findall(r"`(tests/[\w/]+\.py)", DOC))
    named = set(re.findall(r"`(?:tests/[\w/]+\.py::)?(test_\w+)`", DOC))
    assert len(files) > 20 and len(named) > 80  # the scan sees the tables
    assert sorted(f for f in files if not (REPO / f).is_file()) == []
    assert sorted(named - _defined_tests()) == []


def test_every_control_row_names_a_test() -> None:
    controls = DOC.split("## What each test proves", 1)[1].split("\n## ", 1)[0]
    headers = ("| ---", "| attack", "| control", "| fault")
    rows = [r for r in controls.splitlines() if r.startswith("| ") and not r.startswith(headers)]
    assert len(rows) > 30
    assert [r[:80] for r in rows if "test" not in r] == []

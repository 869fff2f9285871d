"""The designers' guide documents every finding code the engine can emit."""

from __future__ import annotations

from odm_engine.findings import CATALOGUE
from tests.conftest import REPO


def test_every_finding_code_is_in_the_guides() -> None:
    docs = "".join(p.read_text(encoding="utf-8") for p in (REPO / "docs").glob("*.md"))
    missing = [code for code in CATALOGUE if f"`{code}`" not in docs]
    assert missing == [], f"document these codes in docs/odm-authoring.md: {missing}"

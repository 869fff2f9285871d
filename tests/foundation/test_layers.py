"""The cli package is the top of the stack: no package imports it (import-linter covers the rest)."""

from __future__ import annotations

import re

from tests.conftest import REPO

IMPORTS_CLI = re.compile(r"^\s*(from\s+cli\s+import|import\s+cli\b)", re.MULTILINE)


def test_no_package_imports_the_cli() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for package in ("odm_engine", "renderers", "services", "storage", "webapp")
        for path in (REPO / package).rglob("*.py")
        if IMPORTS_CLI.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []

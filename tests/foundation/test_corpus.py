"""Manifest-driven regression over the shared interop corpus ($EDC_CORPUS).

Every file gives a result without a traceback. Valid ODM 1.3.x (as shipped or once vendor
extensions are set aside) with resolving references gives zero errors; a file still invalid
after stripping, or with unresolved references, gives located errors.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from odm_engine.findings import Finding, Severity
from odm_engine.validate import iter_findings


def manifest_rows() -> list[dict[str, str]]:
    root = os.environ.get("EDC_CORPUS")
    if not root or not (Path(root) / "MANIFEST.tsv").is_file():
        return []
    with open(Path(root) / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] != "stylesheet"]


ROWS = manifest_rows()
IDS = [r["path"] for r in ROWS] or ["no-corpus"]


def xsd_verdict(row: dict[str, str]) -> tuple[bool, int | None]:
    """(valid as shipped or after stripping, line of the first remaining schema error)."""
    text = row["xsd_check"]
    if "after stripping" in text:
        after = text.rsplit(";", 1)[-1]
        if after.strip().startswith("valid after stripping"):
            return True, None
        match = re.search(r"first: L(\d+)", after)
        return False, int(match.group(1)) if match else None
    if ": valid" in text:
        return True, None
    match = re.search(r"first: L(\d+)", text)
    return False, int(match.group(1)) if match else None


def unresolved_examples(row: dict[str, str]) -> list[str]:
    return (
        re.findall(r"@\w+=([^;)]+)", row["oid_ref_check"])
        if "unresolved" in row["oid_ref_check"]
        else []
    )


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


@pytest.mark.parametrize("row", ROWS or [None], ids=IDS)
def test_corpus_file(row: dict[str, str] | None, corpus: Path) -> None:
    assert row is not None
    path = corpus / row["path"]
    findings = list(iter_findings(path.read_bytes(), path=row["path"]))
    version = row["odm_version"]
    if version.startswith("2.0") or row["kind"] == "odm2":
        assert [f.code for f in findings] == ["ODM-VER-002"]
        return
    xsd_ok, first_line = xsd_verdict(row)
    unresolved = unresolved_examples(row)
    errs = errors(findings)
    if not version.startswith("1.3"):
        assert errs, "an ODM 1.1 file cannot be clean"
        assert all(f.line for f in errs)
        return
    if xsd_ok and not unresolved:
        assert errs == [], "\n".join(f.format() for f in errs)
        return
    assert errs, "expected located errors"
    assert all(f.line for f in errs if f.code != "ODM-XSD-001" or "more schema" not in f.message)
    if not xsd_ok and first_line is not None:
        assert first_line in {f.line for f in errs}, (first_line, [f.format() for f in errs][:5])
    loaded = not any(f.code.startswith("ODM-XML") for f in errs)
    if loaded and xsd_ok:
        # Schema-valid but with dangling references: each one is named and located.
        error_oids = {f.oid for f in errs}
        for oid in unresolved:
            assert oid.strip() in error_oids, (oid, [f.format() for f in errs][:8])

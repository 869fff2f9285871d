"""A failed ``edc export`` leaves no truncated file (issue 14, finding 14): every format is
written to a temporary file (or directory) next to the output and renamed onto it only when
complete, so the output path does not exist afterwards, or keeps its old content."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import renderers.odm
import renderers.tabular
from cli import main
from tests.security.test_text_at_the_door import NUM, TEXT, saved, seeded, web
from tests.webapp.conftest import Web

__all__ = ["seeded", "web"]

DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


def failing_odm(real: Callable[..., Any]) -> Callable[..., Any]:
    def write(out, *args, **kwargs):  # type: ignore[no-untyped-def]
        out.write(b'<?xml version="1.0"?>\n<ODM partial="yes">' + b" " * 100_000)
        out.flush()
        raise DISK_FULL

    return write


def failing_tabular(real: Callable[..., Any]) -> Callable[..., Any]:
    def write(out_dir: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        files = real(out_dir, *args, **kwargs)  # every file complete...
        files[-1].write_bytes(files[-1].read_bytes()[:7])  # ...but the last, cut short
        raise DISK_FULL

    return write


CASES = {
    "odm": (renderers.odm, "write_odm", failing_odm, False),
    "csv": (renderers.tabular, "write_csv", failing_tabular, True),
    "dataset-json": (renderers.tabular, "write_dataset_json", failing_tabular, True),
}


@pytest.mark.parametrize("web", ["sqlite"], indirect=True)  # files only: any database will do
@pytest.mark.parametrize("fmt", sorted(CASES))
@pytest.mark.parametrize("before", ["absent", "old content"])
def test_a_failed_export_leaves_no_partial_output(
    web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, before: str
) -> None:
    assert saved(web, {TEXT: "a value", NUM: "1"}) == 303
    module, name, make_failing, directory = CASES[fmt]
    out = tmp_path / "export"
    if before == "old content":
        if directory:
            out.mkdir()
            (out / "old.csv").write_text("old")
        else:
            out.write_bytes(b"old")
    monkeypatch.setattr(module, name, make_failing(getattr(module, name)))
    result = CliRunner().invoke(main, ["export", fmt, "-o", str(out), "--db", web.url])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "cannot write" in result.output and "No space left" in result.output
    if before == "absent":
        assert not out.exists(), sorted(out.iterdir()) if out.is_dir() else out.read_bytes()[:80]
    elif directory:
        assert sorted(p.name for p in out.iterdir()) == ["old.csv"]
        assert (out / "old.csv").read_text() == "old"
    else:
        assert out.read_bytes() == b"old"
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("w.sqlite3"))
    assert left == ([] if before == "absent" else ["export"]), "a temporary file was left"


@pytest.mark.parametrize("web", ["sqlite"], indirect=True)
@pytest.mark.parametrize("fmt", ["odm", "define", "csv", "dataset-json"])
def test_a_successful_export_replaces_the_old_output(web: Web, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "export"
    directory = fmt in ("csv", "dataset-json")
    if directory:
        out.mkdir()
        (out / "t.csv").write_text("old")
    else:
        out.write_bytes(b"old")
    result = CliRunner().invoke(main, ["export", fmt, "-o", str(out), "--db", web.url])
    assert result.exit_code == 0, result.output
    if directory:
        assert {p.name for p in out.iterdir()} >= {"t.csv" if fmt == "csv" else "t.json"}
        if fmt == "csv":
            assert (out / "t.csv").read_text().startswith("STUDYID")
    else:
        assert out.read_bytes().startswith(b"<?xml")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")]
    assert leftovers == []

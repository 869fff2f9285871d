"""A tabular export as one zip archive (the web app's download), written without holding it
in memory: the writer fills a temporary directory, each file is deflated into ``out``."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from odm_engine import model as m
from odm_engine.exchange.records import SubjectRecord

TabularWriter = Callable[..., list[Path]]
""":func:`renderers.tabular.write_csv` or :func:`renderers.tabular.write_dataset_json`."""


def write_zip(
    out: BinaryIO,
    writer: TabularWriter,
    odm: m.ODM,
    subjects: Iterable[SubjectRecord],
    *,
    study_oid: str | None = None,
) -> list[str]:
    """Run ``writer`` and store every file it wrote in the zip ``out``; their names."""
    with tempfile.TemporaryDirectory(prefix="edc-export-") as tmp:
        files = writer(Path(tmp), odm, subjects, study_oid=study_oid)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, arcname=path.name)
    return [path.name for path in files]

"""services.imports.import_clinical_data: the import use case with plain inputs and a plain
report (the CLI's `edc import` presents the same report; tests/exchange covers its output)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from services.exports import ExportSelection, export
from services.imports import ALREADY, DRY_RUN, IMPORTED, import_clinical_data
from storage.engine import make_engine
from tests.exchange.test_import_export import _data_file, db  # noqa: F401 - fixture


def test_a_dry_run_reports_what_it_would_write_and_writes_nothing(
    db: str,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    engine = make_engine(db)
    data = _data_file(tmp_path)
    dry = import_clinical_data(engine, str(data), user="dm", dry_run=True)
    assert (dry.status, dry.subjects, dry.problems) == (DRY_RUN, 2, 0)
    assert dry.items_written > 0 and dry.summary()["status"] == "dry run"
    done = import_clinical_data(engine, str(data), user="dm")
    assert (done.status, done.items_written) == (IMPORTED, dry.items_written)
    assert done.summary()["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    again = import_clinical_data(lambda: engine, str(data), user="dm")
    assert again.status == ALREADY and "ODM-IMP-021" in [f.code for f in again.findings]
    out = io.BytesIO()
    with engine.connect() as conn:
        result = export("odm", conn, ExportSelection("S.1"), out)
    assert result.subjects == 2 and b'SubjectKey="002"' in out.getvalue()
    engine.dispose()

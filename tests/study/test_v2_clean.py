"""The clean example of version 2 of the bortezomib study (issue 17) is clean: `edc check`
reports no finding of any severity (hard or soft, from every check of the study, the endpoint,
safety and missing-data items included), and the data import into a database where version 2
is published as an amendment of version 1 and come back from `edc export odm` unchanged, with
the derivations the import computed equal to the values in the file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from odm_engine.clinical import ItemKey
from odm_engine.exchange import read_clinical_data
from tests.storage.conftest import Db, db  # noqa: F401 - fixture: SQLite and PostgreSQL
from tests.study.test_v2_amendment import _load_and_publish_v2, store_v1

REPO = Path(__file__).resolve().parents[2]
V2 = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
CLEAN = REPO / "metadata" / "examples" / "bortezomib-retreatment-v2-clean.xml"


def edc(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args])
    return result.exit_code, result.output


def values(data: bytes) -> dict[tuple[str, ItemKey], str | None]:
    return {
        (s.subject_key, item.key): item.value
        for s in read_clinical_data(data)
        for item in s.items()
    }


def test_edc_check_reports_nothing_on_the_clean_v2_example() -> None:
    code, out = edc("check", str(V2), str(CLEAN), "--format", "json")
    assert (code, json.loads(out)) == (0, [])
    code, out = edc("check", str(V2), str(CLEAN))
    assert (code, out.strip()) == (0, "")


def test_the_clean_v2_example_imports_under_the_published_v2_and_exports_again(
    db: Db,  # noqa: F811
    tmp_path: Path,
) -> None:
    store_v1(db.engine)
    _load_and_publish_v2(db.url)
    code, out = edc(
        "import", str(CLEAN), "--user", "dm", "--reason", "clean v2 example", "--db", db.url
    )
    assert code == 0, out
    out_file = tmp_path / "export.xml"
    code, out = edc("export", "odm", "-o", str(out_file), "--db", db.url)
    assert code == 0, out
    source, exported = values(CLEAN.read_bytes()), values(out_file.read_bytes())
    assert len({subject for subject, _ in source}) == 11 and len(source) > 700
    assert {k: exported.get(k) for k in source} == source
    # what the export adds are derivations the file leaves out, computed by the import
    assert {k for k, v in exported.items() if k not in source and v is not None} <= {
        k for k in exported if k[1].item_oid in DERIVED
    }
    code, out = edc("check", str(V2), str(out_file), "--format", "json")
    assert (code, json.loads(out)) == (0, [])


DERIVED = {
    line.split('"')[1]
    for line in V2.read_text(encoding="utf-8").splitlines()
    if "<ItemRef " in line and 'MethodOID="' in line
}
assert "IT.L2_TFI" in DERIVED

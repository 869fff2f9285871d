"""Hostile XML at every entry point that reads XML, beyond `edc validate` (which
tests/foundation/test_hostile_xml.py covers): each case is refused with a located error
finding, nothing is stored, no file is opened, no connection is made, memory stays < 200 MB.

CVE-2023-22377 and CVE-2018-16521 (XXE in clinical XML importers) are the class under test.
Each entry point runs every case in one fresh interpreter (tests/security/hostile_child.py),
which measures its own peak memory per case.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.foundation.test_hostile_xml import ROOT, SECRET, cases
from tests.security.conftest import Sentinel

MEMORY_MB = 200
METADATA = REPO / "metadata" / "bortezomib-retreatment.xml"
SPARSE_BYTES = 512 * 1024 * 1024
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'


@dataclass(frozen=True)
class Case:
    data: bytes
    codes: frozenset[str]
    env: dict[str, str] = field(default_factory=dict)
    sparse_to: int = 0
    """Extend the file to this size with a hole: 512 MB on disk cost nothing."""
    web: bool = True


def clinical(inner: str) -> str:
    """One subject of the example study, with ``inner`` inside its ItemGroupData."""
    return (
        '<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.1">'
        '<SubjectData SubjectKey="DE01-900"><SiteRef LocationOID="LOC.DE01"/>'
        '<StudyEventData StudyEventOID="SE.ELIG"><FormData FormOID="F.IE">'
        f'<ItemGroupData ItemGroupOID="IG.IE_IN">{inner}</ItemGroupData>'
        "</FormData></StudyEventData></SubjectData></ClinicalData>"
    )


def hostile(secret: Path, fifo: Path, port: int) -> dict[str, Case]:
    entity = frozenset({"ODM-XML-002"})
    not_xml = frozenset({"ODM-XML-001"})
    out = {name: Case(data, entity) for name, data in cases(secret, port).items()}
    out["XInclude"] = Case(out["XInclude"].data, frozenset({"ODM-XML-005"}))
    for name in ("20 MB text node", "10,000-deep nesting"):
        out[name] = Case(out[name].data, not_xml)
    item = '<ItemData ItemOID="IT.IE_IN01" Value="Y"/>'
    late_item = '<ItemData ItemOID="IT.IE_IN01" Value="&i;"/>&f;'
    xinclude = f'{item}<xi:include {XI} href="file://{fifo}" parse="text"/>'
    out |= {
        "external entity read from a FIFO": Case(
            f'<!DOCTYPE x [<!ENTITY f SYSTEM "file://{fifo}">]>{ROOT}<Study OID="S">&f;</Study>'
            "</ODM>".encode(),
            entity,
        ),
        "DOCTYPE after 64 KB of comment": Case(
            f"<!--{'x' * 70_000}-->"
            f'<!DOCTYPE x [<!ENTITY f SYSTEM "file://{fifo}"><!ENTITY i "Y">]>'
            f"{ROOT}{clinical(late_item)}</ODM>".encode(),
            entity | not_xml,
        ),
        "XInclude inside SubjectData": Case(
            f"{ROOT}{clinical(xinclude)}</ODM>".encode(),
            frozenset({"ODM-XML-005"}),
        ),
        "20 MB attribute": Case(f"{ROOT}<Study OID='{'a' * 20_000_000}'/></ODM>".encode(), not_xml),
        "invalid UTF-8": Case(f"{ROOT}\n<Study OID='".encode() + b"\xff\xfe'/></ODM>", not_xml),
        "bad declared encoding": Case(
            b'<?xml version="1.0" encoding="x-edc-no-such"?>' + f"{ROOT}</ODM>".encode(), not_xml
        ),
        "gzip given as .xml": Case(
            gzip.compress(f"{ROOT}{clinical(item)}</ODM>".encode()), frozenset({"ODM-XML-004"})
        ),
        "over EDC_MAX_XML_BYTES": Case(
            f"{ROOT}{clinical(item)}{' ' * 210_000}</ODM>".encode(),
            frozenset({"ODM-XML-003"}),
            env={"EDC_MAX_XML_BYTES": "200000"},  # above the example metadata
        ),
        "512 MB file (sparse), over the default limit": Case(
            f"{ROOT}{clinical(item)}".encode(),
            frozenset({"ODM-XML-003"}),
            sparse_to=SPARSE_BYTES,
            web=False,  # the upload limit (max_upload_mb) answers 413 first: see below
        ),
    }
    return out


@dataclass(frozen=True)
class EntryPoint:
    argv: tuple[str, ...]
    """``{file}`` is the hostile file, ``{db}`` the database URL, ``{out}`` an output path."""
    web: bool = False


ENTRY_POINTS = {
    "edc study load": EntryPoint(("study", "load", "{file}", "--db", "{db}")),
    "edc import": EntryPoint(("import", "{file}", "--user", "dm", "--db", "{db}")),
    "edc import --dry-run": EntryPoint(
        ("import", "{file}", "--dry-run", "--user", "dm", "--db", "{db}")
    ),
    "edc check (metadata)": EntryPoint(("check", "{file}", str(METADATA))),
    "edc check (data)": EntryPoint(("check", str(METADATA), "{file}")),
    "edc render --metadata": EntryPoint(("render", "F.IE", "--metadata", "{file}", "-o", "{out}")),
    "edc export define --metadata": EntryPoint(
        ("export", "define", "--metadata", "{file}", "-o", "{out}")
    ),
    "edc print blank --metadata": EntryPoint(
        ("print", "blank", "--metadata", "{file}", "-o", "{out}")
    ),
    "POST /design (metadata upload)": EntryPoint((), web=True),
}


def run_child(spec: dict[str, object], tmp_path: Path) -> list[dict[str, object]]:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.security.hostile_child", str(spec_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_hostile_xml_is_refused_at(
    entry: str,
    tmp_path: Path,
    seeded_db: Path,
    secret_file: Path,
    listener: tuple[int, list[bytes]],
    fifo_sentinel: Sentinel,
) -> None:
    port, seen = listener
    point = ENTRY_POINTS[entry]
    db = tmp_path / "edc.sqlite3"
    shutil.copyfile(seeded_db, db)
    url = f"sqlite:///{db}"
    all_cases = hostile(secret_file, fifo_sentinel.path, port)
    runs = []
    for n, (name, case) in enumerate(all_cases.items()):
        if point.web and not case.web:
            continue
        path = tmp_path / f"hostile-{n}.xml"
        path.write_bytes(case.data)
        if case.sparse_to:
            with path.open("r+b") as fh:
                fh.truncate(case.sparse_to)
        values = {"file": str(path), "db": url, "out": str(tmp_path / f"out-{n}")}
        argv = [a.format(**values) for a in point.argv]
        runs.append({"case": name, "argv": argv, "file": str(path), "env": case.env})
    spec = {"db": url, "web": point.web, "max_upload_mb": 64, "runs": runs}
    results = run_child(spec, tmp_path)

    failures = []
    for result in results:
        name, out, code = str(result["case"]), str(result["out"]), result["code"]
        case = all_cases[name]
        problems = []
        if point.web:
            if code != 422:
                problems.append(f"status {code}, expected 422")
            if not any(f"<td>{c}</td>" in out or c in out for c in case.codes):
                problems.append(f"no finding {sorted(case.codes)} on the page")
        else:
            if code not in (1, 2):
                problems.append(f"exit {code}, expected 1 or 2")
            path = str(tmp_path / f"hostile-{list(all_cases).index(name)}.xml")
            if not any(f" {c} error: " in out and path in out for c in case.codes):
                problems.append(f"no located error finding {sorted(case.codes)}")
        if "Traceback" in out:
            problems.append("a traceback")
        if SECRET in out or "edc-fifo-sentinel-read" in out:
            problems.append("the secret file's content in the output")
        if result["db_changed"]:
            problems.append("the database changed")
        if float(result["peak_mb"]) >= MEMORY_MB:  # type: ignore[arg-type]
            problems.append(f"peak memory {result['peak_mb']:.0f} MB")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}\n    {out[-400:]!r}")
    assert fifo_sentinel.opened == 0, "a hostile file made the engine open the sentinel file"
    assert seen == [], f"a hostile file made the engine connect: {seen}"
    assert len(results) == len(runs)
    assert not failures, "\n".join(failures)


def test_upload_over_the_size_limit_is_refused_before_it_is_read(web) -> None:  # type: ignore[no-untyped-def]
    """Flask's MAX_CONTENT_LENGTH (max_upload_mb, default 20) answers 413 unread."""
    from io import BytesIO

    client = web.client("designer")
    body = BytesIO(f"{ROOT}{' ' * (21 * 1024 * 1024)}</ODM>".encode())
    r = client.post("/design", {"metadata": (body, "big.xml")}, content_type="multipart/form-data")
    assert r.status_code == 413
    assert "Traceback" not in r.get_data(as_text=True)


def padded_import(path: Path, subjects: int, padding: int) -> None:
    """Real subjects of the example study, each followed by a ``padding``-byte comment."""
    item = '<ItemData ItemOID="IT.IE_IN01" Value="Y"/>'
    comment = f"<!--{'p' * padding}-->"
    with path.open("w") as fh:
        fh.write(ROOT.replace("<ODM ", '<?xml version="1.0" encoding="UTF-8"?><ODM ', 1))
        fh.write('<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.1">')
        for n in range(subjects):
            subject = clinical(item).split(">", 1)[1].rsplit("</ClinicalData>", 1)[0]
            fh.write(subject.replace("DE01-900", f"DE01-{n + 2000:05d}") + comment)
        fh.write("</ClinicalData></ODM>")


@pytest.mark.slow
def test_a_large_import_near_the_limit_streams_in_flat_memory(
    tmp_path: Path, seeded_db: Path
) -> None:
    """~60 MB under a 64 MB limit is imported with the memory of a small file; the same file
    under a smaller limit is refused before parsing (ODM-XML-003), nothing stored."""
    db = tmp_path / "edc.sqlite3"
    shutil.copyfile(seeded_db, db)
    url = f"sqlite:///{db}"
    data = tmp_path / "large.xml"
    padded_import(data, 600, 100_000)
    size = data.stat().st_size
    assert 55_000_000 < size < 64 * 1024 * 1024
    argv = ["import", str(data), "--user", "dm", "--db", url]
    runs = [
        {
            "case": "refused",
            "argv": argv,
            "file": str(data),
            "env": {"EDC_MAX_XML_BYTES": str(size - 1)},
        },
        {
            "case": "imported",
            "argv": argv,
            "file": str(data),
            "env": {"EDC_MAX_XML_BYTES": str(64 << 20)},
        },
    ]
    refused, imported = run_child({"db": url, "web": False, "runs": runs}, tmp_path)
    assert refused["code"] == 2 and " ODM-XML-003 error: " in str(refused["out"])
    assert not refused["db_changed"]
    assert imported["code"] == 0, imported["out"]
    assert "600 subjects" in str(imported["out"]) and imported["db_changed"]
    assert float(imported["peak_mb"]) < MEMORY_MB, imported["peak_mb"]  # type: ignore[arg-type]

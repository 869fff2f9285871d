"""Issue 7 acceptance, round trips: every ClinicalData file of the shared corpus.

For each ClinicalData-bearing file of ``$EDC_CORPUS/MANIFEST.tsv`` from REDCap, OpenClinica,
Medidata Rave, OpenEDC and odmlib, a data manager's session runs through the CLI against a
fresh SQLite database: ``edc db upgrade``, ``edc study load`` (the file itself when it holds
its metadata, else its paired metadata file), ``edc user add`` / ``set-role``, ``edc import``
and ``edc export odm``. The export must pass the ODM 1.3.2 schema and hold every item value of
the source under the same key, where the source is read by the streaming reader and folded
as the import profile documents (TransactionType inherited from the nearest container,
Remove removes, Context leaves alone, later saves of a key win). Items derived by the study's
MethodDefs are recomputed on import and not compared.

What does not round-trip is asserted as such, with the reason:

- ``medidata_rave/rave-clinicaldata-double-byte.xml`` has no metadata in the corpus: its
  StudyOID ``RWS_Training_Japan_20180821(Prod)`` and its FormOID/ItemGroupOID/ItemOIDs
  (SURGERY, SURGERY_LOG_LINE, SURGERY.*) are not in ``rave-mediflex-metadata.xml`` (study
  ``Mediflex``), so it cannot be imported; the reader-level round trip (read -> ODM writer ->
  XSD -> read back) is asserted instead.
- ``openclinica/openclinica3-extract-multisite.xml`` names site-level StudyOIDs in its
  ClinicalData (resolved to the parent study, ``ODM-IMP-011``). 18 of its values contradict
  the file's own metadata: items of CRF version F_PHYSICALEXAM_ENGLISH hold codes 2 and 99,
  but OpenClinica exported one CodeList per item (CL_7: 1, 4, 999, the Spanish version's), and
  two pulse values (55, 59) break the item's Hard RangeCheck (60-100). The import rejects the
  file listing exactly those values with their keys; with them taken out, everything else
  round-trips.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from cli import main
from odm_engine.clinical import ItemKey
from odm_engine.datatypes import Parsed, parse_value
from odm_engine.exchange import SubjectRecord, read_clinical_data
from odm_engine.expressions import compile_study
from odm_engine.loader import load_path
from odm_engine.profiles import normalise
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from renderers.odm import OdmExportOptions, write_odm
from tests.exchange.helpers import UNITS, vs_study

PRODUCERS = ("redcap", "openclinica", "medidata_rave", "openedc", "odmlib")
"""Corpus folders of the producers under test (``broken_tricky/`` is tested elsewhere)."""

PAIRED_METADATA = {
    "openedc/openedc-example-clinicaldata.xml": "openedc/openedc-example-metadata.xml",
}
"""Metadata-less ClinicalData files -> the corpus file holding their study's metadata."""

UNPAIRABLE = {
    "medidata_rave/rave-clinicaldata-double-byte.xml": "medidata_rave/rave-mediflex-metadata.xml",
}
"""Metadata-less files whose only candidate metadata file defines a different study."""

OPENCLINICA = "openclinica/openclinica3-extract-multisite.xml"

Values = dict[tuple[str, ItemKey], str | None]


def _corpus_dir() -> Path | None:
    raw = os.environ.get("EDC_CORPUS")
    if not raw or not (Path(raw) / "MANIFEST.tsv").is_file():
        return None
    return Path(raw)


def _clinical_files() -> list[tuple[str, str]]:
    """(path, kind) of every ClinicalData-bearing file of the producers, from the manifest."""
    corpus = _corpus_dir()
    if corpus is None:
        return []
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        (r["path"], r["kind"])
        for r in rows
        if r["kind"] in ("clinicaldata", "both") and r["path"].split("/")[0] in PRODUCERS
    ]


def _params() -> list[object]:
    files = _clinical_files()
    if not files:
        reason = "EDC_CORPUS is not set (or holds no MANIFEST.tsv): point it at the shared corpus"
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    return [pytest.param(path, kind, id=path) for path, kind in files]


# -- the CLI, as a data manager uses it -----------------------------------------------------


def _edc(*args: str, db: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", db], catch_exceptions=False)


def _fresh_database(tmp: Path, metadata: Path, study_oid: str) -> str:
    url = f"sqlite:///{tmp / 'edc.db'}"
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(metadata)),
        ("user", "add", "dm", "--password", "data-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", study_oid),
    ):
        result = _edc(*args, db=url)
        assert result.exit_code == 0, f"edc {' '.join(args)}: {result.output}"
    return url


def _import(source: Path, url: str) -> tuple[int, dict[str, object]]:
    result = _edc(
        "import", str(source), "--user", "dm", "--reason", "migration", "--format", "json", db=url
    )
    return result.exit_code, json.loads(result.output)


def _export(url: str, out: Path) -> bytes:
    result = _edc("export", "odm", "-o", str(out), db=url)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    root = etree.fromstring(data, make_parser())
    assert schema().validate(root), f"export is not ODM 1.3.2: {schema().error_log}"
    return data


# -- what the source says, folded as the import profile documents ----------------------------


def _inherit(own: str | None, outer: str | None) -> str | None:
    return outer if own in (None, "Context") else own


def _final_values(subjects: Iterable[SubjectRecord]) -> tuple[Values, set[tuple[str, ItemKey]]]:
    """(current value per key, keys removed) after applying the file in document order."""
    values: Values = {}
    removed: set[tuple[str, ItemKey]] = set()
    for subject in subjects:
        s_tt = _inherit(subject.transaction_type, None)
        for event in subject.events:
            e_tt = _inherit(event.transaction_type, s_tt)
            for form in event.forms:
                f_tt = _inherit(form.transaction_type, e_tt)
                for group in form.groups:
                    g_tt = _inherit(group.transaction_type, f_tt)
                    for item in group.items:
                        tt = item.transaction_type or g_tt
                        key = (subject.subject_key, item.key)
                        if tt == "Context":
                            continue
                        if tt == "Remove":
                            values.pop(key, None)
                            removed.add(key)
                            continue
                        removed.discard(key)
                        if item.is_null:
                            values[key] = None
                        elif item.value:
                            values[key] = item.value
                        else:  # an empty Value enters nothing
                            values.pop(key, None)
    return values, removed


def _exported_values(data: bytes) -> Values:
    return {
        (s.subject_key, i.key): None if i.is_null else i.value
        for s in read_clinical_data(data)
        for i in s.items()
    }


class Study(NamedTuple):
    derived: set[str]
    """Items the study derives (MethodDef, REDCap calc field): recomputed, not compared."""
    data_types: dict[str, str]
    """ItemDef OID -> DataType, to compare values as values (``1`` and ``true`` are equal)."""


def _study(metadata: Path, study_oid: str) -> Study:
    loaded = load_path(str(metadata))
    assert loaded.odm is not None
    odm = normalise(loaded.odm)  # as the import reads it (REDCap boolean code lists...)
    study = odm.find_study(study_oid) or odm.study
    mdv = study.metadata_version() if study else None
    assert mdv is not None
    plan = compile_study(mdv).plan
    derived = {
        i.item.oid
        for form in plan.forms.values()
        for group in form.groups
        for i in group.items
        if i.method is not None
    }
    return Study(derived, {oid: item.data_type for oid, item in mdv.item_defs.items()})


def _same(data_type: str | None, source: str | None, exported: str | None) -> bool:
    """Equal as values of the DataType: the export writes canonical text (``1`` -> ``true``)."""
    if source is None or exported is None or data_type is None:
        return source == exported
    a, b = parse_value(data_type, source), parse_value(data_type, exported)
    if isinstance(a, Parsed) and isinstance(b, Parsed):
        return a.canonical == b.canonical
    return source == exported


def _assert_round_trip(name: str, source: bytes, exported: bytes, study: Study) -> int:
    """Every source value is exported under its key; removed keys are gone; nothing is added."""
    expected, removed = _final_values(read_clinical_data(source, path=name))
    derived = study.derived
    expected = {k: v for k, v in expected.items() if k[1].item_oid not in derived}
    got = _exported_values(exported)
    missing = sorted((k for k in expected if k not in got), key=str)
    assert not missing, f"{name}: {len(missing)} values lost, e.g. {missing[:3]}"
    changed = [
        (k, v, got[k])
        for k, v in expected.items()
        if not _same(study.data_types.get(k[1].item_oid), v, got[k])
    ]
    assert not changed, f"{name}: {len(changed)} values changed, e.g. {changed[:3]}"
    resurrected = [k for k in removed if k in got]
    assert not resurrected, f"{name}: removed values exported: {resurrected[:3]}"
    extra = [k for k in got if k not in expected and k[1].item_oid not in derived]
    assert not extra, f"{name}: values not in the source: {extra[:3]}"
    return len(expected)


# -- the round trips -------------------------------------------------------------------------


def _metadata_of(name: str, kind: str) -> str:
    if kind == "both":
        return name
    assert name in PAIRED_METADATA, f"{name}: no metadata file paired with it; add one here"
    return PAIRED_METADATA[name]


def _first_study_oid(path: Path) -> str:
    loaded = load_path(str(path))
    assert loaded.odm is not None and loaded.odm.study is not None, path
    return loaded.odm.study.oid


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind"), _params())
def test_corpus_file_round_trips_through_import_and_export(
    name: str, kind: str, corpus: Path, tmp_path: Path
) -> None:
    if name in UNPAIRABLE:
        _assert_unpairable_and_reader_round_trip(corpus, name, UNPAIRABLE[name])
        return
    metadata = corpus / _metadata_of(name, kind)
    study_oid = _first_study_oid(metadata)
    source = corpus / name
    url = _fresh_database(tmp_path, metadata, study_oid)
    if name == OPENCLINICA:
        source = _openclinica_without_contradicting_values(source, url, tmp_path)
    code, report = _import(source, url)
    assert code == 0 and report["status"] == "imported", f"{name}: {report}"
    exported = _export(url, tmp_path / "export.xml")
    compared = _assert_round_trip(name, source.read_bytes(), exported, _study(metadata, study_oid))
    assert compared > 0, f"{name}: no values compared"


# -- Medidata Rave: no metadata for the study in the corpus -----------------------------------


def _assert_unpairable_and_reader_round_trip(corpus: Path, name: str, candidate: str) -> None:
    data = (corpus / name).read_bytes()
    subjects = list(read_clinical_data(data, path=name))
    assert subjects
    loaded = load_path(str(corpus / candidate))
    assert loaded.odm is not None
    # Why it cannot be paired: another study, and none of its forms, groups or items exist.
    assert {s.study_oid for s in subjects}.isdisjoint(st.oid for st in loaded.odm.studies)
    defined = {
        oid
        for st in loaded.odm.studies
        for mdv in st.metadata_versions
        for oid in (*mdv.form_defs, *mdv.item_group_defs, *mdv.item_defs)
    }
    keys = {i.key for s in subjects for i in s.items()}
    assert not {oid for k in keys for oid in (k.form_oid, k.item_group_oid, k.item_oid)} & defined
    # What is asserted instead: read -> ODM 1.3.2 writer -> schema -> read back, same values.
    buf = io.BytesIO()
    write_odm(buf, subjects, OdmExportOptions(file_oid="RT", file_type="Snapshot"))
    root = etree.fromstring(buf.getvalue(), make_parser())
    assert schema().validate(root), f"{name}: {schema().error_log}"
    assert _assert_round_trip(name, data, buf.getvalue(), Study(set(), {})) == len(keys)


# -- OpenClinica 3: site-level StudyOIDs and values its own metadata forbids ------------------

_PROBLEM = re.compile(r'^Subject (?P<subject>\S+): (?P<where>\S+): value "(?P<value>[^"]*)": ')
_STEP = re.compile(r"^(?P<oid>[^\[]+)(?:\[(?P<repeat>[^\]]*)\])?$")


def _problem_keys(report: dict[str, object]) -> set[tuple[str, ItemKey]]:
    keys = set()
    for f in report["findings"]:  # type: ignore[attr-defined]
        if f["code"] != "ODM-IMP-020":
            continue
        match = _PROBLEM.match(f["message"])
        assert match, f["message"]
        steps = [_STEP.match(s) for s in match["where"].split("/")]
        assert len(steps) == 4 and all(steps), match["where"]
        (event, form, group, item) = [(s["oid"], s["repeat"] or "") for s in steps]  # type: ignore[index]
        key = ItemKey(event[0], event[1], form[0], form[1], group[0], group[1], item[0])
        keys.add((match["subject"], key))
    return keys


def _openclinica_without_contradicting_values(source: Path, url: str, tmp: Path) -> Path:
    """Import as is (rejected, for the documented 18 values), then a copy without them."""
    code, report = _import(source, url)
    codes = {f["code"] for f in report["findings"]}  # type: ignore[attr-defined]
    resolved = [f for f in report["findings"] if f["code"] == "ODM-IMP-011"]  # type: ignore[attr-defined]
    assert [(f["line"], f["message"].split('"')[1]) for f in resolved] == [
        (4738, "S_R0112345_6657"),
        (5504, "S_R0112345_7258"),
        (6219, "S_R0112345_8478"),
    ], "the site-level StudyOIDs are not resolved to the parent study S_R0112345"
    assert "ODM-IMP-009" not in codes
    assert code == 1 and report["status"] == "rejected", report
    messages = [f["message"] for f in report["findings"] if f["code"] == "ODM-IMP-020"]  # type: ignore[attr-defined]
    assert len(messages) == 18, messages
    assert all(
        "is not in CodeList CL_7 (1, 4, 999)" in m or "Pulse rate ouf of expected range" in m
        for m in messages
    ), messages
    bad = _problem_keys(report)
    assert len(bad) == 18
    assert _exported_values(_export(url, tmp / "rejected.xml")) == {}, "a rejected import wrote"

    root = etree.fromstring(source.read_bytes(), make_parser())
    dropped = 0
    for subject in root.iter("{*}SubjectData"):
        for event in subject.iterfind("{*}StudyEventData"):
            for form in event.iterfind("{*}FormData"):
                for group in form.iterfind("{*}ItemGroupData"):
                    for item in list(group.iterfind("{*}ItemData")):
                        key = ItemKey(
                            event.get("StudyEventOID", ""),
                            event.get("StudyEventRepeatKey", ""),
                            form.get("FormOID", ""),
                            form.get("FormRepeatKey", ""),
                            group.get("ItemGroupOID", ""),
                            group.get("ItemGroupRepeatKey", ""),
                            item.get("ItemOID", ""),
                        )
                        if (subject.get("SubjectKey"), key) in bad:
                            group.remove(item)
                            dropped += 1
    assert dropped == 18
    cleaned = tmp / "openclinica-cleaned.xml"
    cleaned.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return cleaned


def test_manifest_lists_every_producer(corpus: Path) -> None:
    """The round trip covers the five producers the acceptance names."""
    folders = {path.split("/")[0] for path, _kind in _clinical_files()}
    assert folders == set(PRODUCERS)


# -- the rule behind ODM-IMP-011, without the corpus ------------------------------------------

SITE_STUDY = (
    '<Study OID="S.1.SITE"><GlobalVariables><StudyName>Test, site 1</StudyName>'
    "<StudyDescription>Site-level study</StudyDescription><ProtocolName>T-1</ProtocolName>"
    f"</GlobalVariables><BasicDefinitions>{UNITS}</BasicDefinitions>"
    '<MetaDataVersion OID="MDV.1-SITE" Name="Version 1, site 1">'
    '<Include StudyOID="S.1" MetaDataVersionOID="MDV.1"/></MetaDataVersion></Study>\n'
)


def _site_file(tmp: Path, study_oid: str) -> Path:
    clinical = (
        f'<ClinicalData StudyOID="{study_oid}" MetaDataVersionOID="MDV.1-SITE">\n'
        '<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>'
        '<StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">'
        '<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="F"/>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData>"
    )
    data = vs_study(clinical).replace(b"<AdminData", SITE_STUDY.encode() + b"<AdminData", 1)
    path = tmp / f"{study_oid}.xml"
    path.write_bytes(data)
    return path


def test_site_level_study_oid_imports_into_its_parent_study(tmp_path: Path) -> None:
    """ClinicalData naming a site-level Study (its MDV Includes the parent's) -> the parent."""
    source = _site_file(tmp_path, "S.1.SITE")
    url = _fresh_database(tmp_path, source, "S.1")
    result = _edc("import", str(source), "--user", "dm", db=url)
    assert result.exit_code == 0, result.output
    line = source.read_bytes().split(b"<SubjectData")[0].count(b"\n") + 1
    assert (
        f'{source}:{line}: ODM-IMP-011 info: ClinicalData names Study "S.1.SITE", a site-level '
        'Study of the stored metadata of study "S.1"'
    ) in result.output
    assert "ODM-IMP-009" not in result.output
    exported = _export(url, tmp_path / "export.xml")
    assert [(s.study_oid, s.subject_key) for s in read_clinical_data(exported)] == [("S.1", "001")]


def test_unknown_study_oid_is_still_refused(tmp_path: Path) -> None:
    url = _fresh_database(tmp_path, _site_file(tmp_path, "S.1.SITE"), "S.1")
    result = _edc("import", str(_site_file(tmp_path, "S.OTHER")), "--user", "dm", db=url)
    assert result.exit_code != 0
    assert "No study 'S.OTHER'" in result.output

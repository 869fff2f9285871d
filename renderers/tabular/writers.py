"""CSV and Dataset-JSON 1.1 exports: one file per item group, one row per group instance.

Both take the study's ODM model and an iterator of SubjectRecords (current values) and write
as the records arrive, so memory holds one subject at a time. Datasets, columns, names and
labels come from :func:`renderers.tabular.plan.dataset_plan`, the same plan the Define-XML
export uses, so ``define.xml`` describes exactly these files.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from odm_engine import model as m
from odm_engine.clinical import site_code
from odm_engine.exchange.records import SubjectRecord
from odm_engine.free_text import NOT_XML, xml_safe
from renderers.tabular.plan import (
    Column,
    Dataset,
    dataset_plan,
    key_lengths,
    study_identifier,
    unique_subject_id,
    unit_symbol,
)

HEADER_FILE = "header.csv"
HEADER_COLUMNS = (
    *("dataset", "file", "order", "variable", "label", "data_type", "item_oid"),
    "metadata_versions",
)
"""``header.csv``: a row per variable; ``metadata_versions``: the MetaDataVersion OIDs of the
subjects with rows in its dataset, space-separated, oldest first."""
VERSIONS_FILE = "metadata-versions.csv"
"""Dataset-JSON's note of the metadata versions that contributed to each dataset, written when
some dataset holds subjects of more than one (the Dataset-JSON 1.1 schema allows no extra
key: ``additionalProperties`` is false)."""
DATASET_JSON_VERSION = "1.1.0"
_STAMP = "%Y-%m-%dT%H:%M:%S"
FIRST_REPEAT = "1"
"""The repeat key written for an occurrence that has none (it does not repeat)."""


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection)."""
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def csv_cell(value: str | None) -> str:
    """A value as written to a CSV cell. Issue 14, finding 6 (CSV injection): a value starting
    with ``= + - @``, tab or CR gets a leading ``'`` (OWASP's advice) so a spreadsheet shows
    it as text instead of running it, unless the whole value is a plain number (``-3``,
    ``-1.5``, ``+2e3``: a number cannot be a formula, so numbers stay numbers in every
    column). Characters XML 1.0 cannot carry become U+FFFD, as in the ODM export."""
    if not value:
        return ""
    if NOT_XML.search(value):
        value = xml_safe(value)
    if value[0] in FORMULA_START and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _rows(
    datasets: dict[str, Dataset],
    subject: SubjectRecord,
    study_id: str,
    units: Mapping[str, m.MeasurementUnit],
) -> Iterable[tuple[Dataset, list[str | None]]]:
    """(dataset, row) for every ItemGroupData of one subject; values as ODM text, the unit
    chosen with a value as its symbol (:func:`unit_symbol`). STUDYID is ``study_id`` (the
    protocol name), SITEID the site's number, USUBJID both with the SubjectKey
    (:func:`unique_subject_id`). A repeat key the data has not (a study event, form or item
    group that does not repeat) is written ``1``: the only occurrence is the first, and the
    key variables are filled in every row."""
    site = site_code(subject.site_oid) if subject.site_oid else None
    usubjid = unique_subject_id(study_id, subject.site_oid, subject.subject_key)
    for event in subject.events:
        for form in event.forms:
            for group in form.groups:
                ds = datasets.get(group.item_group_oid)
                if ds is None:
                    continue
                values = {i.key.item_oid: (None if i.is_null else i.value) for i in group.items}
                chosen = {i.key.item_oid: i.unit_oid for i in group.items if i.unit_oid}
                keys = {
                    "study": study_id,
                    "usubjid": usubjid,
                    "site": site,
                    "subject": subject.subject_key,
                    "event": event.study_event_oid,
                    "event_repeat": event.repeat_key or FIRST_REPEAT,
                    "form": form.form_oid,
                    "form_repeat": form.repeat_key or FIRST_REPEAT,
                    "group_repeat": group.repeat_key or FIRST_REPEAT,
                }
                row: list[str | None] = []
                for c in ds.columns:
                    if c.source == "item":
                        row.append(values.get(c.item_oid or ""))
                    elif c.source == "unit":
                        unit = chosen.get(c.item_oid or "")
                        row.append(unit_symbol(unit, units) if unit else None)
                    else:
                        row.append(keys[c.source])
                yield ds, row


Contributors = dict[str, dict[str, None]]
"""Dataset OID -> the MetaDataVersion OIDs of the subjects with a row in it, in the order
they came (the store streams version by version, oldest first)."""


def _contributed(seen: Contributors, ds: Dataset, subject: SubjectRecord) -> None:
    seen.setdefault(ds.oid, {})[subject.metadata_version_oid] = None


def _versions_cell(seen: Contributors, ds: Dataset) -> str:
    """The versions that contributed to ``ds``, space-separated ("" when it has no rows)."""
    return " ".join(seen.get(ds.oid, ()))


def _plan(
    odm: m.ODM, study_oid: str | None, key_data: Mapping[str, int] | None
) -> tuple[m.Study, m.MetaDataVersion, list[Dataset]]:
    study = odm.find_study(study_oid) if study_oid else odm.study
    mdv = study.metadata_version() if study else None
    if study is None or mdv is None:
        raise ValueError("the metadata holds no Study with a MetaDataVersion")
    keys = key_lengths(study_identifier(study), mdv, key_data)
    return study, mdv, list(dataset_plan(mdv, study.basic_definitions.measurement_units, keys=keys))


def write_csv(
    out_dir: Path,
    odm: m.ODM,
    subjects: Iterable[SubjectRecord],
    *,
    study_oid: str | None = None,
    db_last_modified: datetime | None = None,
    key_data: Mapping[str, int] | None = None,
) -> list[Path]:
    """``<dataset>.csv`` per item group (variable names as header) and ``header.csv`` with
    every variable's label, type and item OID. Returns the files written.
    ``db_last_modified`` is taken for the same call as Dataset-JSON; CSV has no place for it.
    ``key_data``: the longest key values stored (:func:`renderers.tabular.plan.key_lengths`)."""
    study, _mdv, plan = _plan(odm, study_oid, key_data)
    study_id = study_identifier(study)
    units = study.basic_definitions.measurement_units
    out_dir.mkdir(parents=True, exist_ok=True)
    by_oid = {ds.oid: ds for ds in plan}
    handles: dict[str, IO[str]] = {}
    writers: dict[str, Any] = {}
    seen: Contributors = {}
    try:
        for ds in plan:
            fh = (out_dir / f"{ds.file_stem}.csv").open("w", newline="", encoding="utf-8")
            handles[ds.oid] = fh
            writers[ds.oid] = csv.writer(fh)
            writers[ds.oid].writerow([c.name for c in ds.columns])
        for subject in subjects:
            for ds, row in _rows(by_oid, subject, study_id, units):
                writers[ds.oid].writerow([csv_cell(v) for v in row])
                _contributed(seen, ds, subject)
    finally:
        for fh in handles.values():
            fh.close()
    header = out_dir / HEADER_FILE
    with header.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER_COLUMNS)
        for ds in plan:
            versions = _versions_cell(seen, ds)
            for c in ds.columns:
                cells = (ds.name, f"{ds.file_stem}.csv", c.order, c.name, c.label, c.data_type)
                w.writerow(
                    [csv_cell(None if v is None else str(v)) for v in (*cells, c.oid, versions)]
                )
    return [header, *(out_dir / f"{ds.file_stem}.csv" for ds in plan)]


def _json_column(c: Column) -> dict[str, Any]:
    col: dict[str, Any] = {
        "itemOID": c.oid,
        "name": c.name,
        "label": c.label,
        "dataType": c.json_type,
    }
    if c.data_type == "float":
        col["targetDataType"] = "decimal"
    if c.length is not None and c.data_type in ("text", "integer", "float"):
        col["length"] = c.length
    if c.key_sequence:
        col["keySequence"] = c.key_sequence
    return col


def _json_value(c: Column, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if NOT_XML.search(value):  # stored before issue 14's check: U+FFFD, as in the ODM export
        value = xml_safe(value)
    if c.data_type == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


def write_dataset_json(
    out_dir: Path,
    odm: m.ODM,
    subjects: Iterable[SubjectRecord],
    *,
    study_oid: str | None = None,
    define_href: str = "define.xml",
    db_last_modified: datetime | None = None,
    key_data: Mapping[str, int] | None = None,
) -> list[Path]:
    """CDISC Dataset-JSON 1.1: ``<dataset>.json`` per item group, as named in define.xml.
    ``dbLastModifiedDateTime`` is ``db_last_modified`` (the newest audit row of the exported
    data, from the store), left out when it is not known."""
    study, mdv, plan = _plan(odm, study_oid, key_data)
    study_id = study_identifier(study)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_oid = {ds.oid: ds for ds in plan}
    now = datetime.now(UTC).strftime(_STAMP)
    last = db_last_modified.astimezone(UTC).strftime(_STAMP) if db_last_modified else None
    units = study.basic_definitions.measurement_units
    spool: dict[str, IO[str]] = {}
    counts = dict.fromkeys(by_oid, 0)
    seen: Contributors = {}
    try:
        for ds in plan:
            spool[ds.oid] = tempfile.TemporaryFile("w+", encoding="utf-8")
        for subject in subjects:
            for ds, row in _rows(by_oid, subject, study_id, units):
                fh = spool[ds.oid]
                fh.write(",\n  " if counts[ds.oid] else "\n  ")
                values = [_json_value(c, v) for c, v in zip(ds.columns, row, strict=True)]
                fh.write(json.dumps(values, ensure_ascii=False))
                counts[ds.oid] += 1
                _contributed(seen, ds, subject)
        files = []
        for ds in plan:
            head = {
                "datasetJSONCreationDateTime": now,
                "datasetJSONVersion": DATASET_JSON_VERSION,
                "fileOID": f"{study.oid}.{ds.name}",
                "dbLastModifiedDateTime": last,
                "originator": "odm-edc",
                "sourceSystem": {"name": "odm-edc", "version": "0.1.0"},
                "studyOID": study.oid,
                "metaDataVersionOID": mdv.oid,
                "metaDataRef": define_href,
                "itemGroupOID": ds.oid,
                "records": counts[ds.oid],
                "name": ds.name,
                "label": ds.label,
                "columns": [_json_column(c) for c in ds.columns],
            }
            if last is None:
                del head["dbLastModifiedDateTime"]
            path = out_dir / f"{ds.file_stem}.json"
            with path.open("w", encoding="utf-8") as out:
                text = json.dumps(head, ensure_ascii=False, indent=1)
                out.write(text[:-2] + ',\n "rows": [')
                fh = spool[ds.oid]
                fh.seek(0)
                shutil.copyfileobj(fh, out)
                out.write("\n ]\n}\n")
            files.append(path)
    finally:
        for fh in spool.values():
            fh.close()
    if any(len(versions) > 1 for versions in seen.values()):
        files.append(_versions_file(out_dir, plan, seen))
    return files


def _versions_file(out_dir: Path, plan: list[Dataset], seen: Contributors) -> Path:
    """:data:`VERSIONS_FILE`: per dataset, its file and the MetaDataVersion OIDs of the
    subjects with rows in it (the rows follow the newest version's columns)."""
    path = out_dir / VERSIONS_FILE
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "file", "metadata_versions"])
        for ds in plan:
            w.writerow([ds.name, f"{ds.file_stem}.json", _versions_cell(seen, ds)])
    return path

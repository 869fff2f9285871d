"""Datasets of the collected data: one per ItemGroupDef, columns in OrderNumber order.

The plan is computed from the metadata alone and shared by every tabular writer and by the
Define-XML writer, so the CSV files, the Dataset-JSON files and define.xml always agree on
dataset names, variable names, labels, types and key variables.

Each dataset starts with the ODM key as variables (study, site, subject, study event and its
repeat key, form and its repeat key, item group repeat key), then the group's items.
Variable and dataset names are SAS names: at most 8 characters, ``[A-Z_][A-Z0-9_]*``,
unique within their dataset (a numeric suffix resolves clashes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from odm_engine import model as m
from odm_engine.clinical import site_code
from odm_engine.datatypes import REGISTRY

DEFINE_TYPES: Mapping[str, str] = {name: dt.define_type for name, dt in REGISTRY.items()}
"""ODM 1.3.2 DataType -> Define-XML 2.1 DataType (from the DataType registry); anything else is
written as ``text``."""

DEFAULT_TEXT_LENGTH = 200
KEY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("study", "STUDYID", "Study Identifier"),
    ("usubjid", "USUBJID", "Unique Subject Identifier"),
    ("site", "SITEID", "Study Site Identifier"),
    ("subject", "SUBJID", "Subject Identifier for the Study"),
    ("event", "VISITOID", "Study Event OID"),
    ("event_repeat", "VISITRK", "Study Event Repeat Key"),
    ("form", "FORMOID", "Form OID"),
    ("form_repeat", "FORMRK", "Form Repeat Key"),
    ("group_repeat", "IGRK", "Item Group Repeat Key"),
)
"""(source, variable name, label) of the key variables that open every dataset."""
_KEY_SEQUENCE = {
    "study": 1,
    "usubjid": 2,
    "event": 3,
    "event_repeat": 4,
    "form": 5,
    "form_repeat": 6,
    "group_repeat": 7,
}
DEFAULT_KEY_LENGTHS: Mapping[str, int] = {
    "study": 20,
    "site": 10,
    "subject": 20,
    "event_repeat": 3,
    "form_repeat": 3,
    "group_repeat": 3,
}
"""Lengths of the key variables neither the metadata nor (for a Define-XML of a file) any
data gives; stored data replaces them (:func:`key_lengths`)."""
UNIT_SUFFIX = ".UNIT"
"""Added to an ItemDef OID: the OID of its unit column's ItemDef in define.xml."""
_SAS_BAD = re.compile(r"[^A-Z0-9_]")


@dataclass(frozen=True, slots=True)
class Column:
    """One variable of a dataset: an ODM key part (``source``) or an item (``item_oid``)."""

    oid: str
    """The ItemDef OID in define.xml (``IT.EDC.<NAME>`` for key variables)."""
    name: str
    label: str
    data_type: str
    """Define-XML DataType."""
    length: int | None
    significant_digits: int | None = None
    key_sequence: int | None = None
    source: str = "item"
    """``item``, ``unit`` (the unit chosen with item ``item_oid``) or one of the KEY_COLUMNS
    sources."""
    item_oid: str | None = None
    mandatory: bool = False
    method_oid: str | None = None
    order: int = 0
    json_type: str = "string"
    """Dataset-JSON dataType (the registry's tabular type of the item's DataType)."""

    @property
    def is_key(self) -> bool:
        return self.source not in ("item", "unit")


@dataclass(frozen=True, slots=True)
class Dataset:
    oid: str
    """The ItemGroupDef OID."""
    name: str
    label: str
    repeating: bool
    columns: tuple[Column, ...]
    group: m.ItemGroupDef
    structure: str

    @property
    def item_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.source == "item")

    @property
    def file_stem(self) -> str:
        return self.name.lower()


def sas_name(raw: str, taken: set[str], *, limit: int = 8) -> str:
    """A SAS name for ``raw`` not in ``taken`` (which it is added to)."""
    base = _SAS_BAD.sub("_", raw.upper())[:limit] or "VAR"
    if base[0].isdigit():
        base = ("_" + base)[:limit]
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = str(n)
        name = base[: limit - len(suffix)] + suffix
    taken.add(name)
    return name


LABEL_LIMIT = 40
"""Longest variable label (SAS, Define-XML and Dataset-JSON conventions)."""


def item_label(item: m.ItemDef) -> str:
    """The item's Description, else its Question, else its Name, shortened to
    :data:`LABEL_LIMIT` characters (:func:`short_label`)."""
    text = item.description.get() or item.question.get() or item.name
    return short_label(" ".join(text.split()))


def short_label(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest start that ends at a
    word boundary (trailing punctuation dropped); a first word longer than ``limit`` is cut."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:-(/")
    return head if head and len(head) <= limit else text[:limit].rstrip()


def item_length(item: m.ItemDef, mdv: m.MetaDataVersion) -> int | None:
    """Length for Define: the ItemDef's, else the longest coded value, else a default."""
    data_type = DEFINE_TYPES.get(item.data_type, "text")
    if item.length is not None:
        return item.length
    code_list = mdv.item_code_list(item)
    if code_list is not None and code_list.items:
        return max(len(v) for v in code_list.coded_values)
    if data_type == "text":
        return DEFAULT_TEXT_LENGTH
    if data_type == "integer":
        return 11
    if data_type == "float":
        return 32
    return None


def study_identifier(study: m.Study) -> str:
    """STUDYID: the protocol name (GlobalVariables ProtocolName), the identifier sponsors
    and SDTM give a study; else its StudyName; else its OID."""
    names = study.global_variables
    return (names.protocol_name or names.study_name or study.oid).strip() or study.oid


def unique_subject_id(study_id: str, site_oid: str | None, subject_key: str) -> str:
    """USUBJID: study, site number and SubjectKey joined by ``-``; a SubjectKey that already
    starts with its site's number (``AT01-001``) does not carry it twice."""
    site = site_code(site_oid) if site_oid else ""
    if not site or subject_key.startswith(f"{site}-"):
        return f"{study_id}-{subject_key}"
    return f"{study_id}-{site}-{subject_key}"


def key_lengths(
    study_id: str | None, mdv: m.MetaDataVersion, data: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The Length of each key variable: STUDYID from ``study_id``, VISITOID and FORMOID from
    the longest StudyEventDef and FormDef OID, the rest from ``data`` (the longest SubjectKey,
    site number and repeat keys stored: ``storage.export_source.key_lengths``), else
    :data:`DEFAULT_KEY_LENGTHS`. A repeat key is at least 1 long (``1`` is written where the
    data has none)."""
    out = {**DEFAULT_KEY_LENGTHS, **(data or {})}
    if study_id:
        out["study"] = len(study_id)
    out["event"] = max((len(oid) for oid in mdv.study_event_defs), default=1)
    out["form"] = max((len(oid) for oid in mdv.form_defs), default=1)
    for repeat in ("event_repeat", "form_repeat", "group_repeat"):
        out[repeat] = max(out[repeat], 1)
    out["usubjid"] = out["study"] + 1 + out["site"] + 1 + out["subject"]
    return out


def _ordered_refs(group: m.ItemGroupDef) -> list[m.ItemRef]:
    refs = list(enumerate(group.item_refs))
    refs.sort(key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]))
    return [r for _, r in refs]


def dataset_plan(
    mdv: m.MetaDataVersion,
    units: Mapping[str, m.MeasurementUnit] | None = None,
    *,
    keys: Mapping[str, int] | None = None,
) -> tuple[Dataset, ...]:
    """One Dataset per ItemGroupDef of ``mdv``, in definition order. ``units`` are the
    study's MeasurementUnits (BasicDefinitions): they size the unit columns; ``keys`` the
    key variables' lengths (:func:`key_lengths`, from the metadata alone when not given)."""
    lengths = keys or key_lengths(None, mdv)
    datasets: list[Dataset] = []
    taken_datasets: set[str] = set()
    for group in mdv.item_group_defs.values():
        raw_name = group.sas_dataset_name or group.domain or _short(group.oid)
        name = sas_name(raw_name, taken_datasets)
        taken: set[str] = set()
        columns: list[Column] = []
        for source, var, label in KEY_COLUMNS:
            if source == "group_repeat" and not group.repeating:
                continue
            sequence = _KEY_SEQUENCE.get(source)
            taken.add(var)
            columns.append(
                Column(
                    oid=f"IT.EDC.{var}",
                    name=var,
                    label=label,
                    data_type="text",
                    length=lengths[source],
                    key_sequence=sequence,
                    source=source,
                    mandatory=source not in ("site",),
                    order=len(columns) + 1,
                )
            )
        _add_item_columns(columns, group, mdv, taken, units or {})
        label = " ".join((group.description.get() or group.name or group.oid).split())
        structure = "One record per subject per study event per form" + (
            " per item group repeat" if group.repeating else ""
        )
        datasets.append(
            Dataset(group.oid, name, label, group.repeating, tuple(columns), group, structure)
        )
    return tuple(datasets)


def _add_item_columns(
    columns: list[Column],
    group: m.ItemGroupDef,
    mdv: m.MetaDataVersion,
    taken: set[str],
    units: Mapping[str, m.MeasurementUnit],
) -> None:
    """The group's items as columns, each item with MeasurementUnitRefs followed by its unit
    column (``<NAME>U``: the symbol of the unit chosen with the value)."""
    for ref in _ordered_refs(group):
        item = mdv.item_defs.get(ref.item_oid)
        if item is None:
            continue
        raw = item.sas_field_name or item.sds_var_name or _variable_name(item)
        name = sas_name(raw, taken)
        columns.append(
            Column(
                oid=item.oid,
                name=name,
                label=item_label(item),
                data_type=DEFINE_TYPES.get(item.data_type, "text"),
                json_type=_json_type(item.data_type),
                length=item_length(item, mdv),
                significant_digits=item.significant_digits,
                item_oid=item.oid,
                mandatory=ref.mandatory,
                method_oid=ref.method_oid,
                order=len(columns) + 1,
            )
        )
        if item.measurement_unit_oids:
            symbols = [unit_symbol(oid, units) for oid in item.measurement_unit_oids]
            columns.append(
                Column(
                    oid=f"{item.oid}{UNIT_SUFFIX}",
                    name=sas_name(name[:7] + "U", taken),
                    label=f"Unit of {name}",
                    data_type="text",
                    length=max(len(s) for s in symbols),
                    source="unit",
                    item_oid=item.oid,
                    order=len(columns) + 1,
                )
            )


def unit_symbol(unit_oid: str, units: Mapping[str, m.MeasurementUnit]) -> str:
    """What a unit column holds: the unit's Symbol, else its Name, else its OID."""
    unit = units.get(unit_oid)
    if unit is None:
        return unit_oid
    return " ".join((unit.symbol.get() or unit.name or unit_oid).split())


def _json_type(data_type: str) -> str:
    found = REGISTRY.get(data_type)
    return found.tabular_type if found is not None else "string"


def _variable_name(item: m.ItemDef) -> str:
    """The Name when it is already an identifier (REDCap, CDASH), else the OID's last part."""
    if item.name and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item.name):
        return item.name
    return _short(item.oid)


def _short(oid: str) -> str:
    """``IG.DEMOG`` -> ``DEMOG``: the last dotted part of an OID."""
    return oid.rsplit(".", 1)[-1] or oid

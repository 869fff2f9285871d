"""``edc check METADATA.xml DATA.xml``: every check against ClinicalData, without a database.

``run_check`` returns (exit code, output lines): 0 when nothing fails, 1 when any check
fails, 2 when an input cannot be read. The CLI only prints what it returns. The ClinicalData
is read by the same streaming reader as ``edc import`` (:mod:`odm_engine.exchange`), so a
file is checked as it would be imported (FormData outside StudyEventData in study event
``SE.IMPLICIT``, the vendor profile's mappings applied).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

from odm_engine.checks import CheckResult, evaluate_subject
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.compiled_study import CompiledStudy
from odm_engine.engine_texts import engine_text
from odm_engine.entry_validation import MetadataValidator, ValueProblem
from odm_engine.exchange import SubjectRecord, read_clinical_data
from odm_engine.expressions.evaluator import DataIndex, Env
from odm_engine.expressions.plan import Bound, CheckPlan
from odm_engine.findings import Finding, Severity
from odm_engine.loader import load_odm
from odm_engine.profiles import IMPLICIT_STUDY_EVENT_OID


def _snapshot(record: SubjectRecord) -> tuple[SubjectSnapshot, dict[ItemKey, str]]:
    """The values one SubjectData leaves (in document order; ``Remove`` drops a value, an
    empty value is no value) and the units they were entered in.

    FormData outside any StudyEventData (REDCap classic) is reported with no study event,
    as ``edc check`` always has, where the import stores it in ``SE.IMPLICIT``: the event
    the reader made up has no source line.
    """
    values: dict[ItemKey, str] = {}
    nulls: dict[ItemKey, str] = {}
    units: dict[ItemKey, str] = {}
    for event in record.events:
        implicit = event.study_event_oid == IMPLICIT_STUDY_EVENT_OID and not event.line
        for form in event.forms:
            for group in form.groups:
                for item in group.items:
                    key = item.key._replace(study_event_oid="") if implicit else item.key
                    if item.transaction_type == "Remove":
                        values.pop(key, None)
                    elif item.is_null:
                        nulls[key] = "IsNull"
                    elif item.value:
                        values[key] = item.value
                        if item.unit_oid is not None:
                            units[key] = item.unit_oid
    snapshot = SubjectSnapshot(record.subject_key, record.site_oid, values, nulls)
    return snapshot, units


def _placement(
    record: SubjectRecord, validator: MetadataValidator, path: str | None, lang: str | None
) -> Iterator[ValueProblem]:
    """Each value the import would refuse for where it sits (an ItemOID its form does not
    hold, a misspelt one with the nearest OID), in the import's words, with the line of its
    ItemGroupData (the reader keeps one line per group, not per value)."""
    for item in record.items():
        problem = validator.key_problem(item.key, lang=lang)
        if problem is not None:
            where = f"{path or 'data'}:{item.line}: " if item.line else ""
            after = engine_text("not_checked", lang)
            yield replace(problem, message=f"{where}{problem.message} {after}")


def _hidden(bound: Bound | None, env: Env) -> bool:
    """The condition is definitely true (the form or event is not collected)."""
    return bound is not None and bound.fn(env) is True


def _missing_forms(
    record: SubjectRecord,
    data: DataIndex,
    plan: CheckPlan,
    *,
    lang: str | None,
    today: date | None,
) -> Iterator[CheckResult]:
    """A soft result per Mandatory FormRef of a study event with data that has no FormData
    (ODM 1.3.2 §3.1.3.3): the form is required at that visit, unless a condition of the
    event or the FormRef hides it (a true condition: not collected, so not required)."""
    mdv = plan.mdv
    for event in record.events:
        event_def = mdv.study_event_defs.get(event.study_event_oid)
        if event_def is None:
            continue
        present = {form.form_oid for form in event.forms}
        where = (event.study_event_oid, event.repeat_key)
        env = Env(data, event=where, today=today)
        if _hidden(plan.event_conditions.get(event.study_event_oid), env):
            continue
        for ref in event_def.form_refs:
            if not ref.mandatory or ref.form_oid in present:
                continue
            env.form = FormKey(*where, ref.form_oid, "")
            if _hidden(plan.form_conditions.get((event.study_event_oid, ref.form_oid)), env):
                continue
            form = mdv.form_defs.get(ref.form_oid)
            name = f" ({form.name})" if form is not None and form.name else ""
            key = ItemKey(event.study_event_oid, event.repeat_key, ref.form_oid, "", "", "", "")
            yield CheckResult(
                f"{ref.form_oid}#Mandatory",
                "mandatory",
                key,
                "soft",
                engine_text("form_missing", lang).format(
                    form=f"{ref.form_oid}{name}", event=event.study_event_oid
                ),
            )


def _missing_groups(
    record: SubjectRecord,
    data: DataIndex,
    plan: CheckPlan,
    *,
    lang: str | None,
    today: date | None,
) -> Iterator[CheckResult]:
    """A soft result per Mandatory ItemGroupRef of a repeating group with no row in a form
    that has data, unless its condition hides it. (A non-repeating group always has its one
    row, so its mandatory items are reported one by one by the checks.)"""
    for event in record.events:
        for form in event.forms:
            form_plan = plan.forms.get(form.form_oid)
            if form_plan is None:
                continue
            present = {group.item_group_oid for group in form.groups}
            where = (event.study_event_oid, event.repeat_key)
            form_key = FormKey(*where, form.form_oid, form.repeat_key)
            env = Env(data, event=where, form=form_key, today=today)
            for group in form_plan.groups:
                oid = group.group.oid
                if not (group.mandatory and group.group.repeating) or oid in present:
                    continue
                if _hidden(group.condition, env):
                    continue
                key = ItemKey(*where, form.form_oid, form.repeat_key, oid, "", "")
                yield CheckResult(
                    f"{oid}#Mandatory",
                    "mandatory",
                    key,
                    "soft",
                    engine_text("group_missing", lang).format(
                        group=f"{oid} ({group.group.name})", form=form.form_oid
                    ),
                )


def _row(subject: str, result: CheckResult | ValueProblem) -> dict[str, str]:
    return {
        "subject": subject,
        **dict(
            zip(ItemKey._fields, result.item_key or ("",) * 7, strict=True)
        ),  # the seven key columns
        "check": result.check_id,
        "kind": result.kind,
        "severity": result.severity,
        "message": result.message,
    }


def _text_line(row: dict[str, str]) -> str:
    def part(oid: str, key: str) -> str:
        return f"{oid}[{key}]" if key else (oid or "-")

    inner = (  # a missing form names no group or item
        part(row["form_oid"], row["form_repeat_key"]),
        part(row["item_group_oid"], row["item_group_repeat_key"]) if row["item_group_oid"] else "",
        row["item_oid"],
    )
    where = " ".join(
        (part(row["study_event_oid"], row["study_event_repeat_key"]), *filter(None, inner))
    )
    return (
        f"{row['subject']} {where} {row['check']} ({row['kind']}) {row['severity']}: "
        f"{row['message']}"
    )


_ORDER = (
    "Give the study metadata first and a file with ClinicalData second: "
    "edc check METADATA.xml DATA.xml"
)


def run_check(
    metadata: bytes,
    data: bytes,
    *,
    metadata_path: str | None = None,
    data_path: str | None = None,
    output: str = "text",
    lang: str | None = None,
    today: date | None = None,
) -> tuple[int, list[str], list[Finding]]:
    """Evaluate every check; (exit code, output lines, metadata/compile findings)."""
    loaded = load_odm(metadata, path=metadata_path)
    study = loaded.study
    mdv = study.metadata_version() if study else None
    if loaded.odm is None or study is None or mdv is None:
        problems = [f for f in loaded.findings if f.severity is Severity.ERROR]
        if problems:
            return 2, [f.format() for f in problems], loaded.findings
        where = metadata_path or "the metadata"
        return (
            2,
            [f"{where}: holds no MetaDataVersion, so there are no checks to run. {_ORDER}"],
            [],
        )
    compiled = CompiledStudy.of(study, mdv, path=metadata_path)
    reader = read_clinical_data(data, path=data_path)
    records = list(reader)
    if reader.refusal is not None:
        return 2, [reader.refusal.format()], list(compiled.findings)
    if not records:
        where = data_path or "the data"
        return 2, [f"{where}: holds no ClinicalData, so nothing was checked. {_ORDER}"], []
    rows: list[dict[str, str]] = []
    validator = MetadataValidator(mdv, study, plan=compiled.plan)
    for record in records:
        snapshot, entered_units = _snapshot(record)
        placed = _placement(record, validator, data_path, lang)
        rows.extend(_row(snapshot.subject_key, r) for r in placed)
        index = DataIndex(snapshot.values, compiled.plan.data_types)
        for missing in (_missing_forms, _missing_groups):
            found = missing(record, index, compiled.plan, lang=lang, today=today)
            rows.extend(_row(snapshot.subject_key, r) for r in found)
        evaluations = evaluate_subject(
            compiled.plan, snapshot, lang=lang, today=today, entered_units=entered_units
        )
        for evaluation in evaluations.values():
            rows.extend(_row(snapshot.subject_key, r) for r in evaluation.check_results)
    if output == "json":
        lines = [json.dumps(rows, indent=2, ensure_ascii=False)]
    else:
        lines = [_text_line(r) for r in rows]
    return (1 if rows else 0), lines, list(compiled.findings)

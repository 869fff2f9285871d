"""Expressions: evaluate all checks of a 100-item form (< 1 ms) and compile a study (< 50 ms).

Each measurement has a baseline from the same run: a hand-written Python function doing the
same comparisons on a plain dict (evaluation), and parsing the same metadata (compilation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from bench.common import Row

ITEMS = 100


def _metadata() -> bytes:
    refs, defs, conds = [], [], []
    for n in range(ITEMS):
        oid = f"IT.{n:03d}"
        cond = f' CollectionExceptionConditionOID="C.{n:03d}"' if n % 10 == 9 else ""
        refs.append(f'<ItemRef ItemOID="{oid}" Mandatory="Yes"{cond}/>')
        if n % 2:
            check = (
                f'<RangeCheck Comparator="LT" SoftHard="Soft"><CheckValue>{n + 50}</CheckValue>'
                "</RangeCheck>"
            )
        else:
            check = (
                f'<RangeCheck SoftHard="Hard"><FormalExpression Context="OEL">{oid} &gt;= 0 '
                f"and {oid} &lt; IT.000 + {n + 100}</FormalExpression></RangeCheck>"
            )
        defs.append(f'<ItemDef OID="{oid}" Name="{oid}" DataType="integer">{check}</ItemDef>')
        if cond:
            conds.append(
                f'<ConditionDef OID="C.{n:03d}" Name="c"><FormalExpression Context="OEL">'
                f"IT.{n - 1:03d} &gt; 1000</FormalExpression></ConditionDef>"
            )
    body = (
        '<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>'
        '<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>'
        '<FormDef OID="F.1" Name="F" Repeating="No"><ItemGroupRef ItemGroupOID="IG.1" '
        'Mandatory="Yes"/></FormDef>'
        f'<ItemGroupDef OID="IG.1" Name="G" Repeating="No">{"".join(refs)}</ItemGroupDef>'
        + "".join(defs)
        + "".join(conds)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
        'FileType="Snapshot" FileOID="B" CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2">'
        '<Study OID="S"><GlobalVariables><StudyName>B</StudyName><StudyDescription>B'
        "</StudyDescription><ProtocolName>B</ProtocolName></GlobalVariables>"
        f'<MetaDataVersion OID="M" Name="M">{body}</MetaDataVersion></Study></ODM>'
    ).encode()


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _baseline_checks(values: dict[str, str]) -> list[str]:
    failed = []
    first = int(values["IT.000"])
    for n in range(ITEMS):
        oid = f"IT.{n:03d}"
        if n % 10 == 9 and int(values[f"IT.{n - 1:03d}"]) > 1000:
            continue
        value = int(values[oid])
        if n % 2:
            if not Decimal(value) < Decimal(n + 50):
                failed.append(oid)
        elif not (value >= 0 and value < first + n + 100):
            failed.append(oid)
    return failed


def run() -> list[Row]:
    from odm_engine.checks import evaluate_form
    from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
    from odm_engine.expressions import compile_study
    from odm_engine.loader import load_odm

    metadata = _metadata()
    loaded = load_odm(metadata)
    assert loaded.study is not None
    mdv = loaded.study.metadata_version()
    assert mdv is not None
    compile_s = _best(lambda: compile_study(mdv), 5)
    load_s = _best(lambda: load_odm(metadata), 5)
    plan = compile_study(mdv).plan
    raw = {f"IT.{n:03d}": str(n * 3) for n in range(ITEMS)}
    snapshot = SubjectSnapshot(
        "1", None, {ItemKey("SE.1", "", "F.1", "", "IG.1", "", k): v for k, v in raw.items()}
    )
    form = FormKey("SE.1", "", "F.1", "")
    today = date(2024, 1, 1)
    failed = evaluate_form(plan, snapshot, form, today=today).check_results
    assert sorted(r.item_key.item_oid for r in failed) == sorted(_baseline_checks(raw))
    evaluate_s = _best(lambda: evaluate_form(plan, snapshot, form, today=today), 50)
    baseline_s = _best(lambda: _baseline_checks(raw), 50)
    return [
        Row(
            "expressions: evaluate all checks, 100-item form",
            evaluate_s * 1e3,
            baseline_s * 1e3,
            "ms",
            "< 1 ms",
            evaluate_s < 0.001,
            f"baseline: hand-written Python; {len(failed)} checks fail",
        ),
        Row(
            "expressions: compile all checks of the study",
            compile_s * 1e3,
            load_s * 1e3,
            "ms",
            "< 50 ms",
            compile_s < 0.050,
            "baseline: loading the same metadata",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row.format())

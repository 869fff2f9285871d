"""CompiledStudy: a metadata version's checks are compiled in one place, once per version."""

from __future__ import annotations

import ast

import pytest

from odm_engine import compiled_study
from odm_engine.compiled_study import CompiledStudy
from odm_engine.entry_validation import MetadataValidator
from odm_engine.expressions import compile_study
from odm_engine.loader import load_odm
from tests.conftest import REPO
from tests.expressions.helpers import item, load, odm, one_form, refs
from webapp import studyview

BODY = one_form(refs("IT.A"), item("IT.A"))


def test_compile_study_is_called_only_by_compiled_study() -> None:
    """Outside the expression package (and tests, bench) every caller goes through
    CompiledStudy, so the units and the cache point are the same everywhere."""
    allowed = {REPO / "odm_engine" / "compiled_study.py"}
    inside = REPO / "odm_engine" / "expressions"
    files = [REPO / "cli.py"]
    for package in ("odm_engine", "renderers", "services", "storage", "webapp", "cli"):
        if (REPO / package).is_dir():
            files.extend((REPO / package).rglob("*.py"))
    offenders = []
    for path in files:
        if path in allowed or inside in path.parents or not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name == "compile_study":
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_compiled_study_is_what_compile_study_gives() -> None:
    mdv, study = load(BODY)
    compiled = CompiledStudy.of(study, path="study.xml")
    reference = compile_study(
        mdv, path="study.xml", units=study.basic_definitions.measurement_units
    )
    assert compiled.mdv is mdv and compiled.study is study
    assert compiled.plan == reference.plan
    assert list(compiled.findings) == reference.findings
    assert CompiledStudy.of_version(mdv).plan == compile_study(mdv).plan


def test_the_web_compiles_a_metadata_version_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The study context hands one plan to the renderer and the validator (issue 15: it was
    compiled twice per metadata version)."""
    mdv, study = load(BODY)
    calls: list[str] = []

    def counting(*args: object, **kw: object) -> object:
        calls.append(mdv.oid)
        return compile_study(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(compiled_study, "compile_study", counting)
    loaded = load_odm(odm(BODY)).odm
    assert loaded is not None
    context = studyview._build(study.oid, "T", 1, "sha", loaded)
    assert len(calls) == 1
    assert context.plan is context.renderer.builder.plan


def test_a_validator_given_the_plan_does_not_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    mdv, study = load(BODY)
    plan = CompiledStudy.of(study).plan
    monkeypatch.setattr(compiled_study, "compile_study", None)
    assert MetadataValidator(mdv, study, plan=plan).form_has_checks("F.1") is False

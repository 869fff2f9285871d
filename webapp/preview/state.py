"""The previewed file as it is now: read, checked, compiled and rendered once per SHA-256.

:class:`WatchedFile` answers :meth:`~WatchedFile.current` on every request: it stats the
file and reads it again when its mtime or size changed (or when it changed so recently that a
second save could share its timestamp), and builds a :class:`Snapshot` only when the bytes'
SHA-256 is new; a few snapshots are kept by SHA-256, so undoing an edit shows the earlier
state at once. A snapshot is the whole pipeline of the app on these bytes, with no database:
``load_odm``, every finding (``iter_findings``, the vendor profile's tolerations, as
``storage.studies`` stores a file), the profile's reading (``normalise``), the compiled check
plan (``CompiledStudy``), one ``FormRenderer`` and one ``MetadataValidator`` sharing it, and
every form rendered in the default language. A file that does not load gives a snapshot with
its findings and no forms: the last good one is never shown as if it were the file.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from odm_engine import model as m
from odm_engine.compiled_study import CompiledStudy
from odm_engine.entry_validation import MetadataValidator
from odm_engine.expressions import CheckPlan
from odm_engine.findings import Finding, Severity
from odm_engine.loader import load_odm
from odm_engine.profiles import normalise, profile_for_odm, tolerate
from odm_engine.validate import iter_findings
from renderers.html import FormRenderer
from webapp.memo import Memo
from webapp.preview.placing import Placement, place

READ_FAILED = "EDC-PREVIEW-001"
NO_VERSION = "EDC-PREVIEW-002"
RENDER_FAILED = "EDC-PREVIEW-003"
SOURCE_URL = "/source"
"""Where a finding's line links to (the preview is served at the root of its host)."""
RACY_NS = 2_000_000_000
"""A file changed less than 2 s ago is hashed on every look: two saves within one mtime tick
of the file system keep its mtime, and may keep its size."""


@dataclass(frozen=True, slots=True)
class Built:
    """What a file that loads gives: the app's objects for its newest MetaDataVersion."""

    study: m.Study
    mdv: m.MetaDataVersion
    plan: CheckPlan
    renderer: FormRenderer
    validator: MetadataValidator


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: str
    sha256: str
    text: str
    """The file's text (for the source view; undecodable bytes replaced)."""
    findings: tuple[Finding, ...]
    built: Built | None
    """None: the file does not load (its findings say why)."""
    languages: tuple[str, ...]
    """The xml:lang values of the study's texts, the default first."""
    default_lang: str
    placement: Placement
    build_seconds: float
    _bodies: dict[tuple[str, str], Markup] = field(default_factory=dict, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    def body(self, form_oid: str, lang: str) -> Markup:
        """The form as sites see it in ``lang``, with the findings next to their elements."""
        with self._lock:
            found = self._bodies.get((form_oid, lang))
        if found is not None:
            return found
        assert self.built is not None
        plain = self.built.renderer.form_html(form_oid, lang=lang)
        body = self.placement.annotate(form_oid, str(plain), SOURCE_URL)
        with self._lock:
            self._bodies[(form_oid, lang)] = body
        return body


def _texts(mdv: m.MetaDataVersion) -> list[m.Text]:
    texts: list[m.Text] = []
    texts += [f.description for f in mdv.form_defs.values()]
    texts += [e.description for e in mdv.study_event_defs.values()]
    texts += [g.description for g in mdv.item_group_defs.values()]
    for item in mdv.item_defs.values():
        texts += [item.question, item.description]
        texts += [rc.error_message for rc in item.range_checks]
    for code_list in mdv.code_lists.values():
        texts += [i.decode for i in code_list.items]
    texts += [c.description for c in mdv.condition_defs.values()]
    return texts


def languages_of(mdv: m.MetaDataVersion, wanted: str | None, plan: CheckPlan) -> tuple[str, ...]:
    """The xml:lang values the study's texts use, the default (``wanted``, else the plan's,
    else the first used) first."""
    seen = dict.fromkeys(lang for text in _texts(mdv) for lang in text.languages)
    default = wanted or plan.default_lang or next(iter(seen), "en")
    return (default, *sorted(lang for lang in seen if lang != default))


def _failure(code: str, path: str, message: str, line: int | None = None) -> Finding:
    return Finding(code, Severity.ERROR, message, path=path, line=line)


def _load(data: bytes, path: str) -> tuple[m.Study | None, list[Finding]]:
    """The study the app would store and the findings ``edc study load`` reports."""
    result = load_odm(data, path=path)
    findings = list(iter_findings(result, path=path))
    if result.odm is None:
        return None, findings
    profile, _why = profile_for_odm(result.odm)
    findings = tolerate(findings, profile)
    study = normalise(result.odm).study
    if study is None or study.metadata_version() is None:
        findings.append(
            _failure(
                NO_VERSION,
                path,
                "The file holds no Study with a MetaDataVersion: there "
                "are no forms to show. Add a Study with a MetaDataVersion.",
            )
        )
        return None, findings
    return study, findings


def build(data: bytes, path: str, lang: str | None = None) -> Snapshot:
    """Everything the preview shows of ``data`` (the bytes of ``path``)."""
    start = time.perf_counter()
    sha = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8", errors="replace")
    study, findings = _load(data, path)
    built = None
    languages: tuple[str, ...] = (lang or "en",)
    if study is not None:
        mdv = study.metadata_version()
        assert mdv is not None
        plan = CompiledStudy.of(study, mdv).plan
        renderer = FormRenderer(study, plan=plan)
        built = Built(study, mdv, plan, renderer, MetadataValidator(mdv, study, plan=plan))
        languages = languages_of(mdv, lang, plan)
    snapshot = Snapshot(
        path,
        sha,
        text,
        tuple(findings),
        built,
        languages,
        languages[0],
        place(findings, built.mdv if built else None),
        0.0,
    )
    if built is not None:
        snapshot = _render_all(snapshot)
    return _timed(snapshot, time.perf_counter() - start)


def _render_all(snapshot: Snapshot) -> Snapshot:
    """Render every form in every language now (a save is shown at once, and a page never
    fails later); a form the renderer cannot draw becomes a finding at its FormDef."""
    assert snapshot.built is not None
    failed = []
    for form in snapshot.built.mdv.form_defs.values():
        try:
            for lang in snapshot.languages:
                snapshot.body(form.oid, lang)
        except Exception as exc:  # a half-edited file must never fail the page
            failed.append(
                _failure(
                    RENDER_FAILED,
                    snapshot.path,
                    f"FormDef {form.oid} cannot be shown: "
                    f"{type(exc).__name__}: {exc}. Fix the findings above it.",
                    form.line or None,
                )
            )
    if not failed:
        return snapshot
    findings = (*snapshot.findings, *failed)
    return Snapshot(
        snapshot.path,
        snapshot.sha256,
        snapshot.text,
        findings,
        None,
        snapshot.languages,
        snapshot.default_lang,
        place(findings, None),
        0.0,
    )


def _timed(snapshot: Snapshot, seconds: float) -> Snapshot:
    object.__setattr__(snapshot, "build_seconds", seconds)  # frozen: set once, here
    return snapshot


class WatchedFile:
    """The file being previewed; :meth:`current` is its snapshot now."""

    def __init__(self, path: Path, *, lang: str | None = None, keep: int = 8) -> None:
        self.path = path
        self.lang = lang
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._snapshot: Snapshot | None = None
        self._built: Memo[str, Snapshot] = Memo("preview snapshots", keep)

    def current(self) -> Snapshot:
        with self._lock:
            try:
                stat = os.stat(self.path)
            except OSError as exc:
                return self._unreadable(exc)
            seen = (stat.st_mtime_ns, stat.st_size)
            racy = time.time_ns() - stat.st_mtime_ns < RACY_NS
            if self._snapshot is not None and seen == self._seen and not racy:
                return self._snapshot
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                return self._unreadable(exc)
            self._seen = seen
            sha = hashlib.sha256(data).hexdigest()
            if self._snapshot is None or self._snapshot.sha256 != sha:
                self._snapshot = self._built.get(
                    sha, lambda: build(data, str(self.path), self.lang)
                )
            return self._snapshot

    def _unreadable(self, exc: OSError) -> Snapshot:
        """The file is gone or unreadable (an editor between delete and write): say so."""
        self._seen = None
        message = (
            f"The file cannot be read ({exc.strerror or type(exc).__name__}). Save it again, "
            "or check the path and its permissions."
        )
        failed = (_failure(READ_FAILED, str(self.path), message),)
        lang = self.lang or "en"
        self._snapshot = Snapshot(
            str(self.path), "", "", failed, None, (lang,), lang, place(failed, None), 0.0
        )
        return self._snapshot

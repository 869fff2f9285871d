"""The served study as the web app reads it: parsed once per metadata version (by SHA-256).

``served_study(conn, settings)`` gives a :class:`StudyContext`: the ODM model, the compiled
check plan, one :class:`~renderers.html.FormRenderer` and one validator for saves, the
languages the study is written in, its sites and its SignatureDefs. Built objects are cached
by the metadata's SHA-256: a cache of database content, so every worker builds the same one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from odm_engine import model as m
from odm_engine.checks import evaluate_form
from odm_engine.clinical import FormKey, SubjectSnapshot
from odm_engine.compiled_study import CompiledStudy
from odm_engine.entry_validation import MetadataValidator
from odm_engine.expressions import CheckPlan
from renderers.html import FormRenderer, field_name
from storage.engine import Connection
from storage.readers.listings import newest_versions, study_sites
from storage.refs import SubjectRef
from storage.studies import current_metadata, metadata_of
from storage.subjects import subject_version
from storage.vocabulary import MAX_REPEAT_KEY
from webapp.errors import HttpError
from webapp.memo import Memo
from webapp.settings import Settings

UI_LANGUAGES = ("en", "de")


@dataclass(frozen=True, slots=True)
class SiteRef:
    oid: str
    name: str

    @property
    def code(self) -> str:
        """The short site code that starts its SubjectKeys: ``LOC.DE01`` -> ``DE01``."""
        return self.oid.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class StudyContext:
    oid: str
    name: str
    number: int
    sha256: str
    odm: m.ODM
    study: m.Study
    mdv: m.MetaDataVersion
    plan: CheckPlan
    renderer: FormRenderer
    validator: MetadataValidator
    languages: tuple[str, ...]
    """The languages the study's text is written in: those of the interface (UI_LANGUAGES)
    first, then the others (their pages word the study in that language, the rest in English)."""
    default_lang: str
    signature_defs: tuple[m.SignatureDef, ...]
    _query_fields: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def text(self, text: m.Text, lang: str) -> str:
        return text.get(lang, self.default_lang)

    def unit_symbol(self, unit_oid: str, lang: str) -> str:
        """A MeasurementUnit's symbol in ``lang`` (else its name, else its OID)."""
        unit = self.study.basic_definitions.measurement_units.get(unit_oid)
        if unit is None:
            return unit_oid
        return self.text(unit.symbol, lang) or unit.name or unit_oid

    def event_name(self, event: m.StudyEventDef, lang: str) -> str:
        return self.text(event.description, lang) or event.name

    def form_name(self, form_oid: str, lang: str) -> str:
        form = self.mdv.form_defs.get(form_oid)
        return (self.text(form.description, lang) or form.name) if form else form_oid

    def has_form(self, event_oid: str, form_oid: str) -> bool:
        event = self.mdv.study_event_defs.get(event_oid)
        return event is not None and any(r.form_oid == form_oid for r in event.form_refs)

    def may_open(self, key: FormKey, stored: Collection[FormKey] = ()) -> bool:
        """A form instance a user may open: the form is in the event, and a repeat key is
        given (1 to 100 characters) exactly where its StudyEventDef or FormDef repeats, or
        is one data was stored under (``stored``: the subject's form instances), as an
        import from an EDC that numbers every event leaves it (``SE.X`` key ``1``)."""
        if not self.has_form(key.study_event_oid, key.form_oid):
            return False
        event = self.mdv.study_event_defs[key.study_event_oid]
        form = self.mdv.form_defs.get(key.form_oid)
        erk, frk = key.study_event_repeat_key, key.form_repeat_key
        if len(erk) > MAX_REPEAT_KEY or len(frk) > MAX_REPEAT_KEY:
            return False
        event_ok = (erk != "") == event.repeating or any(
            (k.study_event_oid, k.study_event_repeat_key) == (key.study_event_oid, erk)
            for k in stored
        )
        form_ok = (frk != "") == (form is not None and form.repeating) or key in stored
        return event_ok and form_ok

    def not_in_form(self, snapshot: SubjectSnapshot, key: FormKey) -> tuple[tuple[str, str], ...]:
        """(ItemGroupOID/ItemOID, value) of the form instance's stored values that this
        version's FormDef does not reach (items a newer version removed): kept, read-only."""
        form = self.mdv.form_defs.get(key.form_oid)
        groups = {r.item_group_oid for r in form.item_group_refs} if form else set()
        return tuple(
            (f"{k.item_group_oid}/{k.item_oid}", value)
            for k, value in sorted(snapshot.values.items())
            if k.form_key == key
            and (
                k.item_group_oid not in groups
                or k.item_group_oid not in self.mdv.item_group_defs
                or all(
                    r.item_oid != k.item_oid
                    for r in self.mdv.item_group_defs[k.item_group_oid].item_refs
                )
            )
        )

    def query_fields(self, form_oid: str, lang: str) -> tuple[tuple[str, str], ...]:
        """(field name, "ItemOID: question") of each item of the form's non-repeating groups,
        for raising a query on one item; made once per form and language."""
        found = self._query_fields.get((form_oid, lang))
        if found is not None:
            return found
        out = []
        for gref in self.mdv.form_defs[form_oid].item_group_refs:
            group = self.mdv.item_group_defs.get(gref.item_group_oid)
            if group is None or group.repeating:
                continue
            for ref in group.item_refs:
                item = self.mdv.item_defs.get(ref.item_oid)
                if item is not None:
                    label = self.text(item.question, lang) or item.name
                    out.append((field_name(group.oid, "", item.oid), f"{item.oid}: {label}"))
        self._query_fields[(form_oid, lang)] = found = tuple(out)
        return found

    def not_collected(self, snapshot: SubjectSnapshot, key: FormKey, lang: str) -> str | None:
        """Why the form is not collected for this subject (its ConditionDef's text), or None."""
        if (
            key.study_event_oid not in self.plan.event_conditions
            and (key.study_event_oid, key.form_oid) not in self.plan.form_conditions
        ):
            return None  # no StudyEventRef or FormRef condition: the form is collected
        evaluation = evaluate_form(self.plan, snapshot, key, lang=lang)
        if key not in evaluation.hidden:
            return None
        reasons = []
        for (cid, where), truth in evaluation.conditions.items():
            if where == key and truth is True:
                cond = self.mdv.condition_defs.get(cid)
                reasons.append(self.text(cond.description, lang) if cond else cid)
        return " ".join(dict.fromkeys(reasons)) or "A collection exception condition is true."


STUDIES: Memo[tuple[str, str, str, int], StudyContext] = Memo("studies", bound=16)
"""Built study contexts by (SHA-256 of the metadata, study OID, name, version number): room
for the current version of each study a server hosts, and the older versions subjects are
still on, so that requests alternating between studies do not rebuild them."""


def _languages(mdv: m.MetaDataVersion) -> tuple[str, ...]:
    found: set[str] = set()
    for item in mdv.item_defs.values():
        found.update(lang.split("-")[0].lower() for lang in item.question.languages)
    for form in mdv.form_defs.values():
        found.update(lang.split("-")[0].lower() for lang in form.description.languages)
    found = {lang for lang in found if lang.isascii() and lang.isalpha() and 2 <= len(lang) <= 3}
    others = sorted(found.difference(UI_LANGUAGES))
    return (*(lang for lang in UI_LANGUAGES if lang in found), *others) or ("en",)


def _build(oid: str, name: str, number: int, sha: str, odm: m.ODM) -> StudyContext:
    study = odm.find_study(oid) or odm.study
    mdv = study.metadata_version() if study else None
    if study is None or mdv is None:
        raise HttpError(500, f"Study {oid}: the stored metadata has no MetaDataVersion.")
    plan = CompiledStudy.of(study, mdv).plan  # once per metadata version (STUDIES, by SHA)
    languages = _languages(mdv)
    default = plan.default_lang or languages[0]
    sigs = tuple(s for a in odm.admin_data for s in a.signature_defs.values())
    return StudyContext(
        oid=oid,
        name=name,
        number=number,
        sha256=sha,
        odm=odm,
        study=study,
        mdv=mdv,
        plan=plan,
        renderer=FormRenderer(study, plan=plan),
        validator=MetadataValidator(mdv, study, plan=plan),
        languages=languages,
        default_lang=default.split("-")[0],
        signature_defs=sigs,
    )


class SeveralStudies(HttpError):
    """The database holds several studies and the request names none (no ``/studies/<OID>``
    prefix, no EDC_STUDY): the app sends the user to the list of their studies."""

    def __init__(self, oids: tuple[str, ...]) -> None:
        super().__init__(404, f"This database holds several studies ({', '.join(oids)}).")
        self.oids = oids


def served_study(
    conn: Connection, settings: Settings, study_oid: str | None = None
) -> StudyContext | None:
    """The study a request is for: ``study_oid`` (from the URL's ``/studies/<OID>``), else the
    configured study (EDC_STUDY), else the only study in the database; None when that study
    is not stored (or none is loaded). :class:`SeveralStudies` when none is named and the
    database holds several.

    One query finds the study and its newest metadata version; the parsed context is built
    once per SHA-256 and reused.
    """
    rows = newest_versions(conn, study_oid or settings.study or None)
    if len(rows) > 1:
        raise SeveralStudies(tuple(r.study_oid for r in rows))
    if not rows:
        return None
    oid, name, number, sha = rows[0].study_oid, rows[0].study_name, rows[0].number, rows[0].sha256

    def build() -> StudyContext:
        stored = current_metadata(conn, oid)
        return _build(oid, name, stored.number, stored.sha256, stored.odm)

    return STUDIES.get((sha, oid, name, number), build)


def subject_study(conn: Connection, study: StudyContext, subject: SubjectRef) -> StudyContext:
    """The context of the metadata version ``subject`` is on: ``study`` (the current
    version) for most subjects; an older published version for a subject not yet migrated,
    whose forms are shown and checked as they were collected. Built once per version (by
    SHA-256, like the current one). The number is the one the subject's lookup read with it
    (``find_subject``), asked of the database only where the lookup did not read it."""
    number = subject.metadata_version
    if number is None:
        number = subject_version(conn, study.oid, subject.subject_key)
    return version_study(conn, study, number)


def version_number(text: str) -> int | None:
    """A metadata version number as a form or URL gives it: 1 to 9 ASCII digits, else None
    (``"²"`` passes ``isdigit``, and a longer number would overflow the database's INTEGER:
    both were 500s)."""
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text)


def version_study(conn: Connection, study: StudyContext, number: int) -> StudyContext:
    """The context of stored metadata version ``number`` of ``study`` (published or draft):
    ``study`` itself for its own number. A draft's forms are rendered by it as sites will see
    them once it is published. Built once per version (by SHA-256); an unknown number is
    ``storage.errors.NotFoundError``."""
    if number == study.number:
        return study
    stored = metadata_of(conn, study.oid, number)
    return STUDIES.get(
        (stored.sha256, study.oid, study.name, number),
        lambda: _build(study.oid, study.name, number, stored.sha256, stored.odm),
    )


def sites_of(conn: Connection, study_oid: str) -> list[SiteRef]:
    """The study's sites (AdminData Locations of type Site, or of no type), by OID."""
    rows = study_sites(conn, study_oid)
    return [SiteRef(s.oid, s.name) for s in rows if s.location_type in (None, "Site")]


SUBJECT_KEY = re.compile(r"^(?P<site>[A-Za-z0-9]+)-(?P<number>[0-9]{3,6})$")


def subject_key_problem(key: str, site: SiteRef) -> str | None:
    """Why ``key`` is not a SubjectKey for ``site`` (``DE01-001``: site code, dash, number)."""
    match = SUBJECT_KEY.fullmatch(key)
    if match is None:
        return (
            f"'{key}' is not a subject number: write the site code, a dash and 3 to 6 digits, "
            f"e.g. {site.code}-001."
        )
    if match["site"] != site.code:
        return f"'{key}' does not start with this site's code {site.code}: e.g. {site.code}-001."
    return None

"""The checks of a subject's forms on the bulk path, pure: no SQL, no connection (issue 20).

Two ways, held equal by ``tests/storage/test_bulk_form_checks.py``:

- :func:`form_outcomes`, the reference: each form instance with checks through
  ``FormValidator.validate`` (``odm_engine.checks.evaluate_form``), as ``save_form`` does;
- :func:`local_outcome`, for a NEW subject's forms whose checks each read one value
  (``odm_engine.local_checks``): each value through its item's compiled check, nothing built
  per form instance. Bench figure: the subject-heavy import, 40,000 x 1 x 4 with a
  RangeCheck per form (``bench/bench_exchange.py``): 262-275 -> 153-167 µs CPU per subject;
  also the 200,000 form instances of ``bench/bench_phase3.py``.

Both give the hard results as :class:`BulkProblem` rows and the soft ones that open a query
(a Mandatory item left empty opens none on import); the writer (``storage.bulk.writer``)
opens the queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from odm_engine.checks import sources_first
from odm_engine.clinical import ItemKey
from odm_engine.entry_validation import CheckResultLike, EnteredValue, FormValidator, apply_changes
from storage.bulk.values import BulkProblem, KeyInfo, problem_of
from storage.subjects import StoredItem, SubjectRef, snapshot_of, stored_units

Outcome = tuple[list[BulkProblem], list[CheckResultLike]]
"""(hard results as problems, soft results that open a query) of a form or a subject."""


def local_outcome(subject_key: str, wanted: Iterable[tuple[KeyInfo, EnteredValue]]) -> Outcome:
    """The checks of a new subject's local forms, value by value (``KeyInfo[9]``)."""
    problems: list[BulkProblem] = []
    soft: list[CheckResultLike] = []
    for info, value in wanted:
        check = info[9]
        if check is not None and value.__class__ is str:
            for result in check(info[1], value):
                if result.severity == "hard":
                    problems.append(problem_of(subject_key, result))
                else:
                    soft.append(result)
    return problems, soft


def form_outcomes(
    validator: FormValidator,
    ref: SubjectRef,
    stored: Mapping[ItemKey, StoredItem],
    wanted: dict[ItemKey, EnteredValue],
    units: Mapping[ItemKey, str],
    *,
    skip: Any = None,
) -> Iterator[Outcome]:
    """Each form instance of ``wanted`` whose form has checks (but those ``skip(form_oid)``
    says are checked elsewhere), validated on the subject as it is after the import; the
    values the form derives are added to ``wanted``. A form whose derivations read a derived
    item of another form is validated after it and sees what it derived, as if the forms were
    saved one by one in the web in that order (``derivation_sources``)."""
    by_form: dict[Any, dict[ItemKey, EnteredValue]] = {}
    for key, value in wanted.items():
        if validator.form_has_checks(key.form_oid) and not (skip and skip(key.form_oid)):
            by_form.setdefault(key.form_key, {})[key] = value
    if not by_form:
        return
    snapshot = apply_changes(snapshot_of(ref, stored), wanted)  # the subject after import
    entered = {**stored_units(stored), **units} if units or stored else None
    order = sorted(by_form)
    sources = {f.form_oid: s for f in order if (s := validator.derivation_sources(f.form_oid))}
    feeding = frozenset().union(*sources.values()) if sources else frozenset()
    for form in sources_first(order, sources) if sources else order:
        result = validator.validate(snapshot, form, by_form[form], units=entered)
        problems = []
        if result.refusal:
            refusal = ("CollectionException", "condition", None, "hard", result.refusal)
            problems.append(BulkProblem(ref.subject_key, *refusal))
        problems.extend(problem_of(ref.subject_key, r) for r in result.hard)
        derived = {k: v for k, v in result.derived.items() if k.form_key == form}
        wanted.update(derived)
        if derived and form.form_oid in feeding:
            snapshot = apply_changes(snapshot, derived)
        yield problems, [r for r in result.soft if r.kind != "mandatory"]

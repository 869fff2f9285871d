"""The bulk path's checks of values, pure: no SQL, no connection (issue 15).

:class:`KeyFacts` works out once per ItemKey object what the import needs to know of it (its
ItemDef's value check, its form and group keys, whether its form has checks) and checks each
value against it; :func:`change_of` says what writing a value over the stored one changes.
Problems are :class:`BulkProblem` rows. The writer (``storage.bulk.writer``) buffers what
passes and hands it to a row sink (``storage.bulk.sinks``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.entry_validation import EnteredValue, FormValidator, ValueProblem
from odm_engine.local_checks import LocalCheck, LocalChecks

INSERT, UPDATE, REMOVE = "Insert", "Update", "Remove"
"""ODM TransactionTypes of item changes (``storage.models.TransactionType`` values)."""
MAX_KEYS = 200_000
"""Item keys whose facts are remembered (a study has thousands; forgotten all at once)."""

KeyInfo = tuple[
    ItemKey,
    ItemKey,
    "Callable[[str], Any] | None",
    FormKey,
    GroupKey,
    bool,
    str,
    tuple[str, str, str],
    bool,
    "LocalCheck | None",
]
"""What the bulk path knows of one ItemKey object: the key, its interned equal, the value
check of its ItemDef (None: ask ``canonical``), its form and group keys (interned), whether its
form has checks, its ItemOID, (ItemGroupOID, ItemGroupRepeatKey, ItemOID), whether its form's
checks each read one value (``odm_engine.local_checks``: a new subject's form is then checked
value by value) and that check of its values (None: none left once ``canonical`` passed)."""


@dataclass(frozen=True, slots=True)
class BulkProblem:
    subject_key: str
    check_id: str
    kind: str
    item_key: ItemKey | None
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class BulkResult:
    subjects_created: int
    items_written: int
    audit_rows: int
    queries_opened: int


def problem_of(subject_key: str, p: Any) -> BulkProblem:
    """A check result or ValueProblem of ``subject_key`` as a BulkProblem."""
    return BulkProblem(subject_key, p.check_id, p.kind, p.item_key, p.severity, p.message)


def site_problem(subject_key: str, site_oid: str | None) -> BulkProblem:
    return BulkProblem(
        subject_key,
        "SiteRef",
        "metadata",
        None,
        "hard",
        f'Subject {subject_key}: SiteRef LocationOID="{site_oid}" names no '
        "site of this study. Add the Location to AdminData and load it.",
    )


def version_problem(subject_key: str, behind: Mapping[str, int], current: int) -> BulkProblem:
    """An import into a subject not on the current version (``behind``: SubjectKey ->
    version): its values would be checked against a version it is not on."""
    number = behind[subject_key]
    return BulkProblem(
        subject_key,
        "MetaDataVersion",
        "metadata",
        None,
        "hard",
        f"Subject {subject_key} is on metadata version {number}, the import is checked "
        f"against the current version {current}: migrate the subject first (`edc study "
        f"migrate --to {current} --subject {subject_key}`), then import.",
    )


def reason_problem(subject_key: str, form: FormKey) -> BulkProblem:
    return BulkProblem(
        subject_key,
        "reason",
        "reason",
        None,
        "hard",
        f"Form {form.form_oid} of subject {subject_key} holds data "
        "already: give a reason for change (--reason).",
    )


class KeyFacts:
    """Facts of item keys (see :data:`KeyInfo`), worked out once per key object, and the
    check of a value against them. Equal keys share one interned key, form and group key."""

    def __init__(self, validator: FormValidator) -> None:
        self.validator = validator
        self.canonical = validator.canonical
        self.infos: dict[int, KeyInfo] = {}
        """id(ItemKey) -> facts of that key; the key itself is the first of them, so the id
        stays its own while remembered."""
        self._interned: dict[Any, Any] = {}
        self._value_checker: Callable[[ItemKey], Any] | None = getattr(
            validator, "value_checker", None
        )
        self.single_groups: frozenset[str] = getattr(validator, "single_groups", frozenset())
        """Non-repeating ItemGroupOIDs: a second instance in a form is a problem."""
        self._local: LocalChecks | None = getattr(validator, "local_checks", None)

    def is_local(self, form_oid: str) -> bool:
        """Whether the checks of ``form_oid`` each read one value (``KeyInfo[8]``)."""
        return self._local is not None and self._local.is_local(form_oid)

    def forget_if_full(self) -> None:
        if len(self.infos) > MAX_KEYS:
            self.infos.clear()
            self._interned.clear()

    def info(self, key: ItemKey) -> KeyInfo:
        info = self.infos.get(id(key))
        if info is None or info[0] is not key:
            info = self.learn(key)
        return info

    def check(self, key: ItemKey, value: EnteredValue) -> tuple[KeyInfo, Any]:
        """(facts of ``key``, the canonical value or a ValueProblem): the ItemDef's fast check
        first, ``canonical`` for anything it does not answer with text."""
        info = self.infos.get(id(key))
        if info is None or info[0] is not key:
            info = self.learn(key)
        check = info[2]  # gives canonical text, or anything else: ask canonical()
        if (
            check is None
            or value.__class__ is not str
            or (checked := check(value)).__class__ is not str  # type: ignore[arg-type]
        ):
            checked = self.canonical(key, value)
        return info, checked

    def learn(self, key: ItemKey) -> KeyInfo:
        """What is known of ``key`` (see :data:`KeyInfo`), worked out once and remembered."""
        interned = self._interned
        canon = interned.setdefault(key, key)
        form = interned.setdefault(canon.form_key, canon.form_key)
        group = interned.setdefault(canon.group_key, canon.group_key)
        check = self._value_checker(canon) if self._value_checker is not None else None
        has_checks = self.validator.form_has_checks(key.form_oid)
        local = self._local
        is_local = has_checks and local is not None and local.is_local(key.form_oid)
        info: KeyInfo = (
            key,
            canon,
            check if check.__class__ is not ValueProblem else None,  # type: ignore[misc]
            form,  # type: ignore[arg-type]
            group,  # type: ignore[arg-type]
            has_checks,
            key.item_oid,
            (key.item_group_oid, key.item_group_repeat_key, key.item_oid),
            is_local,
            local.check_of(canon) if is_local and local is not None else None,
        )
        self.infos[id(key)] = info
        return info

    def checked_units(
        self, subject_key: str, units: Mapping[ItemKey, str] | None, problems: list[BulkProblem]
    ) -> Mapping[ItemKey, str]:
        """``units`` without those the item does not have (each one added to ``problems``)."""
        if not units:
            return {}
        kept = {}
        for key, unit in units.items():
            problem = self.validator.unit_problem(key, unit)
            if problem is None:
                kept[key] = unit
            else:
                problems.append(problem_of(subject_key, problem))
        return kept


Change = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None]
"""(TransactionType, old value, new value, old IsNull, new IsNull, old unit, new unit): the
last columns of an audit row (``storage.audit.ROW_COLUMNS``)."""


def change_of(
    old_row: tuple[Any, ...] | None, value: EnteredValue, unit: str | None, units_given: bool
) -> Change | None:
    """What writing ``value`` (canonical; None removes) over ``old_row`` (the stored
    (id, value, is_null, unit), or None) changes; None if nothing. ``unit``: the one given
    with the value (``units_given``: any were), else the value keeps the stored one."""
    if value.__class__ is str:
        new_value, new_null = value, None
    elif value is None:
        new_value = new_null = None
    else:
        new_value, new_null = None, value.reason  # type: ignore[union-attr]
    old_unit = old_row[3] if old_row is not None else None
    new_unit = None  # a value given without a unit keeps the one stored with it
    if new_value is not None:
        new_unit = unit if units_given and unit is not None else old_unit
    if old_row is None:
        if new_value is None and new_null is None:
            return None  # removing what is not there
        return (INSERT, None, new_value, None, new_null, old_unit, new_unit)  # type: ignore[return-value]
    old_value, old_null = old_row[1], old_row[2]
    if old_value == new_value and old_null == new_null and old_unit == new_unit:
        return None
    if old_value is None and old_null is None:
        kind = INSERT
    elif new_value is None and new_null is None:
        kind = REMOVE
    else:
        kind = UPDATE
    return (kind, old_value, new_value, old_null, new_null, old_unit, new_unit)  # type: ignore[return-value]

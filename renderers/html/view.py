"""The typed view model the templates read: what the page shows, nothing the ODM model hides.

``build.build_form_view`` turns ODM metadata plus a :class:`FormState` into a
:class:`FormView`; templates read only these objects (never ODM model objects), so every
decision (which widget, which language, hidden or not) is made here, in tested Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from renderers.html.naming import FieldRef

_NO_TEXT: Mapping[Any, str] = MappingProxyType({})


class CheckResultLike(Protocol):
    """A check result as ``odm_engine.checks`` and the storage layer give them."""

    @property
    def check_id(self) -> str: ...
    @property
    def item_key(self) -> ItemKey | None: ...
    @property
    def severity(self) -> str:
        """``hard`` (an error: nothing was saved) or ``soft`` (saved; opens a query)."""
        ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FormState:
    """What the form shows besides the metadata: values, units, check results.

    ``values`` and ``units`` are keyed by :class:`FieldRef` (item group, repeat key, item)
    and hold ODM canonical text, or the text the user typed when a save was refused.
    ``subject`` (the subject's other data) and ``form_key`` let conditions and derivations
    that read other forms be evaluated; ``not_collected`` adds fields the caller already
    knows are not collected. ``repeat_keys`` lists saved rows of repeating groups that hold
    no value yet.
    """

    values: Mapping[FieldRef, str] = field(default_factory=dict)
    units: Mapping[FieldRef, str] = field(default_factory=dict)
    check_results: Sequence[CheckResultLike] = ()
    form_key: FormKey | None = None
    subject: SubjectSnapshot | None = None
    not_collected: frozenset[FieldRef] = frozenset()
    repeat_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    history_urls: Mapping[FieldRef, str] = field(default_factory=dict)
    """Where the web app shows a field's audit trail: a link next to the field."""

    @classmethod
    def from_snapshot(
        cls,
        snapshot: SubjectSnapshot,
        form_key: FormKey,
        *,
        check_results: Sequence[CheckResultLike] = (),
        units: Mapping[FieldRef, str] = _NO_TEXT,
        entered: Mapping[FieldRef, str] = _NO_TEXT,
    ) -> FormState:
        """The state of the form at ``form_key`` in ``snapshot``; ``entered`` overlays
        values typed by the user (shown again when a save was refused)."""
        values: dict[FieldRef, str] = {}
        for key, text in snapshot.values.items():
            if key.form_key == form_key:
                values[FieldRef(key.item_group_oid, key.item_group_repeat_key, key.item_oid)] = text
        values.update(entered)
        return cls(
            values=values,
            units=units,
            check_results=tuple(check_results),
            form_key=form_key,
            subject=snapshot,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    selected: bool
    id: str


@dataclass(frozen=True, slots=True)
class UnitChoice:
    oid: str
    symbol: str
    selected: bool


@dataclass(frozen=True, slots=True)
class MessageView:
    severity: str
    """``error`` (hard check) or ``query`` (soft check)."""
    label: str
    text: str
    id: str


@dataclass(frozen=True, slots=True)
class FieldView:
    """One input (or radio group, select, checkbox) for one ItemRef in one row."""

    name: str
    id: str
    item_oid: str
    group_oid: str
    repeat_key: str
    label: str
    help: str
    widget: str
    """``input``, ``textarea``, ``radio``, ``select``, ``checkbox`` or ``derived``."""
    input_type: str
    """The ``type`` of an ``input`` / ``derived`` widget: text, number, time, datetime-local."""
    data_type: str
    value: str
    mandatory: bool
    hidden: bool
    step: str | None = None
    maxlength: int | None = None
    placeholder: str | None = None
    date_kind: str | None = None
    """DataType of date-like text inputs the browser normalises (date, partialDate, ...)."""
    number_kind: str | None = None
    """``integer`` or ``number`` (float, double): a text input read with a decimal comma or
    point (``renderers.html.numbers``; chromium's type=number turns 3,4 into 34)."""
    method_oid: str | None = None
    condition_oid: str | None = None
    choices: tuple[Choice, ...] = ()
    units: tuple[UnitChoice, ...] = ()
    unit_name: str | None = None
    unit_symbol: str = ""
    checkbox_name: str | None = None
    answered: bool = False
    """Checkbox only: a value (true or false) is stored; unchecked then means false."""
    messages: tuple[MessageView, ...] = ()
    history_url: str = ""

    @property
    def has_error(self) -> bool:
        return any(m.severity == "error" for m in self.messages)

    @property
    def described_by(self) -> str:
        ids = [self.id + "-help"] if self.help else []
        ids.extend(m.id for m in self.messages)
        return " ".join(ids)


@dataclass(frozen=True, slots=True)
class ColumnView:
    """A column head of a repeating group's table."""

    item_oid: str
    label: str
    help: str
    mandatory: bool
    derived: bool


@dataclass(frozen=True, slots=True)
class RowView:
    repeat_key: str
    saved: bool
    """A stored row: removing it sends ``IG[KEY]:remove``; a new row is simply dropped."""
    remove_name: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    oid: str
    legend: str
    help: str
    repeating: bool
    mandatory: bool
    hidden: bool
    condition_oid: str | None
    fields: tuple[FieldView, ...] = ()
    """The fields of a non-repeating group."""
    columns: tuple[ColumnView, ...] = ()
    rows: tuple[RowView, ...] = ()
    template: RowView | None = None
    """The row the "add row" button copies (repeating groups)."""


@dataclass(frozen=True, slots=True)
class FormView:
    oid: str
    title: str
    help: str
    lang: str
    """The language the user asked for (ODM text falls back to the study default)."""
    ui: Mapping[str, str]
    groups: tuple[GroupView, ...]
    messages: tuple[MessageView, ...]
    """Check results that belong to no field of the form."""
    client: Mapping[str, Any] = field(default_factory=dict)
    """Plain data for ``form.js`` (see render.py's module docstring for the contract)."""
    client_id: str = ""

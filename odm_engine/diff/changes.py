"""The records a metadata diff is made of: one :class:`Change` per thing a designer would name.

A change says what happened (``kind``), to which kind of element (``element``: the ODM element
name, ``ItemDef``, ``ItemRef``, ``CodeListItem``, ``RangeCheck``, ``Translation``, ``Alias``...),
which one (``oid``, and ``parent`` where the element lives inside another: the group of an
ItemRef, the code list of a code, the ItemDef of a RangeCheck), which attribute, the old and the
new value as text, and a one-line message. Values are text (or None when absent) so the records
serialise to JSON as they are and compare across versions without the model's line numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Kind = Literal["added", "removed", "changed", "moved", "renamed"]
KINDS: tuple[Kind, ...] = ("added", "removed", "changed", "moved", "renamed")

ELEMENT_ORDER: tuple[str, ...] = (
    "Study",
    "MetaDataVersion",
    "StudyEventDef",
    "StudyEventRef",
    "FormDef",
    "FormRef",
    "ItemGroupDef",
    "ItemGroupRef",
    "ItemDef",
    "ItemRef",
    "RangeCheck",
    "CodeList",
    "CodeListItem",
    "ConditionDef",
    "MethodDef",
    "MeasurementUnit",
    "Translation",
    "Alias",
)
"""The order a report lists its groups in: the study's structure from the top, then the
definitions items point at, then the annotations (translations, aliases) of all of them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference between two versions of a study's metadata."""

    kind: Kind
    element: str
    oid: str
    attribute: str | None = None
    old: str | None = None
    new: str | None = None
    parent: str | None = None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "element": self.element,
            "oid": self.oid,
            "parent": self.parent,
            "attribute": self.attribute,
            "old": self.old,
            "new": self.new,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class MetadataDiff:
    """The changes from an old to a new version, in the order the new version reads."""

    changes: tuple[Change, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def by_element(self) -> tuple[tuple[str, tuple[Change, ...]], ...]:
        """The changes grouped by element, groups in :data:`ELEMENT_ORDER`."""
        groups: dict[str, list[Change]] = {}
        for change in self.changes:
            groups.setdefault(change.element, []).append(change)
        rank = {name: i for i, name in enumerate(ELEMENT_ORDER)}
        ordered = sorted(groups, key=lambda name: (rank.get(name, len(rank)), name))
        return tuple((name, tuple(groups[name])) for name in ordered)

    def counts(self) -> dict[str, int]:
        """How many changes of each kind, kinds in :data:`KINDS` order, zeros left out."""
        counted = Counter(change.kind for change in self.changes)
        return {kind: counted[kind] for kind in KINDS if counted[kind]}

    def of(self, element: str) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.element == element)

    def as_text(self) -> str:
        """The report ``edc study diff`` prints: one block per element with its count."""
        if not self.changes:
            return "No differences."
        lines: list[str] = []
        for element, changes in self.by_element():
            lines.append(f"{element} ({len(changes)})")
            lines.extend(f"  {change.kind:<8} {change.message}" for change in changes)
        summary = ", ".join(f"{n} {kind}" for kind, n in self.counts().items())
        lines.append(f"{len(self.changes)} change(s): {summary}")
        return "\n".join(lines)


def show(value: object) -> str | None:
    """A model value as the text a change carries: ODM's Yes/No for booleans, None kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def quoted(value: str | None) -> str:
    return "(none)" if value is None else repr(value)


class ChangeLog:
    """The list the comparisons append to, with one helper per kind of message."""

    __slots__ = ("changes",)

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def presence(
        self,
        kind: Kind,
        element: str,
        oid: str,
        label: str,
        parent: str | None = None,
        *,
        attribute: str | None = None,
    ) -> None:
        """An element added or removed; ``label`` says which (its name, its decode...).
        With ``attribute`` (a code's CodedValue) the value is carried as old or new too."""
        where = f" ({'in' if kind == 'added' else 'was in'} {parent})" if parent else ""
        shown = repr(oid) if attribute else oid
        value = oid if attribute else None
        self.changes.append(
            Change(
                kind=kind,
                element=element,
                oid=oid,
                parent=parent,
                attribute=attribute,
                old=value if kind == "removed" else None,
                new=value if kind == "added" else None,
                message=f"{element} {shown}{label}{where} {kind}",
            )
        )

    def value(
        self,
        element: str,
        oid: str,
        attribute: str,
        old: str | None,
        new: str | None,
        *,
        parent: str | None = None,
        kind: Kind = "changed",
        message: str | None = None,
    ) -> None:
        """An attribute whose value differs (``message`` when the default one reads badly)."""
        who = f"{element} {oid}" + (f" in {parent}" if parent else "")
        self.changes.append(
            Change(
                kind=kind,
                element=element,
                oid=oid,
                attribute=attribute,
                old=old,
                new=new,
                parent=parent,
                message=message or f"{who}: {attribute} {quoted(old)} -> {quoted(new)}",
            )
        )

    def moved(self, element: str, oid: str, old: str, new: str) -> None:
        """A reference that now sits under another parent (an ItemRef in another group)."""
        self.changes.append(
            Change(
                kind="moved",
                element=element,
                oid=oid,
                attribute="parent",
                old=old,
                new=new,
                parent=new,
                message=f"{element} {oid} moved from {old} to {new}",
            )
        )

    def result(self) -> MetadataDiff:
        return MetadataDiff(tuple(self.changes))

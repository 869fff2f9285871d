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
from collections.abc import Collection
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

    def as_text(self, *, expand: Collection[str] = ()) -> str:
        """The report ``edc study diff`` prints: a summary (the total, then each element's
        counts), then one block per element with its changes. Added translations and added
        Aliases (:data:`FOLDED`) are counted, one line per language or Context, unless their
        element is in ``expand``; changed and removed ones are always listed."""
        if not self.changes:
            return "No differences."
        lines = self.summary()
        lines.append("")
        for group in self.groups(expand):
            lines.append(f"{group.element} ({len(group.changes)})")
            lines.extend(f"  added    {fold.as_text()}" for fold in group.folds)
            lines.extend(f"  {change.kind:<8} {change.message}" for change in group.listed)
        return "\n".join(lines)

    def summary(self) -> list[str]:
        """The header of the report: the total, then per element how many of each kind (the
        added translations per language too)."""
        total = ", ".join(f"{n} {kind}" for kind, n in self.counts().items())
        lines = [f"{len(self.changes)} change(s): {total}"]
        groups = self.groups()
        width = max(len(group.element) for group in groups)
        for group in groups:
            kinds = ", ".join(f"{n} {kind}" for kind, n in group.kinds)
            if group.languages:
                kinds += " (" + ", ".join(f"{lang} {n}" for lang, n in group.languages) + ")"
            lines.append(f"  {group.element:<{width}}  {kinds}")
        return lines

    def groups(self, expand: Collection[str] = ()) -> tuple[ElementGroup, ...]:
        """The changes per element (:meth:`by_element`) with their counts, the added ones of
        :data:`FOLDED` elements not in ``expand`` folded: what any report of the diff (the
        CLI's text, the web app's review of a draft) lists."""
        out = []
        for element, changes in self.by_element():
            counted = Counter(change.kind for change in changes)
            added = [c for c in changes if c.kind == "added"]
            folded = element in FOLDED and element not in expand and bool(added)
            languages = Counter(_language(c) for c in added) if element == "Translation" else {}
            out.append(
                ElementGroup(
                    element=element,
                    changes=changes,
                    kinds=tuple((k, counted[k]) for k in KINDS if counted[k]),
                    languages=tuple(sorted(languages.items())),
                    folds=_folds(element, added) if folded else (),
                    listed=tuple(c for c in changes if not (folded and c.kind == "added")),
                )
            )
        return tuple(out)

    def folded(self, expand: Collection[str] = ()) -> int:
        """How many changes :meth:`as_text` counts rather than lists (those of the folds of
        :meth:`groups`)."""
        return sum(fold.total for group in self.groups(expand) for fold in group.folds)


FOLDED: tuple[str, ...] = ("Translation", "Alias")
"""The elements whose added changes the text report counts rather than lists: a new language
(hundreds of texts) or new annotations change no question, check or code a site answers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fold:
    """Added changes counted on one line: the translations added in one language (``key``,
    with the count of each kind of text, most first) or the Aliases added in one Context."""

    element: str
    key: str
    total: int
    texts: tuple[tuple[str, int], ...] = ()

    def as_text(self) -> str:
        if self.element == "Translation":
            each = ", ".join(f"{text} {n}" for text, n in self.texts)
            return f"{self.key}: {self.total} text(s) added ({each})"
        return f"{self.key}: {self.total} Alias(es) added"


@dataclass(frozen=True, slots=True, kw_only=True)
class ElementGroup:
    """The changes of one element in a report: all of them, their count per kind, the added
    translations per language (Translation only), the folded lines and the changes listed."""

    element: str
    changes: tuple[Change, ...]
    kinds: tuple[tuple[Kind, int], ...]
    languages: tuple[tuple[str, int], ...]
    folds: tuple[Fold, ...]
    listed: tuple[Change, ...]


def _language(change: Change) -> str:
    """``es`` from a translation's attribute ``Question [es]``."""
    return (change.attribute or "").rpartition("[")[2].rstrip("]")


def _folds(element: str, added: list[Change]) -> tuple[Fold, ...]:
    """One fold per language (Translation: with the count of each kind of text) or per
    Context (Alias)."""
    if element == "Translation":
        groups: dict[str, Counter[str]] = {}
        for change in added:
            text = (change.attribute or "").partition(" [")[0]
            groups.setdefault(_language(change), Counter())[text] += 1
        return tuple(
            Fold(
                element=element,
                key=lang,
                total=texts.total(),
                texts=tuple(sorted(texts.items(), key=_most)),
            )
            for lang, texts in sorted(groups.items())
        )
    contexts = Counter((c.attribute or "").removeprefix(f"{element} ") for c in added)
    return tuple(
        Fold(element=element, key=context, total=n)
        for context, n in sorted(contexts.items(), key=_most)
    )


def _most(pair: tuple[str, int]) -> tuple[int, str]:
    return -pair[1], pair[0]


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

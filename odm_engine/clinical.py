"""Clinical data as the engine sees it: ODM-keyed item values of one subject.

A key names one value exactly as ODM does: StudyEventOID + StudyEventRepeatKey, FormOID +
FormRepeatKey, ItemGroupOID + ItemGroupRepeatKey, ItemOID. A repeat key is ``""`` when the
source gave none (non-repeating elements). Values are ODM canonical text; an item that was
nulled is absent from ``values`` and present in ``null_reasons``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

# The three keys are named tuples: immutable, hashable and ordered field by field as the
# frozen dataclasses they replace were, but made and hashed several times faster, and a form
# save or an import makes and looks up one per value (a tenth of a web save's CPU went to
# frozen-dataclass __init__ and __hash__). A key of one kind never equals one of another
# kind (different lengths). Keys made from another key are sliced and joined as plain
# tuples and given their type by ``tuple.__new__`` (what ``_make`` does, without the call).

_new = tuple.__new__


def site_code(location_oid: str) -> str:
    """A site's number as sites and sponsors write it: the last dot-separated part of its
    Location OID (``LOC.AT01`` -> ``AT01``), the part that starts its SubjectKeys."""
    return location_oid.rsplit(".", 1)[-1] or location_oid


class ItemKey(NamedTuple):
    study_event_oid: str
    study_event_repeat_key: str
    form_oid: str
    form_repeat_key: str
    item_group_oid: str
    item_group_repeat_key: str
    item_oid: str

    @property
    def group_key(self) -> GroupKey:
        return _new(GroupKey, self[:6])

    @property
    def form_key(self) -> FormKey:
        return _new(FormKey, self[:4])

    def describe(self) -> str:
        """Human-readable path, e.g. ``SE.DCV/F.DM/IG.DM/IT.SEX`` with repeat keys."""

        def part(oid: str, key: str) -> str:
            return f"{oid}[{key}]" if key else oid

        return "/".join(
            (
                part(self.study_event_oid, self.study_event_repeat_key),
                part(self.form_oid, self.form_repeat_key),
                part(self.item_group_oid, self.item_group_repeat_key),
                self.item_oid,
            )
        )


class FormKey(NamedTuple):
    study_event_oid: str
    study_event_repeat_key: str
    form_oid: str
    form_repeat_key: str


class GroupKey(NamedTuple):
    study_event_oid: str
    study_event_repeat_key: str
    form_oid: str
    form_repeat_key: str
    item_group_oid: str
    item_group_repeat_key: str

    @property
    def form_key(self) -> FormKey:
        return _new(FormKey, self[:4])

    def item(self, item_oid: str) -> ItemKey:
        return _new(ItemKey, (*self, item_oid))


@dataclass(frozen=True, slots=True)
class SubjectSnapshot:
    """One subject's current data: the input every edit check evaluates against."""

    subject_key: str
    site_oid: str | None = None
    values: Mapping[ItemKey, str] = field(default_factory=dict)
    null_reasons: Mapping[ItemKey, str] = field(default_factory=dict)

    def items(self, item_oid: str) -> Iterator[tuple[ItemKey, str]]:
        """Every stored value of ``item_oid``, in key order."""
        for key in sorted(k for k in self.values if k.item_oid == item_oid):
            yield key, self.values[key]

    def with_values(self, changes: Mapping[ItemKey, str | None]) -> SubjectSnapshot:
        """A copy with ``changes`` applied (None removes the value)."""
        values = dict(self.values)
        for key, value in changes.items():
            if value is None or value == "":
                values.pop(key, None)
            else:
                values[key] = value
        return SubjectSnapshot(self.subject_key, self.site_oid, values, self.null_reasons)

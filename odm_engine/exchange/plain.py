"""A plain SubjectData read in one pass, without the general reader's per-level bookkeeping.

Most SubjectData of a large file hold nothing but ``SiteRef`` and nested StudyEventData /
FormData / ItemGroupData / ``<ItemData ItemOID Value/>``, with no attribute beyond the OIDs and
repeat keys. :meth:`PlainSubjects.subject` reads such an element straight into its
:class:`~odm_engine.exchange.records.SubjectRecord`; for anything else (an AuditRecord, a
TransactionType, a typed ItemData, a comment, a vendor element, an empty OID, ...) it returns
None and the reference, :meth:`odm_engine.exchange.subject.SubjectParser.subject`, reads it.

Bench figure: the subject-heavy import (``bench/bench_exchange.py``, 40,000 subjects x 1 form
x 4 items), where the general reader's per-level dicts and records cost as much as the values.
One such SubjectData (1 form x 4 items), best of 15 runs of 3,000 at load 3-4: 23 µs here
against 31 µs by the reference.
``tests/exchange/test_plain_reader.py`` holds the two equal on generated SubjectData.
"""

from __future__ import annotations

from lxml import etree

from odm_engine.clinical import ItemKey
from odm_engine.exchange.records import (
    FormRecord,
    ItemGroupRecord,
    ItemValue,
    StudyEventRecord,
    SubjectRecord,
)
from odm_engine.exchange.subject import SubjectParser
from odm_engine.profiles import NO_LOCATION

_FEW = 8
"""Items of an ItemGroupData read one by one; more: by XPath (``SubjectParser.plain_items``)."""


def _oid_and_repeat(el: etree._Element, oid: str, repeat: str) -> tuple[str, str] | None:
    """(OID, repeat key or "") of an element with nothing but these two attributes, the
    repeat key optional; None for anything else."""
    oid_value, repeat_value = el.get(oid), el.get(repeat)
    if not oid_value or len(el.keys()) != (1 if repeat_value is None else 2):
        return None
    return oid_value, repeat_value or ""


class PlainSubjects:
    """The fast reading of plain SubjectData for one file (its namespace, via ``parser``)."""

    def __init__(self, parser: SubjectParser) -> None:
        self.parser = parser
        tags = parser.t
        self._site, self._event = tags["SiteRef"], tags["StudyEventData"]
        self._form, self._group = tags["FormData"], tags["ItemGroupData"]
        self._item = tags["ItemData"]

    def subject(
        self, el: etree._Element, study_oid: str, mdv_oid: str, clinical_index: int
    ) -> SubjectRecord | None:
        """The record of a plain SubjectData ``el``; None when it is not plain."""
        key = el.get("SubjectKey")
        if not key or len(el.keys()) != 1:
            return None
        site: str | None = None
        events: list[StudyEventRecord] = []
        for child in el:
            tag = child.tag
            if tag == self._event:
                event = self._event_of(child)
                if event is None:
                    return None
                events.append(event)
            elif tag == self._site:
                site = child.get("LocationOID")
                if site in NO_LOCATION:
                    site = None
            else:
                return None
        return SubjectRecord(
            study_oid=study_oid,
            metadata_version_oid=mdv_oid,
            subject_key=key,
            site_oid=site,
            events=tuple(events),
            clinical_index=clinical_index,
            line=el.sourceline or 0,
        )

    def _event_of(self, el: etree._Element) -> StudyEventRecord | None:
        keys = _oid_and_repeat(el, "StudyEventOID", "StudyEventRepeatKey")
        if keys is None:
            return None
        oid, repeat = keys
        forms: list[FormRecord] = []
        form_tag = self._form
        for child in el:
            form = self._form_of(child, oid, repeat) if child.tag == form_tag else None
            if form is None:
                return None
            forms.append(form)
        return StudyEventRecord(
            study_event_oid=oid, repeat_key=repeat, forms=tuple(forms), line=el.sourceline or 0
        )

    def _form_of(self, el: etree._Element, event: str, event_repeat: str) -> FormRecord | None:
        keys = _oid_and_repeat(el, "FormOID", "FormRepeatKey")
        if keys is None:
            return None
        oid, repeat = keys
        groups: list[ItemGroupRecord] = []
        group_tag, item_keys = self._group, self.parser.keys
        plain_items = self._items
        for child in el:
            group = _oid_and_repeat(child, "ItemGroupOID", "ItemGroupRepeatKey")
            if child.tag != group_tag or group is None:
                return None
            group_oid, group_repeat = group
            prefix = (event, event_repeat, oid, repeat, group_oid, group_repeat)
            items = plain_items(child, prefix, item_keys.of_group(prefix))
            if items is None:
                return None
            groups.append(
                ItemGroupRecord(
                    item_group_oid=group_oid,
                    repeat_key=group_repeat,
                    items=items,
                    line=child.sourceline or 0,
                )
            )
        return FormRecord(
            form_oid=oid, repeat_key=repeat, groups=tuple(groups), line=el.sourceline or 0
        )

    def _items(
        self, el: etree._Element, prefix: tuple[str, ...], keys: dict[str, ItemKey]
    ) -> tuple[ItemValue, ...] | None:
        """``SubjectParser.plain_items``: a few items read one by one, cheaper than its
        three XPath calls (which pay off from about ten items on)."""
        count = len(el)
        if count > _FEW:
            return self.parser.plain_items(el, prefix, keys)
        if not count:
            return None
        item_tag, line, make = self._item, el.sourceline or 0, tuple.__new__
        found = []
        for child in el:
            if child.tag != item_tag or len(child):
                return None
            attributes = child.items()
            if len(attributes) != 2:
                return None
            (first, one), (second, two) = attributes
            if first == "ItemOID" and second == "Value":
                item_oid, value = one, two
            elif first == "Value" and second == "ItemOID":
                item_oid, value = two, one
            else:
                return None
            if not item_oid:
                return None
            key = keys.get(item_oid) or self.parser.keys.add(keys, prefix, item_oid)
            found.append(
                make(ItemValue, (key, value, False, None, None, None, None, None, (), (), (), line))
            )
        return tuple(found)

"""One SubjectData element -> one SubjectRecord, with the file's dialect profile applied.

Children are accepted in any order (OpenEDC writes AuditRecord late); what ODM 1.3.2 does
not define at a place is kept as an Extension and counted for a summary finding. The plain
``<ItemData ItemOID=".." Value=".."/>`` has a fast path: it is 99% of a large file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from lxml import etree

from odm_engine import model as m
from odm_engine.clinical import ItemKey
from odm_engine.datatypes import REGISTRY
from odm_engine.exchange.records import (
    TRANSACTION_TYPES,
    TYPED_ITEM_DATA,
    Annotation,
    AuditRecord,
    Flag,
    FormRecord,
    ItemGroupRecord,
    ItemKeys,
    ItemValue,
    Note,
    Signature,
    StudyEventRecord,
    SubjectRecord,
    VendorAudit,
)
from odm_engine.findings import Finding, finding
from odm_engine.profiles import (
    IMPLICIT_STUDY_EVENT_OID,
    NO_LOCATION,
    AuditLogMap,
    NoteMap,
    Profile,
)

_MAX_LOCATED = 50
"""Located findings of one kind per file; the rest are counted in the last one."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _ext_attrs(el: etree._Element) -> tuple[tuple[str, str], ...]:
    """Attributes in a namespace (a vendor's), kept on the record; almost always none."""
    for name in el.keys():
        if name[0] == "{":
            return tuple((k, v) for k, v in el.items() if k[0] == "{")
    return ()


class SubjectParser:
    def __init__(
        self,
        namespace: str,
        profile: Profile,
        path: str | None,
        group_of: Callable[[str, frozenset[str]], str | None] | None = None,
        data_type_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.ns, self.profile, self.path = namespace, profile, path
        self.group_of = group_of
        self.data_type_of = data_type_of
        prefix = f"{{{namespace}}}" if namespace else ""
        self.t = {
            name: prefix + name
            for name in (
                "AuditRecord",
                "Signature",
                "InvestigatorRef",
                "SiteRef",
                "Annotation",
                "StudyEventData",
                "FormData",
                "ItemGroupData",
                "ItemData",
                "MeasurementUnitRef",
                "ArchiveLayoutRef",
                "UserRef",
                "LocationRef",
                "SignatureRef",
                "DateTimeStamp",
                "ReasonForChange",
                "SourceID",
                "Comment",
                "Flag",
                "FlagValue",
                "FlagType",
            )
        }
        # Elements in no namespace (an xmlns="" reset) are read as ODM, as the loader does.
        self.names = {tag: name for name, tag in self.t.items()}
        self.names.update({name: name for name in self.t})
        vendor = f"{{{profile.vendor_namespace}}}"
        self.maps = {vendor + mapped.element: mapped for mapped in profile.element_maps}
        self.typed = {prefix + name: dt for name, dt in TYPED_ITEM_DATA.items()}
        self.typed.update(TYPED_ITEM_DATA)
        self.item_data = self.t["ItemData"]
        # The plain ItemData fast path: per ItemGroupData, C-level XPath gives the ItemOIDs,
        # the Values and the count of attributes and child elements of its ItemData.
        spaces = {"o": namespace} if namespace else None
        item = "o:ItemData" if namespace else "ItemData"
        self._item_oids = etree.XPath(f"{item}/@ItemOID", namespaces=spaces, smart_strings=False)
        self._item_values = etree.XPath(f"{item}/@Value", namespaces=spaces, smart_strings=False)
        self._item_extras = etree.XPath(
            f"count({item}/@*) + count({item}/*)", namespaces=spaces, smart_strings=False
        )
        self.extension_counts: Counter[tuple[str, str]] = Counter()
        self.unknown_odm: Counter[tuple[str, str]] = Counter()
        self.implicit_forms = 0
        self.audits = self.signatures = self.vendor_audits = self.vendor_notes = 0
        self.located: list[Finding] = []
        self._vendor_audit: list[VendorAudit] = []
        self._notes: list[Note] = []
        self.keys = ItemKeys()
        self._located_counts: Counter[str] = Counter()

    # -- findings ---------------------------------------------------------------------
    def _locate(self, code: str, el: etree._Element, **fields: Any) -> None:
        self._located_counts[code] += 1
        if self._located_counts[code] <= _MAX_LOCATED:
            self.located.append(finding(code, path=self.path, line=el.sourceline, **fields))

    def summary_findings(self) -> list[Finding]:
        out = list(self.located)
        if self.implicit_forms:
            out.append(
                finding(
                    "ODM-IMP-001",
                    path=self.path,
                    count=self.implicit_forms,
                    profile=self.profile.name,
                    event=IMPLICIT_STUDY_EVENT_OID,
                )
            )
        for (ns, name), count in sorted(self.extension_counts.items()):
            out.append(
                finding("ODM-IMP-002", path=self.path, count=count, element=name, namespace=ns)
            )
        for (name, parent), count in sorted(self.unknown_odm.items()):
            out.append(
                finding("ODM-IMP-004", path=self.path, count=count, element=name, parent=parent)
            )
        if self.vendor_audits or self.vendor_notes:
            out.append(
                finding(
                    "ODM-IMP-008",
                    path=self.path,
                    profile=self.profile.name,
                    audits=self.vendor_audits,
                    notes=self.vendor_notes,
                    namespace=self.profile.vendor_namespace,
                )
            )
        if self.audits or self.signatures:
            out.append(
                finding(
                    "ODM-IMP-022", path=self.path, count=self.audits, signatures=self.signatures
                )
            )
        return out

    # -- shared pieces ----------------------------------------------------------------
    def _transaction(self, el: etree._Element) -> str | None:
        value: str | None = el.get("TransactionType")
        if value is not None and value not in TRANSACTION_TYPES:
            self._locate("ODM-IMP-007", el, element=_local(el.tag), value=value)
            return None
        return value

    def _find(self, el: etree._Element, name: str) -> etree._Element | None:
        child = el.find(self.t[name])
        if child is None and self.ns:
            child = el.find(name)
        return child

    def _ref(self, el: etree._Element, name: str, attr: str) -> str | None:
        child = self._find(el, name)
        return child.get(attr) if child is not None else None

    def _text_of(self, el: etree._Element, name: str) -> str | None:
        child = self._find(el, name)
        return child.text if child is not None else None

    def audit(self, el: etree._Element) -> AuditRecord:
        self.audits += 1
        return AuditRecord(
            user_oid=self._ref(el, "UserRef", "UserOID"),
            location_oid=self._ref(el, "LocationRef", "LocationOID"),
            date_time_stamp=self._text_of(el, "DateTimeStamp"),
            reason_for_change=self._text_of(el, "ReasonForChange"),
            source_id=self._text_of(el, "SourceID"),
            edit_point=el.get("EditPoint"),
            used_imputation_method=el.get("UsedImputationMethod"),
            line=el.sourceline or 0,
        )

    def signature(self, el: etree._Element) -> Signature:
        self.signatures += 1
        return Signature(
            user_oid=self._ref(el, "UserRef", "UserOID"),
            location_oid=self._ref(el, "LocationRef", "LocationOID"),
            signature_oid=self._ref(el, "SignatureRef", "SignatureOID"),
            date_time_stamp=self._text_of(el, "DateTimeStamp"),
            id=el.get("ID"),
            line=el.sourceline or 0,
        )

    def annotation(self, el: etree._Element) -> Annotation:
        comment = self._find(el, "Comment")
        flags = []
        for flag in el.iter(self.t["Flag"], "Flag"):
            value = self._find(flag, "FlagValue")
            kind = self._find(flag, "FlagType")
            flags.append(
                Flag(
                    value=(value.text or "") if value is not None else "",
                    value_code_list_oid=value.get("CodeListOID") if value is not None else None,
                    type=kind.text if kind is not None else None,
                    type_code_list_oid=kind.get("CodeListOID") if kind is not None else None,
                )
            )
        return Annotation(
            seq_num=el.get("SeqNum", "1"),
            comment=comment.text if comment is not None else None,
            sponsor_or_site=comment.get("SponsorOrSite") if comment is not None else None,
            flags=tuple(flags),
            transaction_type=self._transaction(el),
            id=el.get("ID"),
            line=el.sourceline or 0,
        )

    def extension(self, el: etree._Element, parent: str) -> m.Extension:
        ns = _ns(el.tag)
        if ns in ("", self.ns):
            self.unknown_odm[(_local(el.tag), parent)] += 1
        else:
            self.extension_counts[(ns, _local(el.tag))] += 1
        return m.Extension(
            namespace=ns,
            tag=_local(el.tag),
            xml=etree.tostring(el, with_tail=False),
            line=el.sourceline or 0,
        )

    def _common(
        self, el: etree._Element, child: etree._Element, bag: dict[str, Any], parent: str
    ) -> None:
        """AuditRecord, Signature, Annotation or an extension found under ``el``."""
        name = self.names.get(child.tag)
        if name == "AuditRecord":
            bag["audit"] = self.audit(child)
        elif name == "Signature":
            bag["signature"] = self.signature(child)
        elif name == "Annotation":
            bag.setdefault("annotations", []).append(self.annotation(child))
        else:
            bag.setdefault("extensions", []).append(self.extension(child, parent))

    @staticmethod
    def _node(el: etree._Element, bag: dict[str, Any], transaction: str | None) -> dict[str, Any]:
        return {
            "transaction_type": transaction,
            "audit": bag.get("audit"),
            "signature": bag.get("signature"),
            "annotations": tuple(bag.get("annotations", ())),
            "ext_attributes": _ext_attrs(el),
            "extensions": tuple(bag.get("extensions", ())),
            "line": el.sourceline or 0,
        }

    # -- the levels -------------------------------------------------------------------
    def subject(
        self, el: etree._Element, study_oid: str, mdv_oid: str, clinical_index: int
    ) -> SubjectRecord | None:
        key = el.get("SubjectKey")
        if not key:
            self._locate("ODM-IMP-006", el, element="SubjectData", attribute="SubjectKey")
            return None
        names = self.names
        bag: dict[str, Any] = {}
        events: list[StudyEventRecord] = []
        implicit: list[FormRecord] = []
        site = investigator = None
        self._vendor_audit = []
        self._notes = []
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = names.get(tag)
            if name == "StudyEventData":
                event = self.event(child, key)
                if event is not None:
                    events.append(event)
            elif name == "FormData":
                form = self.form(child, key, IMPLICIT_STUDY_EVENT_OID, "")
                if form is not None:
                    self.implicit_forms += 1
                    implicit.append(form)
            elif name == "SiteRef":
                site = child.get("LocationOID")
                if site in NO_LOCATION:
                    site = None
            elif name == "InvestigatorRef":
                investigator = child.get("UserOID")
            elif not self._vendor(child, None):
                self._common(el, child, bag, "SubjectData")
        if implicit:
            events.append(
                StudyEventRecord(study_event_oid=IMPLICIT_STUDY_EVENT_OID, forms=tuple(implicit))
            )
        return SubjectRecord(
            study_oid=study_oid,
            metadata_version_oid=mdv_oid,
            subject_key=key,
            site_oid=site,
            investigator_oid=investigator,
            events=tuple(events),
            vendor_audit=tuple(self._vendor_audit),
            notes=tuple(self._notes),
            clinical_index=clinical_index,
            **self._node(el, bag, self._transaction(el)),
        )

    def event(self, el: etree._Element, subject: str) -> StudyEventRecord | None:
        oid = el.get("StudyEventOID")
        if not oid:
            self._locate("ODM-IMP-006", el, element="StudyEventData", attribute="StudyEventOID")
            return None
        repeat = el.get("StudyEventRepeatKey") or ""
        bag: dict[str, Any] = {}
        forms: list[FormRecord] = []
        names = self.names
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if names.get(child.tag) == "FormData":
                form = self.form(child, subject, oid, repeat)
                if form is not None:
                    forms.append(form)
            elif not self._vendor(child, None):
                self._common(el, child, bag, "StudyEventData")
        return StudyEventRecord(
            study_event_oid=oid,
            repeat_key=repeat,
            forms=tuple(forms),
            **self._node(el, bag, self._transaction(el)),
        )

    def form(
        self, el: etree._Element, subject: str, event: str, event_repeat: str
    ) -> FormRecord | None:
        oid = el.get("FormOID")
        if not oid:
            self._locate("ODM-IMP-006", el, element="FormData", attribute="FormOID")
            return None
        repeat = el.get("FormRepeatKey") or ""
        bag: dict[str, Any] = {}
        groups: list[ItemGroupRecord] = []
        names = self.names
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if names.get(child.tag) == "ItemGroupData":
                group = self.group(child, (event, event_repeat, oid, repeat))
                if group is not None:
                    groups.append(group)
            elif not self._vendor(child, None):
                self._common(el, child, bag, "FormData")
        return FormRecord(
            form_oid=oid,
            repeat_key=repeat,
            groups=tuple(groups),
            **self._node(el, bag, self._transaction(el)),
        )

    def group(self, el: etree._Element, form: tuple[str, str, str, str]) -> ItemGroupRecord | None:
        oid = el.get("ItemGroupOID") or self._resolve_group(el, form[2])
        if not oid:
            self._locate("ODM-IMP-006", el, element="ItemGroupData", attribute="ItemGroupOID")
            return None
        repeat = el.get("ItemGroupRepeatKey") or ""
        prefix = (*form, oid, repeat)
        plain = self.plain_items(el, prefix, self.keys.of_group(prefix))
        if plain is not None:
            return ItemGroupRecord(
                item_group_oid=oid,
                repeat_key=repeat,
                items=plain,
                transaction_type=self._transaction(el),
                ext_attributes=_ext_attrs(el),
                line=el.sourceline or 0,
            )
        bag: dict[str, Any] = {}
        items: list[ItemValue] = []
        typed = self.typed
        for child in el:
            tag = child.tag
            if tag in (self.item_data, "ItemData"):
                item = self.item(child, prefix, None)
                if item is not None:
                    items.append(item)
            elif not isinstance(tag, str):
                continue
            elif tag in typed:
                item = self.item(child, prefix, typed[tag] or "")
                if item is not None:
                    items.append(item)
            elif not self._vendor(child, None):
                self._common(el, child, bag, "ItemGroupData")
        return ItemGroupRecord(
            item_group_oid=oid,
            repeat_key=repeat,
            items=tuple(items),
            **self._node(el, bag, self._transaction(el)),
        )

    def plain_items(
        self, el: etree._Element, prefix: tuple[str, ...], keys: dict[str, ItemKey]
    ) -> tuple[ItemValue, ...] | None:
        """The items of an ItemGroupData holding nothing but ``<ItemData ItemOID Value/>``
        (99% of a large file), read by three XPath calls; None when anything else is there.

        Their ``line`` is the ItemGroupData's: a source line per value costs as much as the
        rest of the reading.
        """
        count = len(el)
        if not count:
            return None
        oids = self._item_oids(el)
        if len(oids) != count or not all(oids):
            return None
        values = self._item_values(el)
        if len(values) != count or self._item_extras(el) != 2 * count:
            return None
        line = el.sourceline or 0
        make = tuple.__new__
        try:
            found = [keys[item_oid] for item_oid in oids]
        except KeyError:
            add = self.keys.add
            found = [keys.get(item_oid) or add(keys, prefix, item_oid) for item_oid in oids]
        return tuple(
            [
                make(ItemValue, (key, value, False, None, None, None, None, None, (), (), (), line))
                for key, value in zip(found, values, strict=True)
            ]
        )

    def item(
        self, el: etree._Element, prefix: tuple[str, ...], data_type: str | None
    ) -> ItemValue | None:
        item_oid = el.get("ItemOID")
        if not item_oid:
            self._locate("ODM-IMP-006", el, element=_local(el.tag), attribute="ItemOID")
            return None
        keys = self.keys.of_group(prefix)
        key = keys.get(item_oid) or self.keys.add(keys, prefix, item_oid)
        is_null = el.get("IsNull") == "Yes"
        if data_type and self.data_type_of is not None:
            self._check_typed(el, item_oid, data_type)
        value = el.get("Value") if data_type is None else el.text
        if is_null:
            value = None
        bag: dict[str, Any] = {}
        unit = None
        names = self.names
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if names.get(child.tag) == "MeasurementUnitRef":
                unit = child.get("MeasurementUnitOID")
            elif not self._vendor(child, key):
                self._common(el, child, bag, _local(el.tag))
        for annotation in bag.get("annotations", ()):
            if annotation.comment:
                self._notes.append(Note(key=key, text=annotation.comment, line=annotation.line))
        return ItemValue(
            key=key,
            value=value,
            is_null=is_null,
            data_type=data_type or None,
            unit_oid=unit,
            **self._node(el, bag, self._transaction(el)),
        )

    def _check_typed(self, el: etree._Element, item_oid: str, data_type: str) -> None:
        """A typed ItemData element (ItemDataInteger, ...) must suit the ItemDef's DataType
        (ODM 1.3.2 §3.1.6.6): ODM-IMP-012 when it does not."""
        assert self.data_type_of is not None
        item_type = self.data_type_of(item_oid)
        expected = REGISTRY.get(item_type) if item_type else None
        element = _local(el.tag)
        if expected is not None and expected.item_data_element != element:
            self._locate(
                "ODM-IMP-012",
                el,
                element=element,
                item=item_oid,
                typed=data_type,
                data_type=expected.name,
                expected=expected.item_data_element,
            )

    def _resolve_group(self, el: etree._Element, form_oid: str) -> str | None:
        """An empty ItemGroupOID (REDCap writes one) resolved from the form's metadata."""
        if self.group_of is None:
            return None
        items = frozenset(
            c.get("ItemOID", "")
            for c in el
            if isinstance(c.tag, str) and (c.tag in self.typed or _local(c.tag) == "ItemData")
        )
        group = self.group_of(form_oid, items) if items else None
        if group is not None:
            self._locate(
                "ODM-IMP-010", el, form=form_oid, group=group, items=", ".join(sorted(items))
            )
        return group

    # -- profile mappings -------------------------------------------------------------
    def _vendor(self, el: etree._Element, key: ItemKey | None) -> bool:
        """Map a vendor element the profile declares; True when it was consumed."""
        mapped = self.maps.get(el.tag) if self.maps else None
        if mapped is None:
            return False
        if isinstance(mapped, AuditLogMap):
            self._audit_log(el, mapped)
        else:
            self._vendor_notes(el, key, mapped)
        return True

    def _audit_log(self, el: etree._Element, mapped: AuditLogMap) -> None:
        for log in el:
            if not isinstance(log.tag, str) or _local(log.tag) != mapped.entry:
                continue
            self.vendor_audits += 1
            self._vendor_audit.append(
                VendorAudit(
                    entity=el.get(mapped.entity, ""),
                    user=log.get(mapped.user),
                    date_time_stamp=log.get(mapped.date_time_stamp),
                    action=log.get(mapped.action, ""),
                    old_value=log.get(mapped.old_value),
                    new_value=log.get(mapped.new_value),
                    line=log.sourceline or 0,
                )
            )

    def _vendor_notes(self, el: etree._Element, key: ItemKey | None, mapped: NoteMap) -> None:
        vendor = f"{{{self.profile.vendor_namespace}}}"
        texts_of = [vendor + name for name in mapped.text]
        for note in el.iter(vendor + mapped.note):
            texts = [
                " ".join((d.text or "").split())
                for d in note.iter(*texts_of)
                if d.text and d.text.strip()
            ]
            user = note.find(f".//{self.t['UserRef']}")
            self.vendor_notes += 1
            self._notes.append(
                Note(
                    key=key,
                    text=" ".join(texts) or note.get(mapped.fallback, mapped.default_text),
                    status=note.get(mapped.status),
                    author=user.get("UserOID") if user is not None else None,
                    date_time_stamp=note.get(mapped.date_time_stamp),
                    source=mapped.source,
                    line=note.sourceline or 0,
                )
            )

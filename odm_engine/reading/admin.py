"""AdminData: users, locations and signature definitions (ODM 1.3.2 §3.1.3)."""

from __future__ import annotations

from lxml import etree

from odm_engine import model as m
from odm_engine.reading.elements import ElementReader
from odm_engine.safexml import iterparse_options


class AdminReader(ElementReader):
    """Builds AdminData nodes."""

    def admin_data(self, el: etree._Element) -> m.AdminData:
        return m.AdminData(
            study_oid=el.get("StudyOID"),
            users=self.index(el, "User", self.user),
            locations=self.index(el, "Location", self.location),
            signature_defs=self.index(el, "SignatureDef", self.signature_def),
            **self.base(el),
        )

    def user(self, el: etree._Element) -> m.User:
        def t(name: str) -> str | None:
            c = self.child(el, name)
            return (c.text or "").strip() if c is not None else None

        return m.User(
            oid=el.get("OID", ""),
            user_type=el.get("UserType"),
            login_name=t("LoginName"),
            display_name=t("DisplayName"),
            full_name=t("FullName"),
            first_name=t("FirstName"),
            last_name=t("LastName"),
            organization=t("Organization"),
            emails=tuple((e.text or "").strip() for e in self.children(el, "Email")),
            location_oids=tuple(r.get("LocationOID", "") for r in self.children(el, "LocationRef")),
            **self.base(el),
        )

    def location(self, el: etree._Element) -> m.Location:
        return m.Location(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            location_type=el.get("LocationType"),
            metadata_version_refs=tuple(
                m.MetaDataVersionRef(
                    study_oid=r.get("StudyOID", ""),
                    metadata_version_oid=r.get("MetaDataVersionOID", ""),
                    effective_date=r.get("EffectiveDate"),
                    **self.base(r),
                )
                for r in self.children(el, "MetaDataVersionRef")
            ),
            **self.base(el),
        )

    def signature_def(self, el: etree._Element) -> m.SignatureDef:
        def t(name: str) -> str:
            c = self.child(el, name)
            return (c.text or "").strip() if c is not None else ""

        return m.SignatureDef(
            oid=el.get("OID", ""),
            methodology=el.get("Methodology"),
            meaning=t("Meaning"),
            legal_reason=t("LegalReason"),
            **self.base(el),
        )


def read_admin_data(path: str) -> tuple[m.AdminData, ...]:
    """Every AdminData element of the ODM file at ``path``, streamed (ClinicalData is skipped
    element by element, so a large file is never held whole). An unreadable file gives ``()``:
    its problems are reported by the reader of its ClinicalData."""
    found: list[m.AdminData] = []
    try:
        for _event, el in etree.iterparse(path, events=("end",), **iterparse_options()):
            tag = el.tag
            if not isinstance(tag, str):
                continue
            ns, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
            if local == "AdminData":
                found.append(AdminReader(ns, path).admin_data(el))
                el.clear()
            elif local in ("SubjectData", "MetaDataVersion"):
                el.clear()
    except (OSError, etree.XMLSyntaxError):
        return ()
    return tuple(found)

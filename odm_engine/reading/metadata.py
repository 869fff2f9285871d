"""Study metadata: Study, BasicDefinitions and each MetaDataVersion's definitions.

One method per ODM element (ODM 1.3.2 §3.1), each building its frozen model node with its
line and vendor extensions. A MetaDataVersion that Includes another gets the included
definitions merged under its own (§3.1.2.1); an Include that names nothing is left for the
reference rules to report.
"""

from __future__ import annotations

import dataclasses

from lxml import etree

from odm_engine import model as m
from odm_engine.reading.elements import ElementReader, integer, yes_no


class MetadataReader(ElementReader):
    """Builds Study and MetaDataVersion nodes."""

    def study(self, el: etree._Element) -> m.Study:
        gv_el = self.child(el, "GlobalVariables")
        gv = m.GlobalVariables()
        if gv_el is not None:

            def gtext(name: str) -> str:
                c = self.child(gv_el, name)
                return (c.text or "").strip() if c is not None else ""

            gv = m.GlobalVariables(
                study_name=gtext("StudyName"),
                study_description=gtext("StudyDescription"),
                protocol_name=gtext("ProtocolName"),
                **self.base(gv_el),
            )
        bd_el = self.child(el, "BasicDefinitions")
        bd = m.BasicDefinitions()
        if bd_el is not None:
            bd = m.BasicDefinitions(
                measurement_units=self.index(bd_el, "MeasurementUnit", self.measurement_unit),
                **self.base(bd_el),
            )
        return m.Study(
            oid=el.get("OID", ""),
            global_variables=gv,
            basic_definitions=bd,
            metadata_versions=tuple(
                self.metadata_version(v) for v in self.children(el, "MetaDataVersion")
            ),
            **self.base(el),
        )

    def measurement_unit(self, el: etree._Element) -> m.MeasurementUnit:
        return m.MeasurementUnit(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            symbol=self.text(self.child(el, "Symbol")),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def metadata_version(self, el: etree._Element) -> m.MetaDataVersion:
        include_el = self.child(el, "Include")
        include = None
        if include_el is not None:
            include = m.Include(
                study_oid=include_el.get("StudyOID", ""),
                metadata_version_oid=include_el.get("MetaDataVersionOID", ""),
                **self.base(include_el),
            )
        protocol_el = self.child(el, "Protocol")
        protocol = None
        if protocol_el is not None:
            protocol = m.Protocol(
                description=self.text(self.child(protocol_el, "Description")),
                study_event_refs=tuple(
                    m.StudyEventRef(
                        study_event_oid=r.get("StudyEventOID", ""),
                        order_number=integer(r.get("OrderNumber")),
                        mandatory=yes_no(r.get("Mandatory")),
                        collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                        **self.base(r),
                    )
                    for r in self.children(protocol_el, "StudyEventRef")
                ),
                aliases=self.aliases(protocol_el),
                **self.base(protocol_el),
            )
        return m.MetaDataVersion(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            description=el.get("Description"),
            include=include,
            protocol=protocol,
            study_event_defs=self.index(el, "StudyEventDef", self.study_event_def),
            form_defs=self.index(el, "FormDef", self.form_def),
            item_group_defs=self.index(el, "ItemGroupDef", self.item_group_def),
            item_defs=self.index(el, "ItemDef", self.item_def),
            code_lists=self.index(el, "CodeList", self.code_list),
            presentations=self.index(el, "Presentation", self.presentation),
            condition_defs=self.index(el, "ConditionDef", self.condition_def),
            method_defs=self.index(el, "MethodDef", self.method_def),
            **self.base(el),
        )

    def study_event_def(self, el: etree._Element) -> m.StudyEventDef:
        return m.StudyEventDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=yes_no(el.get("Repeating")),
            type=el.get("Type", "Scheduled"),
            category=el.get("Category"),
            description=self.text(self.child(el, "Description")),
            form_refs=tuple(
                m.FormRef(
                    form_oid=r.get("FormOID", ""),
                    order_number=integer(r.get("OrderNumber")),
                    mandatory=yes_no(r.get("Mandatory")),
                    collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                    **self.base(r),
                )
                for r in self.children(el, "FormRef")
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def form_def(self, el: etree._Element) -> m.FormDef:
        return m.FormDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=yes_no(el.get("Repeating")),
            description=self.text(self.child(el, "Description")),
            item_group_refs=tuple(
                m.ItemGroupRef(
                    item_group_oid=r.get("ItemGroupOID", ""),
                    order_number=integer(r.get("OrderNumber")),
                    mandatory=yes_no(r.get("Mandatory")),
                    collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                    **self.base(r),
                )
                for r in self.children(el, "ItemGroupRef")
            ),
            archive_layouts=tuple(
                m.ArchiveLayout(
                    oid=a.get("OID", ""),
                    pdf_file_name=a.get("PdfFileName", ""),
                    presentation_oid=a.get("PresentationOID"),
                    **self.base(a),
                )
                for a in self.children(el, "ArchiveLayout")
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def item_group_def(self, el: etree._Element) -> m.ItemGroupDef:
        return m.ItemGroupDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=yes_no(el.get("Repeating")),
            is_reference_data=yes_no(el.get("IsReferenceData")),
            sas_dataset_name=el.get("SASDatasetName"),
            domain=el.get("Domain"),
            origin=el.get("Origin"),
            role=el.get("Role"),
            purpose=el.get("Purpose"),
            comment=el.get("Comment"),
            description=self.text(self.child(el, "Description")),
            item_refs=tuple(self.item_ref(r) for r in self.children(el, "ItemRef")),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def item_ref(self, r: etree._Element) -> m.ItemRef:
        return m.ItemRef(
            item_oid=r.get("ItemOID", ""),
            order_number=integer(r.get("OrderNumber")),
            mandatory=yes_no(r.get("Mandatory")),
            key_sequence=integer(r.get("KeySequence")),
            method_oid=r.get("MethodOID"),
            imputation_method_oid=r.get("ImputationMethodOID"),
            role=r.get("Role"),
            role_code_list_oid=r.get("RoleCodeListOID"),
            collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
            **self.base(r),
        )

    def item_def(self, el: etree._Element) -> m.ItemDef:
        eq = self.child(el, "ExternalQuestion")
        clr = self.child(el, "CodeListRef")
        return m.ItemDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            data_type=el.get("DataType", ""),
            length=integer(el.get("Length")),
            significant_digits=integer(el.get("SignificantDigits")),
            sas_field_name=el.get("SASFieldName"),
            sds_var_name=el.get("SDSVarName"),
            origin=el.get("Origin"),
            comment=el.get("Comment"),
            description=self.text(self.child(el, "Description")),
            question=self.text(self.child(el, "Question")),
            external_question=None
            if eq is None
            else m.ExternalQuestion(
                dictionary=eq.get("Dictionary"),
                version=eq.get("Version"),
                code=eq.get("Code"),
                **self.base(eq),
            ),
            measurement_unit_oids=tuple(
                u.get("MeasurementUnitOID", "") for u in self.children(el, "MeasurementUnitRef")
            ),
            range_checks=tuple(self.range_check(rc) for rc in self.children(el, "RangeCheck")),
            code_list_oid=None if clr is None else clr.get("CodeListOID", ""),
            role_code_list_oid=el.get("RoleCodeListOID"),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def range_check(self, el: etree._Element) -> m.RangeCheck:
        unit = self.child(el, "MeasurementUnitRef")
        return m.RangeCheck(
            comparator=el.get("Comparator"),
            soft_hard=el.get("SoftHard", "Hard"),
            check_values=tuple((cv.text or "") for cv in self.children(el, "CheckValue")),
            formal_expressions=self.expressions(el),
            measurement_unit_oid=None if unit is None else unit.get("MeasurementUnitOID"),
            error_message=self.text(self.child(el, "ErrorMessage")),
            **self.base(el),
        )

    def code_list(self, el: etree._Element) -> m.CodeList:
        items = [
            m.CodeListItem(
                coded_value=i.get("CodedValue", ""),
                decode=self.text(self.child(i, "Decode")),
                rank=i.get("Rank"),
                order_number=integer(i.get("OrderNumber")),
                aliases=self.aliases(i),
                **self.base(i),
            )
            for i in self.children(el, "CodeListItem")
        ]
        enumerated = [
            m.CodeListItem(
                coded_value=i.get("CodedValue", ""),
                rank=i.get("Rank"),
                order_number=integer(i.get("OrderNumber")),
                aliases=self.aliases(i),
                **self.base(i),
            )
            for i in self.children(el, "EnumeratedItem")
        ]
        ext = self.child(el, "ExternalCodeList")
        return m.CodeList(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            data_type=el.get("DataType", ""),
            sas_format_name=el.get("SASFormatName"),
            description=self.text(self.child(el, "Description")),
            items=tuple(items + enumerated),
            enumerated=bool(enumerated) and not items,
            external_code_list=None
            if ext is None
            else m.ExternalCodeList(
                dictionary=ext.get("Dictionary"),
                version=ext.get("Version"),
                ref=ext.get("ref"),
                href=ext.get("href"),
                **self.base(ext),
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def presentation(self, el: etree._Element) -> m.Presentation:
        return m.Presentation(
            oid=el.get("OID", ""),
            lang=el.get(f"{{{m.XML_NS}}}lang"),
            content=(el.text or ""),
            **self.base(el),
        )

    def condition_def(self, el: etree._Element) -> m.ConditionDef:
        return m.ConditionDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            description=self.text(self.child(el, "Description")),
            formal_expressions=self.expressions(el),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def method_def(self, el: etree._Element) -> m.MethodDef:
        return m.MethodDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            type=el.get("Type", "Computation"),
            description=self.text(self.child(el, "Description")),
            formal_expressions=self.expressions(el),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def resolve_includes(self, study: m.Study, studies: tuple[m.Study, ...]) -> m.Study:
        """Merge the definitions a MetaDataVersion Includes from another one in the file."""
        versions = list(study.metadata_versions)
        changed = False
        for i, mdv in enumerate(versions):
            inc = mdv.include
            if inc is None:
                continue
            parent = self._find_mdv(inc, studies, seen={mdv.oid})
            if parent is None:
                continue  # reported by the reference rules
            versions[i] = merge_include(parent, mdv)
            changed = True
        return dataclasses.replace(study, metadata_versions=tuple(versions)) if changed else study

    def _find_mdv(
        self, inc: m.Include, studies: tuple[m.Study, ...], seen: set[str]
    ) -> m.MetaDataVersion | None:
        for s in studies:
            if s.oid != inc.study_oid:
                continue
            for mdv in s.metadata_versions:
                if mdv.oid == inc.metadata_version_oid and mdv.oid not in seen:
                    if mdv.include is not None:
                        parent = self._find_mdv(mdv.include, studies, seen | {mdv.oid})
                        return merge_include(parent, mdv) if parent else mdv
                    return mdv
        return None


def merge_include(parent: m.MetaDataVersion, child: m.MetaDataVersion) -> m.MetaDataVersion:
    """The child's definitions over the parent's (ODM 1.3.2 §3.1.2.1 Include)."""
    return dataclasses.replace(
        child,
        protocol=child.protocol or parent.protocol,
        study_event_defs={**parent.study_event_defs, **child.study_event_defs},
        form_defs={**parent.form_defs, **child.form_defs},
        item_group_defs={**parent.item_group_defs, **child.item_group_defs},
        item_defs={**parent.item_defs, **child.item_defs},
        code_lists={**parent.code_lists, **child.code_lists},
        presentations={**parent.presentations, **child.presentations},
        condition_defs={**parent.condition_defs, **child.condition_defs},
        method_defs={**parent.method_defs, **child.method_defs},
    )

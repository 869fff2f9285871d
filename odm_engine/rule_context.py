"""What every conformance rule reads: its ``RuleContext`` and the one walk over structural Refs.

``structure(mdv)`` yields each StudyEventRef, FormRef, ItemGroupRef and ItemRef of a
MetaDataVersion with the element it stands in, so the reference, order, Mandatory and
unused-definition rules walk the same Refs in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from odm_engine import model as m
from odm_engine.findings import Finding


@dataclass(frozen=True, slots=True)
class RuleContext:
    """One MetaDataVersion under check, with its study, file and whether it is Define-XML."""

    odm: m.ODM
    study: m.Study
    mdv: m.MetaDataVersion
    path: str | None
    is_define: bool

    @property
    def for_engine(self) -> bool:
        """Whether the file is written for this engine: it says so (SourceSystem="odm-edc")
        or its expressions are OEL. Mistakes that only bite at data entry are errors then,
        and warnings in a file written for another system."""
        return self.odm.source_system == ENGINE or uses_oel(self.mdv)


ENGINE = "odm-edc"
"""The SourceSystem this engine writes."""


def uses_oel(mdv: m.MetaDataVersion) -> bool:
    """Whether any FormalExpression of ``mdv`` is OEL (Context="OEL")."""
    expressions = [
        *(fe for c in mdv.condition_defs.values() for fe in c.formal_expressions),
        *(fe for d in mdv.method_defs.values() for fe in d.formal_expressions),
        *(
            fe
            for i in mdv.item_defs.values()
            for r in i.range_checks
            for fe in r.formal_expressions
        ),
    ]
    return any(fe.context.strip().upper() == "OEL" for fe in expressions)


Rule = Callable[[RuleContext], Iterator[Finding]]


StructureRef = m.StudyEventRef | m.FormRef | m.ItemGroupRef | m.ItemRef


@dataclass(frozen=True, slots=True)
class Placed:
    """One structural Ref with where it stands: the one walk every structure rule shares."""

    parent: str
    """Where the Ref stands, e.g. ``Protocol`` or ``FormDef F.AE``."""
    element: str
    """StudyEventRef, FormRef, ItemGroupRef or ItemRef."""
    target: str
    """The kind of definition it names (StudyEventDef ...)."""
    oid: str
    ref: StructureRef


def structure(mdv: m.MetaDataVersion) -> Iterator[Placed]:
    """Every structural Ref of ``mdv``, from the Protocol down to the ItemRefs."""
    if mdv.protocol is not None:
        for ser in mdv.protocol.study_event_refs:
            yield Placed("Protocol", "StudyEventRef", "StudyEventDef", ser.study_event_oid, ser)
    for sed in mdv.study_event_defs.values():
        for fr in sed.form_refs:
            yield Placed(f"StudyEventDef {sed.oid}", "FormRef", "FormDef", fr.form_oid, fr)
    for fd in mdv.form_defs.values():
        for gr in fd.item_group_refs:
            yield Placed(f"FormDef {fd.oid}", "ItemGroupRef", "ItemGroupDef", gr.item_group_oid, gr)
    for igd in mdv.item_group_defs.values():
        for ir in igd.item_refs:
            yield Placed(f"ItemGroupDef {igd.oid}", "ItemRef", "ItemDef", ir.item_oid, ir)


def definition_tables(mdv: m.MetaDataVersion) -> dict[str, Mapping[str, object]]:
    """The definitions a structural Ref may name, by the kind of definition."""
    return {
        "StudyEventDef": mdv.study_event_defs,
        "FormDef": mdv.form_defs,
        "ItemGroupDef": mdv.item_group_defs,
        "ItemDef": mdv.item_defs,
    }

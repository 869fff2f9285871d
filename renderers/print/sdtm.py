"""SDTM annotations of the aCRF from ``Alias Context="SDTM"``, as the CDISC Metadata
Submission Guidelines draw them.

An ItemDef's ``Alias Context="SDTM"`` names its target as ``DOMAIN.VARIABLE`` (or a bare
variable of its item group's domain); ``Alias Context="SDTM.WHERE"`` adds the condition
(``IETESTCD = INCL01``). The annotation reads ``IEORRES when IETESTCD = INCL01``; a
supplemental qualifier reads ``MMHCTYPE in SUPPMH`` (the QNAM, then the dataset). An item
without an SDTM alias (and without SDSVarName) is ``[NOT SUBMITTED]``. A form's domain boxes
come from its item groups (``Alias Context="SDTM"`` or ``Domain``) and its items' targets,
supplemental datasets counting for their parent domain; each domain keeps one colour on the
form.
"""

from __future__ import annotations

from dataclasses import dataclass

from odm_engine import model as m

SDTM = "SDTM"
SDTM_WHERE = "SDTM.WHERE"
COLOURS = 4
"""Distinct annotation colours per form (the MSG's blue, yellow, green, orange)."""

DOMAIN_LABELS: dict[str, str] = {
    "AE": "Adverse Events",
    "BE": "Biospecimen Events",
    "CE": "Clinical Events",
    "CM": "Concomitant/Prior Medications",
    "CO": "Comments",
    "DA": "Product Accountability",
    "DD": "Death Details",
    "DM": "Demographics",
    "DS": "Disposition",
    "DV": "Protocol Deviations",
    "EC": "Exposure as Collected",
    "EG": "ECG Test Results",
    "EX": "Exposure",
    "FA": "Findings About Events or Interventions",
    "GF": "Genomics Findings",
    "HO": "Healthcare Encounters",
    "IE": "Inclusion/Exclusion Criteria Not Met",
    "IS": "Immunogenicity Specimen Assessments",
    "LB": "Laboratory Test Results",
    "MB": "Microbiology Specimen",
    "MH": "Medical History",
    "MI": "Microscopic Findings",
    "PC": "Pharmacokinetics Concentrations",
    "PE": "Physical Examination",
    "PR": "Procedures",
    "QS": "Questionnaires",
    "RS": "Disease Response and Clin Classification",
    "SC": "Subject Characteristics",
    "SU": "Substance Use",
    "SV": "Subject Visits",
    "TR": "Tumor/Lesion Results",
    "TU": "Tumor/Lesion Identification",
    "VS": "Vital Signs",
}
"""SDTM domain labels (SDTMIG 3.4) for the domain boxes; other domains show the code only."""


@dataclass(frozen=True, slots=True)
class Annotation:
    text: str
    domain: str
    """The domain the annotation belongs to (a SUPP-- dataset's parent); "" when not
    submitted."""
    variable: str
    """The SDTM variable (``QVAL`` for a supplemental qualifier); "" when not submitted."""
    dataset: str


NOT_SUBMITTED = Annotation("[NOT SUBMITTED]", "", "", "")


def _alias(aliases: tuple[m.Alias, ...], context: str) -> list[str]:
    return [a.name.strip() for a in aliases if a.context == context and a.name.strip()]


def group_domain(group: m.ItemGroupDef) -> str | None:
    """The SDTM domain of an item group: its SDTM alias, else its Domain attribute."""
    for name in _alias(group.aliases, SDTM):
        return name.split(".", 1)[0].upper()
    return group.domain.upper() if group.domain else None


def parent_domain(dataset: str) -> str:
    """``SUPPMH`` -> ``MH``; other datasets are their own domain."""
    return dataset[4:] if dataset.startswith("SUPP") and len(dataset) > 4 else dataset


def item_annotations(item: m.ItemDef, group: m.ItemGroupDef) -> tuple[Annotation, ...]:
    """The annotations of ``item`` collected in ``group`` (``[NOT SUBMITTED]`` if none).

    An item with several targets lists them in one ``SDTM`` alias, separated by ``;`` (ODM
    allows one Alias per Context). The ``SDTM.WHERE`` condition qualifies every target; a
    target may add its own after `` when `` (``HO.HOTERM when HOTYPE = HOSP; PR.PRTRT when
    HOTYPE = TRANSF``, ``SUPPPR.QVAL when QNAM = PRADR and HOTYPE = TRANSF``), for an item
    whose rows go to different domains by value."""
    shared = [c.strip() for w in _alias(item.aliases, SDTM_WHERE) for c in w.split(" and ")]
    targets = [t.strip() for n in _alias(item.aliases, SDTM) for t in n.split(";") if t.strip()]
    if not targets and item.sds_var_name:
        targets = [item.sds_var_name]
    out = []
    for name in targets:
        target, _, own = name.partition(" when ")
        clauses = shared + [c.strip() for c in own.split(" and ") if c.strip()]
        if "." in target:
            dataset, variable = (p.strip().upper() for p in target.split(".", 1))
        else:
            dataset, variable = (group_domain(group) or ""), target.strip().upper()
        domain = parent_domain(dataset)
        if dataset != domain:
            named = next((c for c in clauses if c.startswith("QNAM")), "")
            qnam = named.split("=", 1)[1].strip() if "=" in named else ""
            rest = [c for c in clauses if c != named] if qnam else clauses
            text = f"{qnam or variable} in {dataset}"
        else:
            rest = clauses
            text = variable
        if rest:
            text += " when " + " and ".join(rest)
        out.append(Annotation(text, domain, variable, dataset))
    return tuple(out) or (NOT_SUBMITTED,)


def domain_label(code: str) -> str:
    label = DOMAIN_LABELS.get(code)
    return f"{code} = {label}" if label else code


class DomainColours:
    """Colours handed out per form, in the order the domains first appear."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def colour(self, domain: str) -> int:
        if not domain:
            return -1
        if domain not in self.order:
            self.order.append(domain)
        return self.order.index(domain) % COLOURS

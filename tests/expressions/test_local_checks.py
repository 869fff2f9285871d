"""Checks that read one value each (``odm_engine.local_checks``) held equal to their
reference, ``evaluate_form`` on a new form instance (issue 20; ODM 1.3.2 §3.1.3.9
RangeCheck)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from odm_engine.checks import evaluate_form
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.entry_validation import MetadataValidator
from odm_engine.local_checks import local_forms
from tests.expressions.helpers import condition, load, range_check


def _check(comparator: str, soft: str, *values: str, message: str = "") -> str:
    texts = "".join(f"<CheckValue>{v}</CheckValue>" for v in values)
    error = f"<ErrorMessage><TranslatedText>{message}</TranslatedText></ErrorMessage>"
    head = f'<RangeCheck Comparator="{comparator}" SoftHard="{soft}">'
    return f"{head}{texts}{error if message else ''}</RangeCheck>"


ITEMS = {
    "IT.AGE": ("integer", _check("GE", "Hard", "18") + _check("LE", "Soft", "99")),
    "IT.WT": ("float", _check("GT", "Hard", "0", message="Weight must be positive")),
    "IT.CODE": ("integer", _check("IN", "Soft", "1", "2", "3")),
    "IT.NOT": ("text", _check("NOTIN", "Hard", "none", "n/a")),
    "IT.DT": ("date", _check("LT", "Soft", "2030-01-01")),
    "IT.SEX": ("text", '<CodeListRef CodeListOID="CL.SEX"/>'),
    "IT.NOTE": ("text", ""),
}
STUDY = f"""<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="V1" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.1" Mandatory="Yes"/><FormRef FormOID="F.2" Mandatory="No"/>
<FormRef FormOID="F.3" Mandatory="No"/></StudyEventDef>
<FormDef OID="F.1" Name="F1" Repeating="No"><ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.2" Name="F2" Repeating="No"><ItemGroupRef ItemGroupOID="IG.2" Mandatory="No"/>
</FormDef>
<FormDef OID="F.3" Name="F3" Repeating="No"><ItemGroupRef ItemGroupOID="IG.3" Mandatory="No"/>
</FormDef>
<ItemGroupDef OID="IG.1" Name="G1" Repeating="No">{
    "".join(
        f'<ItemRef ItemOID="{oid}" Mandatory="{"Yes" if oid == "IT.AGE" else "No"}"/>'
        for oid in ITEMS
    )
}</ItemGroupDef>
<ItemGroupDef OID="IG.2" Name="G2" Repeating="No">
<ItemRef ItemOID="IT.X" Mandatory="No" CollectionExceptionConditionOID="C.X"/></ItemGroupDef>
<ItemGroupDef OID="IG.3" Name="G3" Repeating="No"><ItemRef ItemOID="IT.Y" Mandatory="No"/>
</ItemGroupDef>
{"".join(f'<ItemDef OID="{oid}" Name="{oid}" DataType="{t}">{extra}</ItemDef>'
         for oid, (t, extra) in ITEMS.items())}
<ItemDef OID="IT.X" Name="X" DataType="integer">{_check("LT", "Hard", "5")}</ItemDef>
<ItemDef OID="IT.Y" Name="Y" DataType="integer">{range_check("IT.Y != 3")}</ItemDef>
<CodeList OID="CL.SEX" Name="Sex" DataType="text"><CodeListItem CodedValue="M"><Decode>
<TranslatedText>Male</TranslatedText></Decode></CodeListItem><CodeListItem CodedValue="F">
<Decode><TranslatedText>Female</TranslatedText></Decode></CodeListItem></CodeList>
{condition("C.X", "IT.X = 9")}"""  # fmt: skip
MDV, STUDY_MODEL = load(STUDY)
VALIDATOR = MetadataValidator(MDV, STUDY_MODEL)
FORM = FormKey("SE.1", "", "F.1", "")

TEXT = st.one_of(
    st.integers(-50, 150).map(str),
    st.decimals(-10, 400, places=2).map(str),
    st.dates().map(str),
    st.sampled_from(["none", "n/a", "M", "F", "x", " 7", "2029-12-31"]),
)


def test_only_forms_whose_checks_each_read_one_value_are_local() -> None:
    """F.2 has a ConditionDef, F.3 an expression RangeCheck: evaluate_form runs them."""
    assert local_forms(VALIDATOR.local_checks.plan) == frozenset({"F.1"})
    assert VALIDATOR.local_checks.check_of(ItemKey(*FORM, "IG.1", "", "IT.NOTE")) is None


@settings(max_examples=400, deadline=None)
@given(given_values=st.dictionaries(st.sampled_from(sorted(ITEMS)), TEXT))
def test_value_by_value_checks_equal_evaluate_form_on_a_new_form(
    given_values: dict[str, str],
) -> None:
    """Each value ``canonical`` accepts, checked alone, gives what evaluate_form gives for
    it on the new form instance (less the Mandatory results an import opens no query for)."""
    values: dict[ItemKey, str] = {}
    for oid, text in given_values.items():
        key = ItemKey(*FORM, "IG.1", "", oid)
        canonical = VALIDATOR.canonical(key, text)
        if isinstance(canonical, str):
            values[key] = canonical
    plan = VALIDATOR.local_checks.plan
    reference = evaluate_form(plan, SubjectSnapshot("001", None, values), FORM, saving=True)
    expected = [r for r in reference.check_results if r.kind != "mandatory"]
    fast = []
    for oid in ITEMS:  # the form's item order, as evaluate_form sorts its results
        key = ItemKey(*FORM, "IG.1", "", oid)
        check = VALIDATOR.local_checks.check_of(key)
        if key in values and check is not None:
            fast += check(key, values[key])
    assert fast == expected
    assert not reference.derived and not reference.hidden

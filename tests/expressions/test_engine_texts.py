"""The engine's own messages have a German text for every English one, with the same fields."""

from __future__ import annotations

from string import Formatter

from odm_engine.engine_texts import DE, EN, engine_text


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_german_has_every_key_with_the_same_fields() -> None:
    assert set(DE) == set(EN)
    assert [k for k in EN if _fields(EN[k]) != _fields(DE[k])] == []


def test_a_regional_tag_reads_its_base_language_and_an_unknown_one_english() -> None:
    assert engine_text("LE", "de-CH") == "höchstens"
    assert engine_text("LE", "fr") == "at most"
    assert engine_text("LE", None) == "at most"


# --- DataType and repeat-key messages (issue 21) -------------------------------------------


def test_the_english_nouns_and_hows_are_the_registrys() -> None:
    from odm_engine.datatypes import REGISTRY

    for name, found in REGISTRY.items():
        assert (EN[f"noun.{name}"], EN[f"how.{name}"]) == (found.noun, found.how), name


def test_a_data_type_problem_in_german() -> None:
    from odm_engine.datatypes import DataTypeProblem, parse_value

    def said(data_type: str, text: str, **limits: int) -> str:
        problem = parse_value(data_type, text, lang="de", **limits)
        assert isinstance(problem, DataTypeProblem)
        return problem.message

    assert said("integer", "abc") == (
        "'abc' ist kein gültiger Wert (erwartet: eine ganze Zahl). Schreiben Sie Ziffern mit "
        "optionalem Vorzeichen, z. B. 42 oder -7."
    )
    assert said("date", "2019-04-31") == (
        "'2019-04-31' ist kein gültiger Wert (erwartet: ein Datum): der April hat 30 Tage. "
        "Schreiben Sie JJJJ-MM-TT, z. B. 2019-12-01."
    )
    assert said("float", "1.25", significant_digits=1) == (
        "'1.25' hat 2 Nachkommastellen; höchstens 1 sind erlaubt (SignificantDigits=1). "
        "Runden Sie ihn, z. B. auf 1.3."
    )
    assert said("text", "abcd", length=3) == (
        "Der Wert ist 4 Zeichen lang; höchstens 3 sind erlaubt (Length=3). Kürzen Sie ihn."
    )
    english = parse_value("date", "2019-04-31")
    assert isinstance(english, DataTypeProblem)
    assert english.message == (
        "'2019-04-31' is not a date: April has 30 days. Write YYYY-MM-DD, e.g. 2019-12-01."
    )


def test_repeat_key_and_code_list_messages_in_german() -> None:
    from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
    from odm_engine.entry_validation import MetadataValidator, ValueProblem
    from odm_engine.loader import load_odm
    from tests.conftest import odm, one_item_study

    items = (
        '<ItemDef OID="IT.A" Name="A" DataType="integer"/>'
        '<ItemDef OID="IT.B" Name="B" DataType="text"><CodeListRef CodeListOID="CL.SEX"/>'
        "</ItemDef>"
        '<CodeList OID="CL.SEX" Name="Sex" DataType="text"><CodeListItem CodedValue="M">'
        "<Decode><TranslatedText>Male</TranslatedText></Decode></CodeListItem>"
        '<CodeListItem CodedValue="F"><Decode><TranslatedText>Female</TranslatedText>'
        "</Decode></CodeListItem></CodeList>"
    )
    refs = '<ItemRef ItemOID="IT.A" Mandatory="No"/><ItemRef ItemOID="IT.B" Mandatory="No"/>'
    validator = MetadataValidator.for_odm(load_odm(odm(one_item_study(items, item_ref=refs))).odm)
    form = FormKey("SE.1", "", "F.1", "")
    snapshot = SubjectSnapshot("S1")
    age, sex = (ItemKey(*form, "IG.1", "", oid) for oid in ("IT.A", "IT.B"))
    repeated = ItemKey(*form, "IG.1", "2", "IT.A")
    german = validator.in_language("de-AT")
    found = german.validate(snapshot, form, {age: "x1", sex: "Q", repeated: "4"})
    assert [r.message for r in found.results] == [
        "IT.A: 'x1' ist kein gültiger Wert (erwartet: eine ganze Zahl). Schreiben Sie "
        "Ziffern mit optionalem Vorzeichen, z. B. 42 oder -7.",
        'IT.B: "Q" ist nicht in der Codeliste CL.SEX (M, F). Wählen Sie einen ihrer Codes.',
        'Die Gruppe IG.1 wiederholt sich nicht (Repeating="No"): Sie nimmt keinen '
        'ItemGroupRepeatKey ("2" angegeben). Geben Sie ihre Werte ohne ihn an.',
    ]
    unit = german.unit_problem(age, "kg")
    assert unit is not None
    assert unit.message == (
        f"{age.describe()}: 'kg' ist keine Einheit von IT.A (keine: das Item hat keine Einheit)."
    )
    english = validator.canonical(age, "x1")  # the remembered check stays English
    assert isinstance(english, ValueProblem)
    assert english.message.startswith("IT.A: 'x1' is not an integer.")

"""One widget per ItemDef DataType, code lists, units, languages, marks, help, escaping."""

from __future__ import annotations

from renderers.html import FieldRef, FormState

from .helpers import render, render_item

NAME = "IG.1[].IT.A"
REF = FieldRef("IG.1", "", "IT.A")


def q(text: str, lang: str = "en") -> str:
    return f'<TranslatedText xml:lang="{lang}">{text}</TranslatedText>'


def item(data_type: str, attrs: str = "", body: str = "") -> str:
    return f'<ItemDef OID="IT.A" Name="A" DataType="{data_type}" {attrs}>{body}</ItemDef>'


def control(doc, name: str = NAME):  # type: ignore[no-untyped-def]
    found = doc.xpath("//*[@name=$n]", n=name)
    assert len(found) == 1, found
    return found[0]


def test_item_groups_are_fieldsets_with_legend_from_description_or_name() -> None:
    """ODM 1.3.2 §3.1.3 ItemGroupDef: Description in the user's language, else Name."""
    doc = render_item(item("integer"))
    assert doc.xpath("//fieldset[@data-group='IG.1']/legend/text()") == ["Group"]
    body = (
        '<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>'
        '<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>'
        '<FormDef OID="F.1" Name="Form" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>'
        '<ItemGroupDef OID="IG.1" Name="Group" Repeating="No">'
        f"<Description>{q('Vital signs')}{q('Vitalzeichen', 'de')}</Description>"
        '<ItemRef ItemOID="IT.A" Mandatory="No"/></ItemGroupDef>' + item("integer")
    )
    assert render(body, lang="de").xpath("//fieldset/legend/text()") == ["Vitalzeichen"]
    assert render(body, lang="fr").xpath("//fieldset/legend/text()") == ["Vital signs"]


def test_question_in_user_language_falls_back_to_study_default() -> None:
    """ODM 1.3.2 §2.4 TranslatedText xml:lang; missing language -> study default (first)."""
    definition = item(
        "text", 'Length="20"', f"<Question>{q('Weight')}{q('Gewicht', 'de')}</Question>"
    )
    assert render_item(definition, lang="de").xpath("//label[@for]/text()") == ["Gewicht"]
    assert render_item(definition, lang="de-CH").xpath("//label[@for]/text()") == ["Gewicht"]
    assert render_item(definition, lang="ko").xpath("//label[@for]/text()") == ["Weight"]
    german_first = item(
        "text", 'Length="20"', f"<Question>{q('Gewicht', 'de')}{q('Weight')}</Question>"
    )
    assert render_item(german_first, lang="it").xpath("//label[@for]/text()") == ["Gewicht"]


def test_label_falls_back_to_item_name_without_question() -> None:
    assert render_item(item("integer")).xpath("//label[@for='f-IG.1[].IT.A']/text()") == ["A"]


def test_integer_is_a_text_input_for_whole_numbers() -> None:
    """ODM 1.3.2 §3.1.5 DataType integer: a text input (chromium's type=number turns 3,4 into
    34), read by renderers.html.numbers."""
    el = control(render_item(item("integer")))
    assert (el.tag, el.get("type"), el.get("inputmode")) == ("input", "text", "numeric")
    assert (el.get("data-number-kind"), el.get("step")) == ("integer", None)


def test_float_is_a_text_input_taking_a_decimal_comma() -> None:
    """The server reads 3,4 and 3.4 alike and checks SignificantDigits (no step attribute)."""
    for extra in ('SignificantDigits="2"', ""):
        el = control(render_item(item("float", extra)))
        assert (el.get("type"), el.get("inputmode"), el.get("data-number-kind")) == (
            "text",
            "decimal",
            "number",
        )
        assert el.get("step") is None


UNITS = (
    '<MeasurementUnit OID="MU.KG" Name="kg"><Symbol>{}</Symbol></MeasurementUnit>'
    '<MeasurementUnit OID="MU.LB" Name="lb"><Symbol><TranslatedText xml:lang="en">lb'
    "</TranslatedText></Symbol></MeasurementUnit>"
).format(q("kg"))


def test_single_unit_is_shown_next_to_the_number() -> None:
    """ODM 1.3.2 §3.1.5 MeasurementUnitRef: one unit, shown as its Symbol."""
    doc = render_item(
        item("float", "", '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>'), units=UNITS
    )
    assert doc.xpath("//div[@data-item='IT.A']//span[@class='unit']/text()") == ["kg"]
    assert not doc.xpath("//select[contains(@class, 'unit-select')]")


def test_several_units_give_a_unit_select_with_the_chosen_one_selected() -> None:
    body = (
        '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>'
        '<MeasurementUnitRef MeasurementUnitOID="MU.LB"/>'
    )
    state = FormState(
        values={FieldRef("IG.1", "", "IT.A"): "150"}, units={FieldRef("IG.1", "", "IT.A"): "MU.LB"}
    )
    doc = render_item(item("float", "", body), units=UNITS, state=state)
    select = control(doc, NAME + ":unit")
    assert select.xpath("option/@value") == ["MU.KG", "MU.LB"]
    assert select.xpath("option/text()") == ["kg", "lb"]
    assert select.xpath("option[@selected]/@value") == ["MU.LB"]
    assert control(doc).get("value") == "150"


def test_dates_are_text_inputs_with_a_hint_for_partial_entry() -> None:
    """ODM 1.3.2 partialDate: the input accepts 2019-03, 2019 and UN-MAR-2019 entry."""
    for data_type in ("date", "partialDate", "incompleteDate"):
        el = control(render_item(item(data_type)))
        assert (el.get("type"), el.get("data-date-kind")) == ("text", data_type)
        assert "2019-03-15" in el.get("placeholder")
    assert "UN-MAR-2019" in control(render_item(item("partialDate"))).get("placeholder")
    german = control(render_item(item("partialDate"), lang="de")).get("placeholder")
    assert german.startswith("z. B.")


def test_time_and_datetime_inputs() -> None:
    assert control(render_item(item("time"))).get("type") == "time"
    assert control(render_item(item("datetime"))).get("type") == "datetime-local"
    partial = control(render_item(item("partialDatetime")))
    assert (partial.get("type"), partial.get("placeholder")[:5]) == ("text", "e.g. ")


def codelist(n: int, data_type: str = "text") -> str:
    items = "".join(
        f'<CodeListItem CodedValue="C{i}"><Decode>{q(f"Choice {i}")}{q(f"Wahl {i}", "de")}'
        "</Decode></CodeListItem>"
        for i in range(1, n + 1)
    )
    return f'<CodeList OID="CL.1" Name="CL" DataType="{data_type}">{items}</CodeList>'


def test_short_code_list_is_radio_buttons_with_decodes_in_both_languages() -> None:
    """ODM 1.3.2 §3.1.6 CodeList: values are CodedValue, labels the Decode in the language."""
    definition = item("text", 'Length="2"', '<CodeListRef CodeListOID="CL.1"/>')
    for lang, word in (("en", "Choice"), ("de", "Wahl")):
        doc = render_item(definition, extra=codelist(5), lang=lang)
        radios = doc.xpath("//input[@type='radio'][@name=$n]", n=NAME)
        assert [r.get("value") for r in radios] == ["C1", "C2", "C3", "C4", "C5"]
        labels = [" ".join(r.getparent().text_content().split()) for r in radios]
        assert labels == [f"{word} {i}" for i in range(1, 6)]


def test_long_code_list_is_a_select_with_the_value_selected() -> None:
    definition = item("text", 'Length="2"', '<CodeListRef CodeListOID="CL.1"/>')
    state = FormState(values={FieldRef("IG.1", "", "IT.A"): "C4"})
    doc = render_item(definition, extra=codelist(6), lang="de", state=state)
    select = control(doc)
    assert select.tag == "select"
    assert select.xpath("option/@value") == ["", "C1", "C2", "C3", "C4", "C5", "C6"]
    assert select.xpath("option[@selected]/text()") == ["Wahl 4"]


def test_boolean_is_checkbox_with_presence_marker() -> None:
    """ODM 1.3.2 boolean; the :checkbox marker says an unchecked box means false."""
    state = FormState(values={FieldRef("IG.1", "", "IT.A"): "true"})
    doc = render_item(item("boolean"), state=state)
    box = control(doc)
    assert (box.get("type"), box.get("value"), box.get("checked")) == (
        "checkbox",
        "true",
        "checked",
    )
    marker = control(doc, NAME + ":checkbox")
    assert (marker.get("type"), marker.get("value"), marker.get("disabled")) == (
        "hidden",
        "1",
        None,
    )
    unanswered = render_item(item("boolean"))
    assert control(unanswered).get("checked") is None
    # never answered: the marker is off until the user touches the box (form.js)
    assert control(unanswered, NAME + ":checkbox").get("disabled") == "disabled"
    answered_no = render_item(item("boolean"), state=FormState(values={REF: "false"}))
    assert control(answered_no).get("checked") is None
    assert control(answered_no, NAME + ":checkbox").get("disabled") is None


def test_text_length_decides_input_or_textarea() -> None:
    """ODM 1.3.2 Length: up to 200 a text input with maxlength, longer or absent a textarea."""
    short = control(render_item(item("text", 'Length="200"')))
    assert (short.tag, short.get("type"), short.get("maxlength")) == ("input", "text", "200")
    assert control(render_item(item("text", 'Length="201"'))).tag == "textarea"
    assert control(render_item(item("text"))).tag == "textarea"
    assert control(render_item(item("text", 'Length="2000"'))).get("maxlength") == "2000"


def test_mandatory_mark_and_aria_required() -> None:
    """ODM 1.3.2 §3.1.4.1 ItemRef Mandatory="Yes"."""
    doc = render_item(item("integer"), item_ref='<ItemRef ItemOID="IT.A" Mandatory="Yes"/>')
    assert control(doc).get("aria-required") == "true"
    assert doc.xpath("//label[@for='f-IG.1[].IT.A']/abbr[@class='mandatory-mark']/text()") == ["*"]
    optional = render_item(item("integer"))
    assert control(optional).get("aria-required") is None
    assert not optional.xpath("//abbr[@class='mandatory-mark']")


def test_help_text_from_description_is_linked_to_the_input() -> None:
    definition = item(
        "integer", "", f"<Description>{q('Whole years')}{q('Ganze Jahre', 'de')}</Description>"
    )
    doc = render_item(definition, lang="de")
    help_id = control(doc).get("aria-describedby")
    assert doc.xpath("//p[@id=$i]/text()", i=help_id) == ["Ganze Jahre"]


def test_values_are_prefilled() -> None:
    state = FormState(values={FieldRef("IG.1", "", "IT.A"): "2019-03"})
    assert control(render_item(item("partialDate"), state=state)).get("value") == "2019-03"
    state = FormState(values={FieldRef("IG.1", "", "IT.A"): "long <b>text</b>"})
    assert control(render_item(item("text"), state=state)).text == "long <b>text</b>"


def test_hostile_metadata_text_is_escaped() -> None:
    """Every ODM text is data: a <script> in a Question renders as text."""
    hostile = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    definition = item(
        "text",
        'Length="5"',
        f"<Question>{q(hostile)}</Question><Description>{q(hostile)}</Description>"
        '<CodeListRef CodeListOID="CL.1"/>',
    )
    extra = (
        '<CodeList OID="CL.1" Name="CL" DataType="text"><CodeListItem CodedValue="&quot;&gt;x">'
        f"<Decode>{q(hostile)}</Decode></CodeListItem></CodeList>"
    )
    doc = render_item(definition, extra=extra)
    assert not doc.xpath("//script[not(@type='application/json')]")
    assert not doc.xpath("//img")
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")
    label = doc.xpath("//span[@class='label']")[0].text_content()
    assert label.startswith("<script>alert(1)</script>")
    assert doc.xpath("//input[@type='radio']/@value") == ['">x']
    plan = doc.xpath("//script[@type='application/json']")[0].text
    assert "</" not in plan and "<script" not in plan


def test_no_inline_script_or_event_handler_in_the_body() -> None:
    """CSP: the body has no executable inline script and no on* attributes."""
    doc = render_item(item("boolean"))
    assert [s.get("type") for s in doc.xpath("//script")] == ["application/json"]
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")
    assert not doc.xpath("//@*[contains(., 'javascript:')]")

"""Field HTML made once per metadata version (``renderers.html.fragments``) is the same HTML
a fresh render gives, whatever states the renderer saw before."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from renderers.html import FieldRef, FormRenderer, FormState
from renderers.html.fragments import FieldFragments
from renderers.html.render import environment, state_key
from renderers.html.view import FieldView

from .helpers import load_study
from .test_logic import FORM, STUDY

EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", "300"))


@dataclass(frozen=True)
class Result:
    check_id: str
    item_key: ItemKey | None
    severity: str
    message: str


def _state(values: dict[FieldRef, str], *, links: bool, message: bool = False) -> FormState:
    results = (
        [Result("C.1", ItemKey("SE.1", "", "F.1", "", "IG.VS", "", "IT.H"), "hard", "Too <b>")]
        if message
        else []
    )
    urls = {ref: f"/h?field={ref.item_oid}&x=<'\">" for ref in values} if links else {}
    return FormState(values=values, history_urls=urls, check_results=results, form_key=FORM)


STATES = [
    _state({}, links=False),
    _state({FieldRef("IG.VS", "", "IT.H"): "180.5"}, links=True),
    _state(
        {
            FieldRef("IG.VS", "", "IT.H"): "<script>alert(1)</script>",
            FieldRef("IG.VS", "", "IT.W"): "",
            FieldRef("IG.VS", "", "IT.SMOKER"): "Y",
            FieldRef("IG.VS", "", "IT.CIGS"): '"20"&',
            FieldRef("IG.AE", "2", "IT.TERM"): "Rash \x00edc-value\x00",
        },
        links=True,
        message=True,
    ),
    _state({FieldRef("IG.VS", "", "IT.SMOKER"): "N"}, links=False),
]


def test_a_warm_renderer_writes_what_a_fresh_one_does() -> None:
    study = load_study(STUDY)
    warm = FormRenderer(study)
    for lang in ("en", "de"):
        for state in STATES + STATES[::-1]:
            fresh = FormRenderer(study).form_html("F.1", state, lang=lang)
            assert warm.form_html("F.1", state, lang=lang) == fresh


def _field(**changes: object) -> FieldView:
    base: dict[str, object] = {
        "name": "IG.1[].IT.1", "id": "f-IG.1[].IT.1", "item_oid": "IT.1", "group_oid": "IG.1",
        "repeat_key": "", "label": "Q", "help": "", "widget": "input", "input_type": "text",
        "data_type": "text", "value": "v", "mandatory": False, "hidden": False,
    }  # fmt: skip
    return FieldView(**{**base, **changes})  # type: ignore[arg-type]


def test_a_template_that_filters_the_value_is_never_used_with_holes() -> None:
    """A template that breaks the contract (here: a filter on the value) renders in full."""
    env = Environment(
        loader=DictLoader({"_field.html": "<i>{{ field.value|upper }}</i>"}), autoescape=True
    )
    fragments = FieldFragments(env)
    assert fragments.html(_field(value="ab"), False, {}, "en") == "<i>AB</i>"
    assert fragments.html(_field(value="<x>"), False, {}, "en") == "<i>&lt;X&gt;</i>"


_REF = FieldRef("IG.VS", "", "IT.H")
_KEY = ItemKey("SE.1", "", "F.1", "", "IG.VS", "", "IT.H")
VARIANTS: dict[str, object] = {
    "values": {_REF: "181"},
    "units": {_REF: "MU.CM"},
    "check_results": [Result("C.2", _KEY, "soft", "Unusual")],
    "form_key": FormKey("SE.1", "2", "F.1", ""),
    "subject": SubjectSnapshot("S-001", "SITE.1", {_KEY: "180"}),
    "not_collected": frozenset({_REF}),
    "repeat_keys": {"IG.AE": ("1",)},
    "history_urls": {_REF: "/h?field=IT.H"},
}
"""A value for every field of FormState that differs from its default."""


def test_the_memo_key_covers_every_field_of_the_form_state() -> None:
    """A FormState field left out of ``state_key`` would let a page show another state's
    body: each field, changed alone, must change the key (a new field needs a variant)."""
    names = {f.name for f in dataclasses.fields(FormState)}
    assert names == set(VARIANTS), f"give state_key and VARIANTS the new fields: {names}"
    base = state_key(FormState())
    for name, value in VARIANTS.items():
        assert state_key(FormState(**{name: value})) != base, name  # type: ignore[arg-type]
    message = FormState(check_results=[Result("C.2", _KEY, "soft", "Other text")])
    assert state_key(message) != state_key(
        FormState(**{"check_results": VARIANTS["check_results"]})
    )  # type: ignore[arg-type]


def test_a_remembered_body_is_never_served_for_a_changed_state() -> None:
    renderer = FormRenderer(load_study(STUDY))
    first = renderer.form_html("F.1", _state({_REF: "180.5"}, links=False), lang="en")
    again = renderer.form_html("F.1", _state({_REF: "180.5"}, links=False), lang="en")
    changed = renderer.form_html("F.1", _state({_REF: "175"}, links=False), lang="en")
    assert again is first  # the same state: the remembered body
    assert 'value="175"' in changed and 'value="180.5"' not in changed
    assert renderer.form_html("F.1", _state({_REF: "180.5"}, links=False), lang="de") != first


HOSTILE = st.lists(
    st.sampled_from(["a", "1", " ", "<", ">", "&", '"', "'", "\x00", "edc-value", "edc-link",
                     "\x00edc-value\x00", "\x00edc-link\x00", "{{", "}}", "ä", "\u2028"]),
    max_size=12,
).map("".join)  # fmt: skip


def _fields_of(view: object) -> list[FieldView]:
    out: list[FieldView] = []
    for group in view.groups:  # type: ignore[attr-defined]
        out.extend(group.fields)
        for row in group.rows:
            out.extend(row.fields)
    return out


_VIEWS = {lang: FormRenderer(load_study(STUDY)).view("F.1", lang=lang) for lang in ("en", "de")}


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    lang=st.sampled_from(sorted(_VIEWS)),
    which=st.integers(min_value=0),
    compact=st.booleans(),
    values=st.lists(st.tuples(HOSTILE, HOSTILE | st.just("")), min_size=1, max_size=3),
    label=HOSTILE,
)
def test_field_html_with_holes_equals_a_full_render(
    lang: str, which: int, compact: bool, values: list[tuple[str, str]], label: str
) -> None:
    """The fast path (a shell rendered once, holes filled with escaped text) gives the HTML a
    full Jinja2 render of ``_field.html`` gives (the reference), for hostile values, links and
    labels, on a cold and on a warm shell, in every widget."""
    view = _VIEWS[lang]
    fields = _fields_of(view)
    field = fields[which % len(fields)]
    fragments = FieldFragments(environment())
    for value, link in values:  # the first fills the shell table, the others reuse it
        shown = dataclasses.replace(field, value=value, history_url=link, label=label)
        fast = fragments.html(shown, compact, view.ui, lang)
        assert fast == fragments._render(shown, compact, view.ui)

"""The form-entry and status services take plain inputs: no request, no Flask (issue 15)."""

from __future__ import annotations

from odm_engine.clinical import FormKey
from renderers.html.naming import field_name, remove_field_name
from services import form_status as status_service
from services.entry import read_entry
from storage.form_status import STATUS_MOVES
from webapp.views.entry import TARGETS as WEB_TARGETS

FORM = FormKey("SE.1", "", "F.1", "")
ITEMS = {
    ("IG.1", "IT.TEXT"): ("text", False),
    ("IG.1", "IT.DATE"): ("date", False),
    ("IG.1", "IT.FLAG"): ("boolean", False),
    ("IG.1", "IT.BMI"): ("float", True),
    ("IG.R", "IT.TERM"): ("text", False),
    ("IG.R", "IT.GRADE"): ("integer", False),
}


def test_read_entry_turns_posted_fields_into_odm_values() -> None:
    """Unknown names are not values, a derived item is never taken from the post, an
    answered checkbox left unticked is false, a removed row clears each of its items, and
    a unit goes only with a value given in the same post."""
    posted = read_entry(
        ITEMS,
        FORM,
        [
            ("csrf_token", "x"),
            (field_name("IG.1", "", "IT.TEXT"), "hello"),
            (field_name("IG.1", "", "IT.BMI"), "99"),
            (field_name("IG.1", "", "IT.FLAG", "checkbox"), "1"),
            (field_name("IG.1", "", "IT.TEXT", "unit"), "U.KG"),
            (field_name("IG.1", "", "IT.DATE", "unit"), "U.X"),
            (remove_field_name("IG.R", "2"), "1"),
        ],
    )
    assert posted.values == {
        ("IG.1", "", "IT.TEXT"): "hello",
        ("IG.1", "", "IT.FLAG"): "false",
        ("IG.R", "2", "IT.TERM"): "",
        ("IG.R", "2", "IT.GRADE"): "",
    }
    assert posted.units == {("IG.1", "", "IT.TEXT"): "U.KG"}
    assert posted.problems == []


def test_read_entry_refuses_a_date_that_is_not_one_next_to_its_field() -> None:
    posted = read_entry(ITEMS, FORM, [(field_name("IG.1", "", "IT.DATE"), "31.02.")])
    assert [p.check_id for p in posted.problems] == ["IT.DATE:date"]
    assert posted.problems[0].item_key == (*FORM, "IG.1", "", "IT.DATE")
    assert posted.shown == {("IG.1", "", "IT.DATE"): "31.02."}
    assert posted.values == {}


def test_every_status_change_has_a_service_target_and_a_web_right() -> None:
    """A status storage can set that no service names, or the web offers no right for,
    fails here."""
    assert set(status_service.TARGETS.values()) == set(STATUS_MOVES)
    assert set(WEB_TARGETS) == set(status_service.TARGETS)

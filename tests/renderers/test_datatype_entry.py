"""The web entry widget and the printed answer field of every DataType come from the registry.

The expected tables are the ones renderers/html/build.py and renderers/print/build.py held
before the DataType registry (issue 15): moving them changed nothing.
"""

from __future__ import annotations

from odm_engine.datatypes import REGISTRY
from renderers.html import normalise_entry
from renderers.html.dates import DATE_TYPES
from renderers.tabular.plan import DEFINE_TYPES


def test_web_placeholders_are_the_former_tables() -> None:
    hints = {name: dt.entry.hint for name, dt in REGISTRY.items() if dt.entry.hint}
    assert hints == {
        "date": "full_date_hint",
        "partialDate": "date_hint",
        "incompleteDate": "incomplete_date_hint",
        "partialTime": "partial_time_hint",
        "incompleteTime": "partial_time_hint",
        "partialDatetime": "partial_datetime_hint",
        "incompleteDatetime": "partial_datetime_hint",
        "durationDatetime": "duration_hint",
    }
    widgets = {name: dt.entry.widget for name, dt in REGISTRY.items()}
    assert {n for n, w in widgets.items() if w == "number"} == {"integer", "float", "double"}
    assert {n for n, w in widgets.items() if w == "clock"} == {"time", "datetime"}
    assert {n for n, w in widgets.items() if w == "long_text"} == {"text", "string"}
    assert {n for n, w in widgets.items() if w == "checkbox"} == {"boolean"}
    assert DATE_TYPES == ("date", "partialDate", "incompleteDate")


def test_printed_answer_fields_are_the_former_tables() -> None:
    paper = {name: dt.entry.paper for name, dt in REGISTRY.items()}
    assert {n for n, p in paper.items() if p == "number"} == {"integer", "float", "double"}
    assert {n for n, p in paper.items() if p == "date"} == set(DATE_TYPES)
    assert {n for n, p in paper.items() if p == "datetime"} == {
        "datetime",
        "partialDatetime",
        "incompleteDatetime",
    }
    assert {n for n, p in paper.items() if p == "time"} == {
        "time",
        "partialTime",
        "incompleteTime",
    }
    assert REGISTRY["date"].entry.paper_hint == ("date_hint",)
    assert REGISTRY["partialDate"].entry.paper_hint == ("partial_date_hint",)
    assert REGISTRY["incompleteDatetime"].entry.paper_hint == ("date_hint", "time_hint")


def test_define_types_are_the_former_table() -> None:
    """Define-XML 2.1 DataTypes; the ODM types Define has no name for are text."""
    assert {k: v for k, v in DEFINE_TYPES.items() if v != "text"} == {
        "integer": "integer",
        "float": "float",
        "double": "float",
        "date": "date",
        "time": "time",
        "datetime": "datetime",
        "partialDate": "partialDate",
        "partialTime": "partialTime",
        "partialDatetime": "partialDatetime",
        "incompleteDatetime": "incompleteDatetime",
        "durationDatetime": "durationDatetime",
        "intervalDatetime": "intervalDatetime",
    }


def test_an_interval_is_entered_as_typed_not_as_a_date() -> None:
    """ODM 1.3.2 intervalDatetime (start/end, start/duration, duration/end) is not a datetime:
    the entry used to be read as a date and every interval was refused before its check."""
    assert normalise_entry("intervalDatetime", " 2019-01-01/2019-03-31 ") == "2019-01-01/2019-03-31"
    assert normalise_entry("intervalDatetime", "2019-01-01T08:00/PT4H") == "2019-01-01T08:00/PT4H"
    assert normalise_entry("partialDatetime", "15-OCT-2019 14:30") == "2019-10-15T14:30"

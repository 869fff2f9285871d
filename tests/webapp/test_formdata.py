"""The urlencoded form reader gives exactly werkzeug's (parse_qsl's) result."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp import formdata
from webapp.formdata import EdcRequest, parse_pairs

EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", "300"))
PIECES = st.lists(
    st.sampled_from(
        ["a", "IG.B", "[", "]", "%5B", "%5D", "+", "%2B", "%20", "=", "&", "&&", "%", "%G1",
         "%FF", "%C3%A4", "ä", "€", ";", "%3D", "%26", "x1", " "]
    ),
    max_size=30,
).map("".join)  # fmt: skip


def werkzeug_pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")


@settings(max_examples=EXAMPLES, deadline=None)
@given(PIECES)
def test_same_pairs_as_parse_qsl(text: str) -> None:
    assert parse_pairs(text) == werkzeug_pairs(text)
    assert parse_pairs(text) == werkzeug_pairs(text)  # again: names now from the table


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=40))
def test_same_pairs_for_any_text(text: str) -> None:
    assert parse_pairs(text) == werkzeug_pairs(text)


def test_name_table_is_bounded(monkeypatch: object) -> None:
    formdata._names.clear()
    for n in range(formdata._NAMES_KEPT + 10):
        parse_pairs(f"IG.B%5B%5D.IT.{n}=1")
    assert 0 < len(formdata._names) <= formdata._NAMES_KEPT


def test_app_reads_forms_with_it() -> None:
    app = Flask("t")
    app.request_class = EdcRequest

    @app.post("/")
    def echo() -> dict[str, list[str]]:
        return {k: request.form.getlist(k) for k in request.form}

    body = "IG.B%5B%5D.IT.A=1+2&IG.B%5B%5D.IT.A=%C3%A4&empty=&bad=%FF&novalue"
    answer = app.test_client().post(
        "/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert answer.get_json() == {
        "IG.B[].IT.A": ["1 2", "ä"],
        "empty": [""],
        "bad": ["%FF"],
        "novalue": [""],
    }
    not_utf8 = app.test_client().post(
        "/", data=b"a=\xff", content_type="application/x-www-form-urlencoded"
    )
    assert not_utf8.get_json() == {}  # as werkzeug: an undecodable body gives no fields

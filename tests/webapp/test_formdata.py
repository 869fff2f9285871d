"""Posted forms are read by werkzeug's public parser (``request.form``), as Flask does.

Until issue 15 ``webapp/formdata.py`` replaced werkzeug's private ``_parse_urlencoded`` to
save about 0.18 ms per save; measured in ``python -m bench web`` that was under the 10% a
speed trick must win to stay (docs/architecture.md, speed tricks). These tests pin what the
form-entry reader relies on: bracketed field names, ``+`` and percent escapes, blank values,
and an undecodable body giving no fields.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", "300"))
PIECES = st.lists(
    st.sampled_from(
        ["a", "IG.B", "[", "]", "%5B", "%5D", "+", "%2B", "%20", "=", "&", "&&", "%", "%G1",
         "%FF", "%C3%A4", "ä", "€", ";", "%3D", "%26", "x1", " "]
    ),
    max_size=30,
).map("".join)  # fmt: skip


def _app() -> Flask:
    app = Flask("t")

    @app.post("/")
    def echo() -> dict[str, list[list[str]]]:
        return {"pairs": [[k, v] for k, v in request.form.items(multi=True)]}

    return app


APP = _app()


def posted_pairs(body: str) -> list[tuple[str, str]]:
    answer = APP.test_client().post(
        "/", data=body.encode(), content_type="application/x-www-form-urlencoded"
    )
    return [(k, v) for k, v in answer.get_json()["pairs"]]


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.one_of(PIECES, st.text(max_size=40)))
def test_request_form_is_parse_qsl_with_blank_values(text: str) -> None:
    expected = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    assert sorted(posted_pairs(text)) == sorted(expected)


def test_app_reads_forms_as_the_entry_form_expects() -> None:
    body = "IG.B%5B%5D.IT.A=1+2&IG.B%5B%5D.IT.A=%C3%A4&empty=&bad=%FF&novalue"
    assert posted_pairs(body) == [
        ("IG.B[].IT.A", "1 2"),
        ("IG.B[].IT.A", "ä"),
        ("empty", ""),
        ("bad", "%FF"),
        ("novalue", ""),
    ]
    not_utf8 = APP.test_client().post(
        "/", data=b"a=\xff", content_type="application/x-www-form-urlencoded"
    )
    assert not_utf8.get_json() == {"pairs": []}  # an undecodable body gives no fields

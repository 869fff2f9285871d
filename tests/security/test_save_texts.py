"""``check_save_texts`` (one search over a save's texts) refuses exactly what checking each
text on its own refuses (``check_each_save_text``), with the same located message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from odm_engine.free_text import (
    LIMITS,
    TextRefusedError,
    check_each_save_text,
    check_save_texts,
)

# Mostly ordinary text, sometimes a character XML cannot carry (controls, lone surrogates,
# U+FFFE/U+FFFF), the tab the fast path joins with, or a text just over its limit.
BAD = st.sampled_from(["\x00", "\x08", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"])
GOOD = st.sampled_from(["\t", "\n", "\r", " ", "x", "é", "\ue000", "\U0001f600", "\ufffd"])
TEXT = st.lists(st.one_of(GOOD, GOOD, GOOD, BAD, st.text(max_size=3)), max_size=6).map("".join)


def _long(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from([LIMITS[kind] - 1, LIMITS[kind], LIMITS[kind] + 1]).map("k".__mul__)


KEY = st.one_of(TEXT, _long("key"))
VALUE = st.one_of(TEXT, _long("value"), st.none(), st.integers())
REASON = st.one_of(st.none(), TEXT, _long("reason"))


def _outcome(check, keys, values, reason):  # type: ignore[no-untyped-def]
    try:
        check(iter(keys), iter(values), reason)
    except TextRefusedError as exc:
        return (exc.field, str(exc))
    return None


@settings(max_examples=400, deadline=None)
@given(
    keys=st.lists(st.tuples(st.sampled_from(["StudyEventRepeatKey", "FormRepeatKey"]), KEY)),
    values=st.lists(st.tuples(st.sampled_from(["IT.A", "IT.B"]), VALUE), max_size=8),
    reason=REASON,
)
def test_one_search_refuses_what_each_text_refuses(keys, values, reason) -> None:  # type: ignore[no-untyped-def]
    assert _outcome(check_save_texts, keys, values, reason) == _outcome(
        check_each_save_text, keys, values, reason
    )


def test_a_bad_value_among_good_ones_is_named() -> None:
    values = [("IT.A", "fine"), ("IT.B", "bad\x07"), ("IT.C", "x" * (LIMITS["value"] + 1))]
    outcome = _outcome(check_save_texts, [("FormRepeatKey", "")], values, "ok")
    assert outcome is not None
    assert outcome[0] == "Value of IT.B"
    assert "U+0007 at position 4" in outcome[1]

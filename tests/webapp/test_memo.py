"""The web app's caches (``webapp.memo.Memo``): bounded, clearable, and keyed by everything
their values are made from (the metadata version's SHA-256 first)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import update

from storage.engine import write_transaction
from storage.models import Study
from tests.renderers.helpers import load_study
from tests.renderers.test_logic import STUDY as LOGIC_STUDY
from webapp import entry_form, studyview
from webapp.memo import Memo
from webapp.runtime import reading
from webapp.views import entry

from .conftest import STUDY, Web


def test_a_value_is_made_once_and_kept() -> None:
    memo: Memo[str, list[str]] = Memo("probe", bound=3)
    made: list[str] = []
    first = memo.get("a", lambda: made.append("a") or ["a"])  # type: ignore[func-returns-value]
    assert memo.get("a", lambda: ["other"]) is first
    assert made == ["a"] and "a" in memo and memo.peek("a") is first and memo.peek("b") is None


def test_the_table_is_bounded_oldest_out_first() -> None:
    memo: Memo[int, int] = Memo("probe", bound=3)
    for n in range(5):
        memo.get(n, lambda n=n: n * 10)  # type: ignore[misc]
    assert len(memo) == 3 and memo.values() == [20, 30, 40]
    assert 0 not in memo and 1 not in memo


def test_clear_empties_it_and_values_are_made_again() -> None:
    memo: Memo[str, object] = Memo("probe", bound=3)
    before = memo.get("k", object)
    memo.clear()
    assert len(memo) == 0 and memo.values() == []
    assert memo.get("k", object) is not before


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="bound must be at least 1"):
        Memo("probe", bound=0)


def _study_context(sha: str, mdv: object) -> object:
    return SimpleNamespace(sha256=sha, mdv=mdv)


def test_form_items_are_kept_per_metadata_version() -> None:
    """Two metadata versions with the same FormOID: each gets its own item table."""
    mdv = load_study(LOGIC_STUDY).metadata_version()
    assert mdv is not None
    form_oid = "F.1"
    entry_form.FORM_ITEMS.clear()
    one = entry_form._form_items(_study_context("sha-1", mdv), form_oid)  # type: ignore[arg-type]
    empty = SimpleNamespace(form_defs={form_oid: SimpleNamespace(item_group_refs=())})
    other = entry_form._form_items(_study_context("sha-2", empty), form_oid)  # type: ignore[arg-type]
    assert one and other == {}
    assert (("sha-1", form_oid) in entry_form.FORM_ITEMS) and len(entry_form.FORM_ITEMS) == 2
    entry_form.FORM_ITEMS.clear()
    assert len(entry_form.FORM_ITEMS) == 0


def test_history_links_are_kept_per_version_form_url_and_saved_rows() -> None:
    """Each part of the key, changed alone, makes a separate entry with its own links."""
    mdv = load_study(LOGIC_STUDY).metadata_version()
    assert mdv is not None
    form_oid = "F.1"
    entry.HISTORY_LINKS.clear()
    base = ("sha-1", mdv, form_oid, "/s/A/history", ())
    variants = [
        base,
        ("sha-2", *base[1:]),
        (*base[:3], "/s/B/history", ()),
        (*base[:4], (("IG.AE", ("1",)),)),
    ]
    maps = [entry._history_map(*v) for v in variants]  # type: ignore[arg-type]
    assert len(entry.HISTORY_LINKS) == len(variants)
    assert all(u.startswith("/s/A/history?") for u in maps[0].values())
    assert all(u.startswith("/s/B/history?") for u in maps[2].values())
    assert set(maps[3]) > set(maps[0])  # the saved row's fields have links too
    assert entry._history_map(*base) is maps[0]  # type: ignore[arg-type]
    entry.HISTORY_LINKS.clear()
    assert len(entry.HISTORY_LINKS) == 0


def test_the_served_study_is_rebuilt_when_its_name_changes(web: Web) -> None:
    """The study context is keyed by the metadata's SHA-256 and the study's OID, name and
    version number: a renamed study is not served under its old name."""
    studyview.STUDIES.clear()
    with web.app.app_context(), reading() as conn:
        first = studyview.served_study(conn, web.app.extensions["edc"].settings)
    assert first is not None and len(studyview.STUDIES) == 1
    with write_transaction(web.engine) as conn:
        conn.execute(update(Study).where(Study.oid == STUDY).values(name="Renamed"))
    with web.app.app_context(), reading() as conn:
        again = studyview.served_study(conn, web.app.extensions["edc"].settings)
    assert again is not None and again.name == "Renamed" and again.sha256 == first.sha256
    studyview.STUDIES.clear()
    assert len(studyview.STUDIES) == 0

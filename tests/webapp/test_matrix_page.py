"""The subject matrix page (/matrix, /sites/<site>/matrix): status icons with words and
links, open-query counts, search, filters, sorting, pages, access per role and bad
parameters (400 or ignored, never 500). The access matrix of every route is
tests/webapp/test_matrix.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.models import Form, Query, StudyEvent, Subject
from storage.queries import open_query
from storage.subjects import create_subject
from storage.vocabulary import FormStatus, QueryStatus
from tests.webapp.conftest import (
    SITE_A,
    SITE_B,
    STUDY,
    SUBJECT_A,
    SUBJECT_B,
    Web,
    seeded_schema,
    web_at,
)

ROW = re.compile(r'<tr data-subject="([^"]+)">(.*?)</tr>', re.S)
MARK = re.compile(r'<a class="st st-(\w+)" href="([^"]+)" title="([^"]+)">')


def rows(html: str) -> dict[str, str]:
    return dict(ROW.findall(html))


def keys(html: str) -> list[str]:
    return [k for k, _ in ROW.findall(html)]


def marks(row: str) -> list[tuple[str, str, str]]:
    return MARK.findall(row)


def set_form(
    web: Web, subject_key: str, event: str, form: str, status: FormStatus, repeat: str = ""
) -> None:
    """A stored form instance at ``status`` (the matrix shows the stored status as is), in
    the event instance ``repeat`` (as an import from another EDC may number it)."""
    with write_transaction(web.engine) as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.subject_key == subject_key))
        eid = conn.scalar(
            select(StudyEvent.id).where(
                StudyEvent.subject_id == sid,
                StudyEvent.study_event_oid == event,
                StudyEvent.repeat_key == repeat,
            )
        )
        if eid is None:
            eid = conn.execute(
                insert(StudyEvent).values(subject_id=sid, study_event_oid=event, repeat_key=repeat)
            ).inserted_primary_key[0]
        conn.execute(
            insert(Form).values(
                study_event_id=eid, form_oid=form, repeat_key="", status=status.value, version=1
            )
        )


def add_subjects(web: Web, site: str, code: str, numbers: range) -> None:
    with write_transaction(web.engine) as conn:
        for n in numbers:
            create_subject(
                conn,
                study=STUDY,
                subject_key=f"{code}-{n:03d}",
                site_oid=site,
                user="dm",
                role="data_manager",
            )


def query(web: Web, subject_key: str, item: str = "IT.IE_IN01") -> int:
    with write_transaction(web.engine) as conn:
        return open_query(
            conn,
            study=STUDY,
            subject_key=subject_key,
            key=ItemKey("SE.ELIG", "", "F.IE", "", "IG.IE_IN", "", item),
            message="Check",
            user="dm",
            role="data_manager",
        )


FORMS = [
    ("SE.ELIG", "F.IE", FormStatus.IN_PROGRESS),
    ("SE.ELIG", "F.IC", FormStatus.COMPLETE),
    ("SE.DCV", "F.DM", FormStatus.VERIFIED),
]


def test_each_status_has_its_shape_words_and_link(web: Web) -> None:
    for event, form, status in FORMS:
        set_form(web, SUBJECT_A, event, form, status)
    html = web.client("inv_a").get(f"/sites/{SITE_A}/matrix").get_data(as_text=True)
    found = {href: (status, title) for status, href, title in marks(rows(html)[SUBJECT_A])}
    assert len(found) == 12  # the study's 12 FormRefs, one cell each
    for event, form, status in FORMS:
        shown, title = found[f"/subjects/{SUBJECT_A}/{event}/{form}"]
        assert shown == status.value
        assert title.endswith(
            ": "
            + {"in_progress": "In progress", "complete": "Complete", "verified": "Verified (SDV)"}[
                status.value
            ]
        )
    rest = [
        s
        for href, (s, _) in found.items()
        if "F.IE" not in href and "F.IC" not in href and "F.DM" not in href
    ]
    assert set(rest) == {"not_started"}
    # shapes, not colour only: each status its own icon, and words for screen readers
    assert (
        "/ Eligibility: inclusion and exclusion criteria: "
        'In progress"><span aria-hidden="true">◐</span></a>' in html
    )
    for words in ("Not started", "In progress", "Complete", "Verified (SDV)", "Signed", "Locked"):
        assert words in html


@pytest.mark.parametrize("status", [FormStatus.SIGNED, FormStatus.LOCKED])
def test_signed_and_locked_forms(web: Web, status: FormStatus) -> None:
    set_form(web, SUBJECT_A, "SE.ELIG", "F.IE", status)
    html = web.client("dm").get("/matrix").get_data(as_text=True)
    assert (status.value, f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE") in [
        (s, h) for s, h, _ in marks(rows(html)[SUBJECT_A])
    ]


def test_open_query_counts_leave_closed_ones_out(web: Web) -> None:
    query(web, SUBJECT_A)
    query(web, SUBJECT_A, "IT.IE_IN02")
    closed = query(web, SUBJECT_A, "IT.IE_IN03")
    with write_transaction(web.engine) as conn:
        conn.execute(
            update(Query).where(Query.id == closed).values(status=QueryStatus.CLOSED.value)
        )
    html = web.client("dm").get("/matrix").get_data(as_text=True)
    table = rows(html)
    assert '<td class="open-queries"><span class="badge">2</span></td>' in table[SUBJECT_A]
    assert '<td class="open-queries">0</td>' in table[SUBJECT_B]
    by_queries = web.client("dm").get("/matrix?sort=-queries").get_data(as_text=True)
    assert keys(by_queries)[0] == SUBJECT_A
    assert keys(web.client("dm").get("/matrix?sort=queries").get_data(as_text=True))[-1] == (
        SUBJECT_A
    )


def test_search_sort_and_pages(web: Web) -> None:
    add_subjects(web, SITE_A, "DE01", range(2, 62))  # 61 subjects at site A
    inv = web.client("inv_a")
    first = inv.get(f"/sites/{SITE_A}/matrix").get_data(as_text=True)
    assert keys(first) == [f"DE01-{n:03d}" for n in range(1, 51)]
    assert "61 subject(s), page 1 of 2." in first
    assert 'rel="next" href="/sites/LOC.DE01/matrix?sort=key&amp;page=2"' in first
    second = inv.get(f"/sites/{SITE_A}/matrix?page=2").get_data(as_text=True)
    assert keys(second) == [f"DE01-{n:03d}" for n in range(51, 62)]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert keys(inv.get(f"/sites/{SITE_A}/matrix?sort=-key").get_data(as_text=True))[0] == (
        "DE01-061"
    )
    assert keys(inv.get(f"/sites/{SITE_A}/matrix?q=de01-05").get_data(as_text=True)) == [
        f"DE01-{n:03d}" for n in range(50, 60)
    ]
    assert keys(inv.get(f"/sites/{SITE_A}/matrix?q=%25").get_data(as_text=True)) == []
    with write_transaction(web.engine) as conn:  # DE01-007 enrolled last
        later = datetime.now(UTC) + timedelta(days=1)
        conn.execute(
            update(Subject).where(Subject.subject_key == "DE01-007").values(created_at=later)
        )
    by_created = inv.get(f"/sites/{SITE_A}/matrix?sort=-created").get_data(as_text=True)
    assert keys(by_created)[0] == "DE01-007"


def test_status_filter(web: Web) -> None:
    add_subjects(web, SITE_A, "DE01", range(2, 4))
    set_form(web, "DE01-002", "SE.ELIG", "F.IE", FormStatus.COMPLETE)
    dm = web.client("dm")
    assert keys(dm.get("/matrix?status=complete").get_data(as_text=True)) == ["DE01-002"]
    assert keys(dm.get("/matrix?status=locked").get_data(as_text=True)) == []
    # no subject has all 12 forms started: each has a form not started
    not_started = keys(dm.get("/matrix?status=not_started").get_data(as_text=True))
    assert set(not_started) == {SUBJECT_A, SUBJECT_B, "DE01-002", "DE01-003"}
    assert keys(dm.get(f"/matrix?site={SITE_B}").get_data(as_text=True)) == [SUBJECT_B]


def test_an_investigator_sees_only_their_site(web: Web) -> None:
    add_subjects(web, SITE_B, "AT01", range(2, 5))
    inv = web.client("inv_a")
    html = inv.get("/matrix").get_data(as_text=True)
    assert keys(html) == [SUBJECT_A] and "AT01" not in html
    assert inv.get(f"/sites/{SITE_B}/matrix").status_code == 404
    assert inv.get(f"/matrix?site={SITE_B}").status_code == 400
    assert inv.get("/matrix?q=AT01").status_code == 200
    assert keys(inv.get("/matrix?q=AT01").get_data(as_text=True)) == []
    mon = web.client("mon_a").get("/matrix").get_data(as_text=True)
    assert keys(mon) == [SUBJECT_A]
    dm = web.client("dm").get("/matrix").get_data(as_text=True)
    assert keys(dm) == [SUBJECT_B, "AT01-002", "AT01-003", "AT01-004", SUBJECT_A]
    for user in ("designer", "admin"):
        assert web.client(user).get("/matrix").status_code == 403
        assert web.client(user).get(f"/sites/{SITE_A}/matrix").status_code == 404


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ("status=bogus", 400),
        ("status=OPEN", 400),
        ("sort=subject_key", 400),
        ("sort=key;DROP TABLE subjects", 400),
        ("site=LOC.NOPE", 400),
        ("page=abc", 200),
        ("page=-3", 200),
        ("page=0", 200),
        ("page=99999999999999", 200),
        ("page=999", 200),
        ("q=" + "x" * 5000, 200),
        ("q=%27%20OR%201%3D1--", 200),
        ("q=_", 200),
    ],
)
def test_bad_parameters_are_refused_or_ignored(web: Web, args: str, status: int) -> None:
    r = web.client("dm").get("/matrix?" + args)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if status == 200 and "q=" in args:
        assert keys(r.get_data(as_text=True)) == []


def test_under_the_study_prefix_links_stay_in_the_study(web: Web) -> None:
    html = web.client("inv_a").get(f"/studies/{STUDY}/matrix").get_data(as_text=True)
    assert keys(html) == [SUBJECT_A]
    hrefs = [h for _, h, _ in marks(rows(html)[SUBJECT_A])]
    assert hrefs and all(h.startswith(f"/studies/{STUDY}/subjects/{SUBJECT_A}/") for h in hrefs)


def test_linked_from_the_sites_page_and_the_nav(web: Web) -> None:
    html = web.client("inv_a").get("/sites").get_data(as_text=True)
    assert f'href="/sites/{SITE_A}/matrix"' in html
    assert 'href="/matrix"' in html
    assert f"/sites/{SITE_B}/matrix" not in html


def test_german(web: Web) -> None:
    inv = web.client("inv_a")
    inv.post("/language", {"lang": "de", "next": "/matrix"})
    html = inv.get("/matrix").get_data(as_text=True)
    assert "Patientenübersicht" in html and "Nicht begonnen" in html


def test_a_status_filter_counts_up_to_a_cap(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.readers import matrix as reader

    monkeypatch.setattr(reader, "COUNT_CAP", 2)
    add_subjects(web, SITE_A, "DE01", range(2, 5))
    for key in ("DE01-002", "DE01-003", "DE01-004"):
        set_form(web, key, "SE.ELIG", "F.IE", FormStatus.COMPLETE)
    html = web.client("dm").get("/matrix?status=complete").get_data(as_text=True)
    assert "More than 2 subjects, page 1." in html
    assert keys(html) == ["DE01-002", "DE01-003", "DE01-004"]
    plain = web.client("dm").get("/matrix").get_data(as_text=True)
    assert "5 subject(s), page 1 of 1." in plain  # no status filter: counted exactly


def test_numbered_instances_each_get_a_mark_in_order(web: Web) -> None:
    """Event instances numbered by another EDC (2 and 10): one mark each, numeric order."""
    set_form(web, SUBJECT_A, "SE.DCV", "F.DM", FormStatus.LOCKED, repeat="10")
    set_form(web, SUBJECT_A, "SE.DCV", "F.DM", FormStatus.COMPLETE, repeat="2")
    html = web.client("inv_a").get("/matrix").get_data(as_text=True)
    dm = [m for m in marks(rows(html)[SUBJECT_A]) if "/SE.DCV/" in m[1] and "/F.DM" in m[1]]
    assert [(s, h) for s, h, _ in dm] == [
        ("complete", f"/subjects/{SUBJECT_A}/SE.DCV/2/F.DM/~"),
        ("locked", f"/subjects/{SUBJECT_A}/SE.DCV/10/F.DM/~"),
    ]
    assert dm[0][2].endswith("#2: Complete") and dm[1][2].endswith("#10: Locked")
    assert web.client("inv_a").get(dm[1][1]).status_code == 200


def test_the_same_page_on_postgresql() -> None:
    """Search, status filter, sorts, pages and query counts on PostgreSQL (the SQL differs:
    ``lower() LIKE``, the correlated EXISTS, the grouped counts)."""
    with seeded_schema(to_run="the subject matrix on PostgreSQL") as url, web_at(url) as web:
        add_subjects(web, SITE_A, "DE01", range(2, 56))
        set_form(web, "DE01-003", "SE.ELIG", "F.IE", FormStatus.COMPLETE)
        query(web, "DE01-007")
        inv = web.client("inv_a")
        first = inv.get("/matrix").get_data(as_text=True)
        assert keys(first) == [f"DE01-{n:03d}" for n in range(1, 51)]
        assert "55 subject(s), page 1 of 2." in first
        assert keys(inv.get("/matrix?page=2").get_data(as_text=True))[-1] == "DE01-055"
        assert keys(inv.get("/matrix?status=complete").get_data(as_text=True)) == ["DE01-003"]
        assert keys(inv.get("/matrix?q=de01-05").get_data(as_text=True))[0] == "DE01-050"
        by_queries = inv.get("/matrix?sort=-queries").get_data(as_text=True)
        assert keys(by_queries)[0] == "DE01-007"
        assert '<span class="badge">1</span>' in rows(by_queries)["DE01-007"]
        assert SUBJECT_B not in inv.get("/matrix?q=AT").get_data(as_text=True)

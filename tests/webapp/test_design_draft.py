"""The designer's review of a draft (issue 16, item 2): upload a changed file into a study with
demo data, then read its findings, its diff against the current version, its impact on the
stored data and its changed forms as sites will see them (English and German), then publish it
with a reason."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest

from services.drafts import review_draft
from storage.engine import write_transaction
from storage.impact import impact
from storage.readers.listings import metadata_versions
from storage.studies import current_metadata, metadata_of
from tests.conftest import REPO
from tests.webapp.conftest import STUDY, Web, seeded_schema, web_at
from tests.webapp.test_studies import prefixed
from webapp.demo import seed_demo

OLD_Q_EN = "Inclusion 1: The patient was at least 18 years old"
NEW_Q_EN = "Inclusion 1 (amended): The patient was at least 21 years old"
OLD_Q_DE = "Einschluss 1: Der Patient war zu Beginn"
NEW_Q_DE = "Einschluss 1 (geändert): Der Patient war zu Beginn"
FEMALE = """<CodeListItem CodedValue="F" OrderNumber="2">
          <Decode>
            <TranslatedText xml:lang="en">Female</TranslatedText>
          </Decode>
        </CodeListItem>
"""
KG = '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>\n'
HARD_WEIGHT = (
    '        <RangeCheck Comparator="LT" SoftHard="Hard"><CheckValue>200</CheckValue>'
    '<ErrorMessage><TranslatedText xml:lang="en">Under 200 kg.</TranslatedText></ErrorMessage>'
    "</RangeCheck>\n"
)
BIRTH = '<ItemDef OID="IT.DM_BRTHDAT" Name="Date of birth" DataType="partialDate"'
HEIGHT_REF = '<ItemRef ItemOID="IT.VS_HEIGHT" OrderNumber="1" Mandatory="Yes"/>\n'


def changed_bortezomib() -> bytes:
    """Version 2 of the shipped study: IT.DM_BRTHDAT retyped partialDate -> date, code F
    dropped from CL.SEX, a hard RangeCheck (< 200) on IT.VS_WEIGHT, the question of IT.IE_IN01
    reworded in English and German, IT.VS_HEIGHT removed from IG.VS (its ItemDef kept: a
    warning finding)."""
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_text(encoding="utf-8")
    for old, new in (
        (BIRTH, BIRTH.replace("partialDate", "date")),
        (FEMALE, ""),
        (KG, KG + HARD_WEIGHT),
        (OLD_Q_EN, NEW_Q_EN),
        (OLD_Q_DE, NEW_Q_DE),
        (HEIGHT_REF, ""),
    ):
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml.replace("MDV.BTZ_RETREAT.1", "MDV.BTZ_RETREAT.2").encode()


DIFF_LINES = (
    "ItemDef IT.DM_BRTHDAT: DataType &#39;partialDate&#39; -&gt; &#39;date&#39;",
    "CodeListItem &#39;F&#39; (Female) (was in CL.SEX) removed",
    "ItemDef IT.VS_WEIGHT: RangeCheck Hard LT 200 added",
    "ItemDef IT.IE_IN01: Question [en]",
    "ItemDef IT.IE_IN01: Question [de]",
    "ItemRef IT.VS_HEIGHT (was in IG.VS) removed",
)


def _with_demo_data(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        assert seed_demo(conn, STUDY).subjects  # subjects with demographics (F, 250 kg...)


def _upload(client, url: str = "/design"):  # type: ignore[no-untyped-def]
    client.get(url)
    return client.post(
        url,
        {"metadata": (io.BytesIO(changed_bortezomib()), "v2.xml")},
        content_type="multipart/form-data",
    )


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, name
    return found.group(0)


def _cells(table: str) -> dict[str, int]:
    """The (data-*, count) rows of a count table."""
    rows = re.findall(r'<tr data-\w+="([^"]*)"><td>[^<]*</td><td>(\d+)</td></tr>', table)
    return {key: int(n) for key, n in rows}


def test_the_review_shows_findings_diff_impact_and_changed_forms_then_publish(web: Web) -> None:
    _review_then_publish(web)


def test_the_review_and_publication_on_postgresql() -> None:
    with seeded_schema(to_run="this test") as url, web_at(url) as web:
        _review_then_publish(web)


def _review_then_publish(web: Web) -> None:
    _with_demo_data(web)
    designer = web.client("designer")
    r = _upload(designer)
    assert r.status_code == 200 and "as a draft; version 1 stays current" in r.text
    assert 'href="/design/versions/2"' in r.text  # the link to the review, and per draft
    again = _upload(designer)  # the same file: unchanged, still the draft to review
    assert "metadata unchanged (version 2" in again.text
    assert 'class="review-draft" href="/design/versions/2"' in again.text
    page = designer.get("/design/versions/2").text
    order = [page.index(f'<section id="{s}"') for s in ("findings", "diff", "impact", "preview")]
    assert order == sorted(order) and page.index('<section id="publish"') > order[-1]
    findings = _section(page, "findings")
    assert "ODM-UNUSED-001" in findings and "IT.VS_HEIGHT is never referenced" in findings
    assert re.search(r"<td>\d+</td><td>IT.VS_HEIGHT</td>", findings)  # located: line, OID
    diff = _section(page, "diff")
    for line in DIFF_LINES:
        assert line in diff, line
    assert "7 change(s)" in diff and "ItemDef (3)" in diff

    with web.engine.connect() as conn:
        draft = metadata_of(conn, STUDY, 2)
        expected = impact(conn, STUDY, draft.mdv, study=draft.odm.study)
    assert expected.total == 4 and set(expected.by_kind) == {
        "unreachable", "type", "code", "hard_check"
    }  # fmt: skip
    shown = _section(page, "impact")
    assert f"{expected.total} stored value(s) of {len(expected.by_subject)} subject(s)" in shown
    kinds = re.search(r'<table class="list impact-kinds">.*?</table>', shown, re.S)
    sites = re.search(r'<table class="list impact-sites">.*?</table>', shown, re.S)
    assert kinds and _cells(kinds.group(0)) == dict(expected.by_kind)
    assert sites and _cells(sites.group(0)) == dict(expected.by_site)
    for problem in expected.problems:
        assert f"<code>{problem.value}</code>" in shown and problem.item_oid in shown
    assert '<tr data-form="F.DM">' in shown  # a form holding data whose structure changes

    preview = _section(page, "preview")
    assert re.findall(r'<article class="draft-form" data-form="([^"]+)"', preview) == [
        "F.IE",
        "F.DM",
    ]  # the changed forms only, in the order sites meet them
    assert NEW_Q_EN in preview and OLD_Q_EN not in preview
    assert 'name="IG.VS[].IT.VS_HEIGHT"' not in preview  # removed from the form
    assert 'name="IG.VS[].IT.VS_WEIGHT"' in preview
    german = _section(designer.get("/design/versions/2?lang=de").text, "preview")
    assert NEW_Q_DE in unescape(german) and OLD_Q_DE not in unescape(german)

    r = designer.post("/design/publish", {"number": "2", "reason": "Amendment 1"})
    assert r.status_code == 200 and "Version 2 published" in r.text
    with web.engine.connect() as conn:
        assert current_metadata(conn, STUDY).number == 2
        (newest, *_older) = metadata_versions(conn, STUDY)
    assert (newest.number, newest.published_by, newest.publication_reason) == (
        2,
        "designer",
        "Amendment 1",
    )
    assert designer.get("/design/versions/2").status_code == 404  # published: no draft now


def test_the_review_is_under_the_study_prefix_and_for_its_designers_only(web: Web) -> None:
    _with_demo_data(web)
    designer = web.client("designer")
    assert _upload(designer, prefixed(STUDY, "/design")).status_code == 200
    page = designer.get(prefixed(STUDY, "/design/versions/2")).text
    assert f'action="/studies/{STUDY}/design/publish"' in page
    for user in ("dm", "inv_a", "admin", "mon_a"):
        assert web.client(user).get("/design/versions/2").status_code == 403, user
    assert designer.get("/studies/ST.NOPE/design/versions/2").status_code == 404


@pytest.mark.parametrize("number", ["1", "3", "0", "x", "9999999999", "²", "-1"])
def test_a_bad_draft_number_is_a_404(web: Web, number: str) -> None:
    """Version 1 is published (no draft), 3 is not stored, the rest are no numbers."""
    _upload(web.client("designer"))
    assert web.client("designer").get(f"/design/versions/{number}").status_code == 404


def test_a_large_impact_is_listed_in_part_and_counted_whole(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first LISTED problem values are listed; the page says how many more, and the
    counts cover all of them (here LISTED is 2 of the 4 problems)."""
    monkeypatch.setattr("webapp.views.design.LISTED", 2)
    _with_demo_data(web)
    _upload(web.client("designer"))
    shown = _section(web.client("designer").get("/design/versions/2").text, "impact")
    values = re.search(r'<table class="list impact-values">.*?</table>', shown, re.S)
    assert values and values.group(0).count("<code>") == 2
    assert "… and 2 more" in values.group(0)
    assert "4 stored value(s)" in shown
    with web.engine.connect() as conn:
        review = review_draft(conn, STUDY, 2, keep=1)
    assert len(review.impact.problems) == 1 and review.impact.total == 4


def test_a_draft_with_no_change_that_sites_see_renders_no_form(web: Web) -> None:
    """A renamed MetaDataVersion and a changed Alias: a diff, no changed form, no impact."""
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_text(encoding="utf-8")
    xml = xml.replace("MDV.BTZ_RETREAT.1", "MDV.BTZ_RETREAT.2")
    with write_transaction(web.engine) as conn:
        from services.metadata import load_metadata

        assert load_metadata(conn, xml.encode(), loaded_by="designer").status == "stored"
    page = web.client("designer").get("/design/versions/2").text
    assert "No form changes." in _section(page, "preview")
    assert "No stored value becomes invalid." in _section(page, "impact")
    assert "MetaDataVersion OID" in _section(page, "diff")


def _upload_v2(web: Web) -> None:
    """The study's real amendment (metadata/bortezomib-retreatment-v2.xml) as draft 2: over
    2,300 changes, 1,802 of them added translations (de, es, fr, it, pl)."""
    from services.metadata import load_metadata

    xml = (REPO / "metadata" / "bortezomib-retreatment-v2.xml").read_bytes()
    with write_transaction(web.engine) as conn:
        assert load_metadata(conn, xml, loaded_by="designer").status == "stored"


def test_added_translations_are_counted_per_language_and_listed_on_request(web: Web) -> None:
    """The review reports the diff as ``edc study diff`` does: per-element counts, one line
    per language for the added translations (not one per text); ?all=1 lists every change."""
    _upload_v2(web)
    designer = web.client("designer")
    diff = _section(designer.get("/design/versions/2").text, "diff")
    total = int(re.search(r"(\d+) change\(s\)", diff).group(1))  # type: ignore[union-attr]
    assert total > 2000
    summary = re.search(
        r'<tr data-element="Translation"><td>Translation</td><td>([^<]*)</td>', diff
    )
    assert summary and summary.group(1) == "1802 added (de 290, es 378, fr 378, it 378, pl 378)"
    folds = re.findall(r'<li class="change-added folded" data-key="(\w+)">(.*?)</li>', diff)
    languages = {key: unescape(re.sub(r"<[^>]+>", "", text)) for key, text in folds}
    assert set(languages) >= {"de", "es", "fr", "it", "pl"}
    assert re.fullmatch(r"added es: 378 text\(s\) added \(Question \d+, .*\)", languages["es"])
    assert "translation added" not in diff  # no added translation listed one by one
    counted = re.search(r"(\d+) added translation\(s\) and Alias\(es\) counted", diff)
    assert counted and int(counted.group(1)) > 1802  # the 1,802 translations and the Aliases
    assert 'href="/design/versions/2?all=1#diff"' in diff
    listed = re.findall(r'<li class="change-(\w+)">', diff)  # every other change, as the CLI
    assert len(listed) == total - int(counted.group(1))
    assert diff.count('class="change-added folded"') == 5 + 6

    every = _section(designer.get("/design/versions/2?all=1").text, "diff")
    assert every.count("translation added") == 1802 and 'class="change-added folded"' not in every
    assert 'href="/design/versions/2#diff"' in every  # back to the summary
    assert designer.post("/language", {"lang": "de", "next": "/design"}).status_code == 303
    german = unescape(_section(designer.get("/design/versions/2").text, "diff"))
    assert "</span> es: 378 Text(e) hinzugefügt (Question " in german
    assert "Alle Änderungen auflisten" in german and "text(s) added" not in german


@pytest.mark.parametrize("query", ["all=0", "all=yes", "all=", "all=%00", "all=1%ff", "x=1"])
def test_junk_in_the_query_shows_the_summary(web: Web, query: str) -> None:
    _upload_v2(web)
    r = web.client("designer").get(f"/design/versions/2?{query}")
    assert r.status_code == 200 and "translation added" not in _section(r.text, "diff")

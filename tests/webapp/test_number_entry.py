"""Number entry through the Flask test client (issue 18, "Entry that cannot mislead"): a
decimal comma or point is stored as the canonical ODM number, never ten times larger; what
cannot be read without guessing is refused next to its field, in the user's language, and
nothing is written. Dates refused for their slashes say why."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select

from storage.models import ItemData
from tests.webapp.conftest import SUBJECT_A, Web
from tests.webapp.helpers import DEMOGRAPHICS, ELIG, ELIGIBLE, rows

A_DM = DEMOGRAPHICS.format(key=SUBJECT_A)
HEIGHT, WEIGHT = "IG.VS[].IT.VS_HEIGHT", "IG.VS[].IT.VS_WEIGHT"
A_L1 = f"/subjects/{SUBJECT_A}/SE.DCV/F.L1"
CYCLES = "IG.L1_TRT[].IT.L1_CYC"


def stored(engine: Engine, item_oid: str) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.scalars(select(ItemData.value).where(ItemData.item_oid == item_oid)))


def eligible(web: Web, lang: str = "en") -> None:
    inv = web.client("inv_a", Accept_Language=lang)
    url = ELIG.format(key=SUBJECT_A)
    assert inv.post(url, {**ELIGIBLE, "expected_version": "0"}).status_code == 303


def field_messages(html: str, name: str) -> str:
    field = html[html.index(f'data-field="{name}"') :]
    return field[: field.index("</ul>")]


def test_decimal_comma_and_point_are_stored_as_the_same_number(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    r = inv.post(A_DM, {HEIGHT: "172,5", WEIGHT: "72.5", "expected_version": "0"})
    assert r.status_code == 303
    assert stored(web.engine, "IT.VS_HEIGHT") == ["172.5"]  # not 1725
    assert stored(web.engine, "IT.VS_WEIGHT") == ["72.5"]
    page = inv.get(A_DM).text
    height = re.search(r'<input [^>]*name="IG\.VS\[\]\.IT\.VS_HEIGHT"[^>]*>', page)
    assert height is not None
    assert 'value="172.5"' in height[0] and 'type="text"' in height[0]
    assert 'inputmode="decimal" data-number-kind="number"' in height[0]
    assert 'type="number"' not in page


def test_3_comma_4_and_3_point_4_are_both_stored_as_3_point_4(web: Web) -> None:
    """The issue's own case: 3,4 typed in a float field is 3.4 (it was 34), as is 3.4."""
    eligible(web)
    inv = web.client("inv_a")
    risk = f"/subjects/{SUBJECT_A}/SE.DCV/F.RF"
    lab = {"IG.RF_LAB[].IT.RF_B2MST": "Y", "IG.RF_LAB[].IT.RF_B2M": "3,4"}
    assert inv.post(risk, {**lab, "expected_version": "0"}).status_code == 303
    assert stored(web.engine, "IT.RF_B2M") == ["3.4"]
    lab["IG.RF_LAB[].IT.RF_B2M"] = "3.5"
    r = inv.post(risk, {**lab, "expected_version": "1", "reason": "transcription error"})
    assert r.status_code == 303
    assert stored(web.engine, "IT.RF_B2M") == ["3.5"]
    lab["IG.RF_LAB[].IT.RF_B2M"] = "3.4"
    r = inv.post(risk, {**lab, "expected_version": "2", "reason": "transcription error"})
    assert r.status_code == 303
    assert stored(web.engine, "IT.RF_B2M") == ["3.4"]


def test_a_comma_in_the_same_value_as_a_point_gives_no_change(web: Web) -> None:
    """Saving 72,5 over a stored 72.5 is no change: no audit row, no reason asked."""
    eligible(web)
    inv = web.client("inv_a")
    assert inv.post(A_DM, {WEIGHT: "72.5", "expected_version": "0"}).status_code == 303
    before = rows(web.engine)
    r = inv.post(A_DM, {WEIGHT: "72,5", "expected_version": "1"})
    assert r.status_code == 303
    assert rows(web.engine) == before
    assert stored(web.engine, "IT.VS_WEIGHT") == ["72.5"]


def test_thousands_and_decimal_separators_together_are_refused(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    before = rows(web.engine)
    r = inv.post(A_DM, {WEIGHT: "1.234,5", HEIGHT: "172", "expected_version": "0"})
    assert r.status_code == 422 and rows(web.engine) == before
    assert "Nothing was saved" in r.text
    assert (
        "&#39;1.234,5&#39; has more than one separator. Write the number without thousands "
        "separators, with one decimal comma or point: 1234,5 or 1234.5."
    ) in field_messages(r.text, WEIGHT)
    assert 'value="1.234,5"' in r.text  # the entry is shown again


def test_a_comma_that_may_group_thousands_is_refused_in_german(web: Web) -> None:
    eligible(web, "de")
    inv = web.client("inv_a", Accept_Language="de")
    before = rows(web.engine)
    r = inv.post(A_DM, {WEIGHT: "1,234", "expected_version": "0"})
    assert r.status_code == 422 and rows(web.engine) == before
    assert (
        "&#39;1,234&#39; ist mehrdeutig: Tausendertrennzeichen (1234) oder Dezimalkomma? "
        "Schreiben Sie 1234 für die ganze Zahl oder 1.234 mit Dezimalpunkt."
    ) in field_messages(r.text, WEIGHT)


def test_an_integer_with_a_comma_is_refused(web: Web) -> None:
    """12,0 in an integer field: refused (a whole number is digits only), not stored as 12
    nor as 120."""
    eligible(web)
    inv = web.client("inv_a")
    before = rows(web.engine)
    r = inv.post(A_L1, {CYCLES: "12,0", "expected_version": "0"})
    assert r.status_code == 422 and rows(web.engine) == before
    assert (
        "&#39;12,0&#39; is not a whole number as written. Write digits only, without a comma, "
        "point or thousands separator, e.g. 12."
    ) in field_messages(r.text, CYCLES)
    assert 'inputmode="numeric" data-number-kind="integer"' in r.text


def test_a_date_with_slashes_says_why_it_is_refused(web: Web) -> None:
    inv = web.client("inv_a", Accept_Language="de")
    consent = f"/subjects/{SUBJECT_A}/SE.ELIG/F.IC"
    r = inv.post(
        consent,
        {"IG.IC[].IT.IC_REQ": "Y", "IG.IC[].IT.IC_DAT": "03/04/2024", "expected_version": "0"},
    )
    assert r.status_code == 422
    text = re.sub(r"\s+", " ", field_messages(r.text, "IG.IC[].IT.IC_DAT"))
    assert (
        "&#39;03/04/2024&#39; enthält Schrägstriche, die absichtlich abgelehnt werden: "
        "03/04/2019 ist in Deutschland der 3. April, in den USA der 4. März, und die Zentren "
        "dieser Studie schreiben beides."
    ) in text

"""The sites page tells a user without a clinical role what their role is for, instead of
claiming they hold no role at any site (a study-wide designer holds one at every site)."""

from __future__ import annotations

import html

import pytest

from tests.webapp.conftest import Web

NOT_CLINICAL = {
    "en": "Your role in this study ({role}) does not work with subjects: the sites and their "
    "subjects are for investigators, monitors and data managers.",
    "de": "Ihre Rolle in dieser Studie ({role}) arbeitet nicht mit Patienten: die Zentren und "
    "ihre Patienten sind für Prüfärzte, Monitore und Datenmanager da.",
}
ROLE = {
    ("designer", "en"): "Study designer",
    ("designer", "de"): "Studiendesigner",
    ("admin", "en"): "Administrator",
    ("admin", "de"): "Administrator",
}


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("user", ["designer", "admin"])
def test_a_study_wide_non_clinical_role_is_named_on_the_sites_page(
    web: Web, user: str, lang: str
) -> None:
    client = web.client(user, Accept_Language=lang)
    response = client.get("/sites")
    assert response.status_code == 403
    page = html.unescape(response.get_data(as_text=True))
    assert NOT_CLINICAL[lang].format(role=ROLE[user, lang]) in page
    assert "no role at any site" not in page
    assert "an keinem Zentrum dieser Studie eine Rolle" not in page


def test_a_clinical_user_still_sees_their_sites(web: Web) -> None:
    response = web.client("inv_a").get("/sites")
    assert response.status_code == 200
    assert "Site DE01" in response.get_data(as_text=True)

"""The Exports page: data managers download ODM, Define-XML, CSV and Dataset-JSON, made by the
renderers ``edc export`` uses; every other role gets 403; bad parameters get the page with 400.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from lxml import etree

from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from storage.engine import write_transaction
from storage.users import add_user, set_role
from tests.webapp.conftest import PASSWORD, SITE_A, SITE_B, STUDY, SUBJECT_A, SUBJECT_B, Web
from tests.webapp.helpers import ELIGIBLE, rows

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
POSTS = ("/exports/odm", "/exports/define", "/exports/csv", "/exports/dataset-json")
IN01 = (
    "odm:StudyEventData[@StudyEventOID='SE.ELIG']/odm:FormData[@FormOID='F.IE']"
    "/odm:ItemGroupData[@ItemGroupOID='IG.IE_IN']/odm:ItemData[@ItemOID='IT.IE_IN01']"
)


@pytest.fixture
def entered(web: Web) -> Web:
    """Both subjects' eligibility form saved by the data manager (all criteria met)."""
    dm = web.client("dm")
    for key in (SUBJECT_A, SUBJECT_B):
        r = dm.post(f"/subjects/{key}/SE.ELIG/F.IE", {**ELIGIBLE, "expected_version": "0"})
        assert r.status_code == 303
    return web


def download(client, url: str, data: dict[str, str] | None = None, *, kind: str):  # type: ignore[no-untyped-def]
    client.get("/exports")
    r = client.post(url, data or {})
    assert r.status_code == 200, r.get_data(as_text=True)
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename="), disposition
    assert disposition.endswith(".xml" if kind == "xml" else ".zip")
    mimetype = "application/xml" if kind == "xml" else "application/zip"
    assert r.mimetype == mimetype
    assert r.headers["Cache-Control"] == "no-store"
    assert int(r.headers["Content-Length"]) == len(r.data)
    return r.data


def odm_root(data: bytes) -> etree._Element:
    root = etree.fromstring(data, make_parser())
    xsd = schema("odm-1.3.2")
    assert xsd.validate(root), xsd.error_log
    return root


def subject_keys(root: etree._Element) -> list[str]:
    return root.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)


def test_the_page_offers_each_export_to_data_managers(entered: Web) -> None:
    dm = entered.client("dm")
    assert '<a href="/exports">Exports</a>' in dm.get("/sites").get_data(as_text=True)
    page = dm.get("/exports").get_data(as_text=True)
    for url in POSTS:
        assert f'<form method="post" action="{url}">' in page
    assert page.count('name="csrf_token"') >= 5  # four exports and sign-out
    assert '<option value="">All sites</option>' in page
    assert f'<option value="{SITE_A}">' in page and 'name="admin"' in page
    for mode in ("snapshot", "transactional", "audit"):
        assert f'name="mode" value="{mode}"' in page
    inv = entered.client("inv_a")
    assert "/exports" not in inv.get("/sites").get_data(as_text=True)


def test_the_page_is_in_german(entered: Web) -> None:
    dm = entered.client("dm", Accept_Language="de")
    page = dm.get("/exports").get_data(as_text=True)
    assert "<h1>Exporte</h1>" in page and "Herunterladen" in page


def test_odm_snapshot_passes_the_schema_and_holds_the_values_with_their_keys(
    entered: Web,
) -> None:
    """ODM 1.3.2 §3.1.4 ClinicalData: each value under its SubjectData / StudyEventData /
    FormData / ItemGroupData keys; the file passes the ODM 1.3.2 schema."""
    dm = entered.client("dm")
    before = rows(entered.engine)
    data = download(dm, "/exports/odm", {"mode": "snapshot"}, kind="xml")
    root = odm_root(data)
    assert root.get("FileType") == "Snapshot"
    assert root.get("FileOID").startswith(f"{STUDY}.export.")
    assert root.xpath("odm:Study|odm:AdminData", namespaces=NS) == []
    assert sorted(subject_keys(root)) == [SUBJECT_B, SUBJECT_A]
    for key, site in ((SUBJECT_A, SITE_A), (SUBJECT_B, SITE_B)):
        (subject,) = root.xpath(f"//odm:SubjectData[@SubjectKey='{key}']", namespaces=NS)
        assert subject.xpath("odm:SiteRef/@LocationOID", namespaces=NS) == [site]
        assert subject.xpath(f"{IN01}/@Value", namespaces=NS) == ["Y"]
        ex01 = IN01.replace("IG.IE_IN", "IG.IE_EX").replace("IT.IE_IN01", "IT.IE_EX01")
        assert subject.xpath(f"{ex01}/@Value", namespaces=NS) == ["N"]
    assert rows(entered.engine) == before, "an export writes nothing"


def test_odm_with_metadata_and_admin_data(entered: Web) -> None:
    dm = entered.client("dm")
    data = download(dm, "/exports/odm", {"metadata": "1", "admin": "1"}, kind="xml")
    root = odm_root(data)
    assert root.xpath("odm:Study/@OID", namespaces=NS) == [STUDY]
    assert root.xpath("count(//odm:ItemGroupDef)", namespaces=NS) > 10
    locations = root.xpath("odm:AdminData/odm:Location/@OID", namespaces=NS)
    assert SITE_A in locations and SITE_B in locations
    assert "dm" in root.xpath("odm:AdminData/odm:User/@OID", namespaces=NS)
    text = data.decode()
    assert "pbkdf2:" not in text and "scrypt:" not in text and PASSWORD not in text


def test_odm_transactional_with_audit_and_since(entered: Web) -> None:
    """ODM 1.3.2 §3.1.4.10 AuditRecord: every change with TransactionType and its record."""
    dm = entered.client("dm")
    before = rows(entered.engine)
    root = odm_root(download(dm, "/exports/odm", {"mode": "audit"}, kind="xml"))
    assert root.get("FileType") == "Transactional"
    (item,) = root.xpath(f"//odm:SubjectData[@SubjectKey='{SUBJECT_A}']/{IN01}", namespaces=NS)
    assert item.get("TransactionType") == "Insert" and item.get("Value") == "Y"
    assert item.xpath("odm:AuditRecord/odm:UserRef/@UserOID", namespaces=NS) == ["dm"]
    # Each subject's creation comes first: SubjectData TransactionType Insert, no data.
    (created,) = root.xpath(f"//odm:SubjectData[@SubjectKey='{SUBJECT_A}'][1]", namespaces=NS)
    assert created.get("TransactionType") == "Insert" and not len(
        created.xpath("odm:StudyEventData", namespaces=NS)
    )
    assert created.xpath("odm:AuditRecord/odm:UserRef/@UserOID", namespaces=NS) == ["dm"]
    data = {"mode": "audit", "since": "2000-01-01"}
    old = odm_root(download(dm, "/exports/odm", data, kind="xml"))
    assert sorted(set(subject_keys(old))) == [SUBJECT_B, SUBJECT_A]
    assert old.get("Description") == "Changes after 2000-01-01"
    data = {"mode": "audit", "since": "2999-01-01T00:00:00Z"}
    assert subject_keys(odm_root(download(dm, "/exports/odm", data, kind="xml"))) == []
    upsert = odm_root(download(dm, "/exports/odm", {"mode": "transactional"}, kind="xml"))
    assert set(upsert.xpath("//odm:ItemData/@TransactionType", namespaces=NS)) == {"Upsert"}
    assert rows(entered.engine) == before, "an export changes no audit row and adds none"


def test_the_site_filter_limits_the_subjects(entered: Web) -> None:
    dm = entered.client("dm")
    for mode in ("snapshot", "audit"):
        data = {"mode": mode, "site": SITE_A}
        keys = subject_keys(odm_root(download(dm, "/exports/odm", data, kind="xml")))
        assert set(keys) == {SUBJECT_A}
    archive = zipfile.ZipFile(
        io.BytesIO(download(dm, "/exports/csv", {"site": SITE_B}, kind="zip"))
    )
    with archive.open("ieex.csv") as fh:
        assert [r["SUBJID"] for r in csv.DictReader(io.TextIOWrapper(fh, "utf-8"))] == [SUBJECT_B]


def test_define_xml_passes_the_define_21_schema(entered: Web) -> None:
    dm = entered.client("dm")
    data = download(dm, "/exports/define", kind="xml")
    root = etree.fromstring(data, make_parser())
    xsd = schema("define-2.1")
    assert xsd.validate(root), xsd.error_log
    groups = root.xpath("//odm:ItemGroupDef/@OID", namespaces=NS)
    assert "IG.IE_IN" in groups and "IG.ADR" in groups


def _leaves(entered: Web) -> dict[str, str]:
    """ItemGroupOID -> dataset file name, as define.xml names them (def:leaf)."""
    root = etree.fromstring(
        download(entered.client("dm"), "/exports/define", kind="xml"), make_parser()
    )
    out = {}
    for group in root.xpath("//odm:ItemGroupDef", namespaces=NS):
        (href,) = group.xpath("def:leaf/@xlink:href", namespaces={**NS, "xlink": XLINK})
        out[group.get("OID")] = href
    return out


XLINK = "http://www.w3.org/1999/xlink"


def test_csv_zip_holds_one_file_per_item_group_with_the_rows(entered: Web) -> None:
    dm = entered.client("dm")
    archive = zipfile.ZipFile(io.BytesIO(download(dm, "/exports/csv", kind="zip")))
    leaves = _leaves(entered)
    expected = {href.removesuffix(".json") + ".csv" for href in leaves.values()}
    assert set(archive.namelist()) == {"header.csv", *expected}
    with archive.open("header.csv") as fh:
        header = list(csv.DictReader(io.TextIOWrapper(fh, "utf-8")))
    (variable,) = [h for h in header if h["item_oid"] == "IT.IE_IN01"]
    with archive.open(variable["file"]) as fh:
        table = list(csv.DictReader(io.TextIOWrapper(fh, "utf-8")))
    assert sorted((r["SUBJID"], r["SITEID"], r[variable["variable"]]) for r in table) == [
        (SUBJECT_B, SITE_B.removeprefix("LOC."), "Y"),  # the site number, not the OID
        (SUBJECT_A, SITE_A.removeprefix("LOC."), "Y"),
    ]
    # SubjectKeys that start with the site number are not prefixed with it twice
    assert {r["USUBJID"] for r in table} == {
        f"BTZ-RETREAT-NIS-001-{SUBJECT_A}",
        f"BTZ-RETREAT-NIS-001-{SUBJECT_B}",
    }


def test_dataset_json_zip_parses_and_holds_the_rows(entered: Web) -> None:
    dm = entered.client("dm")
    archive = zipfile.ZipFile(io.BytesIO(download(dm, "/exports/dataset-json", kind="zip")))
    leaves = _leaves(entered)
    assert set(archive.namelist()) == set(leaves.values())
    datasets = {}
    for name in archive.namelist():
        doc = json.loads(archive.read(name))
        assert doc["datasetJSONVersion"] == "1.1.0" and doc["studyOID"] == STUDY
        assert doc["records"] == len(doc["rows"])
        datasets[doc["itemGroupOID"]] = doc
    ie = datasets["IG.IE_IN"]
    names = [c["itemOID"] for c in ie["columns"]]
    subjid, value = names.index("IT.EDC.SUBJID"), names.index("IT.IE_IN01")
    assert sorted((r[subjid], r[value]) for r in ie["rows"]) == [(SUBJECT_B, "Y"), (SUBJECT_A, "Y")]
    assert datasets["IG.ADR"]["rows"] == []


@pytest.fixture
def dm_of_site_a(entered: Web) -> Web:
    with write_transaction(entered.engine) as conn:
        add_user(conn, "dm_a", PASSWORD, full_name="Dm A")
        set_role(conn, "dm_a", STUDY, "data_manager", site_oid=SITE_A)
    return entered


def test_a_data_manager_of_one_site_exports_that_site_only(dm_of_site_a: Web) -> None:
    client = dm_of_site_a.client()
    client.get("/login")
    assert client.post("/login", {"username": "dm_a", "password": PASSWORD}).status_code == 303
    page = client.get("/exports").get_data(as_text=True)
    assert "All sites" not in page and f'value="{SITE_B}"' not in page
    assert 'name="admin"' not in page
    data = {"mode": "snapshot", "site": SITE_A}
    assert subject_keys(odm_root(download(client, "/exports/odm", data, kind="xml"))) == [SUBJECT_A]
    refused = (
        ("/exports/odm", {"mode": "snapshot"}, "Choose a site"),
        ("/exports/odm", {"site": SITE_B}, f"Unknown site {SITE_B}"),
        ("/exports/odm", {"site": SITE_A, "admin": "1"}, "AdminData lists the users"),
        ("/exports/csv", {}, "Choose a site"),
        ("/exports/dataset-json", {"site": SITE_B}, f"Unknown site {SITE_B}"),
    )
    for url, form, message in refused:
        r = client.post(url, form)
        assert r.status_code == 400, (url, form)
        assert message in r.get_data(as_text=True), (url, form)


@pytest.mark.parametrize("username", ["inv_a", "inv_b", "mon_a", "designer", "admin"])
def test_every_other_role_gets_403(entered: Web, username: str) -> None:
    client = entered.client(username)
    assert client.get("/exports").status_code == 403
    for url in POSTS:
        r = client.post(url, {"mode": "snapshot", "site": SITE_A})
        assert r.status_code == 403, url
        assert r.mimetype == "text/html"


def test_a_post_without_the_csrf_token_is_refused(entered: Web) -> None:
    dm = entered.client("dm")
    dm.get("/exports")
    for url in POSTS:
        r = dm.post(url, {"mode": "snapshot"}, csrf=False)
        assert r.status_code == 400, url
        assert "security token" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"since": "yesterday"}, "Changed after: yesterday is not an ISO 8601 date"),
        ({"since": "2026-13-01"}, "Changed after: 2026-13-01 is not an ISO 8601 date"),
        ({"site": "LOC.NOWHERE"}, "Unknown site LOC.NOWHERE: choose one of your sites"),
        (
            {"mode": "everything"},
            "Unknown kind of ODM export: choose one of snapshot, transactional, audit.",
        ),
    ],
)
def test_bad_parameters_give_400_with_the_message_on_the_page(
    entered: Web, form: dict[str, str], message: str
) -> None:
    dm = entered.client("dm")
    dm.get("/exports")
    r = dm.post("/exports/odm", form)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert '<p class="alert error" role="alert">' + message in page
    assert '<form method="post" action="/exports/odm">' in page  # the page, to try again
    if "since" in form:
        assert f'value="{form["since"]}"' in page  # what was entered is kept


def test_bad_since_message_in_german(entered: Web) -> None:
    dm = entered.client("dm", Accept_Language="de")
    dm.get("/exports")
    r = dm.post("/exports/odm", {"since": "gestern"})
    assert r.status_code == 400
    assert "gestern ist kein Datum oder Zeitpunkt nach ISO 8601" in r.get_data(as_text=True)


def test_the_unit_chosen_with_a_value_is_exported_as_its_measurement_unit_ref(web: Web) -> None:
    """Albumin saved in g/dL: the ODM snapshot and the audit export carry MeasurementUnitRef
    (ODM 1.3.2 §3.1.4.8 ItemData), and both files pass the schema."""
    inv = web.client("inv_a")
    elig = f"/subjects/{SUBJECT_A}/SE.ELIG/F.IE"
    assert inv.post(elig, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    form = {
        "IG.RF_LAB[].IT.RF_ALBST": "Y",
        "IG.RF_LAB[].IT.RF_ALB": "3.5",
        "IG.RF_LAB[].IT.RF_ALB:unit": "MU.G_DL",
        "expected_version": "0",
    }
    assert inv.post(f"/subjects/{SUBJECT_A}/SE.DCV/F.RF", form).status_code == 303
    dm = web.client("dm")
    for mode in ("snapshot", "audit"):
        root = odm_root(download(dm, "/exports/odm", {"mode": mode}, kind="xml"))
        refs = root.xpath(
            "//odm:ItemData[@ItemOID='IT.RF_ALB']/odm:MeasurementUnitRef/@MeasurementUnitOID",
            namespaces=NS,
        )
        assert refs == ["MU.G_DL"], mode


def test_define_xml_with_the_acrf_page_map_names_the_pages(entered: Web) -> None:
    """Define-XML 2.1 §5.3.11 def:PDFPageRef: the web Define export, like `edc export define
    --acrf`, gives each item's aCRF pages (the page map of the printed aCRF)."""
    dm = entered.client("dm")
    plain = etree.fromstring(download(dm, "/exports/define", kind="xml"), make_parser())
    assert plain.xpath("//def:PDFPageRef", namespaces=NS) == []
    data = download(dm, "/exports/define", {"acrf": "1"}, kind="xml")
    root = etree.fromstring(data, make_parser())
    assert schema("define-2.1").validate(root)
    pages = root.xpath(
        "//odm:ItemDef[@OID='IT.IE_IN01']/def:Origin/def:DocumentRef/def:PDFPageRef/@PageRefs",
        namespaces=NS,
    )
    assert pages and all(p.split()[0].isdigit() for p in pages)


def test_every_registry_entry_is_a_form_and_an_endpoint(entered: Web) -> None:
    """One line in services.exports.FORMATS is enough: the page shows the format's form and
    posts it to its own endpoint, /exports/<name>."""
    from services.exports import FORMATS

    dm = entered.client("dm")
    page = dm.get("/exports").get_data(as_text=True)
    urls = entered.app.url_map.bind("localhost")
    for name in FORMATS:
        assert f'<section class="export" id="{name}">' in page
        assert f'action="/exports/{name}"' in page
        endpoint, _args = urls.match(f"/exports/{name}", method="POST")
        assert endpoint == f"exports.{name.replace('-', '_')}"


def _ct(root: etree._Element) -> tuple[str | None, str | None]:
    ct = root.xpath("//def:Standards/def:Standard[@Type='CT']", namespaces=NS)
    assert len(ct) == 1
    return ct[0].get("Version"), ct[0].get("Status")


def test_define_xml_names_the_terminology_version_given_on_the_page(entered: Web) -> None:
    """Issue 19: the web Define export takes the CDISC CT version, as `--ct-version` does;
    without one the Standard says it is unspecified (a draft)."""
    dm = entered.client("dm")
    page = dm.get("/exports").get_data(as_text=True)
    assert 'name="ct_version"' in page
    plain = etree.fromstring(download(dm, "/exports/define", kind="xml"), make_parser())
    assert _ct(plain) == ("unspecified", "Draft")
    data = download(dm, "/exports/define", {"ct_version": "2024-12-20"}, kind="xml")
    root = etree.fromstring(data, make_parser())
    assert schema("define-2.1").validate(root)
    assert _ct(root) == ("2024-12-20", "Final")


def test_a_bad_terminology_version_is_a_400_naming_the_format(entered: Web) -> None:
    dm = entered.client("dm")
    dm.get("/exports")
    r = dm.post("/exports/define", {"ct_version": "December 2024"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "December 2024 is not a CDISC controlled terminology release" in page
    assert 'value="December 2024"' in page

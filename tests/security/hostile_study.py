"""A small study whose every ODM text field carries script, an event handler, a javascript:
URL and template syntax, and a web app on it with one user per clinical role.

The payload is the class of REDCap CVE-2012-6565 / CVE-2021-42136 (stored XSS through field
labels) and of server-side template injection (``{{ 7*7 }}`` must stay that text, never 49).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Engine

from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import odm
from tests.webapp.conftest import PASSWORD, Web
from webapp import Settings, create_app

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)> javascript:alert(3) {{ 7*7 }}"
SQL = ("' OR 1=1 --", '"; DROP TABLE item_data; --')
STUDY, SITE = "S.1", "SITE.1"
SUBJECT = "SITE1-001"
HOSTILE_SUBJECT = "<img src=x onerror=alert(2)>{{ 7*7 }}" + SQL[0]
"""A SubjectKey as an import may bring it (the web form refuses it; the store does not).
No "/": a key with a slash cannot be routed (404), which is safe but not under test here."""
FORM_URL = f"/subjects/{SUBJECT}/SE.1/F.1"
FIELD = "IG.1[].IT.TEXT"
# the user names of tests/webapp, so its Client signs them in
USERS = {"inv_a": ("investigator", SITE), "mon_a": ("monitor", SITE), "dm": ("data_manager", None)}


def _text(where: str) -> str:
    return f'<TranslatedText xml:lang="en">{escape(f"{where} {PAYLOAD}")}</TranslatedText>'


def hostile_study_xml() -> bytes:
    """Question, Description, Decode, ErrorMessage, StudyName, Location Name, SignatureDef
    Meaning and Alias all hold the payload."""
    attr = quoteattr(f"Alias {PAYLOAD}")
    body = f"""
<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.1" Name="Form" Repeating="No">
  <Description>{_text("Form description")}</Description>
  <ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>
<ItemGroupDef OID="IG.1" Name="Group" Repeating="No">
  <Description>{_text("Group description")}</Description>
  <ItemRef ItemOID="IT.TEXT" Mandatory="No"/><ItemRef ItemOID="IT.CODED" Mandatory="No"/>
</ItemGroupDef>
<ItemDef OID="IT.TEXT" Name="TEXT" DataType="text" Length="200">
  <Description>{_text("Item description")}</Description>
  <Question>{_text("Question")}</Question>
  <RangeCheck Comparator="NE" SoftHard="Soft"><CheckValue>never</CheckValue>
    <ErrorMessage>{_text("Error message")}</ErrorMessage></RangeCheck>
  <Alias Context="SDTM" Name={attr}/>
</ItemDef>
<ItemDef OID="IT.CODED" Name="CODED" DataType="text" Length="1">
  <Question>{_text("Coded question")}</Question>
  <CodeListRef CodeListOID="CL.1"/>
</ItemDef>
<CodeList OID="CL.1" Name="Codes" DataType="text">
  <CodeListItem CodedValue="A"><Decode>{_text("Decode")}</Decode></CodeListItem>
</CodeList>
"""
    admin = f"""<AdminData StudyOID="{STUDY}">
<Location OID="{SITE}" Name={quoteattr(f"Site {PAYLOAD}")} LocationType="Site">
  <MetaDataVersionRef StudyOID="{STUDY}" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location>
<SignatureDef OID="SD.1" Methodology="Electronic">
  <Meaning>{escape(f"Meaning {PAYLOAD}")}</Meaning>
  <LegalReason>{escape(f"Legal reason {PAYLOAD}")}</LegalReason>
</SignatureDef>
</AdminData>
"""
    xml = odm(body, admin=admin).decode()
    return xml.replace(
        "<StudyName>Test</StudyName>", f"<StudyName>{escape(PAYLOAD)}</StudyName>"
    ).encode()


def seed_hostile(engine: Engine) -> None:
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, hostile_study_xml(), path="hostile.xml")
        assert result.status == "stored", [f.format() for f in result.findings]
        for name, (role, site) in USERS.items():
            add_user(conn, name, PASSWORD)
            set_role(conn, name, STUDY, role, site_oid=site)
        for key in (SUBJECT, HOSTILE_SUBJECT):
            create_subject(
                conn, study=STUDY, subject_key=key, site_oid=SITE, user="dm", role="data_manager"
            )


def hostile_web(path: Path) -> Web:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    seed_hostile(engine)
    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    return Web(app, engine, url)

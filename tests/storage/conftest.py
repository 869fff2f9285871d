"""Storage fixtures: every test runs on SQLite and on PostgreSQL, each with a clean schema."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.models import Role
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import odm
from tests.postgres import fresh_schema

STUDY_BODY = """
<Protocol>
  <StudyEventRef StudyEventOID="SE.SCREEN" Mandatory="Yes" OrderNumber="1"/>
  <StudyEventRef StudyEventOID="SE.FU" Mandatory="No" OrderNumber="2"/>
</Protocol>
<StudyEventDef OID="SE.SCREEN" Name="Screening" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.ELIG" Mandatory="Yes" OrderNumber="1"/>
  <FormRef FormOID="F.DM" Mandatory="Yes" OrderNumber="2"
           CollectionExceptionConditionOID="C.NOT_ELIGIBLE"/>
</StudyEventDef>
<StudyEventDef OID="SE.FU" Name="Follow-up" Repeating="Yes" Type="Scheduled">
  <FormRef FormOID="F.AE" Mandatory="No"/>
</StudyEventDef>
<FormDef OID="F.ELIG" Name="Eligibility" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.ELIG" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.DM" Name="Demographics" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.AE" Name="Adverse events" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.AE" Mandatory="No"/>
</FormDef>
<ItemGroupDef OID="IG.ELIG" Name="Eligibility" Repeating="No">
  <ItemRef ItemOID="IT.ELIGIBLE" Mandatory="Yes"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.DM" Name="Demographics" Repeating="No">
  <ItemRef ItemOID="IT.AGE" Mandatory="Yes" OrderNumber="1"/>
  <ItemRef ItemOID="IT.SEX" Mandatory="Yes" OrderNumber="2"/>
  <ItemRef ItemOID="IT.INITIALS" Mandatory="No" OrderNumber="3"/>
  <ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="4"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.AE" Name="Adverse event" Repeating="Yes">
  <ItemRef ItemOID="IT.AETERM" Mandatory="Yes"/>
</ItemGroupDef>
<ItemDef OID="IT.ELIGIBLE" Name="ELIGIBLE" DataType="text" Length="1">
  <Question><TranslatedText xml:lang="en">Eligible?</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.NY"/>
</ItemDef>
<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">
  <Question><TranslatedText xml:lang="en">Age</TranslatedText></Question>
  <RangeCheck Comparator="GE" SoftHard="Hard">
    <CheckValue>18</CheckValue>
    <ErrorMessage>
      <TranslatedText xml:lang="en">Age must be at least 18.</TranslatedText>
    </ErrorMessage>
  </RangeCheck>
</ItemDef>
<ItemDef OID="IT.SEX" Name="SEX" DataType="text" Length="1">
  <Question><TranslatedText xml:lang="en">Sex</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.SEX"/>
</ItemDef>
<ItemDef OID="IT.INITIALS" Name="INITIALS" DataType="text" Length="3">
  <Question><TranslatedText xml:lang="en">Initials</TranslatedText></Question>
</ItemDef>
<ItemDef OID="IT.WEIGHT" Name="WEIGHT" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Weight (kg)</TranslatedText></Question>
  <RangeCheck Comparator="LT" SoftHard="Soft">
    <CheckValue>200</CheckValue>
    <ErrorMessage>
      <TranslatedText xml:lang="en">Weight of 200 kg or more: please confirm.</TranslatedText>
    </ErrorMessage>
  </RangeCheck>
</ItemDef>
<ItemDef OID="IT.AETERM" Name="AETERM" DataType="text" Length="100">
  <Question><TranslatedText xml:lang="en">Adverse event</TranslatedText></Question>
</ItemDef>
<CodeList OID="CL.NY" Name="No/Yes" DataType="text">
  <CodeListItem CodedValue="N">
    <Decode><TranslatedText xml:lang="en">No</TranslatedText></Decode>
  </CodeListItem>
  <CodeListItem CodedValue="Y">
    <Decode><TranslatedText xml:lang="en">Yes</TranslatedText></Decode>
  </CodeListItem>
</CodeList>
<CodeList OID="CL.SEX" Name="Sex" DataType="text">
  <CodeListItem CodedValue="F">
    <Decode><TranslatedText xml:lang="en">Female</TranslatedText></Decode>
  </CodeListItem>
  <CodeListItem CodedValue="M">
    <Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode>
  </CodeListItem>
</CodeList>
<ConditionDef OID="C.NOT_ELIGIBLE" Name="Not eligible">
  <Description>
    <TranslatedText xml:lang="en">The subject is not eligible</TranslatedText>
  </Description>
  <FormalExpression Context="OEL">[SE.SCREEN/F.ELIG/IT.ELIGIBLE] = 'N'</FormalExpression>
</ConditionDef>
"""

ADMIN = """<AdminData StudyOID="S.1">
<Location OID="SITE.1" Name="Hamburg" LocationType="Site">
  <MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location>
<Location OID="SITE.2" Name="Lyon" LocationType="Site">
  <MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location>
</AdminData>
"""


def study_xml(body: str = STUDY_BODY, *, admin: str = ADMIN, mdv_oid: str = "MDV.1") -> bytes:
    admin = admin.replace('MetaDataVersionOID="MDV.1"', f'MetaDataVersionOID="{mdv_oid}"')
    return odm(body, admin=admin, mdv_oid=mdv_oid)


@dataclass(frozen=True)
class Db:
    engine: Engine
    url: str
    kind: str


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A migrated, empty database: a file on SQLite, a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'edc.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        yield Db(engine, url, "sqlite")
        engine.dispose()
        return
    with fresh_schema("t") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield Db(engine, url, "postgresql")
        finally:
            engine.dispose()


@pytest.fixture
def engine(db: Db) -> Engine:
    return db.engine


INVESTIGATOR, MONITOR, MANAGER = "ivy", "mona", "dan"
IVY_PASSWORD = "Hazel-Orchard-12"
"""Passwords of the fixture users meet the policy (storage.passwords)."""


@pytest.fixture
def study(engine: Engine) -> Engine:
    """The test study loaded, users ivy (investigator, SITE.1), mona (monitor), dan (data
    manager, every site), and subject 001 at SITE.1."""
    with write_transaction(engine) as conn:
        result = load_study(conn, study_xml(), path="study.xml")
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, INVESTIGATOR, IVY_PASSWORD, full_name="Ivy Investigator")
        add_user(conn, MONITOR, "Quiet-Lantern-34")
        add_user(conn, MANAGER, "Copper-Meadow-56")
        set_role(conn, INVESTIGATOR, "S.1", Role.INVESTIGATOR, site_oid="SITE.1")
        set_role(conn, MONITOR, "S.1", Role.MONITOR)
        set_role(conn, MANAGER, "S.1", Role.DATA_MANAGER)
        create_subject(
            conn,
            study="S.1",
            subject_key="001",
            site_oid="SITE.1",
            user=INVESTIGATOR,
            role=Role.INVESTIGATOR,
        )
    return engine

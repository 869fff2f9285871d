"""A small vital-signs study used across the exchange tests."""
# ruff: noqa: E501 - ODM snippets read best one element per line

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from cli import main
from tests.conftest import odm
from tests.postgres import fresh_schema

VS_BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.BASE" Mandatory="Yes" OrderNumber="1"/>
  <StudyEventRef StudyEventOID="SE.FU" Mandatory="No" OrderNumber="2"/></Protocol>
<StudyEventDef OID="SE.BASE" Name="Baseline" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.DM" Mandatory="Yes" OrderNumber="1"/>
  <FormRef FormOID="F.VS" Mandatory="Yes" OrderNumber="2"/>
</StudyEventDef>
<StudyEventDef OID="SE.FU" Name="Follow-up" Repeating="Yes" Type="Scheduled">
  <FormRef FormOID="F.VS" Mandatory="Yes" OrderNumber="1"/>
</StudyEventDef>
<FormDef OID="F.DM" Name="Demographics" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.VS" Name="Vital signs" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.DM" Name="Demographics" Repeating="No" Domain="DM" SASDatasetName="DM"
  Comment="Collected at screening">
  <ItemRef ItemOID="IT.BRTHDAT" Mandatory="No" OrderNumber="2"/>
  <ItemRef ItemOID="IT.SEX" Mandatory="Yes" OrderNumber="1"/>
  <ItemRef ItemOID="IT.HEIGHT" Mandatory="No" OrderNumber="3"/>
  <ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="4"/>
  <ItemRef ItemOID="IT.BMI" Mandatory="No" OrderNumber="5" MethodOID="MT.BMI"/>
  <Alias Context="SDTM" Name="DM"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.VS" Name="Vital signs" Repeating="Yes" Domain="VS">
  <ItemRef ItemOID="IT.VSTESTCD" Mandatory="Yes" OrderNumber="1"/>
  <ItemRef ItemOID="IT.VSORRES" Mandatory="Yes" OrderNumber="2"/>
  <ItemRef ItemOID="IT.VSORRESU_BP" Mandatory="No" OrderNumber="3"
    CollectionExceptionConditionOID="C.NOT_BP"/>
  <ItemRef ItemOID="IT.VSORRESU_HT" Mandatory="No" OrderNumber="4"
    CollectionExceptionConditionOID="C.NOT_HEIGHT"/>
</ItemGroupDef>
<ItemDef OID="IT.SEX" Name="Sex" DataType="text" Length="1" SASFieldName="SEX">
  <Question><TranslatedText xml:lang="en">Sex</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.SEX"/>
  <Alias Context="SDTM" Name="DM.SEX"/>
</ItemDef>
<ItemDef OID="IT.BRTHDAT" Name="Date of birth" DataType="date" Comment="Day may be unknown">
  <Question><TranslatedText xml:lang="en">Date of birth</TranslatedText></Question>
  <Alias Context="SDTM" Name="DM.BRTHDTC"/>
</ItemDef>
<ItemDef OID="IT.HEIGHT" Name="Height in centimetres" DataType="float" Length="5"
  SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Height</TranslatedText></Question>
  <MeasurementUnitRef MeasurementUnitOID="MU.CM"/>
</ItemDef>
<ItemDef OID="IT.WEIGHT" Name="Weight" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Weight</TranslatedText></Question>
  <MeasurementUnitRef MeasurementUnitOID="MU.KG"/>
  <RangeCheck Comparator="GT" SoftHard="Soft"><CheckValue>20</CheckValue>
    <ErrorMessage><TranslatedText xml:lang="en">Weight looks too low</TranslatedText></ErrorMessage>
  </RangeCheck>
</ItemDef>
<ItemDef OID="IT.BMI" Name="BMI" DataType="float" Length="6" SignificantDigits="2">
  <Description><TranslatedText xml:lang="en">Body mass index</TranslatedText></Description>
</ItemDef>
<ItemDef OID="IT.VSTESTCD" Name="VSTESTCD" DataType="text" Length="8">
  <Question><TranslatedText xml:lang="en">Test</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.VSTESTCD"/>
</ItemDef>
<ItemDef OID="IT.VSORRES" Name="VSORRES" DataType="float" Length="8" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Result</TranslatedText></Question>
</ItemDef>
<ItemDef OID="IT.VSORRESU_BP" Name="VSORRESU_BP" DataType="text" Length="4">
  <Question><TranslatedText xml:lang="en">Unit (blood pressure)</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.BPU"/>
</ItemDef>
<ItemDef OID="IT.VSORRESU_HT" Name="VSORRESU_HT" DataType="text" Length="2">
  <Question><TranslatedText xml:lang="en">Unit (height)</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.HTU"/>
</ItemDef>
<CodeList OID="CL.SEX" Name="Sex" DataType="text">
  <CodeListItem CodedValue="F"><Decode><TranslatedText xml:lang="en">Female</TranslatedText></Decode>
    <Alias Context="nci:ExtCodeID" Name="C16576"/></CodeListItem>
  <CodeListItem CodedValue="M"><Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode></CodeListItem>
</CodeList>
<CodeList OID="CL.VSTESTCD" Name="Vital signs test" DataType="text">
  <CodeListItem CodedValue="SYSBP"><Decode><TranslatedText xml:lang="en">Systolic BP</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="DIABP"><Decode><TranslatedText xml:lang="en">Diastolic BP</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="HEIGHT"><Decode><TranslatedText xml:lang="en">Height</TranslatedText></Decode></CodeListItem>
</CodeList>
<CodeList OID="CL.BPU" Name="BP unit" DataType="text"><EnumeratedItem CodedValue="mmHg"/></CodeList>
<CodeList OID="CL.HTU" Name="Height unit" DataType="text">
  <EnumeratedItem CodedValue="cm"/><EnumeratedItem CodedValue="in"/></CodeList>
<ConditionDef OID="C.NOT_BP" Name="Not blood pressure">
  <Description><TranslatedText xml:lang="en">Test is not a blood pressure</TranslatedText></Description>
  <FormalExpression Context="OEL">not (IT.VSTESTCD in ("SYSBP", "DIABP"))</FormalExpression>
</ConditionDef>
<ConditionDef OID="C.NOT_HEIGHT" Name="Not height">
  <Description><TranslatedText xml:lang="en">Test is not height</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.VSTESTCD != "HEIGHT"</FormalExpression>
</ConditionDef>
<MethodDef OID="MT.BMI" Name="BMI" Type="Computation">
  <Description><TranslatedText xml:lang="en">Weight / height squared</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.WEIGHT / ((IT.HEIGHT / 100) * (IT.HEIGHT / 100))</FormalExpression>
</MethodDef>
"""

UNITS = (
    '<MeasurementUnit OID="MU.CM" Name="cm"><Symbol><TranslatedText xml:lang="en">cm'
    "</TranslatedText></Symbol></MeasurementUnit>"
    '<MeasurementUnit OID="MU.KG" Name="kg"><Symbol><TranslatedText xml:lang="en">kg'
    "</TranslatedText></Symbol></MeasurementUnit>"
)

ADMIN = (
    '<AdminData StudyOID="S.1">'
    '<User OID="U.1"><LoginName>alice</LoginName><FullName>Alice Adams</FullName></User>'
    '<Location OID="LOC.1" Name="Site one" LocationType="Site">'
    '<MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>'
    "</Location>"
    '<Location OID="LOC.2" Name="Site two" LocationType="Site">'
    '<MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>'
    "</Location>"
    "</AdminData>"
)


def vs_study(clinical: str = "", *, admin: bool = True, file_type: str = "Snapshot") -> bytes:
    return odm(
        VS_BODY, units=UNITS, admin=ADMIN if admin else "", clinical=clinical, file_type=file_type
    )


def edc(*args: str, db: str) -> Result:
    """``edc ARGS`` in-process against the database at URL ``db``."""
    return CliRunner().invoke(main, [*args], env={"EDC_DATABASE_URL": db}, catch_exceptions=False)


@contextmanager
def vs_database(kind: str, tmp_path: Path, schema: str) -> Iterator[str]:
    """The URL of a fresh database (``kind`` ``sqlite``: a file in ``tmp_path``; else a
    PostgreSQL schema named after ``schema``, skipped without one) with :func:`vs_study`
    loaded and a data manager ``dm`` (password ``import-manager-pw``) of S.1."""
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'edc.db'}"
        else:
            url = stack.enter_context(fresh_schema(schema))
        study = tmp_path / "study.xml"
        study.write_bytes(vs_study())
        for args in (
            ("db", "upgrade"),
            ("study", "load", str(study)),
            ("user", "add", "dm", "--password", "import-manager-pw"),
            ("user", "set-role", "dm", "data_manager", "--study", "S.1"),
        ):
            result = edc(*args, db=url)
            assert result.exit_code == 0, result.output
        yield url

"""Builders for small inline ODM studies and subject data used by the expression tests."""

from __future__ import annotations

from datetime import date

from odm_engine import model as m
from odm_engine.checks import FormEvaluation, evaluate_form
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.expressions import CompileResult, compile_study
from odm_engine.loader import load_odm

TODAY = date(2024, 6, 15)


def odm(body: str, *, units: str = "") -> bytes:
    """``body`` (Protocol ... MethodDef elements) wrapped in a valid ODM 1.3.2 envelope."""
    basic = f"<BasicDefinitions>{units}</BasicDefinitions>" if units else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org"
 FileType="Snapshot" FileOID="F.1" CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2">
<Study OID="S.1"><GlobalVariables><StudyName>T</StudyName><StudyDescription>T</StudyDescription>
<ProtocolName>T</ProtocolName></GlobalVariables>{basic}
<MetaDataVersion OID="MDV.1" Name="v1">
{body}
</MetaDataVersion></Study></ODM>""".encode()


def load(body: str, *, units: str = "") -> tuple[m.MetaDataVersion, m.Study]:
    result = load_odm(odm(body, units=units), path="study.xml")
    assert result.study is not None, result.findings
    mdv = result.study.metadata_version()
    assert mdv is not None
    return mdv, result.study


def compiled(body: str, *, units: str = "") -> CompileResult:
    mdv, study = load(body, units=units)
    return compile_study(mdv, path="study.xml", units=study.basic_definitions.measurement_units)


def messages(result: CompileResult, *, severity: str = "error") -> list[str]:
    return [f.format() for f in result.findings if f.severity.value == severity]


def item(oid: str, data_type: str = "integer", extra: str = "", attrs: str = "") -> str:
    return f'<ItemDef OID="{oid}" Name="{oid}" DataType="{data_type}"{attrs}>{extra}</ItemDef>'


def refs(*oids: str, **attrs: str) -> str:
    out = []
    for oid in oids:
        extra = attrs.get(oid, "")
        out.append(f'<ItemRef ItemOID="{oid}" Mandatory="No" {extra}/>')
    return "".join(out)


def one_form(items: str, item_defs: str, extra: str = "", *, repeating: str = "No") -> str:
    """SE.1 > F.1 > IG.1 (Repeating=``repeating``) holding ``items``."""
    return f"""<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="V1" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.1" Name="F1" Repeating="No"><ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.1" Name="G1" Repeating="{repeating}">{items}</ItemGroupDef>
{item_defs}{extra}"""


def key(item_oid: str, group: str = "IG.1", group_key: str = "", form: str = "F.1") -> ItemKey:
    return ItemKey("SE.1", "", form, "", group, group_key, item_oid)


def evaluate(
    result: CompileResult, data: dict[ItemKey, str], form: str = "F.1", **kw: object
) -> FormEvaluation:
    snapshot = SubjectSnapshot("001", None, data)
    return evaluate_form(
        result.plan,
        snapshot,
        FormKey("SE.1", "", form, ""),
        today=TODAY,
        **kw,  # type: ignore[arg-type]
    )


def condition(oid: str, text: str, context: str = "OEL") -> str:
    return (
        f'<ConditionDef OID="{oid}" Name="{oid}"><Description><TranslatedText>c'
        f'</TranslatedText></Description><FormalExpression Context="{context}">{text}'
        "</FormalExpression></ConditionDef>"
    )


def method(oid: str, text: str, context: str = "OEL") -> str:
    return (
        f'<MethodDef OID="{oid}" Name="{oid}" Type="Computation"><Description><TranslatedText>'
        f'm</TranslatedText></Description><FormalExpression Context="{context}">{text}'
        "</FormalExpression></MethodDef>"
    )


def range_check(text: str, soft: str = "Hard", message: str = "") -> str:
    msg = (
        f"<ErrorMessage><TranslatedText>{message}</TranslatedText></ErrorMessage>"
        if message
        else ""
    )
    return (
        f'<RangeCheck SoftHard="{soft}"><FormalExpression Context="OEL">{text}'
        f"</FormalExpression>{msg}</RangeCheck>"
    )

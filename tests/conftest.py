"""Shared test helpers: an ODM envelope builder and the interop corpus location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests are the same on every run and every machine: the examples follow from each
# test's name (derandomize), no example database carries failures between runs, and neither
# a deadline nor the too_slow health check depends on how loaded the machine is.
# HYPOTHESIS_PROFILE=dev explores randomly (and remembers failures) while developing.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# derandomize is explicit: under a CI environment variable Hypothesis's own default profile
# is derandomised, and "dev" would inherit that.
settings.register_profile(
    "dev", derandomize=False, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
REPO = Path(__file__).resolve().parents[1]


def odm(
    body: str = "",
    *,
    units: str = "",
    admin: str = "",
    clinical: str = "",
    file_type: str = "Snapshot",
    extra_ns: str = "",
    study_oid: str = "S.1",
    mdv_oid: str = "MDV.1",
) -> bytes:
    """Wrap a MetaDataVersion body in a valid ODM 1.3.2 envelope (one line per part)."""
    basic = f"<BasicDefinitions>{units}</BasicDefinitions>" if units else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ODM xmlns="{ODM_NS}" xmlns:xml="http://www.w3.org/XML/1998/namespace"{extra_ns} '
        f'FileOID="F.1" FileType="{file_type}" ODMVersion="1.3.2" '
        f'CreationDateTime="2026-01-01T00:00:00">\n'
        f'<Study OID="{study_oid}"><GlobalVariables><StudyName>Test</StudyName>'
        f"<StudyDescription>Test study</StudyDescription><ProtocolName>T-1</ProtocolName>"
        f"</GlobalVariables>{basic}\n"
        f'<MetaDataVersion OID="{mdv_oid}" Name="Version 1">\n{body}\n</MetaDataVersion>\n'
        f"</Study>\n{admin}{clinical}</ODM>\n"
    ).encode()


def one_item_study(
    item: str = '<ItemDef OID="IT.A" Name="A" DataType="integer"/>',
    *,
    item_ref: str = '<ItemRef ItemOID="IT.A" Mandatory="No"/>',
    extra: str = "",
) -> str:
    """A minimal complete study: one event, one form, one group, the given item."""
    return (
        '<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>\n'
        '<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>\n'
        '<FormDef OID="F.1" Name="Form" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>\n'
        f'<ItemGroupDef OID="IG.1" Name="Group" Repeating="No">{item_ref}</ItemGroupDef>\n'
        f"{item}\n{extra}"
    )


@pytest.fixture
def corpus() -> Path:
    raw = os.environ.get("EDC_CORPUS")
    if not raw:
        pytest.skip("EDC_CORPUS is not set: point it at the shared interop corpus to run this")
    path = Path(raw)
    if not (path / "MANIFEST.tsv").is_file():
        pytest.skip(f"EDC_CORPUS={raw} holds no MANIFEST.tsv")
    return path

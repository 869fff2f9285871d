"""The synthetic studies of :mod:`bench.bench_exchange`: one ODM file per shape and size, and
an empty database (SQLite file or PostgreSQL database) with the study loaded.

A shape is subjects x events x forms x items: ``item-heavy`` is the classic 2,000 x 1 x 20 x
30 (1.2 M values, ~56 MB), ``subject-heavy`` a registry's 40,000 x 1 x 1 x 4 (160,000 values)
and ``subject-heavy-xl`` the same at 200,000 subjects (800,000 values). ``checks`` and
``mandatory`` make :mod:`bench.bench_phase3`'s study: a hard RangeCheck on each form's first
item, its first ``mandatory`` items (and its item group) mandatory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

NS = "http://www.cdisc.org/ns/odm/v1.3"
STUDY = "S.BENCH"


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    subjects: int
    events: int
    forms: int
    items: int
    checks: bool = False
    mandatory: int = 0

    def scaled(self, factor: float) -> Shape:
        """The same study with ``factor`` times the subjects (at least 10)."""
        return replace(self, subjects=max(10, round(self.subjects * factor)))

    @property
    def values(self) -> int:
        return self.subjects * self.events * self.forms * self.items


SHAPES = {
    s.name: s
    for s in (
        Shape("item-heavy", 2000, 1, 20, 30),
        Shape("subject-heavy", 40_000, 1, 1, 4),
        Shape("subject-heavy-xl", 200_000, 1, 1, 4),
    )
}


def _metadata_body(shape: Shape) -> str:
    forms = "".join(
        f'<FormRef FormOID="F.{f}" Mandatory="No" OrderNumber="{f + 1}"/>'
        for f in range(shape.forms)
    )
    parts = [
        "<Protocol>"
        + "".join(
            f'<StudyEventRef StudyEventOID="SE.V{e}" Mandatory="Yes"/>'
            for e in range(1, shape.events + 1)
        )
        + "</Protocol>"
    ]
    parts.extend(
        f'<StudyEventDef OID="SE.V{e}" Name="Visit {e}" Repeating="No" Type="Scheduled">{forms}'
        "</StudyEventDef>"
        for e in range(1, shape.events + 1)
    )
    parts.extend(
        f'<FormDef OID="F.{f}" Name="Form {f}" Repeating="No">'
        f'<ItemGroupRef ItemGroupOID="IG.{f}" Mandatory="{_yes(shape.mandatory > 0)}"/>'
        "</FormDef>"
        for f in range(shape.forms)
    )
    for f in range(shape.forms):
        refs = "".join(
            f'<ItemRef ItemOID="IT.{f}.{i}" Mandatory="{_yes(i < shape.mandatory)}" '
            f'OrderNumber="{i + 1}"/>'
            for i in range(shape.items)
        )
        parts.append(
            f'<ItemGroupDef OID="IG.{f}" Name="Group {f}" Repeating="No">{refs}</ItemGroupDef>'
        )
    for f in range(shape.forms):
        for i in range(shape.items):
            kind = ("integer", "text", "float")[i % 3]
            length = ' Length="20"' if kind == "text" else ""
            check = (
                '<RangeCheck Comparator="LT" SoftHard="Hard"><CheckValue>100000</CheckValue>'
                "</RangeCheck>"
                if shape.checks and i == 0
                else ""
            )
            parts.append(
                f'<ItemDef OID="IT.{f}.{i}" Name="I{f}_{i}" DataType="{kind}"{length}>{check}'
                "</ItemDef>"
            )
    return "\n".join(parts)


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _value(s: int, f: int, i: int) -> str:
    kind = i % 3
    if kind == 0:
        return str((s * 7 + f * 3 + i) % 1000)
    if kind == 1:
        return f"text {s % 97} {f}-{i}"
    return f"{(s + f + i) % 500}.{(s * i) % 10}"


def _subject(shape: Shape, s: int, width: int) -> str:
    chunk = [f'<SubjectData SubjectKey="{s:0{width}d}"><SiteRef LocationOID="LOC.1"/>']
    for e in range(1, shape.events + 1):
        chunk.append(f'<StudyEventData StudyEventOID="SE.V{e}">')
        for f in range(shape.forms):
            chunk.append(f'<FormData FormOID="F.{f}"><ItemGroupData ItemGroupOID="IG.{f}">')
            chunk.extend(
                f'<ItemData ItemOID="IT.{f}.{i}" Value="{_value(s + e, f, i)}"/>'
                for i in range(shape.items)
            )
            chunk.append("</ItemGroupData></FormData>\n")
        chunk.append("</StudyEventData>")
    chunk.append("</SubjectData>\n")
    return "".join(chunk)


def generate(path: Path, shape: Shape) -> int:
    """Write the synthetic ODM file (metadata + ClinicalData) of ``shape``; returns its size."""
    admin = (
        f'<AdminData StudyOID="{STUDY}"><Location OID="LOC.1" Name="Site 1" LocationType="Site">'
        f'<MetaDataVersionRef StudyOID="{STUDY}" MetaDataVersionOID="MDV.1" '
        'EffectiveDate="2026-01-01"/></Location></AdminData>'
    )
    width = max(5, len(str(shape.subjects - 1)))
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="{NS}" '
            f'FileOID="BENCH.{shape.subjects}" FileType="Snapshot" ODMVersion="1.3.2" '
            'CreationDateTime="2026-01-01T00:00:00">\n'
            f'<Study OID="{STUDY}"><GlobalVariables><StudyName>Bench</StudyName>'
            "<StudyDescription>Bench</StudyDescription><ProtocolName>B</ProtocolName>"
            f'</GlobalVariables><MetaDataVersion OID="MDV.1" Name="V1">{_metadata_body(shape)}'
            f"</MetaDataVersion></Study>{admin}\n"
            f'<ClinicalData StudyOID="{STUDY}" MetaDataVersionOID="MDV.1">\n'
        )
        for s in range(shape.subjects):
            out.write(_subject(shape, s, width))
        out.write("</ClinicalData></ODM>\n")
    return path.stat().st_size


def engine_url(db: str) -> str:
    """The SQLAlchemy URL of a job's database: a PostgreSQL URL as given, else a SQLite file."""
    return db if db.startswith("postgresql") else f"sqlite:///{db}"


def with_database(url: str, name: str) -> str:
    """``url`` naming database ``name`` instead."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def recreate_postgres(url: str, name: str, template: str | None = None) -> str:
    """Drop and create database ``name`` (a copy of ``template``) on ``url``'s server."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return with_database(url, name)


def drop_postgres(url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare_db(db: str, odm_file: Path) -> None:
    """An empty database (a SQLite path or a PostgreSQL URL) with the study loaded and a data
    manager."""
    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.studies import load_study
    from storage.users import add_user, set_role

    with odm_file.open("rb") as f:
        head = f.read(64 * 1024 * 1024).split(b"<ClinicalData", 1)[0]
    engine = make_engine(engine_url(db))
    upgrade(engine)
    with write_transaction(engine) as conn:
        load_study(conn, head + b"</ODM>\n", path="bench.xml")
        add_user(conn, "dm", "import-manager-pw")
        set_role(conn, "dm", STUDY, "data_manager")
    engine.dispose()

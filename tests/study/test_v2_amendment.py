"""Version 2 of the bortezomib study published as an amendment of version 1 (issue 17): the
clean version 1 example migrates, the impact report lists exactly the version 1 values that
need correction (both on SQLite and PostgreSQL), `make demo` ends on version 2, and in the
web app a screen failure and a missing consent are recorded the way docs/study-bortezomib.md
describes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from storage.engine import make_engine, write_transaction
from storage.studies import current_metadata, load_study, publish_version
from storage.subjects import list_subjects, subject_version
from storage.users import add_user, set_role
from storage.versions import migrate_subjects
from storage.vocabulary import Role
from tests.storage.conftest import Db, db  # noqa: F401 - fixture
from tests.webapp.conftest import SUBJECT_A, Web, seeded_db, web  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
V1 = REPO / "metadata" / "bortezomib-retreatment.xml"
V2 = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
EXAMPLES = REPO / "metadata" / "examples"
CLEAN_V1 = EXAMPLES / "bortezomib-retreatment-clean.xml"
NEEDS_CORRECTION = EXAMPLES / "bortezomib-retreatment-v1-needs-correction.xml"
STUDY = "ST.BTZ_RETREAT"
CLEAN_KEYS = {
    "DE01-001", "DE01-002", "DE01-003", "DE02-001", "AT01-001",
    "ES01-001", "ES02-001", "IT01-001", "FR01-001", "PL01-001",
}  # fmt: skip


def edc(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", url])
    return result.exit_code, result.output


def store_v1(engine: Engine) -> None:
    """Store version 1 and a data manager 'dm' in the (upgraded) database of ``engine``."""
    with write_transaction(engine) as conn:
        assert load_study(conn, V1.read_bytes(), path=str(V1)).status == "stored"
        add_user(conn, "dm", "Copper-Meadow-56", full_name="Dan Manager")
        set_role(conn, "dm", STUDY, Role.DATA_MANAGER)


@pytest.fixture
def v1_db(db: Db) -> str:  # noqa: F811 - the storage tests' fixture: SQLite and PostgreSQL
    """The URL of a database holding version 1 and a data manager 'dm'."""
    store_v1(db.engine)
    return db.url


def _versions(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {k: subject_version(conn, STUDY, k) for k in list_subjects(conn, STUDY)}
    finally:
        engine.dispose()


def _import(url: str, path: Path) -> None:
    code, out = edc(url, "import", str(path), "--user", "dm")
    assert code == 0, out


def _load_and_publish_v2(url: str) -> None:
    code, out = edc(url, "study", "load", str(V2), "--user", "designer")
    assert code == 0 and "as a draft" in out, out
    code, out = edc(url, "study", "publish", "2", "--user", "designer", "--reason", "Amendment 1")
    assert code == 0, out


def test_the_clean_v1_example_migrates_to_v2_with_nothing_blocked(v1_db: str) -> None:
    _import(v1_db, CLEAN_V1)
    code, out = edc(v1_db, "study", "impact", str(V2), "--format", "json")
    assert code in (0, 1), out  # 1: forms whose structure changes hold data
    assert json.loads(out)["problems"] == []
    code, out = edc(v1_db, "study", "diff", f"{STUDY}@1", str(V2))
    assert code in (0, 1) and "C.NOT_ENROLLED" in out and "IT.IE_FAIL" in out, out
    _load_and_publish_v2(v1_db)
    args = ("study", "migrate", "--to", "2", "--user", "dm", "--reason", "Amendment 1")
    code, out = edc(v1_db, *args)
    assert code == 0 and "10 subject(s) moved to version 2" in out, out
    assert "stay on their version" not in out
    assert _versions(v1_db) == dict.fromkeys(CLEAN_KEYS, 2)


EXPECTED_IMPACT = {
    ("DE01-801", "IT.MM_DIAGDAT", "1952-03", "IT.MM_DIAGDAT#RC3"),
    ("DE01-802", "IT.L1_ASCTDAT", "2016-11", "IT.L1_ASCTDAT#RC3"),
    ("DE01-803", "IT.ST_LCDAT", "2024-03-01", "IT.ST_LCDAT#RC3"),
    ("DE01-804", "IT.ADR_STDAT", "2016-09-20", "IT.ADR_STDAT#RC2"),
    ("DE01-805", "IT.ADR_STDAT", "2013-05", "IT.ADR_STDAT#RC1"),
    ("DE01-806", "IT.ST_PD", "N", "IT.ST_PD#RC2"),
}


def test_the_impact_report_lists_exactly_the_v1_values_that_need_correction(v1_db: str) -> None:
    _import(v1_db, CLEAN_V1)
    _import(v1_db, NEEDS_CORRECTION)
    code, out = edc(v1_db, "study", "impact", str(V2), "--format", "json")
    assert code == 1, out
    problems = json.loads(out)["problems"]
    found = {
        (p["subject_key"], p["item_oid"], p["value"], re.search(r"IT\.\w+#RC\d+", p["problem"])[0])  # type: ignore[index]
        for p in problems
    }
    assert found == EXPECTED_IMPACT and len(problems) == len(EXPECTED_IMPACT)
    assert {p["kind"] for p in problems} == {"hard_check"}
    # the documented comments of the example name the same checks
    pattern = r"Needs correction before migration: (IT\.\w+#RC\d+)"
    documented = set(re.findall(pattern, NEEDS_CORRECTION.read_text()))
    assert documented == {e[3] for e in EXPECTED_IMPACT}
    _load_and_publish_v2(v1_db)
    code, out = edc(v1_db, "study", "migrate", "--to", "2", "--user", "dm", "--reason", "A1")
    assert code == 1 and "10 subject(s) moved to version 2" in out, out
    versions = _versions(v1_db)
    assert {k for k, n in versions.items() if n == 1} == {e[0] for e in EXPECTED_IMPACT}


def _demo_commands() -> list[list[str]]:
    """The `edc` commands of the Makefile's demo recipe, before `edc serve`."""
    text = (REPO / "Makefile").read_text()
    recipe = text[text.index("\ndemo:") :].split("\n\n")[0].splitlines()[1:]
    out = []
    for line in recipe:
        words = shlex.split(line.strip().replace("$(BIN)/edc", "edc").replace("exec ", ""))
        if words[:1] == ["edc"] and words[1] != "serve":
            out.append([w for w in words[1:] if w not in ("--db", "$(DEMO_DB)")])
    return out


def test_make_demo_loads_v1_seeds_then_publishes_v2_and_runs_again(tmp_path: Path) -> None:
    commands = _demo_commands()
    assert [c[:2] for c in commands][:3] == [["db", "upgrade"], ["study", "load"], ["demo", "seed"]]
    assert any(c[:2] == ["study", "load"] and str(V2.relative_to(REPO)) in c for c in commands)
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    for _ in range(2):  # re-runnable
        for command in commands:
            code, out = edc(url, *command)
            assert code == 0, (command, out)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert current_metadata(conn, STUDY).number == 2
        keys = list_subjects(conn, STUDY)
        assert keys and {subject_version(conn, STUDY, k) for k in keys} == {2}
    engine.dispose()


ENTRY = "/subjects/{key}/{event}/{form}"


def _url(form: str, event: str = "SE.ELIG") -> str:
    return ENTRY.format(key=SUBJECT_A, event=event, form=form)


def test_web_consent_gate_and_screen_failure_on_v2(web: Web) -> None:  # noqa: F811 - fixture
    with write_transaction(web.engine) as conn:
        load_study(conn, V2.read_bytes(), path=str(V2), loaded_by="designer")
        publish_version(conn, STUDY, 2, user="designer", reason="Amendment 1")
        migrate_subjects(conn, STUDY, 2, subject_key=SUBJECT_A, user="dm", reason="Amendment 1")
    inv = web.client("inv_a")
    ie, ic, eos = _url("F.IE"), _url("F.IC"), _url("F.EOS", "SE.EOS")
    dm = _url("F.DM", "SE.DCV")
    # no consent yet: eligibility is not collected (C.NO_CONSENT on the FormRef)
    assert "Not available:" in inv.get(ie).text
    assert inv.post(ie, {"IG.IE_IN[].IT.IE_IN01": "Y", "expected_version": "0"}).status_code == 409
    # consent required but not dated: saved with a query (version 1 refused it), gate closed
    r = inv.post(ic, {"IG.IC[].IT.IC_REQ": "Y", "expected_version": "0"})
    assert r.status_code == 303 and "opened=1" in r.headers["Location"]
    assert inv.post(ie, {"IG.IE_IN[].IT.IE_IN01": "Y", "expected_version": "0"}).status_code == 409
    dated = {"IG.IC[].IT.IC_REQ": "Y", "IG.IC[].IT.IC_DAT": "2024-04-10", "expected_version": "1"}
    assert inv.post(ic, {**dated, "reason": "Consent found"}).status_code == 303
    # a failed criterion is saved: a screen failure, eligibility derived 'N'
    answers = {
        **{f"IG.IE_IN[].IT.IE_IN0{n}": "Y" for n in range(1, 8)},
        **{f"IG.IE_EX[].IT.IE_EX0{n}": "N" for n in range(1, 4)},
        "IG.IE_IN[].IT.IE_IN03": "N",
    }
    r = inv.post(ie, {**answers, "expected_version": "0"})
    assert r.status_code == 303, r.text
    page = inv.get(ie).text
    assert 'name="IG.IE_RES[].IT.IE_ELIG" value="N" readonly' in page
    assert re.search(r'name="IG.IE_RES\[\]\.IT\.IE_FAIL"[^>]*value="IN03"', page), page
    # the data collection visit stays closed; the end of study opens
    assert inv.post(dm, {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0"}).status_code == 409
    closed = {"IG.DS[].IT.DS_COMPL": "N", "IG.DS[].IT.DS_DAT": "2024-05-06"}
    r = inv.post(eos, {**closed, "IG.DS[].IT.DS_REAS": "CONSWD", "expected_version": "0"})
    assert r.status_code == 422 and "The patient is a screen failure" in r.text
    r = inv.post(eos, {**closed, "IG.DS[].IT.DS_REAS": "NOTELIG", "expected_version": "0"})
    assert r.status_code == 303, r.text
    assert re.search(r'IT\.DS_IEFAIL"[^>]*value="IN03"', inv.get(eos).text)

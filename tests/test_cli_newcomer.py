"""What `edc` says when a newcomer gives the files the wrong way round or names a form the
study does not have: which file, what is wrong, what to do, and exit 2 (README: exit codes)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.conftest import REPO

METADATA = REPO / "metadata" / "bortezomib-retreatment.xml"
CLEAN = REPO / "metadata" / "examples" / "bortezomib-retreatment-clean.xml"


def edc(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_check_of_metadata_given_as_data_says_the_data_holds_no_clinical_data() -> None:
    assert edc("check", METADATA, METADATA) == (
        2,
        f"{METADATA}: holds no ClinicalData, so nothing was checked. Give the study "
        "metadata first and a file with ClinicalData second: edc check METADATA.xml DATA.xml\n",
    )


def test_check_of_data_given_as_metadata_names_the_file_and_the_order() -> None:
    assert edc("check", CLEAN, CLEAN) == (
        2,
        f"{CLEAN}: holds no MetaDataVersion, so there are no checks to run. Give the study "
        "metadata first and a file with ClinicalData second: edc check METADATA.xml DATA.xml\n",
    )


def test_check_of_an_unreadable_data_file_is_not_a_clean_result(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3'><ClinicalData>")
    code, output = edc("check", METADATA, broken)
    assert code == 2
    assert output.startswith(f"{broken}:") and "ODM-XML-001" in output


def test_check_the_right_way_round_is_still_clean() -> None:
    assert edc("check", METADATA, CLEAN) == (0, "")


def test_print_blank_of_a_data_file_gives_one_message(tmp_path: Path) -> None:
    code, output = edc("print", "blank", "--metadata", CLEAN, "-o", tmp_path / "never.pdf")
    assert (code, output) == (
        2,
        f"Error: {CLEAN}: no ODM Study with metadata could be read: the file holds no "
        "MetaDataVersion (ClinicalData files are for `edc check` and `edc import`); give the "
        "study's metadata file\n",
    )
    assert not (tmp_path / "never.pdf").exists()


def test_render_of_an_unknown_form_lists_every_form_or_says_how_many_more(
    tmp_path: Path,
) -> None:
    code, output = edc("render", "F.NOPE", "--metadata", METADATA, "-o", tmp_path / "x.html")
    assert (code, output) == (
        2,
        f"Error: {METADATA}: MetaDataVersion MDV.BTZ_RETREAT.1 has no FormDef with OID "
        "'F.NOPE' (FormDefs: F.IC, F.IE, F.LV, F.DM, F.RF, F.MM, F.L1, F.L2 and 4 more; "
        "`edc info` lists them)\n",
    )


def test_render_suggests_the_form_meant(tmp_path: Path) -> None:
    code, output = edc("render", "F.RFF", "--metadata", METADATA, "-o", tmp_path / "x.html")
    assert code == 2
    assert output.startswith(
        f"Error: {METADATA}: MetaDataVersion MDV.BTZ_RETREAT.1 has no FormDef with OID "
        "'F.RFF'; did you mean F.RF? (FormDefs: "
    )

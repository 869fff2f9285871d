"""``edc info`` shows each item's units, derivation, condition and checks (issue 21), and the
expressions of the conditions and derivations it names."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.exchange.helpers import vs_study


def test_items_show_units_derivation_condition_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "study.xml"
    path.write_bytes(vs_study())
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    for line in (
        "Item IT.WEIGHT: Weight (float, units kg) [checks GT 20 soft]",
        "Item IT.BMI: BMI (float) [derived by MT.BMI]",
        "Item IT.SEX: Sex (text, codelist CL.SEX) [mandatory]",
        "Item IT.VSORRESU_BP: Unit (blood pressure) (text, codelist CL.BPU) "
        "[hidden when C.NOT_BP is true]",
    ):
        assert line in lines
    start = lines.index("Conditions (true hides what names them):")
    assert lines[start : start + 5] == [
        "Conditions (true hides what names them):",
        'C.NOT_BP: not (IT.VSTESTCD in ("SYSBP", "DIABP"))',
        'C.NOT_HEIGHT: IT.VSTESTCD != "HEIGHT"',
        "Derivations:",
        "MT.BMI: IT.WEIGHT / ((IT.HEIGHT / 100) * (IT.HEIGHT / 100))",
    ]

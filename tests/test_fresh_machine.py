"""A fresh clone passes `make test`, every time (issue 14): property tests run a fixed,
derandomised Hypothesis profile, and tests that need a system tool this machine lacks skip
with the Debian package that provides it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PROFILE = (
    "import tests.conftest\n"
    "from hypothesis import settings\n"
    "d = settings.default\n"
    "print(d.derandomize, d.deadline, d.database, sorted(h.name for h in d.suppress_health_check))"
)


def _profile(env_profile: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    if env_profile is not None:
        env["HYPOTHESIS_PROFILE"] = env_profile
    done = subprocess.run(
        [sys.executable, "-c", PROFILE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_hypothesis_runs_the_derandomised_ci_profile_by_default() -> None:
    assert _profile(None) == "True None None ['too_slow']"


def test_hypothesis_profile_can_be_chosen_with_the_environment() -> None:
    derandomize, deadline, *_ = _profile("dev").split()
    assert (derandomize, deadline) == ("False", "None")


def test_an_unknown_hypothesis_profile_is_named_in_the_error() -> None:
    with pytest.raises(AssertionError, match="nope"):
        _profile("nope")


def _skip_message(call: object) -> str:
    with pytest.raises(pytest.skip.Exception) as skipped:
        call()  # type: ignore[operator]
    return str(skipped.value)


def test_pdf_page_images_skip_naming_poppler_utils(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.printing import conftest as printing

    monkeypatch.setattr(printing.shutil, "which", lambda _name: None)
    message = _skip_message(lambda: printing.save_pngs(b"%PDF", "none"))
    assert message == "pdftoppm is not installed: apt-get install poppler-utils"


def test_browser_test_skips_naming_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.webapp import test_browser

    monkeypatch.setattr(test_browser, "CHROMIUM", Path("/nonexistent/chromium"))
    message = _skip_message(test_browser.require_chromium)
    assert message == "chromium is not installed at /nonexistent/chromium: apt-get install chromium"


def test_javascript_parity_skips_naming_nodejs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.renderers import jsrun

    monkeypatch.setattr(jsrun.shutil, "which", lambda _name: None)
    message = _skip_message(lambda: jsrun.run_js({}))
    assert message == (
        "node is not installed, so the JavaScript mirror cannot be compared: apt-get install nodejs"
    )


def test_make_demo_serves_on_the_port_given() -> None:
    def serve_line(*args: str) -> str:
        done = subprocess.run(
            ["make", "-n", "demo", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return next(line for line in done.stdout.splitlines() if " serve " in line)

    assert "--port 8000" in serve_line()
    assert "--port 8080" in serve_line("PORT=8080")


def test_readme_starts_with_the_two_commands_and_names_the_system_packages() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [
        line.split("#")[0].strip()
        for line in readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    ]
    assert commands[:2] == ["make demo", "make test"]
    for needed in ("apt-get install", "chromium", "poppler-utils", "make demo PORT=8080"):
        assert needed in readme, needed
    assert ".venv/bin/edc" in readme and ". .venv/bin/activate" in readme


def test_readme_documents_the_exit_codes_and_the_no_study_answer() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("Exit codes, for every command:", 1)[1].split("\n\n", 2)[1]
    assert [row.split("|")[1].strip() for row in table.splitlines()[2:]] == ["0", "1", "2"]
    assert "no study loaded in sqlite:///edc.sqlite3 — run" in readme

"""``edc COMMAND --help`` answers at once: every command module imports only click and the
standard library at the top (issue 15: under 0.2 s for every command)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import click
import pytest

from cli import main
from tests.conftest import REPO

HEAVY = ("sqlalchemy", "lxml", "flask", "jinja2", "weasyprint", "rich", "storage", "renderers")
LIMIT = float(os.environ.get("EDC_HELP_SECONDS", "0.2"))
"""CPU seconds of one ``edc COMMAND --help`` process; raise it on a slow machine."""


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of ``edc``, as the words that name it."""
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


PATHS = command_paths()


def test_the_walk_finds_every_command() -> None:
    assert ("export", "odm") in PATHS and ("print", "casebook") in PATHS
    assert ("user", "passwd") in PATHS and ("validate",) in PATHS


def test_help_imports_no_heavy_module() -> None:
    """The deterministic half: after every ``--help``, none of HEAVY is loaded."""
    script = f"""
import json, sys
from click.testing import CliRunner
from cli import main
loaded = {{}}
for path in {PATHS!r}:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    loaded[" ".join(path)] = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps(loaded))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert {k: v for k, v in loaded.items() if v} == {}


def _cpu_seconds(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, cwd=REPO, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "edc")
def test_help_is_fast(path: tuple[str, ...]) -> None:
    """CPU time (not wall time: other processes on a loaded machine do not count), best of
    3 runs, at most EDC_HELP_SECONDS (0.2 s)."""
    best = min(_cpu_seconds([sys.executable, "-m", "cli", *path, "--help"]) for _ in range(3))
    assert best < LIMIT, f"edc {' '.join(path)} --help took {best:.3f} s of CPU"

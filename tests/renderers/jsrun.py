"""Run tests/renderers/js_harness.js under node (tests skip when node is missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).with_name("js_harness.js")


def run_js(job: dict[str, Any]) -> Any:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip(
            "node is not installed, so the JavaScript mirror cannot be compared: "
            "apt-get install nodejs"
        )
    done = subprocess.run(
        [node, str(HARNESS)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

"""Runs hostile inputs through one entry point in a fresh interpreter and reports, per case,
the exit status, the output, whether the database changed and this process's own peak memory.

``python -m tests.security.hostile_child SPEC.json`` prints one JSON object. The peak is
VmHWM from /proc/self/status, reset before each case through /proc/self/clear_refs (ru_maxrss
would count the pages of the forked parent, and would never go down between cases).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from io import BytesIO
from pathlib import Path


def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def run_cli(argv: list[str]) -> tuple[int, str]:
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, argv)
    out = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out += "".join(traceback.format_exception(result.exception))
    return result.exit_code, out


class WebUpload:
    """The designer's metadata upload (POST /design) through the Flask test client."""

    def __init__(self, db_url: str, max_upload_mb: int) -> None:
        from tests.webapp.conftest import Client
        from webapp import Settings, create_app

        overrides = {"database_url": db_url, "max_upload_mb": max_upload_mb}
        app = create_app(Settings.load(environ={}, overrides=overrides))
        self.client = Client(app.test_client(), {})
        assert self.client.login("designer").status_code == 303
        self.client.get("/design")  # the CSRF token of the signed-in session

    def __call__(self, path: str) -> tuple[int, str]:
        data = {"metadata": (BytesIO(Path(path).read_bytes()), Path(path).name)}
        r = self.client.post("/design", data, content_type="multipart/form-data")
        return r.status_code, r.get_data(as_text=True)


def main(spec_path: str) -> None:
    from storage.engine import make_engine
    from tests.storage.helpers import dump

    spec = json.loads(Path(spec_path).read_text())
    engine = make_engine(spec["db"])
    upload = WebUpload(spec["db"], spec["max_upload_mb"]) if spec.get("web") else None
    results = []
    for run in spec["runs"]:
        before = dump(engine)
        saved = {k: os.environ.get(k) for k in run["env"]}
        os.environ.update(run["env"])
        reset_peak()
        try:
            if upload is not None:
                code, out = upload(run["file"])
            else:
                code, out = run_cli(run["argv"])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        results.append(
            {
                "case": run["case"],
                "code": code,
                "out": out,
                "peak_mb": peak_mb(),
                "db_changed": dump(engine) != before,
            }
        )
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])

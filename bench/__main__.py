"""Run the benchmarks: ``python -m bench [name ...] [--option value ...]`` (names without the
bench_ prefix). Options (words from the first ``-`` on) go to the benchmarks named, as the
argument list of their ``run``: ``python -m bench load --seconds 20``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench.common import Row


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    options = argv[first_option:]
    wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv[:first_option]}
    failed = False
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            rows: list[Row] = module.run(options) if options else module.run()
        except Exception:  # a broken benchmark must not hide the others
            traceback.print_exc()
            failed = True
            continue
        for row in rows:
            print(row.format(), flush=True)
            failed |= row.met is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

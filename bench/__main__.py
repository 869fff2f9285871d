"""Run the benchmarks: ``python -m bench [name ...]`` (names without the bench_ prefix)."""

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
    wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv}
    failed = False
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            rows: list[Row] = module.run()
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

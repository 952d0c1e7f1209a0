"""Run every benchmark in bench/ (bench_*.py) in turn: `make bench`.

    .venv/bin/python bench/run_all.py [--quick] [--list] [NAME ...]

`--quick` is passed on to the benchmarks that accept it. NAME picks some (`cycle`, `match`, …).
Exit status: non-zero when a benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# --quick for benchmarks that have no such flag (yet): smaller sizes through their own options.
QUICK_ARGS = {"bench_match.py": {"--n": "10000"}, "bench_search.py": {"--rows": "50000", "--reps": "5"}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--list", action="store_true", help="print the commands, run nothing")
    ap.add_argument("names", nargs="*", help="only these benchmarks (bench_NAME.py)")
    args = ap.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    failed = []
    for script in scripts:
        argv = [sys.executable, str(script)]
        if args.quick:
            text = script.read_text(encoding="utf-8")
            if "--quick" in text:
                argv.append("--quick")
            else:
                for option, value in QUICK_ARGS.get(script.name, {}).items():
                    if f'"{option}"' in text:
                        argv += [option, value]
        if args.list:
            print(" ".join(argv))
            continue
        print(f"\n=== {script.name} {' '.join(argv[2:])}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.call(argv, cwd=HERE.parent)
        print(f"=== {script.name}: exit {code}, {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: wall time of a cold ``verify prove`` (fresh process: imports, SymPy, JIT).

Usage::

    python benchmarks/prove_speed.py [--repeat 3] [--seed 0] [CLAIM ...]

Each repetition starts a new process running ``verify prove --json`` (the
installed command next to this Python, else ``python -m verify.cli``), so every
run pays for importing JAX and SymPy, deriving the closed forms and compiling
the JAX functions. Prints the wall time of each run, the median, and the time
of each proof in the fastest run (from the JSON report).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def command():
    script = Path(sys.executable).parent / "verify"
    return [str(script)] if script.exists() else [sys.executable, "-m", "verify.cli"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [*command(), "prove", *args.claims, "--json", "--seed", str(args.seed)],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr or done.stdout[-2000:], file=sys.stderr)
            print(f"verify prove exited {done.returncode}", file=sys.stderr)
            return 1
        runs.append((wall, json.loads(done.stdout)))
        print(f"cold verify prove: {wall:6.1f} s")
    wall, fastest = min(runs, key=lambda r: r[0])
    print(
        f"median {statistics.median(r[0] for r in runs):.1f} s, best {wall:.1f} s "
        f"over {len(runs)} runs"
    )
    proof_total = sum(c["seconds"] for c in fastest["claims"])
    print(
        f"in the best run: {proof_total:.1f} s in the proofs, "
        f"{wall - proof_total:.1f} s start-up (imports) and reporting"
    )
    for claim in fastest["claims"]:
        print(
            f"  {claim['id']:<4} {claim['seconds']:6.2f} s  {claim['verdict']:<9} {claim['title']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: SymPy time of each derivation, by route, for every registered closed form.

Usage::

    python benchmarks/derive_speed.py [--repeat 3] [FAMILY ...]

For each registered form (``verify.formulas.registered()``; only those whose
families are all named, if any are) ``verify.derive`` runs ``--repeat`` times,
every cache cleared before each run (``derive``'s, the routes' and SymPy's
own), so each time is that of a cold derivation in a warm process (imports
excluded). Prints one row per derivation: the route, the median time and the
spread (min-max) of the repeats. The machine is shared: read the spread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sympy.core.cache

import verify
from verify import formulas
from verify.symbolic import derive, exponential_family


def clear_caches():
    derive.cache_clear()
    exponential_family.clear_caches()
    sympy.core.cache.clear_cache()


def time_derivation(form, repeat):
    times, route = [], None
    for _ in range(repeat):
        clear_caches()
        start = time.perf_counter()
        derivation = derive(form.quantity, *form.families, parameterisations=form.parameterisations)
        times.append(time.perf_counter() - start)
        route = derivation.route
    return route, times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", help="family names (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    wanted = {name.lower() for name in args.families}
    print(f"verify {verify.__version__}; {args.repeat} cold derivations each")
    print(f"{'quantity':<14} {'families':<40} {'median s':>9} {'min-max s':>13}  route")
    for form in formulas.registered():
        names = [f.__name__ for f in form.families]
        if wanted and not {n.lower() for n in names} <= wanted:
            continue
        kinds = "" if set(form.parameterisations) <= {"canonical"} else str(form.parameterisations)
        label = " || ".join(names) + (f" {kinds}" if kinds else "")
        try:
            route, times = time_derivation(form, args.repeat)
        except NotImplementedError as error:
            print(f"{form.quantity:<14} {label:<40} {'-':>9} {'-':>13}  not derived: {error}")
            continue
        spread = f"{min(times):.2f}-{max(times):.2f}"
        print(
            f"{form.quantity:<14} {label:<40} {statistics.median(times):>9.2f} {spread:>13}  "
            f"{route.split(':')[0]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Beta and Dirichlet KL at the ends of the float64 range: right, NaN or wrong, against mpmath.

Usage::

    python benchmarks/extremes.py [--exponents -300 -100 -20 -8 0 8 20 100 300]
        [--output benchmarks/results/extremes.md]

Every pair ``Beta(a, b) || Beta(a', b')`` (and the same pair as a two-component
Dirichlet) with each of ``a, b, a', b'`` one of ``10**e`` for the given
exponents: ``9**4 = 6561`` pairs by default. The reference is the textbook
form ``lgamma(s) - sum lgamma(a_k) - lgamma(s') + sum lgamma(a'_k) + sum (a_k -
a'_k)(digamma(a_k) - digamma(s))`` in mpmath at 720 significant digits, enough
for its cancellations at ``10**300`` (about 3.5 minutes; the exact values are
cached, ``--cache``). A value is *right* when it is within 1e-6 relative
of the exact one (1e-300 absolute below that; ``+inf`` is right where the exact
value exceeds 1e307), *loose* within 1e-2, *NaN* when it is NaN (``verify.kl``
then raises), and *wrong* otherwise: a finite value off by more than 1e-2
relative, or ``+inf`` for a finite KL: a value that means nothing. The
pairs are banded by the ratio of the largest to the smallest of the four
concentrations: the closed forms are documented to lose about ``eps max / min``
of relative accuracy.

The forms are called directly (``verify.formulas``), jitted, on the whole grid
at once; ``verify.kl`` would raise on a batch with a NaN.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import pickle
import platform
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
jax.config.update("jax_enable_x64", True)

from verify._ops import jax_ops  # noqa: E402
from verify.formulas import beta, dirichlet  # noqa: E402

DIGITS = 720
BANDS = (1e8, 1e16, 1e40, np.inf)


def exact_kl(a, b, a2, b2):
    """KL(Beta(a, b) || Beta(a2, b2)) in mpmath, from the textbook form."""
    a, b, a2, b2 = (mp.mpf(x) for x in (a, b, a2, b2))
    s, s2 = a + b, a2 + b2
    return (
        mp.loggamma(s)
        - mp.loggamma(a)
        - mp.loggamma(b)
        - mp.loggamma(s2)
        + mp.loggamma(a2)
        + mp.loggamma(b2)
        + (a - a2) * mp.digamma(a)
        + (b - b2) * mp.digamma(b)
        - (s - s2) * mp.digamma(s)
    )


def exact_values(quads, cache):
    """The exact KLs, from ``cache`` where it holds this grid's."""
    if cache.exists():
        stored = pickle.loads(cache.read_bytes())
        if stored["quads"] == quads:
            return stored["exact"]
    with mp.workdps(DIGITS):
        exact = [exact_kl(*q) for q in quads]
    cache.write_bytes(pickle.dumps({"quads": quads, "exact": exact}))
    return exact


def verdict(value, exact):
    """``right``, ``loose``, ``nan`` or ``wrong`` (see the module docstring)."""
    if np.isnan(value):
        return "nan"
    if value == np.inf:
        return "right" if exact > mp.mpf("1e307") else "wrong"
    error = abs(mp.mpf(float(value)) - exact)
    for name, tolerance in (("right", "1e-6"), ("loose", "1e-2")):
        if error <= mp.mpf(tolerance) * abs(exact) + mp.mpf("1e-300"):
            return name
    return "wrong"


def computed_values(quads):
    """Both families' forms on the whole grid (float64)."""
    grid = jnp.asarray(np.array(quads))
    beta_kl = jax.jit(lambda a, b, a2, b2: beta.kl(jax_ops, a, b, a2, b2))
    dirichlet_kl = jax.jit(lambda p, q: dirichlet.kl(jax_ops, p, q))
    return {
        "Beta": np.asarray(beta_kl(*(grid[:, i] for i in range(4)))),
        "Dirichlet": np.asarray(dirichlet_kl(grid[:, :2], grid[:, 2:])),
    }


def band_of(quad):
    ratio = max(quad) / min(quad)
    return next(i for i, top in enumerate(BANDS) if ratio <= top)


def table(quads, exact, computed):
    lines = [
        "| family | max / min of the four | pairs | right | loose | NaN | wrong "
        "| a wrong one: pair, value, exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bounds = ("<= 1e8", "1e8 ... 1e16", "1e16 ... 1e40", "> 1e40")
    for name, values in computed.items():
        verdicts = [verdict(v, e) for v, e in zip(values, exact)]
        for band, label in enumerate(bounds):
            rows = [i for i, q in enumerate(quads) if band_of(q) == band]
            kinds = ("right", "loose", "nan", "wrong")
            counts = {k: sum(verdicts[i] == k for i in rows) for k in kinds}
            wrong = [i for i in rows if verdicts[i] == "wrong"]
            example = "—"
            if wrong:
                i = wrong[len(wrong) // 2]
                pair = ", ".join(f"{x:.0e}" for x in quads[i])
                example = f"({pair}): {values[i]:.4g}, {mp.nstr(exact[i], 4)}"
            cells = " | ".join(str(counts[k]) for k in kinds)
            lines.append(f"| {name} | {label} | {len(rows)} | {cells} | {example} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--exponents", type=int, nargs="+", default=[-300, -100, -20, -8, 0, 8, 20, 100, 300]
    )
    parser.add_argument("--output", type=Path, help="also write the table here (markdown)")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "verify-extremes.pkl"
    )
    args = parser.parse_args(argv)
    values = [10.0**e for e in args.exponents]
    quads = list(itertools.product(values, repeat=4))
    exact = exact_values(quads, args.cache)
    lines = [
        f"Beta and Dirichlet (K = 2) KL on concentrations 10^{args.exponents}, "
        f"{datetime.date.today()}, {platform.machine()}, jax {jax.__version__}; "
        f"mpmath at {DIGITS} digits. Right: within 1e-6 relative; loose: 1e-2; wrong: beyond, or "
        "inf for a finite KL.",
        "",
        *table(quads, exact, computed_values(quads)),
    ]
    text = "\n".join(lines) + "\n"
    if args.output:
        args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

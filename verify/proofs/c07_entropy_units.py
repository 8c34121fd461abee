"""C7 -- entropy H = −Σ P(x) log_b P(x); b = 2 bits, b = e nats, b = 10 hartleys.

Run it: ``python -m verify.proofs.c07_entropy_units`` or ``verify prove C7``.
"""

from __future__ import annotations

import inspect
import math

import mpmath
import numpy as np
import sympy as sp

import verify
from verify import _units
from verify.families import Distribution
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts
from verify.symbolic import expected_log

#: The quantities its steps evaluate at every family (compiled ahead by `verify prove`).
EVALUATES = ("kl", "entropy", "cross_entropy")

proof = Proof(
    Claim(
        id="C7",
        title="Entropy and its units",
        statement=("H(X) = −Σᵢ P(xᵢ) log_b P(xᵢ); b = 2 gives bits, b = e nats, b = 10 hartleys."),
        expected=Verdict.PROVED,
    )
)

BASES = ("bits", "nats", "hartleys", 2, math.e, 10, 3.5, 0.5)


def functions_with_base():
    """Every public function and Distribution method of verify that takes ``base``."""
    found = []
    for name in verify.__all__:
        obj = getattr(verify, name)
        if callable(obj) and not inspect.isclass(obj) and _takes_base(obj):
            found.append((f"verify.{name}", obj))
    for name, method in inspect.getmembers(Distribution, inspect.isfunction):
        if not name.startswith("_") and _takes_base(method):
            found.append((f"Distribution.{name}", method))
    return found


def _takes_base(function):
    try:
        return "base" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


@proof.step("H_b = H_e / ln b for every family, from the definition with log_b")
def change_of_base(ctx):
    """For a symbol b > 0, SymPy computes −E_P[log_b p(X)] from each family's density
    (sum or integral, as for the entropy itself) and proves it equal to the derived
    entropy in nats divided by ln b."""
    b = sp.Symbol("b", positive=True)
    evidence = []
    for family in _shared.families_with("entropy"):
        derivation = _shared.derive("entropy", family)
        (p,) = derivation.families
        # log_b p(x) = ln p(x) / ln b, the definition of the base-b logarithm
        in_base_b = -expected_log(p, lambda x, p=p: p.log_density(x) / sp.log(b))
        evidence.append(
            facts.identity(
                f"{family.__name__}: −E_P[log_b p(X)] = H_e(P) / ln b",
                in_base_b,
                derivation.expr / sp.log(b),
                relations=p.assumptions,
                display=sp.Eq(sp.Symbol("H_b"), derivation.expr / sp.log(b), evaluate=False),
                names=p.latex_names,
            )
        )
    return evidence


@proof.step("The unit names stand for b = 2, e and 10", role="proof")
def unit_names(ctx):
    """The base= argument maps "bits" to 2, "nats" to e and "hartleys" to 10."""
    expected = {"bits": 2, "nats": math.e, "hartleys": 10}
    table = {name: _units.UNIT_NAMES.get(name) for name in expected}
    return Evidence(
        "exact",
        "verify's unit names: bits → b = 2, nats → b = e, hartleys → b = 10",
        passed=table == expected,
        figures={name: repr(value) for name, value in table.items()},
    )


@proof.step("Every function that takes a base obeys the conversion in float64", role="cross-check")
def every_function(ctx):
    """Each public function and method with a base= argument (found by inspecting
    the package) is evaluated for every family at random parameters in 8 bases;
    f(base=b) must equal f() / ln b to 4 ulp."""
    functions = functions_with_base()
    actual, expected = [], []
    for family in _shared.families_with("kl", "entropy", "cross_entropy"):
        rng = ctx.rng(family.__name__)
        p = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        q = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        for _, function in functions:
            args = (p,) if function.__name__ == "entropy" else (p, q)
            nats = np.asarray(function(*args))
            for base in BASES:
                ln_b = _units.log_base(base) or 1.0
                actual.append(np.asarray(function(*args, base=base)))
                expected.append(nats / ln_b)
    evidence = [
        facts.close(
            f"f(base=b) = f() / ln b for {len(functions)} functions × {len(BASES)} bases × "
            f"{len(_shared.families_with('kl', 'entropy', 'cross_entropy'))} families",
            np.concatenate(actual),
            np.concatenate(expected),
            rtol=4 * np.finfo(np.float64).eps,
            figures={"functions": ", ".join(name for name, _ in functions)},
        )
    ]
    with mpmath.workdps(40):
        p = mpmath.mpf(3) / 10
        exact = {
            "bits": -(p * mpmath.log(p, 2) + (1 - p) * mpmath.log(1 - p, 2)),
            "hartleys": -(p * mpmath.log(p, 10) + (1 - p) * mpmath.log(1 - p, 10)),
            "nats": -(p * mpmath.log(p) + (1 - p) * mpmath.log(1 - p)),
        }
    values = {u: float(verify.entropy(verify.Bernoulli(probs=0.3), base=u)) for u in exact}
    evidence.append(
        facts.close(
            "H(Bernoulli(0.3)) in bits, hartleys and nats against mpmath at 40 digits",
            list(values.values()),
            [float(v) for v in exact.values()],
            rtol=4 * np.finfo(np.float64).eps,
            kind="exact",
            figures={f"H in {u}": v for u, v in values.items()},
        )
    )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

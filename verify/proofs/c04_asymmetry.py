"""C4 -- asymmetry: in general D(P||Q) != D(Q||P).

Run it: ``python -m verify.proofs.c04_asymmetry`` or ``verify prove C4``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts

#: The quantities its steps evaluate at every family (compiled ahead by `verify prove`).
EVALUATES = ("kl",)

proof = Proof(
    Claim(
        id="C4",
        title="Asymmetry of KL",
        statement="In general D(P‖Q) ≠ D(Q‖P).",
        expected=Verdict.PROVED,
    )
)


def swapped(derivation):
    """D(Q‖P) from the derivation of D(P‖Q), by exchanging P's and Q's symbols."""
    p, q = derivation.families
    pairs = list(zip(p.symbols(), q.symbols()))
    swap = {**dict(pairs), **{b: a for a, b in pairs}}
    return derivation.expr.xreplace(swap)


def _short_rational(value):
    """A rational with few digits near ``value``, on the same side of 0 and 1 as it.

    Rounding to two decimals keeps the figures short; where that would move a
    parameter onto 0 or 1 (an edge of its domain), more digits are kept.
    """
    for digits in (2, 4, 8):
        short = sp.Rational(str(round(value, digits)))
        if (short > 0) == (value > 0) and (short < 1) == (value < 1) and short != 0:
            return short
    return sp.Rational(value)


def _q_symbols_equal_to(derivation, values):
    """``{q symbol: expression}`` setting Q's parameters to ``values`` (flattened)."""
    return dict(zip(derivation.families[1].symbols(), values))


@proof.step("A counterexample to symmetry in every family, found by search and evaluated exactly")
def counterexamples(ctx):
    """The difference D(P‖Q) − D(Q‖P) is built from the derived closed form. A
    random search picks parameters (rounded to short decimals, i.e. rationals);
    SymPy evaluates the difference at those rationals to 50 significant digits,
    far from zero: one pair with D(P‖Q) ≠ D(Q‖P) settles "not symmetric in
    general" for the family."""
    evidence = []
    for family in _shared.FAMILIES:
        derivation = _shared.derive("kl", family, family)
        difference = derivation.expr - swapped(derivation)
        rng = ctx.rng(family.__name__)
        p = _shared.random_params(family, rng, 1)
        q = _shared.random_params(family, rng, 1)
        values = {}
        for fam, params in zip(derivation.families, (p, q)):
            row = _shared.assign(fam, [np.asarray(x)[0] for x in params])
            values.update({s: _short_rational(v) for s, v in row.items()})
            if fam.assumptions:  # on the simplex: the last entry makes the sum exactly 1
                last = fam.symbols()[-1]
                values[last] = 1 - sum(values[s] for s in fam.symbols()[:-1])
        exact = difference.subs(values).evalf(50)
        shown = sp.Eq(sp.Symbol("D(P‖Q) − D(Q‖P)"), exact.evalf(12), evaluate=False)
        evidence.append(
            Evidence(
                "counterexample",
                f"{family.__name__}: D(P‖Q) − D(Q‖P) ≠ 0 at rational parameters",
                passed=bool(abs(exact) > sp.Float("1e-40")),
                formula=facts.pretty(shown),
                latex=facts.latex(shown),
                figures={str(s): str(v) for s, v in values.items()},
            )
        )
    derivation = _shared.derive("kl", verify.Normal, verify.Normal)
    difference = sp.factor_terms(sp.expand(derivation.expr - swapped(derivation)))
    evidence.append(
        facts.symbolic_fact(
            "Normal: the difference as a function of the parameters is not identically zero",
            not sp.simplify(difference) == 0,
            sp.Eq(sp.Symbol("D(P‖Q) − D(Q‖P)"), difference, evaluate=False),
        )
    )
    return evidence


@proof.step("The special cases where KL is symmetric")
def symmetric_cases(ctx):
    """Normals of equal variance: both directions are (μ_p − μ_q)²/(2σ²).
    Multivariate normals of equal covariance: both are ½ Mahalanobis distance².
    Bernoulli(p) against Bernoulli(1 − p), and a categorical against itself with
    two classes swapped: exchanging P and Q is a relabelling of the outcomes,
    which leaves KL unchanged. SymPy proves each difference zero."""
    cases = []
    d = _shared.derive("kl", verify.Normal, verify.Normal)
    _, scale_p = d.families[0].params
    cases.append(("Normal, equal scales", d, [d.families[1].params[0], scale_p]))
    d = _shared.derive("kl", verify.MultivariateNormal, verify.MultivariateNormal)
    loc_q = list(d.families[1].params[0])
    tril_p = [e for e in d.families[0].params[1] if e.is_Symbol]
    cases.append(("MultivariateNormal, equal covariances", d, loc_q + tril_p))
    d = _shared.derive("kl", verify.Bernoulli, verify.Bernoulli)
    cases.append(("Bernoulli(p) vs Bernoulli(1 − p)", d, [1 - d.families[0].params[0]]))
    d = _shared.derive("kl", verify.Categorical, verify.Categorical)
    (probs_p,) = d.families[0].params
    cases.append(
        (
            "Categorical vs itself with classes 0 and 1 swapped",
            d,
            [probs_p[1], probs_p[0], *list(probs_p)[2:]],
        )
    )
    evidence = []
    for name, derivation, q_values in cases:
        subs = _q_symbols_equal_to(derivation, q_values)
        forward = derivation.expr.subs(subs)
        backward = swapped(derivation).subs(subs)
        p = derivation.families[0]
        evidence.append(
            facts.identity(
                f"{name}: D(P‖Q) = D(Q‖P)",
                forward,
                backward,
                relations=p.assumptions,
                display=sp.Eq(sp.Symbol("D(P‖Q)"), sp.factor_terms(forward), evaluate=False)
                if derivation.families[0].name in ("Normal", "Bernoulli")
                else sp.Eq(sp.Symbol("D(P‖Q)"), sp.Symbol("D(Q‖P)")),
            )
        )
    return evidence


@proof.step("float64: random pairs are asymmetric, the special cases symmetric", role="cross-check")
def numeric(ctx):
    """Over 10 000 random pairs per family, the share with |D(P‖Q) − D(Q‖P)| >
    1e-9; and at random instances of the special cases, the two directions agree
    to rounding."""
    evidence = []
    for family in _shared.FAMILIES:
        rng = ctx.rng(family.__name__)
        p = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        q = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        gap = np.abs(np.asarray(verify.kl(p, q) - verify.kl(q, p)))
        share = float((gap > 1e-9).mean())
        evidence.append(
            Evidence(
                "numeric",
                f"{family.__name__}: random pairs are asymmetric",
                passed=share > 0.99,
                figures={
                    "pairs": gap.size,
                    "share with |difference| > 1e-9": share,
                    "median |difference|": float(np.median(gap)),
                },
            )
        )
    rng = ctx.rng("special")
    loc_p, scale = _shared.random_params(verify.Normal, rng, _shared.BATCH)
    loc_q, _ = _shared.random_params(verify.Normal, rng, _shared.BATCH)
    p, q = verify.Normal(loc_p, scale), verify.Normal(loc_q, scale)
    (probs,) = _shared.random_params(verify.Bernoulli, rng, _shared.BATCH)
    a, b = verify.Bernoulli(probs=probs), verify.Bernoulli(probs=1 - probs)
    forward = np.concatenate([np.asarray(verify.kl(p, q)), np.asarray(verify.kl(a, b))])
    backward = np.concatenate([np.asarray(verify.kl(q, p)), np.asarray(verify.kl(b, a))])
    evidence.append(
        facts.close(
            "equal-variance normals and Bernoulli(p) vs (1 − p): symmetric in float64",
            forward,
            backward,
            rtol=1e-13,
            atol=1e-15,
        )
    )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

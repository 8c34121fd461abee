"""C5 -- "KL satisfies the properties of a metric except symmetry" (false).

A metric also satisfies the triangle inequality d(P, R) <= d(P, Q) + d(Q, R).
KL does not; this proof searches for a triple that violates it and re-checks the
triple exactly. Run it: ``python -m verify.proofs.c05_not_a_metric`` or
``verify prove C5``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts

proof = Proof(
    Claim(
        id="C5",
        title="KL is a metric except for symmetry",
        statement=(
            "KL divergence satisfies the properties of a metric except symmetry "
            "(non-negativity, identity of indiscernibles, triangle inequality)."
        ),
        expected=Verdict.REFUTED,
    )
)

SEARCH_SIZE = _shared.SEARCH


def search_triangle(family, rng, divergence):
    """Random triples (P, Q, R), parameters rounded to two decimals so a person
    can re-type them; returns the triples, the violation
    D(P‖R) − D(P‖Q) − D(Q‖R) of each (positive = triangle inequality broken) and
    D(P‖R)."""
    triple = [_shared.random_params(family, rng, SEARCH_SIZE) for _ in range(3)]
    triple = [
        tuple(
            np.clip(np.round(x, 2), 0.01, None)
            if i or family is verify.Bernoulli
            else np.round(x, 2)
            for i, x in enumerate(params)
        )
        for params in triple
    ]
    if family is verify.Bernoulli:
        triple = [(np.clip(params[0], 0.01, 0.99),) for params in triple]
    p, q, r = (_shared.make(family, params) for params in triple)
    direct = np.asarray(divergence(p, r))
    violation = direct - np.asarray(divergence(p, q)) - np.asarray(divergence(q, r))
    return triple, violation, direct


def simplest(violation, direct):
    """The violating triple a student checks most easily: the smallest D(P‖R)
    among those breaking the inequality by more than 0.01 nats."""
    candidates = np.flatnonzero(violation > 0.01)
    return int(candidates[np.argmin(direct[candidates])])


def _kl(p, q):
    return verify.kl(p, q)


def _jeffreys(p, q):
    return verify.kl(p, q) + verify.kl(q, p)


@proof.step("A triple with D(P‖R) > D(P‖Q) + D(Q‖R): found by search, confirmed exactly")
def triangle_counterexample(ctx):
    """100 000 random triples of Bernoulli and of normal distributions are
    evaluated in float64. The simplest violating triple is re-evaluated
    in exact arithmetic (mpmath, 350 digits, the floats taken as exact): if the
    violation is still positive, it is a counterexample to the triangle
    inequality, hence to the claim."""
    evidence = []
    for family in (verify.Bernoulli, verify.Normal):
        triple, violation, direct = search_triangle(family, ctx.rng(family.__name__), _kl)
        best = simplest(violation, direct)
        rows = [tuple(x[best : best + 1] for x in params) for params in triple]
        derivation = _shared.derive("kl", family, family)
        (d_pr,) = _shared.exact_values(derivation, rows[0], rows[2])
        (d_pq,) = _shared.exact_values(derivation, rows[0], rows[1])
        (d_qr,) = _shared.exact_values(derivation, rows[1], rows[2])
        described = [_describe(family, row) for row in rows]
        shown = sp.Symbol(
            f"D(P‖R) = {d_pr:.6g} > D(P‖Q) + D(Q‖R) = {d_pq:.6g} + {d_qr:.6g} = {d_pq + d_qr:.6g}"
        )
        evidence.append(
            Evidence(
                "counterexample",
                f"{family.__name__}: P = {described[0]}, Q = {described[1]}, R = {described[2]} "
                "violate the triangle inequality, in exact arithmetic",
                passed=bool(d_pr > d_pq + d_qr),
                refutes=True,
                formula=facts.pretty(shown),
                figures={
                    **{
                        name: [float(np.asarray(x).ravel()[0]) for x in row]
                        for name, row in zip("PQR", rows)
                    },
                    "triples searched": SEARCH_SIZE,
                    "share of triples violating it in float64": float((violation > 0).mean()),
                    "D(P‖R) − D(P‖Q) − D(Q‖R), exact": d_pr - d_pq - d_qr,
                },
            )
        )
    return evidence


def _describe(family, row):
    values = [float(np.asarray(x).ravel()[0]) for x in row]
    if family is verify.Bernoulli:
        return f"Bernoulli({values[0]!r})"
    return f"Normal({values[0]!r}, {values[1]!r})"


@proof.step("Why: for equal-variance normals KL is a squared distance")
def squared_distance(ctx):
    """With a common σ, SymPy's closed form gives D(P‖R) − D(P‖Q) − D(Q‖R) =
    (μ_p − μ_q)(μ_q − μ_r)/σ², positive whenever μ_q lies strictly between μ_p
    and μ_r: a squared distance breaks the triangle inequality, as (1 + 1)² > 1² + 1²."""
    derivation = _shared.derive("kl", verify.Normal, verify.Normal)
    (loc_p, scale_p), (loc_q, scale_q) = (f.params for f in derivation.families)
    mu_p, mu_q, mu_r = sp.symbols("mu_p mu_q mu_r", real=True)
    sigma = sp.Symbol("sigma", positive=True)

    def kl(a, b):
        return derivation.expr.subs({loc_p: a, loc_q: b, scale_p: sigma, scale_q: sigma})

    violation = kl(mu_p, mu_r) - kl(mu_p, mu_q) - kl(mu_q, mu_r)
    claimed = (mu_p - mu_q) * (mu_q - mu_r) / sigma**2
    return facts.identity(
        "D(P‖R) − D(P‖Q) − D(Q‖R) for N(μ_p, σ²), N(μ_q, σ²), N(μ_r, σ²)",
        violation,
        claimed,
        display=sp.Eq(sp.Symbol("D(P‖R) − D(P‖Q) − D(Q‖R)"), sp.factor(violation), evaluate=False),
    )


@proof.step("Symmetrising does not help: Jeffreys' D(P‖Q) + D(Q‖P) also fails", role="cross-check")
def jeffreys(ctx):
    """The symmetrised divergence J(P, Q) = D(P‖Q) + D(Q‖P) is symmetric, yet the
    same search finds triples that break the triangle inequality for it too."""
    triple, violation, direct = search_triangle(verify.Bernoulli, ctx.rng("jeffreys"), _jeffreys)
    best = simplest(violation, direct)
    probs = [float(params[0][best]) for params in triple]
    return Evidence(
        "numeric",
        "Bernoulli triple breaking the triangle inequality for Jeffreys' divergence",
        passed=bool(violation[best] > 0),
        figures={
            "P, Q, R probs": probs,
            "J(P, R) − J(P, Q) − J(Q, R)": float(violation[best]),
            "share of triples violating it": float((violation > 0).mean()),
        },
    )


@proof.step("The other metric properties do hold (C3, C4)", role="cross-check")
def other_properties(ctx):
    """D(P‖P) = 0 and D(P‖Q) ≥ 0 are C3 (proved there); D is not symmetric (C4).
    Recomputed here for Bernoulli: the closed form at Q = P is 0."""
    derivation = _shared.derive("kl", verify.Bernoulli, verify.Bernoulli)
    (a,), (b,) = (f.params for f in derivation.families)
    with sp.evaluate(False):
        at_p = derivation.expr.subs(b, a)
    return facts.identity(
        "Bernoulli: the derived D(P‖Q) at Q = P simplifies to 0",
        at_p,
        0,
        display=sp.Eq(sp.Symbol("D(P‖P)"), at_p, evaluate=False),
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

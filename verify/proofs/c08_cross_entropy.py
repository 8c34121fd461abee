"""C8 -- cross-entropy H(P, Q) = −Σ P(x) log Q(x) equals H(P) at Q = P and exceeds it otherwise.

Run it: ``python -m verify.proofs.c08_cross_entropy`` or ``verify prove C8``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proofs.c03_nonnegativity import decomposition
from verify.proving import Claim, Evidence, Proof, Verdict, facts

#: The quantities its steps evaluate at every family (compiled ahead by `verify prove`).
EVALUATES = ("cross_entropy", "entropy")

proof = Proof(
    Claim(
        id="C8",
        title="Cross-entropy is at least the entropy",
        statement=(
            "H(P, Q) = −Σₓ P(x) log Q(x); it equals H(P) when Q = P and is larger otherwise."
        ),
        expected=Verdict.PROVED,
    )
)


def _q_equal_p(derivation):
    """Substitution making Q's parameters P's."""
    p, q = derivation.families
    return dict(zip(q.symbols(), p.symbols()))


@proof.step("The formula verify.cross_entropy runs is −E_P[log q(X)]")
def definition(ctx):
    """For every family, the registered cross-entropy (run on the SymPy backend)
    equals the form derived from the densities as −Σₓ P(x) log Q(x) or
    −∫ p(x) log q(x) dx."""
    evidence = []
    for family in _shared.families_with("cross_entropy"):
        derivation = _shared.derive("cross_entropy", family, family)
        p, q = derivation.families
        evidence.append(
            facts.identity(
                f"{family.__name__}: verify.cross_entropy = −E_P[log q(X)]",
                derivation.evaluation_form,
                derivation.expr,
                relations=p.assumptions + q.assumptions,
                display=sp.Eq(sp.Symbol("H(P, Q)"), derivation.expr, evaluate=False)
                if family in (verify.Normal, verify.Bernoulli)
                else None,
                names={**p.latex_names, **q.latex_names},
            )
        )
    return evidence


@proof.step("At Q = P the cross-entropy is the entropy")
def equal_at_p(ctx):
    """Substituting P's parameters for Q's in the derived H(P, Q) gives the derived H(P)."""
    evidence = []
    for family in _shared.families_with("cross_entropy", "entropy"):
        cross = _shared.derive("cross_entropy", family, family)
        entropy = _shared.derive("entropy", family)
        p_cross = cross.families[0]
        p_alone = entropy.families[0]
        rename = dict(zip(p_alone.symbols(), p_cross.symbols()))
        evidence.append(
            facts.identity(
                f"{family.__name__}: H(P, P) = H(P)",
                cross.expr.xreplace(_q_equal_p(cross)),
                entropy.expr.xreplace(rename),
                relations=p_cross.assumptions,
                display=sp.Eq(sp.Symbol("H(P, P)"), sp.Symbol("H(P)")),
            )
        )
    return evidence


@proof.step("H(P, Q) − H(P) is a sum of non-negative terms, zero only at Q = P")
def larger_otherwise(ctx):
    """H(P, Q) − H(P) is proved equal to the sum of weighted φ(t) = t − 1 − log t
    terms and squares of C3 (each ≥ 0, all zero only when Q's parameters are P's),
    or, for the families C3 covers by Gibbs' argument, to the derived D(P‖Q) =
    E_P[φ(q/p)]; so H(P, Q) > H(P) whenever Q ≠ P."""
    evidence = []
    for family in _shared.families_with("kl", "cross_entropy", "entropy"):
        cross = _shared.derive("cross_entropy", family, family)
        entropy = _shared.derive("entropy", family)
        rename = dict(zip(entropy.families[0].symbols(), cross.families[0].symbols()))
        kl, nonnegative_terms, terms = decomposition(family)
        p, q = cross.families
        if nonnegative_terms is None:  # Gibbs' argument of C3: D = E_P[φ(q/p)] ≥ 0
            nonnegative_terms, shown = kl.expr, "D(P‖Q) = E_P[φ(q/p)] ≥ 0 (C3)"
            statement = f"{family.__name__}: H(P, Q) − H(P) = D(P‖Q), ≥ 0 by Gibbs (C3)"
        else:
            shown = "Σ w·φ(t) + Σ ½(·)² ≥ 0"
            statement = f"{family.__name__}: H(P, Q) − H(P) = {len(terms)} non-negative terms"
        evidence.append(
            facts.identity(
                statement,
                cross.expr - entropy.expr.xreplace(rename),
                nonnegative_terms,
                relations=p.assumptions + q.assumptions,
                display=sp.Eq(sp.Symbol("H(P, Q) − H(P)"), sp.Symbol(shown)),
            )
        )
    return evidence


@proof.step(
    "float64 and Monte Carlo: H(P, Q) > H(P) at random pairs, = at Q = P", role="cross-check"
)
def numeric(ctx):
    """10 000 random pairs per family: every H(P, Q) − H(P) is positive; at Q = P
    the two agree to rounding. Sampling estimates −E_P[log q(X)] for a normal pair."""
    evidence = []
    for family in _shared.families_with("cross_entropy", "entropy"):
        rng = ctx.rng(family.__name__)
        p = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        q = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        gap = np.asarray(verify.cross_entropy(p, q) - verify.entropy(p))
        at_p = np.asarray(verify.cross_entropy(p, p))
        entropy = np.asarray(verify.entropy(p))
        evidence.append(
            Evidence(
                "numeric",
                f"{family.__name__}: H(P, Q) > H(P) for all random pairs; H(P, P) = H(P)",
                passed=bool((gap > 0).all())
                and bool(np.all(np.abs(at_p - entropy) <= 1e-13 * (1 + np.abs(entropy)))),
                figures={
                    "pairs": gap.size,
                    "smallest H(P, Q) − H(P)": float(gap.min()),
                    "max |H(P, P) − H(P)|": float(np.abs(at_p - entropy).max()),
                },
            )
        )
    from verify import montecarlo

    p, q = verify.Normal(0.0, 1.0), verify.Normal(0.5, 1.5)
    decision = montecarlo.compare(
        "cross_entropy", verify.cross_entropy(p, q), p, q, key=ctx.key("mc"), num_samples=10**6
    )
    evidence.append(
        facts.montecarlo_decision(
            "Normal(0, 1), Normal(0.5, 1.5): sampling agrees with H(P, Q)", decision
        )
    )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

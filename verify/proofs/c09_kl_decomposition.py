"""C9 -- D(P||Q) = H(P, Q) − H(P).

Run it: ``python -m verify.proofs.c09_kl_decomposition`` or ``verify prove C9``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Proof, Verdict, facts

#: The quantities its steps evaluate at every family (compiled ahead by `verify prove`).
EVALUATES = ("kl", "cross_entropy", "entropy")

proof = Proof(
    Claim(
        id="C9",
        title="KL is cross-entropy minus entropy",
        statement="D(P‖Q) = H(P, Q) − H(P).",
        expected=Verdict.PROVED,
    )
)


@proof.step("Symbolic identity for every family (differential entropy for densities)")
def identity(ctx):
    """The three quantities are derived separately from the densities (KL from
    E_P[log p − log q], cross-entropy from −E_P[log q], entropy from −E_P[log p]);
    SymPy proves D = H(P, Q) − H(P) for each family."""
    evidence = []
    for family in _shared.families_with("kl", "cross_entropy", "entropy"):
        kl = _shared.derive("kl", family, family)
        cross = _shared.derive("cross_entropy", family, family)
        entropy = _shared.derive("entropy", family)
        p, q = kl.families
        rename = dict(zip(entropy.families[0].symbols(), p.symbols()))
        h = entropy.expr.xreplace(rename)
        shown = (
            sp.Eq(sp.Symbol("D(P‖Q)"), sp.Add(cross.expr, -h, evaluate=False), evaluate=False)
            if family is verify.Normal
            else sp.Eq(sp.Symbol("D(P‖Q)"), sp.Symbol("H(P, Q) − H(P)"))
        )
        evidence.append(
            facts.identity(
                f"{family.__name__}: D(P‖Q) = H(P, Q) − H(P)",
                kl.expr,
                cross.expr - h,
                relations=p.assumptions + q.assumptions,
                display=shown,
                names={**p.latex_names, **q.latex_names},
            )
        )
    return evidence


@proof.step("float64 at random parameters", role="cross-check")
def numeric(ctx):
    """verify.kl against verify.cross_entropy − verify.entropy at 10 000 random pairs
    per family; the tolerance is the rounding of the subtraction, 1e-13 times the
    size of H(P, Q) and H(P)."""
    actual, expected, scale = [], [], []
    for family in _shared.families_with("kl", "cross_entropy", "entropy"):
        rng = ctx.rng(family.__name__)
        p = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        q = _shared.make(family, _shared.random_params(family, rng, _shared.BATCH))
        cross, entropy = np.asarray(verify.cross_entropy(p, q)), np.asarray(verify.entropy(p))
        actual.append(np.asarray(verify.kl(p, q)))
        expected.append(cross - entropy)
        scale.append(np.abs(cross) + np.abs(entropy))
    actual, expected, scale = map(np.concatenate, (actual, expected, scale))
    return facts.close(
        f"D(P‖Q) = H(P, Q) − H(P) at {len(actual):,} random pairs, "
        "within 1e-13·(|H(P,Q)| + |H(P)|)",
        (actual - expected) / scale,
        0.0,
        atol=1e-13,
        report_errors=False,
        figures={
            "max |D − (H(P,Q) − H(P))|": float(np.abs(actual - expected).max()),
            "max relative to the terms": float((np.abs(actual - expected) / scale).max()),
        },
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

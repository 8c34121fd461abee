"""C3 -- Gibbs' inequality: D(P||Q) >= 0, with equality iff P = Q.

Run it: ``python -m verify.proofs.c03_nonnegativity`` or ``verify prove C3``.
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
        id="C3",
        title="Non-negativity of KL",
        statement="D(P‖Q) ≥ 0, and D(P‖Q) = 0 if and only if P ≡ Q.",
        expected=Verdict.PROVED,
    )
)

_t = sp.Symbol("t", positive=True)


def phi(t):
    """φ(t) = t − 1 − log t, which is ≥ 0 on t > 0 and zero only at t = 1."""
    return t - 1 - sp.log(t)


def decomposition(family):
    """KL of ``family`` written as Σ (weight > 0)·φ(ratio) + Σ ½·square.

    Returns:
        ``(derivation, expression, terms)``: ``terms`` lists ``(kind, weight,
        argument)`` with kind ``"phi"`` (weight·φ(argument)) or ``"square"``
        (weight·argument²); every weight is positive, so every term is ≥ 0,
        and it is zero exactly when argument = 1 (φ) or argument = 0 (square).
        ``expression`` is None for a family without such a closed-form
        decomposition (:func:`gibbs` covers it).
    """
    derivation = _shared.derive("kl", family, family)
    p, q = derivation.families
    terms = []
    if family is verify.Normal:
        (loc_p, scale_p), (loc_q, scale_q) = p.params, q.params
        terms = [
            ("square", sp.S.Half, (loc_p - loc_q) / scale_q),
            ("phi", sp.S.Half, scale_p**2 / scale_q**2),
        ]
    elif family is verify.Bernoulli:
        (a,), (b,) = p.params, q.params
        terms = [("phi", a, b / a), ("phi", 1 - a, (1 - b) / (1 - a))]
    elif family is verify.Categorical:
        (a,), (b,) = p.params, q.params
        terms = [("phi", a[k], b[k] / a[k]) for k in range(a.shape[0])]
    elif family is verify.MultivariateNormal:
        (loc_p, tril_p), (loc_q, tril_q) = p.params, q.params
        ratio = tril_q.lower_triangular_solve(tril_p)  # A = L_q⁻¹ L_p
        offset = tril_q.lower_triangular_solve(loc_p - loc_q)
        d = ratio.shape[0]
        terms = [("phi", sp.S.Half, ratio[i, i] ** 2) for i in range(d)]
        terms += [("square", sp.S.Half, ratio[i, j]) for i in range(d) for j in range(i)]
        terms += [("square", sp.S.Half, offset[i]) for i in range(d)]
    else:
        return derivation, None, []
    expression = sp.Add(*(w * (phi(arg) if kind == "phi" else arg**2) for kind, w, arg in terms))
    return derivation, expression, terms


@proof.step("φ(t) = t − 1 − log t is ≥ 0, and zero only at t = 1")
def phi_is_nonnegative(ctx):
    """φ(1) = 0; φ′(t) = 1 − 1/t vanishes only at t = 1; φ″(t) = 1/t² > 0, so φ
    is strictly convex on t > 0 and its only stationary point is its global
    minimum. Hence φ(t) ≥ 0 with equality iff t = 1 (equivalently log t ≤ t − 1)."""
    first, second = sp.diff(phi(_t), _t), sp.diff(phi(_t), _t, 2)
    stationary = sp.solve(sp.Eq(first, 0), _t)
    holds = phi(_t).subs(_t, 1) == 0 and stationary == [1] and second.is_positive is True
    shown = sp.Tuple(
        sp.Eq(sp.Function("φ")(_t), phi(_t)),
        sp.Eq(sp.Function("φ")(1), phi(_t).subs(_t, 1)),
        sp.Eq(sp.Derivative(sp.Function("φ")(_t), _t, 2), second),
    )
    return facts.symbolic_fact(
        "φ(1) = 0, φ′ vanishes only at t = 1, φ″ > 0 for all t > 0",
        holds,
        shown,
        figures={"stationary points": str(stationary), "φ″ positive": str(second.is_positive)},
    )


@proof.step("Each family's KL is a positive combination of φ terms and squares, or E_P[φ(q/p)]")
def decompositions(ctx):
    """The closed form derived from the densities is proved equal to a sum whose
    every term is ≥ 0: weight·φ(ratio) with weight > 0, or ½·(something)². So
    D ≥ 0; and D = 0 forces every ratio to 1 and every square to 0, which makes
    the parameters of Q those of P (for the multivariate normal A = L_q⁻¹L_p = I
    and L_q⁻¹(μ_p − μ_q) = 0). Where P puts no mass (p_k = 0) the term p_k·φ is
    read as its limit q_k ≥ 0, and the conclusion is unchanged. For the other
    families Gibbs' argument is carried out on the density: Q's density is
    proved to integrate (or sum) to 1 over the support, so E_P[q(X)/p(X)] = 1
    and D(P‖Q) = E_P[−log(q/p)] = E_P[φ(q(X)/p(X))] ≥ 0, zero only where q = p
    P-almost surely."""
    evidence = []
    for family in _shared.FAMILIES:
        derivation, expression, terms = decomposition(family)
        if expression is None:
            evidence.append(gibbs(family))
            continue
        p, q = derivation.families
        weights_positive = all(_positive_weight(w) for _, w, _ in terms)
        shown = (
            expression
            if family in (verify.Normal, verify.Bernoulli)
            else sp.Symbol(
                " + ".join(("w·φ(·)" if kind == "phi" else "½(·)²") for kind, _, _ in terms)
            )
        )
        evidence.append(
            facts.identity(
                f"{family.__name__}: D(P‖Q) = {len(terms)} non-negative terms "
                f"({sum(k == 'phi' for k, _, _ in terms)} φ terms, "
                f"{sum(k == 'square' for k, _, _ in terms)} squares)",
                derivation.expr,
                expression,
                relations=p.assumptions + q.assumptions,
                display=sp.Eq(sp.Symbol("D(P‖Q)"), shown, evaluate=False),
                names={**p.latex_names, **q.latex_names},
            )
        )
        if not weights_positive:
            evidence.append(Evidence("symbolic", f"{family.__name__}: weights > 0", False))
    return evidence


def gibbs(family) -> Evidence:
    """Q's density integrates to 1 over P's support (SymPy), so D = E_P[φ(q/p)] ≥ 0."""
    from verify.symbolic import exponential_family

    derivation = _shared.derive("kl", family, family)
    p, q = derivation.families
    statement = (
        f"{family.__name__}: Q's density sums/integrates to 1 over the support "
        f"{p.support!r}, so D(P‖Q) = E_P[φ(q(X)/p(X))] ≥ 0"
    )
    if not q.support == p.support or exponential_family.split(q) is None:
        return Evidence("symbolic", statement + " (not shown: no normaliser route)", None)
    try:
        exponential_family.check_normaliser(q)
    except ArithmeticError as error:
        return Evidence("symbolic", statement, False, figures={"SymPy": str(error)})
    shown = sp.Eq(sp.Symbol("D(P‖Q)"), sp.Symbol("E_P[φ(q(X)/p(X))] ≥ 0"))
    return facts.symbolic_fact(statement, True, shown)


def _positive_weight(weight):
    """A weight is positive by its symbols' assumptions, or it is 1 − p with 0 < p < 1."""
    if weight.is_positive:
        return True
    (symbol,) = weight.free_symbols
    return sp.simplify(weight - (1 - symbol)) == 0


@proof.step("D(P‖P) = 0 for every family", role="proof")
def zero_at_equality(ctx):
    """Substituting Q's parameters by P's makes the derived closed form zero in
    SymPy. In float64, verify.kl(P, P) is exactly 0 for the scalar families; the
    multivariate normal goes through triangular solves, so it may leave a few
    units of rounding (reported)."""
    evidence = []
    for family in _shared.FAMILIES:
        derivation = _shared.derive("kl", family, family)
        p, q = derivation.families
        pairs = {}
        for a, b in zip(q.params, p.params):
            if hasattr(a, "shape"):
                pairs.update({x: y for x, y in zip(a, b) if x.is_Symbol})
            else:
                pairs[a] = b
        value = sp.simplify(derivation.expr.subs(pairs))
        evidence.append(
            facts.symbolic_fact(
                f"{family.__name__}: D(P‖P) = 0",
                value == 0,
                sp.Eq(sp.Symbol("D(P‖P)"), value, evaluate=False),
            )
        )
    values = {}
    for family in _shared.FAMILIES:
        params = _shared.random_params(family, ctx.rng(family.__name__), _shared.BATCH)
        dist = _shared.make(family, params)
        values[family.__name__] = np.asarray(verify.kl(dist, dist))
    evidence.append(
        facts.close(
            f"float64 verify.kl(P, P) at {_shared.BATCH} random P per family is 0 up to 4 ulp of 1",
            np.concatenate(list(values.values())),
            0.0,
            atol=4 * np.finfo(np.float64).eps,
            figures={
                f"{name}: exactly 0": f"{int((v == 0).sum())}/{v.size}"
                for name, v in values.items()
            },
        )
    )
    return evidence


@proof.step(
    "Search for a negative value: random and adversarial pairs, re-checked exactly",
    role="cross-check",
)
def search_for_negatives(ctx):
    """100 000 pairs per family, random and adversarial (P ≈ Q, extreme
    probabilities and scales), are evaluated in float64. Every negative float64
    value is a candidate counterexample and is re-evaluated exactly (mpmath, 350
    digits); a candidate that is negative in exact arithmetic would refute the
    claim. Negative float64 values that are positive exactly are rounding."""
    evidence = []
    for family in _shared.FAMILIES:
        rng = ctx.rng(family.__name__)
        adv_p, adv_q = _shared.adversarial_pairs(family, rng)
        n = _shared.SEARCH - len(adv_p[0])
        p = _shared.random_params(family, rng, n)
        q = _shared.random_params(family, rng, n)
        p = tuple(np.concatenate([a, b]) for a, b in zip(p, adv_p))
        q = tuple(np.concatenate([a, b]) for a, b in zip(q, adv_q))
        values = _shared.evaluate_in_batches(verify.kl, family, p, q)
        candidates = np.flatnonzero(values < 0)
        derivation = _shared.derive("kl", family, family)
        exact = (
            _shared.exact_values(
                derivation,
                tuple(x[candidates] for x in p),
                tuple(x[candidates] for x in q),
            )
            if candidates.size
            else np.empty(0)
        )
        confirmed = candidates[exact < 0]
        figures = {
            "pairs": int(values.size),
            "smallest float64 value": float(values.min()),
            "negative in float64 (rounding candidates)": int(candidates.size),
            "negative in exact arithmetic": int(confirmed.size),
        }
        if confirmed.size:
            i = int(confirmed[0])
            figures["P"] = [np.asarray(x[i]).tolist() for x in p]
            figures["Q"] = [np.asarray(x[i]).tolist() for x in q]
            evidence.append(
                Evidence(
                    "counterexample",
                    f"{family.__name__}: a pair with D(P‖Q) < 0",
                    passed=True,
                    refutes=True,
                    figures=figures,
                )
            )
        else:
            evidence.append(
                Evidence(
                    "numeric",
                    f"{family.__name__}: no pair with D(P‖Q) < 0 among "
                    f"{values.size}, every negative float64 value re-checked exactly",
                    passed=True,
                    figures=figures,
                )
            )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

"""C1 -- the discrete KL divergence D(P||Q) = sum_x P(x) log(P(x)/Q(x)).

Run it: ``python -m verify.proofs.c01_discrete_kl`` or ``verify prove C1``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Proof, Verdict, facts
from verify.symbolic import xlogy

proof = Proof(
    Claim(
        id="C1",
        title="Discrete KL divergence",
        statement="For discrete P and Q, D(P‖Q) = Σₓ P(x) log(P(x)/Q(x)).",
        expected=Verdict.PROVED,
    )
)

DISCRETE = (verify.Bernoulli, verify.Categorical)


def definition_sum(p_family, q_family):
    """Σₓ P(x) log(P(x)/Q(x)) written term by term from the two pmfs."""
    terms = []
    for x in p_family.support:
        p_x = sp.exp(p_family.log_density(x))
        q_x = sp.exp(q_family.log_density(x))
        terms.append(xlogy(p_x, p_x / q_x))
    return sp.Add(*terms)


@proof.step("The closed forms verify.kl evaluates are the defining sum")
def closed_forms_are_the_sum(ctx):
    """For each discrete family, the registered formula (the code verify.kl runs,
    executed on the SymPy backend) and the form derived from the pmf both equal
    Σₓ P(x) log(P(x)/Q(x)), written out over the support."""
    evidence = []
    for family in DISCRETE:
        derivation = _shared.derive("kl", family, family)
        p, q = derivation.families
        names = {**p.latex_names, **q.latex_names}
        total = definition_sum(p, q)
        relations = p.assumptions + q.assumptions
        evidence.append(
            facts.identity(
                f"{family.__name__}: the formula verify.kl runs equals the defining sum",
                derivation.evaluation_form,
                total,
                relations,
                display=sp.Eq(sp.Symbol(f"D_{family.__name__}(P‖Q)"), total, evaluate=False),
                names=names,
            )
        )
        evidence.append(
            facts.identity(
                f"{family.__name__}: the form derived from the pmf equals the defining sum",
                derivation.expr,
                total,
                relations,
                display=sp.Eq(sp.Symbol("derived"), sp.Symbol("Σₓ P(x) log(P(x)/Q(x))")),
            )
        )
    return evidence


@proof.step("The conventions 0·log(0/q) = 0 and p·log(p/0) = +∞")
def conventions(ctx):
    """The first convention is the limit p log(p/q) -> 0 as p -> 0+, the second
    the limit p log(p/q) -> +inf as q -> 0+ (SymPy limits). verify.kl must follow
    both: finite where P puts no mass, infinite where Q puts none but P does."""
    p, q = sp.symbols("p q", positive=True)
    term = p * sp.log(p / q)
    at_zero_p = sp.limit(term, p, 0, "+")
    at_zero_q = sp.limit(term, q, 0, "+")
    evidence = [
        facts.symbolic_fact(
            "lim_{p→0+} p log(p/q) = 0 and lim_{q→0+} p log(p/q) = +∞",
            at_zero_p == 0 and at_zero_q == sp.oo,
            sp.Tuple(
                sp.Eq(sp.Limit(term, p, 0, "+"), at_zero_p),
                sp.Eq(sp.Limit(term, q, 0, "+"), at_zero_q),
            ),
        )
    ]
    cases = [
        (
            "Bernoulli(0) ‖ Bernoulli(0.3)",
            verify.Bernoulli(probs=0.0),
            verify.Bernoulli(probs=0.3),
            -np.log(0.7),
        ),
        (
            "Bernoulli(0.5) ‖ Bernoulli(0)",
            verify.Bernoulli(probs=0.5),
            verify.Bernoulli(probs=0.0),
            np.inf,
        ),
        (
            "Categorical(½,½,0) ‖ (¼,¼,½)",
            verify.Categorical(probs=jnp.array([0.5, 0.5, 0.0])),
            verify.Categorical(probs=jnp.array([0.25, 0.25, 0.5])),
            np.log(2.0),
        ),
        (
            "Categorical(½,¼,¼) ‖ (½,½,0)",
            verify.Categorical(probs=jnp.array([0.5, 0.25, 0.25])),
            verify.Categorical(probs=jnp.array([0.5, 0.5, 0.0])),
            np.inf,
        ),
    ]
    values = [float(verify.kl(a, b)) for _, a, b, _ in cases]
    expected = [e for *_, e in cases]
    evidence.append(
        facts.close(
            "verify.kl honours both conventions (finite and infinite cases)",
            values,
            expected,
            rtol=4e-16,
            figures={name: value for (name, *_), value in zip(cases, values)},
        )
    )
    return evidence


@proof.step(
    "float64 values match the exact sum at random and adversarial parameters", role="cross-check"
)
def float64_against_exact(ctx):
    """The float64 verify.kl is compared with the defining sum evaluated in
    mpmath at 350 digits, at random parameters and at adversarial ones (P ≈ Q,
    probabilities near 0 and 1). The error is measured against the size of the
    sum's terms, the accuracy a correctly rounded evaluation of the sum has."""
    evidence = []
    for family in DISCRETE:
        rng = ctx.rng(family.__name__)
        adv_p, adv_q = _shared.adversarial_pairs(family, rng)
        n = 2000 - len(adv_p[0])  # 2000 points in all
        p = _shared.random_params(family, rng, n)
        q = _shared.random_params(family, rng, n)
        p = tuple(np.concatenate([a, b]) for a, b in zip(p, adv_p))
        q = tuple(np.concatenate([a, b]) for a, b in zip(q, adv_q))
        derivation = _shared.derive("kl", family, family)
        exact = _shared.exact_values(derivation, p, q)
        values = np.asarray(verify.kl(_shared.make(family, p), _shared.make(family, q)))
        (probs_p,), (probs_q,) = p, q
        if family is verify.Bernoulli:
            probs_p = np.stack([probs_p, 1 - probs_p], -1)
            probs_q = np.stack([probs_q, 1 - probs_q], -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.abs(probs_p * np.log(probs_p)) + np.abs(probs_p * np.log(probs_q))
        bound = 1e-13 * np.nansum(terms, -1) + 1e-15
        evidence.append(
            facts.close(
                f"{family.__name__}: |float64 − exact| ≤ 1e-13·Σ|terms| + 1e-15 "
                f"at {len(exact)} points",
                np.abs(values - exact) / bound,
                0.0,
                atol=1.0,
                kind="exact",
                report_errors=False,
                figures={
                    "max |float64 − exact|": float(np.nanmax(np.abs(values - exact))),
                    "largest error / bound": float(np.nanmax(np.abs(values - exact) / bound)),
                },
            )
        )
    return evidence


@proof.step("Monte Carlo: E_P[log P(X) − log Q(X)] agrees with the closed form", role="cross-check")
def monte_carlo(ctx):
    """Samples from P estimate the expectation that defines the divergence,
    independently of any algebra; the decision has a stated false-alarm rate."""
    from verify import montecarlo

    p = verify.Categorical(probs=jnp.array([0.6, 0.3, 0.1]))
    q = verify.Categorical(probs=jnp.array([0.2, 0.5, 0.3]))
    decision = montecarlo.compare("kl", verify.kl(p, q), p, q, key=ctx.key("mc"), num_samples=10**6)
    return facts.montecarlo_decision(
        "Categorical(0.6, 0.3, 0.1) ‖ (0.2, 0.5, 0.3): sampling agrees", decision
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

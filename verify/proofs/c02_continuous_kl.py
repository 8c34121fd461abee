"""C2 -- the continuous KL divergence D(P||Q) = ∫ p(x) log(p(x)/q(x)) dx.

Run it: ``python -m verify.proofs.c02_continuous_kl`` or ``verify prove C2``.
"""

from __future__ import annotations

import jax.numpy as jnp
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Proof, Verdict, facts

proof = Proof(
    Claim(
        id="C2",
        title="Continuous KL divergence",
        statement="For densities p and q, D(P‖Q) = ∫ p(x) log(p(x)/q(x)) dx.",
        expected=Verdict.PROVED,
    )
)


def bregman_kl_normal(p, q):
    """KL of two normals from the log-partition A(η): a route with no integral.

    For an exponential family, D(P_a‖P_b) = A(η_b) − A(η_a) − ⟨∇A(η_a), η_b − η_a⟩,
    with natural parameters η = (μ/σ², −1/(2σ²)) and A(η) = −η₁²/(4η₂) − ½ log(−2η₂).
    """
    e1, e2 = sp.symbols("eta1 eta2", real=True)
    log_partition = -(e1**2) / (4 * e2) - sp.log(-2 * e2) / 2
    gradient = [sp.diff(log_partition, e) for e in (e1, e2)]

    def natural(family):
        loc, scale = family.params
        return {e1: loc / scale**2, e2: -1 / (2 * scale**2)}

    eta_p, eta_q = natural(p), natural(q)
    inner = sum(g.subs(eta_p) * (eta_q[e] - eta_p[e]) for g, e in zip(gradient, (e1, e2)))
    return log_partition.subs(eta_q) - log_partition.subs(eta_p) - inner


@proof.step("The univariate normal closed form is the integral, computed by SymPy")
def univariate(ctx):
    """SymPy integrates p(x)(log p(x) − log q(x)) over the real line, starting from
    the density that Normal.log_prob evaluates (not from a typed-in formula). The
    formula verify.kl runs is proved equal to the result, and so is a second,
    independent route: the Bregman divergence of the normal log-partition."""
    derivation = _shared.derive("kl", verify.Normal, verify.Normal)
    p, q = derivation.families
    names = {**p.latex_names, **q.latex_names}
    x = p.variable
    integral = sp.Integral(
        sp.exp(p.log_density()) * (p.log_density() - q.log_density()), (x, -sp.oo, sp.oo)
    )
    density_p, density_q = sp.Function("p")(x), sp.Function("q")(x)
    shown = sp.Eq(
        sp.Integral(density_p * sp.log(density_p / density_q), (x, -sp.oo, sp.oo)),
        sp.factor_terms(derivation.expr),
        evaluate=False,
    )
    return [
        facts.symbolic_fact(
            "SymPy evaluates the defining integral (of the family's own density) in closed form",
            not derivation.expr.has(sp.Integral)
            and not integral.free_symbols - {*p.params, *q.params},
            shown,
            names,
        ),
        facts.identity(
            "the formula verify.kl runs equals the integral",
            derivation.evaluation_form,
            derivation.expr,
            display=sp.Eq(sp.Symbol("verify.kl"), derivation.evaluation_form, evaluate=False),
            names=names,
        ),
        facts.identity(
            "a second route, the Bregman divergence of A(η), gives the same closed form",
            bregman_kl_normal(p, q),
            derivation.expr,
            display=sp.Eq(
                sp.Symbol("A(η_q) − A(η_p) − ⟨∇A(η_p), η_q − η_p⟩"),
                sp.Symbol("∫ p log(p/q) dx"),
            ),
        ),
    ]


@proof.step("The multivariate normal closed form is the integral over R^d")
def multivariate(ctx):
    """With x = μ_p + L_p z the density of P becomes the standard normal (SymPy
    checks the Jacobian), and the integral becomes moments of z. The result is
    proved equal to the formula verify.kl runs, and to the textbook form
    ½[tr(Σ_q⁻¹Σ_p) + (μ_q−μ_p)ᵀΣ_q⁻¹(μ_q−μ_p) − d + log(det Σ_q / det Σ_p)]."""
    derivation = _shared.derive("kl", verify.MultivariateNormal, verify.MultivariateNormal)
    p, q = derivation.families
    (loc_p, tril_p), (loc_q, tril_q) = p.params, q.params
    cov_p, cov_q = tril_p * tril_p.T, tril_q * tril_q.T
    precision_q = cov_q.inv()
    delta = loc_q - loc_p
    d = loc_p.shape[0]
    textbook = (
        (precision_q * cov_p).trace()
        + (delta.T * precision_q * delta)[0, 0]
        - d
        + sp.log(cov_q.det())
        - sp.log(cov_p.det())
    ) / 2
    shown = sp.Eq(
        sp.Symbol("D(P‖Q)"),
        sp.Symbol("½[tr(Σ_q⁻¹Σ_p) + (μ_q−μ_p)ᵀΣ_q⁻¹(μ_q−μ_p) − d + log(det Σ_q / det Σ_p)]"),
        evaluate=False,
    )
    return [
        facts.identity(
            f"d = {d}: the formula verify.kl runs equals the integral",
            derivation.evaluation_form,
            derivation.expr,
            display=sp.Eq(sp.Symbol("verify.kl"), sp.Symbol("∫ p log(p/q) dx"), evaluate=False),
        ),
        facts.identity(
            f"d = {d}: the integral equals the textbook matrix form",
            textbook,
            derivation.expr,
            display=shown,
        ),
    ]


@proof.step(
    "Monte Carlo: E_P[log p(X) − log q(X)] agrees with the closed forms", role="cross-check"
)
def monte_carlo(ctx):
    """Sampling estimates the defining expectation without any algebra. A planted
    error (the Normal closed form with its log-ratio of scales counted twice) must
    be caught, which shows the test has the power to see a wrong formula."""
    from verify import montecarlo

    p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
    mvn_p = verify.MultivariateNormal(
        jnp.array([0.0, 1.0]), scale_tril=jnp.array([[1.0, 0.0], [0.5, 0.8]])
    )
    mvn_q = verify.MultivariateNormal(
        jnp.array([0.5, 0.0]), scale_tril=jnp.array([[1.5, 0.0], [-0.3, 1.2]])
    )
    ratio = 0.5  # scale_p / scale_q
    planted = (1 / 2) ** 2 / 2 + (ratio**2 - 1) / 2 - 2 * jnp.log(ratio)
    cases = [
        ("Normal(0, 1) ‖ Normal(1, 2)", verify.kl(p, q), p, q, "agree"),
        ("MultivariateNormal pair, d = 2", verify.kl(mvn_p, mvn_q), mvn_p, mvn_q, "agree"),
        ("planted wrong value for Normal(0, 1) ‖ Normal(1, 2)", planted, p, q, "disagree"),
    ]
    evidence = []
    for name, value, a, b, expect in cases:
        decision = montecarlo.compare("kl", value, a, b, key=ctx.key(name), num_samples=10**6)
        evidence.append(
            facts.montecarlo_decision(f"{name}: sampling must {expect}", decision, expect=expect)
        )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

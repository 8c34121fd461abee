"""C13 -- minimising D(P_data||P_model) is maximising the log-likelihood.

Run it: ``python -m verify.proofs.c13_kl_vs_likelihood`` or ``verify prove C13``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts

proof = Proof(
    Claim(
        id="C13",
        title="Minimising KL to the data is maximum likelihood",
        statement=(
            "With P_data the distribution of the data, minimising D(P_data‖P_model(θ)) over θ "
            "is equivalent to maximising the log-likelihood."
        ),
        expected=Verdict.PROVED,
    )
)

K = 4  # classes of the numeric example


@proof.step("D(P_data‖P_θ) = −H(P_data) − (1/n) log L(θ), and ∇θ D = −(1/n) ∇θ log L")
def identity(ctx):
    """With counts nₖ (n = Σ nₖ) the empirical distribution is P_data(k) = nₖ/n and
    log L(θ) = Σₖ nₖ log P_θ(k). Substituting P_data into the derived KL and entropy,
    SymPy proves the identity for Bernoulli and categorical models; with P_θ =
    softmax(θ) it proves the gradients equal too. −H(P_data) does not depend on θ,
    so the argmin of D is the argmax of log L."""
    evidence = []
    for family in (verify.Bernoulli, verify.Categorical):
        kl = _shared.derive("kl", family, family)
        entropy = _shared.derive("entropy", family)
        p, q = kl.families
        support = p.support
        counts = sp.symbols(f"n_0:{len(support)}", positive=True)
        n = sp.Add(*counts)
        if family is verify.Bernoulli:
            data = {p.params[0]: counts[1] / n}
            data_entropy = {entropy.families[0].params[0]: counts[1] / n}
        else:
            data = {s: c / n for s, c in zip(p.symbols(), counts)}
            data_entropy = {s: c / n for s, c in zip(entropy.families[0].symbols(), counts)}
        log_likelihood = sp.Add(*(c * q.log_density(k) for c, k in zip(counts, support)))
        divergence = kl.expr.subs(data)
        rhs = -entropy.expr.subs(data_entropy) - log_likelihood / n
        evidence.append(
            facts.identity(
                f"{family.__name__}: D(P_data‖P_θ) = −H(P_data) − (1/n) log L(θ)",
                divergence,
                rhs,
                relations=q.assumptions,
                display=sp.Eq(
                    sp.Symbol("D(P_data‖P_θ)"), sp.Symbol("−H(P_data) − (1/n)·Σₖ nₖ log P_θ(k)")
                ),
            )
        )
        theta = sp.symbols(f"theta_0:{len(support)}", real=True)
        normaliser = sp.Add(*(sp.exp(t) for t in theta))
        if family is verify.Bernoulli:
            model = {q.params[0]: sp.exp(theta[1]) / normaliser}
        else:
            model = {s: sp.exp(t) / normaliser for s, t in zip(q.symbols(), theta)}
        for t in theta:
            evidence.append(
                facts.identity(
                    f"{family.__name__}: ∂D/∂{t} = −(1/n) ∂ log L/∂{t}",
                    sp.diff(divergence.subs(model), t),
                    -sp.diff(log_likelihood.subs(model), t) / n,
                    display=sp.Eq(sp.Symbol(f"∂D/∂{t}"), sp.Symbol(f"−(1/n) ∂log L/∂{t}")),
                )
            )
    return evidence


def _empirical(ctx):
    labels = verify.Categorical(probs=jnp.array([0.1, 0.2, 0.3, 0.4])).sample(
        ctx.key("data"), (500,)
    )
    counts = jnp.bincount(labels, length=K)
    return labels, verify.Categorical(probs=counts / labels.size)


@proof.step("On a real sample: the identity and the gradients at random θ", role="cross-check")
def numeric(ctx):
    """500 draws from a 4-class categorical. log L is summed over the draws
    themselves (log_prob of each xᵢ), not over the counts; P_data is the empirical
    distribution. At 200 random logits θ: verify.kl(P_data, P_θ) against
    −H(P_data) − (1/n) log L(θ), and jax.grad of both sides."""
    labels, data = _empirical(ctx)
    n = labels.size
    theta = jnp.asarray(ctx.rng("theta").normal(0.0, 1.5, (200, K)))

    def divergence(t):
        return verify.kl(data, verify.Categorical(logits=t))

    def log_likelihood(t):
        return jnp.sum(verify.Categorical(logits=t).log_prob(labels))

    lhs = jax.jit(jax.vmap(divergence))(theta)
    rhs = -verify.entropy(data) - jax.jit(jax.vmap(log_likelihood))(theta) / n
    grad_lhs = jax.jit(jax.vmap(jax.grad(divergence)))(theta)
    grad_rhs = -jax.jit(jax.vmap(jax.grad(log_likelihood)))(theta) / n
    return [
        facts.close(
            "D(P_data‖P_θ) = −H(P_data) − (1/n) log L(θ)", lhs, rhs, rtol=1e-12, atol=1e-14
        ),
        facts.close("∇θ D = −(1/n) ∇θ log L", grad_lhs, grad_rhs, rtol=1e-12, atol=1e-14),
    ]


@proof.step("Descent on D and ascent on log L find the same θ: the MLE", role="cross-check")
def optimise(ctx):
    """Gradient descent on D(P_data‖P_θ) and gradient ascent on (1/n) log L(θ), from
    the same start with the same rate, take the same path and end where P_θ = P_data,
    i.e. at the MLE p̂ₖ = nₖ/n."""
    labels, data = _empirical(ctx)
    n = labels.size

    def run(objective, sign):
        def update(t, _):
            t = t + sign * 2.0 * jax.grad(objective)(t)
            return t, t

        return jax.lax.scan(update, jnp.zeros(K), None, length=500)[1]

    path_kl = jax.jit(lambda: run(lambda t: verify.kl(data, verify.Categorical(logits=t)), -1))()
    path_ll = jax.jit(
        lambda: run(lambda t: jnp.sum(verify.Categorical(logits=t).log_prob(labels)) / n, +1)
    )()
    reached = np.asarray(jax.nn.softmax(path_kl[-1]))
    mle = np.asarray(data.probs)
    return Evidence(
        "numeric",
        "same path; both end at p̂ₖ = nₖ/n",
        passed=bool(np.abs(np.asarray(path_kl - path_ll)).max() <= 1e-12)
        and bool(np.abs(reached - mle).max() <= 1e-9),
        figures={
            "max |θ_D − θ_logL| along the path": float(np.abs(path_kl - path_ll).max()),
            "softmax θ at the end": reached.tolist(),
            "nₖ/n": mle.tolist(),
        },
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

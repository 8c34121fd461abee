"""C12 -- argmax of the likelihood = argmax of the log-likelihood (the MLE).

Run it: ``python -m verify.proofs.c12_mle`` or ``verify prove C12``.
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
        id="C12",
        title="Maximum likelihood = maximum log-likelihood",
        statement="argmax_θ L(θ|X) = argmax_θ log L(θ|X): the MLE maximises either.",
        expected=Verdict.PROVED,
    )
)


@proof.step("log is strictly increasing, and ∇L = L·∇ log L with L > 0")
def same_maximisers(ctx):
    """d/dt log t = 1/t > 0 on t > 0, so log preserves order: L(θ₁) < L(θ₂) iff
    log L(θ₁) < log L(θ₂), hence the same maximisers. Writing L = exp(ℓ), SymPy
    differentiates: ∂L/∂θ = exp(ℓ)·∂ℓ/∂θ, and exp(ℓ) > 0, so the stationary points
    coincide too."""
    t = sp.Symbol("t", positive=True)
    theta = sp.Symbol("theta", real=True)
    ell = sp.Function("ell", real=True)(theta)
    slope = sp.diff(sp.log(t), t)
    chain = sp.diff(sp.exp(ell), theta) - sp.exp(ell) * sp.diff(ell, theta)
    return [
        facts.symbolic_fact(
            "d log t / dt = 1/t is positive for t > 0",
            slope.is_positive,
            sp.Eq(sp.Derivative(sp.log(t), t), slope, evaluate=False),
        ),
        facts.symbolic_fact(
            "∂ exp(ℓ(θ))/∂θ = exp(ℓ(θ)) ∂ℓ/∂θ",
            sp.simplify(chain) == 0 and sp.exp(ell).is_positive,
            sp.Eq(sp.Derivative(sp.exp(ell), theta), sp.diff(sp.exp(ell), theta), evaluate=False),
        ),
    ]


def normal_mle():
    """Solves ∇ log L = 0 for the normal, log L written with the sums S₁ = Σxᵢ, S₂ = Σxᵢ².

    Returns ``(symbols, log_likelihood, solution)``.
    """
    family = verify.Normal.symbolic()
    loc, scale = family.params
    x = family.variable
    n, s1, s2 = sp.symbols("n S_1 S_2", positive=True)
    coefficients = sp.Poly(sp.expand(family.log_density()), x).all_coeffs()[::-1]
    log_likelihood = sp.expand(n * coefficients[0] + s1 * coefficients[1] + s2 * coefficients[2])
    solutions = sp.solve(
        [sp.diff(log_likelihood, v) for v in (loc, scale)], [loc, scale], dict=True
    )
    return (loc, scale, n, s1, s2), log_likelihood, solutions


def counts_mle(family):
    """Solves ∇ log L = 0 for a discrete family, log L = Σₖ nₖ log P(k)."""
    sym = family.symbolic(**_shared.DIMS.get(family, {}))
    counts = sp.symbols(f"n_0:{len(sym.support)}", positive=True)
    log_likelihood = sp.Add(*(c * sym.log_density(k) for c, k in zip(counts, sym.support)))
    free = sym.symbols()
    if sym.assumptions:  # eliminate the last probability with Σ p = 1
        last = free[-1]
        (value,) = sp.solve(sym.assumptions[0], last)
        log_likelihood = log_likelihood.subs(last, value)
        free = free[:-1]
    solutions = sp.solve([sp.diff(log_likelihood, v) for v in free], free, dict=True)
    return sym, counts, free, log_likelihood, solutions


@proof.step("SymPy solves ∇ log L = 0: the closed-form MLEs")
def closed_forms(ctx):
    """Normal: log L = Σ log p(xᵢ) depends on the data through n, S₁ = Σxᵢ and
    S₂ = Σxᵢ² (the log-density is a quadratic in x); solving gives μ̂ = S₁/n and
    σ̂² = S₂/n − (S₁/n)², a maximum (negative-definite Hessian). Bernoulli and
    categorical: log L = Σₖ nₖ log P(k) with counts nₖ; solving (with Σ p = 1)
    gives p̂ₖ = nₖ/n."""
    evidence = []
    (loc, scale, n, s1, s2), log_likelihood, solutions = normal_mle()
    (solution,) = solutions
    hessian = sp.hessian(log_likelihood, (loc, scale)).subs(solution)
    expected_scale = sp.sqrt(s2 / n - (s1 / n) ** 2)
    # S₂ = S₁²/n + n·v with v > 0 the sample variance (Cauchy-Schwarz, non-constant data)
    variance = sp.Symbol("v", positive=True)
    at_data = sp.simplify(hessian.subs(s2, s1**2 / n + n * variance))
    negative_definite = at_data[0, 0].is_negative and at_data.det().is_positive
    evidence.append(
        facts.symbolic_fact(
            "Normal: μ̂ = S₁/n, σ̂ = √(S₂/n − (S₁/n)²), Hessian negative definite",
            sp.simplify(solution[loc] - s1 / n) == 0
            and sp.simplify(solution[scale] ** 2 - expected_scale**2) == 0
            and negative_definite is True,
            sp.Tuple(sp.Eq(sp.Symbol("μ̂"), solution[loc]), sp.Eq(sp.Symbol("σ̂"), solution[scale])),
            figures={"Hessian at the solution (v = sample variance > 0)": str(at_data)},
        )
    )
    for family in (verify.Bernoulli, verify.Categorical):
        sym, counts, free, _, solutions = counts_mle(family)
        total = sp.Add(*counts)
        expected = (
            {v: counts[k] / total for k, v in enumerate(free)}
            if family is verify.Categorical
            else {free[0]: counts[1] / total}
        )
        holds = len(solutions) == 1 and all(
            sp.simplify(solutions[0][v] - e) == 0 for v, e in expected.items()
        )
        evidence.append(
            facts.symbolic_fact(
                f"{family.__name__}: p̂ₖ = nₖ / n",
                holds,
                sp.Tuple(*(sp.Eq(v, solutions[0][v]) for v in free)),
            )
        )
    return evidence


def ascend(objective, theta, steps=300, learning_rate=0.5):
    """Gradient ascent; returns the last iterate."""

    def update(t, _):
        return t + learning_rate * jax.grad(objective)(t), None

    return jax.lax.scan(update, theta, None, length=steps)[0]


@proof.step(
    "JAX gradient ascent on the log-likelihood reaches the closed-form MLE", role="cross-check"
)
def gradient_ascent(ctx):
    """Samples of 2000 points; gradient ascent (300 to 2000 steps) on the mean log-likelihood
    over unconstrained parameters (Normal: μ and log σ; Bernoulli and categorical:
    logits), from a fixed start. The end point must match the closed forms above,
    evaluated on the sample."""
    n = 2000
    evidence = []
    xs = verify.Normal(2.0, 3.0).sample(ctx.key("normal"), (n,))

    def normal_ll(t):
        return jnp.mean(verify.Normal(t[0], jnp.exp(t[1])).log_prob(xs))

    theta = jax.jit(lambda t: ascend(normal_ll, t, steps=2000))(jnp.array([0.0, 0.0]))
    (loc, scale, n_s, s1, s2), _, (solution,) = normal_mle()
    values = {n_s: n, s1: float(jnp.sum(xs)), s2: float(jnp.sum(xs**2))}
    closed = [float(solution[loc].subs(values)), float(solution[scale].subs(values))]
    found = [float(theta[0]), float(jnp.exp(theta[1]))]
    evidence.append(
        facts.close(
            "Normal: (μ, σ) by gradient ascent = closed form",
            found,
            closed,
            rtol=1e-9,
            figures={"gradient ascent": found, "closed form": closed},
        )
    )
    flips = verify.Bernoulli(probs=0.3).sample(ctx.key("bernoulli"), (n,))
    logit = jax.jit(
        lambda t: ascend(
            lambda s: jnp.mean(verify.Bernoulli(logits=s).log_prob(flips)), t, learning_rate=4.0
        )
    )(jnp.array(0.0))
    sym, counts, free, _, (b_solution,) = counts_mle(verify.Bernoulli)
    b_closed = float(
        b_solution[free[0]].subs({counts[0]: n - int(flips.sum()), counts[1]: int(flips.sum())})
    )
    evidence.append(
        facts.close(
            "Bernoulli: p by gradient ascent = k/n",
            [float(jax.nn.sigmoid(logit))],
            [b_closed],
            rtol=1e-9,
        )
    )
    labels = verify.Categorical(probs=jnp.array([0.2, 0.5, 0.3])).sample(ctx.key("cat"), (n,))
    logits = jax.jit(
        lambda t: ascend(
            lambda s: jnp.mean(verify.Categorical(logits=s).log_prob(labels)),
            t,
            learning_rate=4.0,
            steps=600,
        )
    )(jnp.zeros(3))
    sym, counts, free, _, (c_solution,) = counts_mle(verify.Categorical)
    tallies = {c: int((labels == k).sum()) for k, c in enumerate(counts)}
    c_closed = [float(c_solution[v].subs(tallies)) for v in free]
    c_closed.append(1 - sum(c_closed))
    evidence.append(
        facts.close(
            "Categorical: probabilities by gradient ascent = nₖ/n",
            np.asarray(jax.nn.softmax(logits)),
            c_closed,
            rtol=1e-9,
        )
    )
    return evidence


@proof.step(
    "On a grid, L and log L peak at the same point (small n, no underflow)", role="cross-check"
)
def same_argmax_on_a_grid(ctx):
    """With 20 coin flips the likelihood itself is representable; over a grid of
    10 001 values of p, argmax L and argmax log L are the same grid point, the one
    nearest k/n."""
    flips = verify.Bernoulli(probs=0.35).sample(ctx.key("flips"), (20,))
    grid = jnp.linspace(1e-6, 1 - 1e-6, 10_001)
    log_l = jnp.sum(verify.Bernoulli(probs=grid[:, None]).log_prob(flips[None, :]), axis=1)
    likelihood = jnp.prod(
        jnp.exp(verify.Bernoulli(probs=grid[:, None]).log_prob(flips[None, :])), axis=1
    )
    k = int(flips.sum())
    nearest = int(jnp.argmin(jnp.abs(grid - k / 20)))
    a, b = int(jnp.argmax(likelihood)), int(jnp.argmax(log_l))
    return Evidence(
        "numeric",
        "argmax L = argmax log L = grid point nearest k/n",
        passed=a == b == nearest,
        figures={
            "k/n": k / 20,
            "argmax L": float(grid[a]),
            "argmax log L": float(grid[b]),
            "max L": float(likelihood[a]),
        },
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

"""C11 -- the likelihood of i.i.d. data is a product that underflows; its log does not.

Run it: ``python -m verify.proofs.c11_log_likelihood`` or ``verify prove C11``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import sympy as sp

import verify
from verify.proving import Claim, Evidence, Proof, Verdict, facts

proof = Proof(
    Claim(
        id="C11",
        title="Log-likelihood avoids underflow",
        statement=(
            "The likelihood of i.i.d. data is the product Πᵢ P(xᵢ|θ); the log-likelihood is "
            "the sum Σᵢ log P(xᵢ|θ); the product underflows numerically, the sum does not."
        ),
        expected=Verdict.VERIFIED,
    )
)

#: A realistic model and sample size: adult heights in cm, a thousand people.
HEIGHT_MEAN, HEIGHT_SD, N = 170.0, 10.0, 1000


@proof.step("log Πᵢ p(xᵢ) = Σᵢ log p(xᵢ) for any number n of observations")
def log_of_product(ctx):
    """For positive factors, SymPy rewrites the logarithm of the product over
    i = 1..n (n symbolic) into the sum of logarithms."""
    i, n = sp.symbols("i n", integer=True, positive=True)
    p = sp.IndexedBase("p", positive=True)
    product = sp.Product(p[i], (i, 1, n))
    expanded = sp.expand_log(sp.log(product), force=True)
    target = sp.Sum(sp.log(p[i]), (i, 1, n))
    return facts.symbolic_fact(
        "log of the likelihood product = sum of log-densities",
        expanded == target,
        sp.Eq(sp.log(product), expanded, evaluate=False),
    )


def _exact_log_likelihood_normal(xs, mean, sd):
    """Σ log N(x; mean, sd) and the product itself, in mpmath (no underflow: its
    exponent range is unbounded)."""
    with mpmath.workdps(50):
        mean, sd = mpmath.mpf(mean), mpmath.mpf(sd)
        densities = [
            mpmath.exp(-(((mpmath.mpf(float(x)) - mean) / sd) ** 2) / 2)
            / (sd * mpmath.sqrt(2 * mpmath.pi))
            for x in xs
        ]
        product = mpmath.fprod(densities)
        return float(mpmath.log(product)), mpmath.nstr(product, 8)


def _table(running32, running64, running_log):
    """The running product in both precisions next to the running log-likelihood."""
    rows = ["    n   Π p (float32)   Π p (float64)   Σ log p (float64)"]
    for n in (1, 10, 20, 30, 100, 190, 200, 500, 1000):
        rows.append(
            f"{n:>5}   {float(running32[n - 1]):<13.3g}   {float(running64[n - 1]):<13.3g}"
            f"   {float(running_log[n - 1]):.6g}"
        )
    return "\n".join(rows)


def _first_zero(values):
    zeros = np.flatnonzero(np.asarray(values) == 0)
    return int(zeros[0]) + 1 if zeros.size else None


@proof.step(
    "1000 heights: the product underflows in float32 and float64, the sum is exact",
    role="demonstration",
)
def heights(ctx):
    """Heights of n = 1000 people drawn from Normal(170 cm, 10 cm). The log-density
    averages about −3.7, so the likelihood is about 10^-1600: below the smallest float64
    (≈ 4.9e-324) and far below the smallest float32 (≈ 1.4e-45). The running
    product becomes exactly 0; the log-likelihood is an ordinary number, equal to
    the exact value (mpmath, 50 digits) to float64 rounding."""
    model = verify.Normal(HEIGHT_MEAN, HEIGHT_SD)
    xs = model.sample(ctx.key("heights"), (N,))
    densities64 = jnp.exp(model.log_prob(xs))
    densities32 = densities64.astype(jnp.float32)
    running64 = jnp.cumprod(densities64)
    running32 = jnp.cumprod(densities32)
    log_likelihood64 = float(jnp.sum(model.log_prob(xs)))
    log_likelihood32 = float(jnp.sum(jnp.log(densities32)))
    exact_log, exact_product = _exact_log_likelihood_normal(np.asarray(xs), HEIGHT_MEAN, HEIGHT_SD)
    holds = (
        float(running64[-1]) == 0.0
        and float(running32[-1]) == 0.0
        and np.isfinite(log_likelihood64)
        and abs(log_likelihood64 - exact_log) <= 1e-12 * abs(exact_log)
        and abs(log_likelihood32 - exact_log) <= 1e-5 * abs(exact_log)
    )
    running_log = jnp.cumsum(model.log_prob(xs))
    return Evidence(
        "exact",
        "n = 1000: product = 0 in float32 and float64; log-likelihood finite and exact",
        passed=holds,
        formula=_table(running32, running64, running_log),
        figures={
            "exact likelihood (mpmath)": exact_product,
            "product in float64": float(running64[-1]),
            "product in float32": float(running32[-1]),
            "float64 product first 0 at n": _first_zero(running64),
            "float32 product first 0 at n": _first_zero(running32),
            "exact log-likelihood": exact_log,
            "float64 Σ log p": log_likelihood64,
            "float64 relative error": abs(log_likelihood64 - exact_log) / abs(exact_log),
            "float32 Σ log p": log_likelihood32,
            "float32 relative error": abs(log_likelihood32 - exact_log) / abs(exact_log),
        },
    )


@proof.step("10 000 coin flips: the same for Bernoulli data", role="demonstration")
def coin_flips(ctx):
    """n = 10 000 draws from Bernoulli(0.3), k of them ones: L = 0.3^k 0.7^(n−k), whose
    exact logarithm k log 0.3 + (n − k) log 0.7 is computed in mpmath. The product of
    the float64 probabilities is 0; the sum of their logs matches the exact value."""
    model = verify.Bernoulli(probs=0.3)
    xs = model.sample(ctx.key("flips"), (10_000,))
    probs = jnp.exp(model.log_prob(xs))
    k = int(jnp.sum(xs))
    with mpmath.workdps(50):
        exact = k * mpmath.log(mpmath.mpf(0.3)) + (len(xs) - k) * mpmath.log(1 - mpmath.mpf(0.3))
        exact_product = mpmath.nstr(mpmath.exp(exact), 8)
        exact = float(exact)
    total = float(jnp.sum(model.log_prob(xs)))
    running = jnp.cumprod(probs)
    return Evidence(
        "exact",
        "n = 10 000: product = 0 in float64; log-likelihood finite and exact",
        passed=float(running[-1]) == 0.0 and abs(total - exact) <= 1e-12 * abs(exact),
        figures={
            "ones": k,
            "exact likelihood": exact_product,
            "product in float64": float(running[-1]),
            "float64 product first 0 at n": _first_zero(running),
            "exact log-likelihood": exact,
            "float64 Σ log p": total,
        },
    )


@proof.step(
    "The underflowed product gives no gradient; the log-likelihood does", role="demonstration"
)
def gradients(ctx):
    """Optimising the likelihood needs its gradient. In float64 at n = 1000, the
    gradient of the product with respect to μ is exactly 0 (the product is 0 at
    every μ nearby), while the gradient of the log-likelihood is its closed
    form Σ(xᵢ − μ)/σ²."""
    xs = verify.Normal(HEIGHT_MEAN, HEIGHT_SD).sample(ctx.key("heights"), (N,))
    mu = 165.0

    def product(m):
        return jnp.prod(jnp.exp(verify.Normal(m, HEIGHT_SD).log_prob(xs)))

    def log_likelihood(m):
        return jnp.sum(verify.Normal(m, HEIGHT_SD).log_prob(xs))

    grad_product = float(jax.jit(jax.grad(product))(mu))
    grad_log = float(jax.jit(jax.grad(log_likelihood))(mu))
    expected = float(jnp.sum(xs - mu) / HEIGHT_SD**2)
    return Evidence(
        "numeric",
        "∂L/∂μ = 0 (no information) while ∂ log L/∂μ = Σ(xᵢ − μ)/σ²",
        passed=grad_product == 0.0 and abs(grad_log - expected) <= 1e-10 * abs(expected),
        figures={
            "μ": mu,
            "∂L/∂μ (float64)": grad_product,
            "∂ log L/∂μ (JAX)": grad_log,
            "Σ(xᵢ − μ)/σ²": expected,
        },
    )


if __name__ == "__main__":
    raise SystemExit(proof.main())

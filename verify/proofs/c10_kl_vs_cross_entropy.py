"""C10 -- minimising D(P||Q_θ) over θ is equivalent to minimising H(P, Q_θ).

Run it: ``python -m verify.proofs.c10_kl_vs_cross_entropy`` or ``verify prove C10``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts
from verify.symbolic import to_jax

proof = Proof(
    Claim(
        id="C10",
        title="Minimising KL is minimising cross-entropy",
        statement="Minimising D(P‖Q) over Q is equivalent to minimising the cross-entropy H(P, Q).",
        expected=Verdict.PROVED,
    )
)


def normal_model(theta):
    """Q_θ = Normal(θ₀, exp θ₁)."""
    return verify.Normal(theta[..., 0], jnp.exp(theta[..., 1]))


def categorical_model(theta):
    """Q_θ = Categorical(softmax θ)."""
    return verify.Categorical(logits=theta)


def models():
    """name -> (P, θ ↦ Q_θ, size of θ); built when called, so in the caller's precision."""
    return {
        "Normal": (verify.Normal(0.7, 1.8), normal_model, 2),
        "Categorical": (verify.Categorical(probs=jnp.array([0.5, 0.3, 0.2])), categorical_model, 3),
    }


def objectives(p, model):
    """θ ↦ D(P‖Q_θ) and θ ↦ H(P, Q_θ)."""
    return (
        lambda theta: verify.kl(p, model(theta)),
        lambda theta: verify.cross_entropy(p, model(theta)),
    )


def _symbolic_model(family, q):
    """θ symbols and the substitution of Q's canonical parameters by functions of θ."""
    if family is verify.Normal:
        theta = sp.symbols("theta_0 theta_1", real=True)
        loc_q, scale_q = q.params
        return theta, {loc_q: theta[0], scale_q: sp.exp(theta[1])}
    (probs_q,) = q.params
    theta = sp.symbols(f"theta_0:{probs_q.shape[0]}", real=True)
    normaliser = sp.Add(*(sp.exp(t) for t in theta))
    return theta, {probs_q[k]: sp.exp(theta[k]) / normaliser for k in range(len(theta))}


@proof.step("SymPy: ∇θ D(P‖Q_θ) = ∇θ H(P, Q_θ), because D − H(P, Q) = −H(P) does not involve θ")
def symbolic_gradients(ctx):
    """With Q's parameters written as functions of θ (Normal: μ = θ₀, σ = exp θ₁;
    Categorical: softmax θ), the derived D and H(P, Q_θ) are differentiated by
    SymPy; each partial derivative of D equals that of the cross-entropy. The
    objectives differ by the constant H(P), so they have the same minimisers."""
    evidence = []
    for family in (verify.Normal, verify.Categorical):
        kl = _shared.derive("kl", family, family)
        cross = _shared.derive("cross_entropy", family, family)
        p, q = kl.families
        theta, model = _symbolic_model(family, q)
        d_kl = kl.expr.subs(model)
        d_ce = cross.expr.subs(model)
        difference = d_kl - d_ce
        evidence.append(
            facts.symbolic_fact(
                f"{family.__name__}: D(P‖Q_θ) − H(P, Q_θ) involves no θ",
                not (difference.free_symbols & set(theta))
                or all(_is_zero(sp.diff(difference, t), p) for t in theta),
                sp.Eq(sp.Symbol("D(P‖Q_θ) − H(P, Q_θ)"), sp.simplify(difference), evaluate=False),
            )
        )
        for t in theta:
            evidence.append(
                facts.identity(
                    f"{family.__name__}: ∂D/∂{t} = ∂H(P, Q)/∂{t}",
                    sp.diff(d_kl, t),
                    sp.diff(d_ce, t),
                    relations=p.assumptions,
                    display=sp.Eq(
                        sp.Symbol(f"∂D/∂{t}"), sp.simplify(sp.diff(d_ce, t)), evaluate=False
                    )
                    if family is verify.Normal
                    else sp.Eq(sp.Symbol(f"∂D/∂{t}"), sp.Symbol(f"∂H(P, Q)/∂{t}")),
                )
            )
    return evidence


def _is_zero(expr, family):
    from verify.symbolic import is_identically_zero

    return is_identically_zero(expr, family.assumptions)


@proof.step(
    "JAX autodiff: the gradients coincide at random θ, and match SymPy's", role="cross-check"
)
def autodiff(ctx):
    """jax.grad of θ ↦ verify.kl(P, Q_θ) and of θ ↦ verify.cross_entropy(P, Q_θ)
    at 200 random θ (vmap); both are also compared with SymPy's derivative of the
    cross-entropy compiled to JAX."""
    evidence = []
    for name, (p, model, size) in models().items():
        family = type(p)
        theta = jnp.asarray(ctx.rng(name).normal(0.0, 1.0, (200, size)))
        divergence, cross_entropy = objectives(p, model)
        grad_kl = jax.jit(jax.vmap(jax.grad(divergence)))(theta)
        grad_ce = jax.jit(jax.vmap(jax.grad(cross_entropy)))(theta)
        cross = _shared.derive("cross_entropy", family, family)
        p_sym, q_sym = cross.families
        symbols, sub = _symbolic_model(family, q_sym)
        values = _shared.assign(p_sym, [np.asarray(x) for x in p.canonical()])
        compiled = [
            to_jax(sp.diff(cross.expr.subs(sub), t).subs(values), list(symbols), name=f"d_{t}")
            for t in symbols
        ]
        grad_sympy = jnp.stack([f(*theta.T) * jnp.ones(len(theta)) for f in compiled], axis=-1)
        evidence.append(
            facts.close(
                f"{name}: jax.grad of D equals jax.grad of H(P, Q)",
                grad_kl,
                grad_ce,
                rtol=1e-12,
                atol=1e-13,
            )
        )
        evidence.append(
            facts.close(
                f"{name}: and equals SymPy's derivative",
                grad_kl,
                grad_sympy,
                rtol=1e-12,
                atol=1e-13,
            )
        )
    return evidence


def descend(objective, theta, steps=400, learning_rate=0.2):
    """Plain gradient descent; returns the trajectory (steps + 1, dim)."""

    def update(t, _):
        t = t - learning_rate * jax.grad(objective)(t)
        return t, t

    _, path = jax.lax.scan(update, theta, None, length=steps)
    return jnp.concatenate([theta[None], path])


@proof.step(
    "Gradient descent on D and on H(P, Q) follows the same path to the same θ", role="cross-check"
)
def gradient_descent(ctx):
    """From the same random start, 400 steps of gradient descent (rate 0.2) on each
    objective. The two trajectories coincide to rounding and end at the minimiser
    Q_θ = P (μ = 0.7, σ = 1.8; probabilities 0.5, 0.3, 0.2)."""
    evidence = []
    for name, (p, model, size) in models().items():
        start = jnp.asarray(ctx.rng(name).normal(0.0, 1.0, size))
        divergence, cross_entropy = objectives(p, model)
        path_kl = jax.jit(functools.partial(descend, divergence))(start)
        path_ce = jax.jit(functools.partial(descend, cross_entropy))(start)
        final = model(path_kl[-1])
        target = np.concatenate([np.ravel(x) for x in p.canonical()])
        reached = np.concatenate([np.ravel(x) for x in final.canonical()])
        evidence.append(
            Evidence(
                "numeric",
                f"{name}: same trajectory, same end point, which is Q = P",
                passed=bool(np.abs(np.asarray(path_kl - path_ce)).max() <= 1e-12)
                and bool(np.abs(reached - target).max() <= 1e-6),
                figures={
                    "start θ": np.asarray(start).round(6).tolist(),
                    "end θ (descent on D)": np.asarray(path_kl[-1]).tolist(),
                    "end θ (descent on H(P, Q))": np.asarray(path_ce[-1]).tolist(),
                    "max |θ_D − θ_H| along the path": float(np.abs(path_kl - path_ce).max()),
                    "Q's parameters at the end": reached.tolist(),
                    "P's parameters": target.tolist(),
                    "final D(P‖Q_θ)": float(verify.kl(p, final)),
                },
            )
        )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

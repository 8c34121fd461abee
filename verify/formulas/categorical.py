"""Closed forms for the categorical distribution, in nats; K is the last axis.

Proved equal to the derivation for K = 2, ..., 6 in ``tests/test_formulas.py``.

Why this KL form: ``sum_k p_k log(p_k / q_k)`` sums terms of both signs to a
result that is ``O(|p - q|**2)``: near-equal distributions lose every digit.
Written as ``sum_k kl_div(p_k, q_k) + sum_k (p_k - q_k)`` with ``kl_div(x, y) =
x log(x/y) - x + y >= 0`` (evaluated by :func:`verify._special.kl_div_delta`
from the exact differences ``p_k - q_k``), the first sum has no cancellation,
and the second, zero on the simplex, is the exact difference of the two
vectors' sums (:func:`verify._special.sum_diff`, compensated). The result is
the definition's value for the given floating-point vectors, to a few ulp,
with its partial derivatives; where the vectors' float sums differ (by
rounding, about ``K * eps``) that value can be below zero by as much.

Conventions of the definition: a class with P(x) > 0 = Q(x) makes the
divergence +inf; classes with P(x) = 0 contribute ``0 log 0 = 0`` (also where
Q(x) = 0). Entropy and cross-entropy are sums of non-negative terms already.
"""

from __future__ import annotations


def kl(xp, probs_p, probs_q):
    """KL(Categorical(probs_p) || Categorical(probs_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> import jax.numpy as jnp
        >>> p, q = jnp.array([0.25, 0.75]), jnp.array([0.25 + 2**-20, 0.75 - 2**-20])
        >>> float(kl(jax_ops, p, q))  # about 2**-40 / (2 * 0.1875) = 2.43e-12
        2.4253...e-12
    """
    divergence = xp.sum(xp.kl_div_delta(probs_q, probs_p - probs_q))
    return divergence + xp.sum_diff(probs_p, probs_q)


def entropy(xp, probs):
    """Entropy of Categorical(probs)."""
    return -xp.sum(xp.xlogy(probs, probs))


def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Categorical(probs_p), Categorical(probs_q))."""
    return -xp.sum(xp.xlogy(probs_p, probs_q))

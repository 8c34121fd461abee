"""Closed forms for the categorical distribution, in nats; K is the last axis.

Proved equal to the derivation for K = 2, ..., 6 in ``tests/test_formulas.py``,
from probs, from logits, and mixed (the probs side enters as ``log(probs)``).

Why the probs KL form: ``sum_k p_k log(p_k / q_k)`` sums terms of both signs to
a result that is ``O(|p - q|**2)``: near-equal distributions lose every digit.
Written as ``sum_k kl_div(p_k, q_k)`` with ``kl_div(x, y) = x log(x/y) - x + y
>= 0`` (evaluated by :func:`verify._special.kl_div_delta` from the exact
differences ``p_k - q_k``), nothing cancels; on the simplex the added ``- p_k +
q_k`` sum to zero, so this is the KL divergence.

Vectors whose float sums differ from 1 (by rounding, e.g. ``w / w.sum()``, or
within the accepted simplex tolerance): the value is the generalised
(Csiszár's I-) divergence ``sum p log(p/q) - p + q`` of the given vectors. It
is ``>= 0``, ``0`` only for equal vectors, never negative like ``sum p log(p/q)``
can be off the simplex, and differs from that sum by ``sum(q) - sum(p)``, at
most the simplex tolerance.

Why the logits forms: ``softmax`` of very different logits underflows to 0
where the exact probability is positive, and ``log`` of it is ``-inf``; the
logits forms (:func:`verify._special.softmax_kl` and its siblings) work from
the logits and their exact differences, in three passes, with a custom
gradient. See that module for the method.

Conventions of the definition: a class with P(x) > 0 = Q(x) (a zero
probability or a ``-inf`` logit of Q) makes the divergence and the
cross-entropy +inf; classes with P(x) = 0 contribute ``0 log 0 = 0``.
"""

from __future__ import annotations

from verify.families.categorical import Categorical
from verify.formulas import register_cross_entropy, register_entropy, register_kl


@register_kl(Categorical, Categorical)
def kl(xp, probs_p, probs_q):
    """KL(Categorical(probs_p) || Categorical(probs_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> import jax.numpy as jnp
        >>> p, q = jnp.array([0.25, 0.75]), jnp.array([0.25 + 2**-20, 0.75 - 2**-20])
        >>> float(kl(jax_ops, p, q))  # about 2**-40 / (2 * 0.1875) = 2.43e-12
        2.4253...e-12
    """
    return xp.sum(xp.kl_div_delta(probs_q, probs_p - probs_q))


@register_entropy(Categorical)
def entropy(xp, probs):
    """Entropy of Categorical(probs)."""
    return 0 - xp.sum(xp.xlogx(probs))  # 0 - x: +0.0, never -0.0


@register_cross_entropy(Categorical, Categorical)
def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Categorical(probs_p), Categorical(probs_q))."""
    return 0 - xp.sum(xp.xlogy(probs_p, probs_q))


@register_kl(Categorical, Categorical, parameterisations=("logits", "logits"))
def kl_logits(xp, logits_p, logits_q):
    """KL(Categorical(logits=logits_p) || Categorical(logits=logits_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> import jax.numpy as jnp
        >>> a = jnp.array([0.0, -20.0], jnp.float32)
        >>> b = jnp.array([-120.0, 0.0], jnp.float32)
        >>> float(kl_logits(jax_ops, a, b))  # softmax(b)[0] = 8e-53 underflows float32
        120.0
    """
    return xp.softmax_kl(logits_p, logits_q)


@register_entropy(Categorical, parameterisations=("logits",))
def entropy_logits(xp, logits):
    """Entropy of Categorical(logits=logits)."""
    return xp.softmax_entropy(logits)


@register_cross_entropy(Categorical, Categorical, parameterisations=("logits", "logits"))
def cross_entropy_logits(xp, logits_p, logits_q):
    """Cross-entropy H(Categorical(logits=logits_p), Categorical(logits=logits_q))."""
    return xp.softmax_cross_entropy(logits_p, logits_q)

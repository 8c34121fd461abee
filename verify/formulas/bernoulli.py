"""Closed forms for the Bernoulli distribution, in nats, in numerically stable form.

Proved equal to the derivation in ``tests/test_formulas.py``.

Why these forms: the KL divergence is written as ``kl_div(p, q) + kl_div(1 - p,
1 - q)`` with ``kl_div(x, y) = x log(x/y) - x + y >= 0`` (the ``- x + y`` parts
cancel between the two), each evaluated by :func:`verify._special.kl_div_delta`
from the *difference* ``p - q``, exact when ``p`` and ``q`` are close, rather
than from ``1 - p`` and ``1 - q``, which are rounded. Entropy and cross-entropy
use ``log1p(-p)`` for ``log(1 - p)``, accurate for tiny ``p`` where ``1 - p``
rounds to 1. Every term is ``>= 0``, so nothing cancels.

The conventions of the definition hold: ``0 log(0/q) = 0`` and ``p log(p/0) =
+inf`` for ``p > 0``; probabilities of exactly 0 and 1 are allowed.
"""

from __future__ import annotations


def kl(xp, probs_p, probs_q):
    """KL(Bernoulli(probs_p) || Bernoulli(probs_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # KL ~ h**2 / (2 * 0.25 * 0.75) = 2.43e-12
        >>> float(kl(jax_ops, 0.25, 0.25 + h))
        2.4253...e-12
    """
    gap = probs_p - probs_q
    return xp.kl_div_delta(probs_q, gap) + xp.kl_div_delta(1 - probs_q, -gap)


def entropy(xp, probs):
    """Entropy of Bernoulli(probs)."""
    return -(xp.xlogy(probs, probs) + xp.xlog1py(1 - probs, -probs))


def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Bernoulli(probs_p), Bernoulli(probs_q))."""
    return -(xp.xlogy(probs_p, probs_q) + xp.xlog1py(1 - probs_p, -probs_q))

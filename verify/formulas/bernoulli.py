"""Closed forms for the Bernoulli distribution, in nats.

``xlogy`` carries the conventions of the definition: ``0 log(0/q) = 0`` and
``p log(p/0) = +inf`` for ``p > 0``. Proved equal to the derivation in
``tests/test_formulas.py``.
"""

from __future__ import annotations


def kl(xp, probs_p, probs_q):
    """KL(Bernoulli(probs_p) || Bernoulli(probs_q))."""
    ones = xp.xlogy(probs_p, probs_p) - xp.xlogy(probs_p, probs_q)
    zeros = xp.xlogy(1 - probs_p, 1 - probs_p) - xp.xlogy(1 - probs_p, 1 - probs_q)
    return ones + zeros


def entropy(xp, probs):
    """Entropy of Bernoulli(probs)."""
    return -(xp.xlogy(probs, probs) + xp.xlogy(1 - probs, 1 - probs))


def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Bernoulli(probs_p), Bernoulli(probs_q))."""
    return -(xp.xlogy(probs_p, probs_q) + xp.xlogy(1 - probs_p, 1 - probs_q))

"""Closed forms for the categorical distribution, in nats; K is the last axis.

``xlogy`` carries the conventions of the definition: a class with P(x) = 0
contributes 0 (also where Q(x) = 0), a class with P(x) > 0 = Q(x) makes the
divergence +inf. Proved equal to the derivation for K = 2, ..., 6 in
``tests/test_formulas.py``.
"""

from __future__ import annotations


def kl(xp, probs_p, probs_q):
    """KL(Categorical(probs_p) || Categorical(probs_q))."""
    return xp.sum(xp.xlogy(probs_p, probs_p) - xp.xlogy(probs_p, probs_q))


def entropy(xp, probs):
    """Entropy of Categorical(probs)."""
    return -xp.sum(xp.xlogy(probs, probs))


def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Categorical(probs_p), Categorical(probs_q))."""
    return -xp.sum(xp.xlogy(probs_p, probs_q))

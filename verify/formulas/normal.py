"""Closed forms for the univariate normal, in nats.

Each function is written once against a backend ``xp`` (see :mod:`verify._ops`)
and proved equal to the form SymPy derives from the density
(:func:`verify.derive`; the proof runs in ``tests/test_formulas.py``).
"""

from __future__ import annotations


def kl(xp, loc_p, scale_p, loc_q, scale_q):
    """KL(N(loc_p, scale_p^2) || N(loc_q, scale_q^2))."""
    ratio = scale_p / scale_q
    return ((loc_p - loc_q) / scale_q) ** 2 / 2 + (ratio**2 - 1) / 2 - xp.log(ratio)


def entropy(xp, loc, scale):
    """Differential entropy of N(loc, scale^2)."""
    return xp.log(scale) + (1 + xp.log(2 * xp.pi)) / 2


def cross_entropy(xp, loc_p, scale_p, loc_q, scale_q):
    """Cross-entropy H(N(loc_p, scale_p^2), N(loc_q, scale_q^2))."""
    mahalanobis = ((loc_p - loc_q) / scale_q) ** 2 + (scale_p / scale_q) ** 2
    return xp.log(scale_q) + xp.log(2 * xp.pi) / 2 + mahalanobis / 2

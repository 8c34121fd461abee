"""Closed forms for the half-normal distribution, in nats, in numerically stable form.

A half-normal pair has the KL divergence of the normal pair with both means 0
(the densities are twice the normal ones on ``[0, inf)``, so the log-ratio is
the same): :func:`verify.formulas.normal.kl`, accurate for close scales and over
the whole finite range. Entropy and cross-entropy are the normal ones less
``log 2``, written as ``log(scale * sqrt(pi e / 2))`` and ``log(scale_q *
sqrt(pi / 2)) + a**2 / 2`` (``a = scale_p / scale_q``) with
:func:`verify._special.log_mul`, so the entropy keeps its relative accuracy
where it changes sign (``scale = 0.48...``).
"""

from __future__ import annotations

from verify.families.half_normal import HalfNormal
from verify.formulas import (
    fast_when_moderate,
    normal,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


@register_kl(HalfNormal, HalfNormal)
def kl(xp, scale_p, scale_q):
    """KL(HalfNormal(scale_p) || HalfNormal(scale_q)) = (a**2 - 1) / 2 - log a.

    ``a = scale_p / scale_q``.

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-10  # about h**2 = 9.5e-7
        >>> float(kl(jax_ops, 1.0, 1.0 + h))
        9.52...e-07
    """
    return normal.kl(xp, 0, scale_p, 0, scale_q)


@register_entropy(HalfNormal)
@fast_when_moderate
def entropy(xp, scale):
    """Differential entropy ``log(scale * sqrt(pi e / 2))``.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(entropy(jax_ops, 1.0)), 6)
        0.725791
    """
    return xp.log_mul(scale, xp.sqrt_pie_2)


@register_cross_entropy(HalfNormal, HalfNormal)
@fast_when_moderate
def cross_entropy(xp, scale_p, scale_q):
    """Cross-entropy ``log(scale_q * sqrt(pi / 2)) + (scale_p / scale_q)**2 / 2``."""
    a = xp.diff_ratio(scale_p, 0, scale_q)
    return xp.log_mul(scale_q, xp.sqrt_pi_2) + a * (a / 2)

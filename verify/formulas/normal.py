"""Closed forms for the univariate normal, in nats, in numerically stable form.

Each function is written once against a backend ``xp`` (see :mod:`verify._ops`)
and proved equal to the form SymPy derives from the density
(:func:`verify.derive`; the proof runs in ``tests/test_formulas.py``).

Why these forms: with ``a = scale_p / scale_q`` the textbook KL is
``d**2 / 2 + (a**2 - 1) / 2 - log a``, whose last two terms cancel to
``(a - 1)**2 / 2`` when ``a`` is close to 1, losing every digit. Written as
``d**2 / 2 + b**2 / 2 + kl_div(1, a)`` with ``b = (scale_q - scale_p) / scale_q``
(the difference ``scale_q - scale_p`` is exact when the scales are close) and
``kl_div(1, a) = a - 1 - log a`` evaluated by :func:`verify._special.kl_div_log`
from ``log a`` and ``b``, every term is ``>= 0``: the sum has the accuracy of its
parts, a few ulp, however close P and Q are. The entropy ``log(scale * sqrt(2 pi
e))`` changes sign at ``scale = 0.24...``; :func:`verify._special.log_mul` keeps
its relative accuracy there.

Over the whole finite range: ``d``, ``a`` and ``b`` come from
:func:`verify._special.diff_ratio`, which rescales by exact powers of two before
subtracting, and ``log a`` from :func:`verify._special.log_ratio`, which
subtracts exponents as integers. So ``loc_p - loc_q`` never overflows where
``d`` is finite, ``scale_p / scale_q`` may lie outside the float range
(``1e-30 / 1e30`` in float32) with a finite KL, and subnormal parameters, which
XLA on CPU reads as zero, count at their value. A result beyond the largest
float is ``inf``, as IEEE rounding of the exact value would give.
"""

from __future__ import annotations

from verify.families.normal import Normal
from verify.formulas import (
    fast_when_moderate,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


@register_kl(Normal, Normal)
@fast_when_moderate
def kl(xp, loc_p, scale_p, loc_q, scale_q):
    """KL(N(loc_p, scale_p^2) || N(loc_q, scale_q^2)).

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # KL ~ h**2 = 9.09e-13; the textbook form returns noise for small h
        >>> float(kl(jax_ops, 0.0, 1.0, 0.0, 1.0 + h))
        9.0949...e-13
    """
    d = xp.diff_ratio(loc_p, loc_q, scale_q)
    b = xp.diff_ratio(scale_q, scale_p, scale_q)
    # d * (d / 2): one rounding of d**2 / 2, finite wherever d**2 / 2 is (d**2 may not be).
    return d * (d / 2) + b * (b / 2) + xp.kl_div_log(xp.log_ratio(scale_p, scale_q), b)


@register_entropy(Normal)
def entropy(xp, loc, scale):
    """Differential entropy of N(loc, scale^2), ``log(scale * sqrt(2 pi e))``."""
    return _log_scale_2pie(xp, scale)  # `loc` is not read, nor tested for the fast path


@fast_when_moderate
def _log_scale_2pie(xp, scale):
    return xp.log_mul(scale, xp.sqrt_2pie)


@register_cross_entropy(Normal, Normal)
@fast_when_moderate
def cross_entropy(xp, loc_p, scale_p, loc_q, scale_q):
    """Cross-entropy H(N(loc_p, scale_p^2), N(loc_q, scale_q^2))."""
    d = xp.diff_ratio(loc_p, loc_q, scale_q)
    a = xp.diff_ratio(scale_p, 0, scale_q)
    return xp.log_mul(scale_q, xp.sqrt_2pi) + d * (d / 2) + a * (a / 2)

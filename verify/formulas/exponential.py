"""Closed forms for the exponential distribution, in nats, in numerically stable form.

With ``r = rate_q / rate_p`` the KL divergence is ``r - 1 - log r``: the
``kl_div_log`` summand of the normal forms, computed from ``log r``
(:func:`verify._special.log_ratio`, exponents subtracted as integers) and ``1 -
r`` (:func:`verify._special.diff_ratio`, the exact difference of the rates
rescaled), so it keeps its digits when the rates are close and when their ratio
leaves the float range. The entropy ``1 - log(rate) = -log(rate / e)`` changes
sign at ``rate = e``; :func:`verify._special.log_mul` keeps its relative
accuracy there. The cross-entropy is ``H(P) + KL(P || Q)``, two accurate terms
(where they cancel, its error is a few ulp of the larger).
"""

from __future__ import annotations

from verify.families.exponential import Exponential
from verify.formulas import (
    fast_when_moderate,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


@register_kl(Exponential, Exponential)
@fast_when_moderate
def kl(xp, rate_p, rate_q):
    """KL(Exponential(rate_p) || Exponential(rate_q)) = r - 1 - log r, r = rate_q / rate_p.

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # KL ~ h**2 / 2 = 4.5e-13
        >>> float(kl(jax_ops, 1.0, 1.0 + h))
        4.5474...e-13
    """
    return xp.kl_div_log(xp.log_ratio(rate_q, rate_p), xp.diff_ratio(rate_p, rate_q, rate_p))


@register_entropy(Exponential)
@fast_when_moderate
def entropy(xp, rate):
    """Differential entropy ``1 - log(rate)``, as ``-log(rate / e)``.

    Example:
        >>> from verify._ops import jax_ops
        >>> float(entropy(jax_ops, 2.0))  # 1 - log 2
        0.306852...
    """
    return -xp.log_mul(rate, xp.e_inv)


@register_cross_entropy(Exponential, Exponential)
@fast_when_moderate
def cross_entropy(xp, rate_p, rate_q):
    """Cross-entropy ``rate_q / rate_p - log(rate_q)``, as ``H(P) + KL(P || Q)``.

    Both terms are accurate (the entropy also at its zero, ``rate = e``), so the
    sum is too wherever they do not cancel; ``r - log(rate_q)`` would lose every
    digit near ``rate_p = rate_q = e``, where the value is near 0.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(cross_entropy(jax_ops, 1.0, 2.0)), 6)  # 2 - log 2
        1.306853
    """
    return entropy(xp, rate_p) + kl(xp, rate_p, rate_q)

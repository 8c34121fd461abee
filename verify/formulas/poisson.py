"""Closed forms for the Poisson distribution, in nats.

``KL(Poisson(l) || Poisson(m)) = l log(l / m) - l + m``, the KL summand
``kl_div(l, m)`` itself, in one of two forms that keep their relative accuracy
over the whole range (rates from the smallest normal number to 1e300):

* ``m <= 2 l``: ``l * (a - 1 - log a)`` at ``a = m / l`` by
  :func:`verify._special.kl_div_log`, from ``log a`` (:func:`log_ratio`, no
  overflow) and ``1 - a = (l - m) / l`` (:func:`diff_ratio`, exact where the
  rates are close: the atanh series sums the near-equal case without
  cancellation);
* ``m > 2 l``: ``m (1 - c) + l log c`` at ``c = l / m < 1/2``, where ``a``
  could overflow; the two terms cancel by at most a factor 6 there.

The entropy ``H = l - l log l + E[log K!]`` has no closed form: it is the
special function :func:`verify._special.poisson_entropy` (its SymPy twin is the
defining series), and the cross-entropy is ``H(P) + KL(P || Q)``, two
non-negative terms (``m - l log m + E[log K!]`` would cancel for large rates).
"""

from __future__ import annotations

from verify.families.poisson import Poisson
from verify.formulas import (
    fast_when_moderate,
    in_chunks,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


@register_kl(Poisson, Poisson)
@fast_when_moderate
def kl(xp, rate_p, rate_q):
    """KL(Poisson(rate_p) || Poisson(rate_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> float(kl(jax_ops, 2.0, 1.0))  # 2 log 2 - 1
        0.386294...
        >>> h = 2.0**-30  # about h**2 / 2
        >>> float(kl(jax_ops, 1.0, 1.0 + h))
        4.3...e-19
    """
    near = rate_q <= 2 * rate_p
    # Each form gets harmless arguments where the other is taken: no overflow there,
    # hence no 0 * inf = NaN in the gradient.
    q_near = xp.where(near, rate_q, rate_p)
    p_far, q_far = xp.where(near, 1, rate_p), xp.where(near, 4, rate_q)
    log_a = xp.log_ratio(q_near, rate_p)
    ratio_form = rate_p * xp.kl_div_log(log_a, xp.diff_ratio(rate_p, q_near, rate_p))
    far_form = q_far * xp.diff_ratio(q_far, p_far, q_far) + p_far * xp.log_ratio(p_far, q_far)
    return xp.where(near, ratio_form, far_form)


@register_entropy(Poisson)
@in_chunks(0)
def entropy(xp, rate):
    """Entropy of Poisson(rate): ``-sum_k p_k log p_k``.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(entropy(jax_ops, 1.0)), 6)
        1.304842
    """
    return xp.poisson_entropy(rate)


@register_cross_entropy(Poisson, Poisson)
def cross_entropy(xp, rate_p, rate_q):
    """Cross-entropy H(Poisson(rate_p), Poisson(rate_q)) = H(P) + KL(P || Q).

    At rates near the smallest normal number the KL is below the normal range (flushed to
    0 by XLA on CPU) where ``H(P)``, about ``l log(1/l)``, is not: both are taken scaled by a
    power of two ``s`` (:meth:`verify._ops.jax_ops.tiny_scale`), the KL as ``KL(s l || s m)
    = s KL(l || m)`` (homogeneous of degree 1), and the sum scaled back. Unscaled,
    ``Poisson(2.2e-308) || Poisson(6.7e-308)`` was 1.3e-3 off in float64.

    Example:
        >>> import numpy as np
        >>> from verify._ops import jax_ops
        >>> rate = np.float64(2.2250738585072014e-308)
        >>> float(cross_entropy(jax_ops, rate, 3 * rate))  # H 1.5785e-305, KL 2.0e-308
        1.58046...e-305
    """
    scale = xp.tiny_scale(rate_p, rate_q)
    return (scale * entropy(xp, rate_p) + kl(xp, scale * rate_p, scale * rate_q)) / scale

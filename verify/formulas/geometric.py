"""Closed forms for the geometric distribution (failures before the first success), in nats.

With ``P(k) = (1 - p)^k p`` and mean ``(1 - p) / p``, every quantity is the
Bernoulli one divided by ``p`` (a geometric count is a run of Bernoulli
trials): ``KL = KL_Bernoulli(p || q) / p``, ``H = H_Bernoulli(p) / p``. The
forms divide *before* anything can underflow, as two non-negative terms:

    KL = kl_div(p, q) / p + kl_div(1 - p, 1 - q) / p
       = kl_div(1, q / p) + kl_div(1 - p, 1 - q) / p,   kl_div(x, y) = x log(x/y) - x + y

each by :func:`verify._special.kl_div_delta` from a difference that is exact
where ``p`` and ``q`` are close, so a KL of 1e-30 between probabilities of
1e-300 keeps its digits (``KL_Bernoulli`` itself would underflow there). From
logits, ``log(q / p)`` and ``q - p`` come from
:func:`verify._special.log_sigmoid_diff` and :func:`verify._special.sigmoid_diff`,
never from probabilities that round to 1. Entropy and cross-entropy are sums of
two non-negative terms (``-log q`` and ``(1 - p) / p * (-log(1 - q))``).

At ``p = 1`` (the point mass at 0, logits ``+inf``): ``0 log 0 = 0``; a ``Q``
with ``q = 1`` and a ``P`` with ``p < 1`` gives ``KL = H(P, Q) = +inf``.
"""

from __future__ import annotations

from verify.families.geometric import Geometric
from verify.formulas import (
    fast_when_moderate,
    register_cross_entropy,
    register_entropy,
    register_kl,
)

LOGITS = ("logits", "logits")


@register_kl(Geometric, Geometric)
@fast_when_moderate
def kl(xp, probs_p, probs_q):
    """KL(Geometric(probs_p) || Geometric(probs_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> float(kl(jax_ops, 0.5, 0.25))  # log 2 + log(2/3)
        0.287682...
    """
    # kl_div(1, r) at r = q / p, from 1 - r = (p - q) / p (exact where p and q are close;
    # diff_ratio rescales first: p - q of two tiny probabilities would be subnormal, which
    # XLA flushes to 0 in compiled code)
    ratio = xp.kl_div_delta(probs_q / probs_p, xp.diff_ratio(probs_p, probs_q, probs_p))
    failures = xp.kl_div_delta(1 - probs_q, probs_q - probs_p) / probs_p
    return ratio + failures


@register_entropy(Geometric)
def entropy(xp, probs):
    """Entropy of Geometric(probs): ``-log(p) - (1 - p) / p * log(1 - p)``."""
    return 0 - (xp.log(probs) + xp.xlog1py((1 - probs) / probs, -probs))  # +0.0 at p = 1


@register_cross_entropy(Geometric, Geometric)
def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Geometric(probs_p), Geometric(probs_q))."""
    return 0 - (xp.log(probs_q) + xp.xlog1py((1 - probs_p) / probs_p, -probs_q))


@register_kl(Geometric, Geometric, parameterisations=LOGITS)
def kl_logits(xp, logits_p, logits_q):
    """KL(Geometric(logits=logits_p) || Geometric(logits=logits_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> import numpy as np
        >>> h = np.float32(2**-10)  # about h**2 sigmoid(-40) / 2: p and q round to 1
        >>> float(kl_logits(jax_ops, np.float32(40.0), np.float32(40.0) + h))
        2.02...e-24
    """
    log_ratio = xp.log_sigmoid_diff(logits_p, logits_q)  # log(q / p)
    ratio = xp.kl_div_log(log_ratio, -xp.expm1(log_ratio))
    gap = xp.sigmoid_diff(logits_p, logits_q)  # q - p
    failures = xp.kl_div_delta(xp.sigmoid(-logits_q), gap) / xp.sigmoid(logits_p)
    # Q the point mass at 0 (logit +inf) and P not: +inf, also where P's failures underflow
    inf = float("inf")
    return xp.where((logits_q == inf) & (logits_p < inf), inf, ratio + failures)


@register_entropy(Geometric, parameterisations=("logits",))
def entropy_logits(xp, logits):
    """Entropy of Geometric(logits=logits): ``softplus(-l) + exp(-l) softplus(l)``."""
    return cross_entropy_logits(xp, logits, logits)


@register_cross_entropy(Geometric, Geometric, parameterisations=LOGITS)
def cross_entropy_logits(xp, logits_p, logits_q):
    """Cross-entropy from logits: ``-log q - (1 - p) / p * log(1 - q)``, ``(1 - p) / p = e^-l``."""
    inf = float("inf")
    odds = xp.exp(-logits_p)  # (1 - p) / p; 0 at p = 1, where 0 * (-log(1 - q)) = 0
    failures = odds * xp.softplus(xp.where(logits_p == inf, 0, logits_q))
    # Q the point mass at 0 and P not: +inf, also where P's odds underflow
    return xp.softplus(-logits_q) + xp.where((logits_q == inf) & (logits_p < inf), inf, failures)

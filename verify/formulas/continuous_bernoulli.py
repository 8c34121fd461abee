"""Closed forms for the continuous Bernoulli distribution, in nats, in stable form.

With the logit ``l = log(p / (1 - p))`` the family is exponential: density
``exp(l x - A(l))`` on [0, 1] with ``A(l) = log(expm1(l) / l) = l / 2 +
log_sinhc(l / 2)``, ``log_sinhc(t) = log(sinh(t) / t)``. The linear part of ``A``
has no Bregman divergence, so

* ``KL = log_sinhc_bregman(t_p, t_q - t_p)`` with ``t = l / 2``: the Bregman
  divergence of ``log_sinhc`` (:func:`verify._special.log_sinhc_bregman`), whose
  series branch covers ``probs`` near 1/2, where the textbook normaliser ``2
  atanh(1 - 2p) / (1 - 2p)`` is ``0 / 0`` (TFP's Taylor branch there was wrong,
  tensorflow/probability#1511);
* entropy ``= -KL(P || uniform)`` (the uniform is ``l = 0`` and gives every P
  cross-entropy 0): ``-log_sinhc_bregman(t, -t) <= 0``;
* cross-entropy ``= KL + H(P)``, whose two terms cancel where it crosses zero.

From ``probs`` the half-logit is ``logit(p) / 2`` and the difference
``logit_gap(p, q) / 2`` comes from ``q - p`` (:func:`verify._special.logit_gap`),
so near-equal probabilities keep their digits; from logits, ``(l_q - l_p) / 2``.
A mixed pair runs the logits forms with ``logit(probs)``.
"""

from __future__ import annotations

from verify.families.continuous_bernoulli import ContinuousBernoulli
from verify.formulas import register_cross_entropy, register_entropy, register_kl

LOGITS = ("logits", "logits")


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def kl(xp, probs_p, probs_q):
    """KL(ContinuousBernoulli(probs_p) || ContinuousBernoulli(probs_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # at 1/2, KL ~ (logit gap / 2)**2 / 6 = (2 h)**2 / 6
        >>> float(kl(jax_ops, 0.5, 0.5 + h)) * 2**40
        0.666...
    """
    return xp.log_sinhc_bregman(xp.logit(probs_p) / 2, xp.logit_gap(probs_p, probs_q) / 2)


@register_entropy(ContinuousBernoulli)
def entropy(xp, probs):
    """Differential entropy of ContinuousBernoulli(probs) (``<= 0``, 0 at ``probs = 1/2``)."""
    half = xp.logit(probs) / 2
    return 0 - xp.log_sinhc_bregman(half, -half)  # 0 - x: +0.0 at 1/2


@register_cross_entropy(ContinuousBernoulli, ContinuousBernoulli)
def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(P, Q) = KL + H(P)."""
    return kl(xp, probs_p, probs_q) + entropy(xp, probs_p)


@register_kl(ContinuousBernoulli, ContinuousBernoulli, parameterisations=LOGITS)
def kl_logits(xp, logits_p, logits_q):
    """KL(ContinuousBernoulli(logits=logits_p) || ContinuousBernoulli(logits=logits_q))."""
    return xp.log_sinhc_bregman(logits_p / 2, (logits_q - logits_p) / 2)


@register_entropy(ContinuousBernoulli, parameterisations=("logits",))
def entropy_logits(xp, logits):
    """Differential entropy of ContinuousBernoulli(logits=logits)."""
    return 0 - xp.log_sinhc_bregman(logits / 2, -logits / 2)


@register_cross_entropy(ContinuousBernoulli, ContinuousBernoulli, parameterisations=LOGITS)
def cross_entropy_logits(xp, logits_p, logits_q):
    """Cross-entropy H(P, Q) from logits, KL + H(P)."""
    return kl_logits(xp, logits_p, logits_q) + entropy_logits(xp, logits_p)

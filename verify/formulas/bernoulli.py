"""Closed forms for the Bernoulli distribution, in nats, in numerically stable form.

Proved equal to the derivation in ``tests/test_formulas.py``, from probs and
from logits (and mixed: the probs side is turned into logits).

Why the probs forms: the KL divergence is written as ``kl_div(p, q) + kl_div(1 -
p, 1 - q)`` with ``kl_div(x, y) = x log(x/y) - x + y >= 0`` (the ``- x + y``
parts cancel between the two), each evaluated by
:func:`verify._special.kl_div_delta` from the *difference* ``p - q``, exact when
``p`` and ``q`` are close, rather than from ``1 - p`` and ``1 - q``, which are
rounded. Entropy and cross-entropy use ``log1p(-p)`` for ``log(1 - p)``, accurate
for tiny ``p`` where ``1 - p`` rounds to 1, and ``xlogx`` (whose derivative at
``p = 0`` is the definition's infinity, not NaN). Every term is ``>= 0``, so
nothing cancels.

Why the logits forms: a Bernoulli with logit ``l`` is the categorical with
logits ``[0, l]``, and the categorical logits forms
(:func:`verify._special.softmax_kl` and its siblings) never form ``sigmoid(l)``
where it rounds to 1: ``kl(logits=30, logits=40)`` is 8.4e-13, not ``inf``.

The conventions of the definition hold: ``0 log(0/q) = 0`` and ``p log(p/0) =
+inf`` for ``p > 0``; probabilities of exactly 0 and 1 (logits ``-inf`` and
``+inf``) are allowed.
"""

from __future__ import annotations

from verify.families.bernoulli import Bernoulli
from verify.formulas import register_cross_entropy, register_entropy, register_kl


@register_kl(Bernoulli, Bernoulli)
def kl(xp, probs_p, probs_q, scale=1):
    """KL(Bernoulli(probs_p) || Bernoulli(probs_q)), times ``scale``.

    ``scale``: a power of two that lifts the result of tiny probabilities out of the
    subnormal range (:meth:`verify._ops.jax_ops.tiny_scale`; the binomial cross-entropy's),
    applied inside ``kl_div(p, q)``, which is homogeneous of degree 1 in ``(p, q)``.

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # KL ~ h**2 / (2 * 0.25 * 0.75) = 2.43e-12
        >>> float(kl(jax_ops, 0.25, 0.25 + h))
        2.4253...e-12
    """
    gap = probs_p - probs_q
    scaled_gap = scale * probs_p - scale * probs_q  # scaled first: p - q may be subnormal
    return xp.kl_div_delta(scale * probs_q, scaled_gap) + scale * xp.kl_div_delta(1 - probs_q, -gap)


@register_entropy(Bernoulli)
def entropy(xp, probs):
    """Entropy of Bernoulli(probs)."""
    return 0 - (xp.xlogx(probs) + xp.xlog1py(1 - probs, -probs))  # 0 - x: +0.0, never -0.0


@register_cross_entropy(Bernoulli, Bernoulli)
def cross_entropy(xp, probs_p, probs_q):
    """Cross-entropy H(Bernoulli(probs_p), Bernoulli(probs_q))."""
    return 0 - (xp.xlogy(probs_p, probs_q) + xp.xlog1py(1 - probs_p, -probs_q))


@register_kl(Bernoulli, Bernoulli, parameterisations=("logits", "logits"))
def kl_logits(xp, logits_p, logits_q):
    """KL(Bernoulli(logits=logits_p) || Bernoulli(logits=logits_q)).

    Example:
        >>> from verify._ops import jax_ops
        >>> import numpy as np
        >>> float(kl_logits(jax_ops, np.float32(30.0), np.float32(40.0)))
        8.42...e-13
    """
    return xp.softmax_kl(xp.logit_pair(logits_p), xp.logit_pair(logits_q))


@register_entropy(Bernoulli, parameterisations=("logits",))
def entropy_logits(xp, logits):
    """Entropy of Bernoulli(logits=logits)."""
    return xp.softmax_entropy(xp.logit_pair(logits))


@register_cross_entropy(Bernoulli, Bernoulli, parameterisations=("logits", "logits"))
def cross_entropy_logits(xp, logits_p, logits_q):
    """Cross-entropy H(Bernoulli(logits=logits_p), Bernoulli(logits=logits_q))."""
    return xp.softmax_cross_entropy(xp.logit_pair(logits_p), xp.logit_pair(logits_q))

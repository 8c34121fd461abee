"""KL divergence, entropy and cross-entropy of binomial distributions, in nats.

With equal numbers of trials ``n`` the binomial is ``n`` independent Bernoulli
trials and ``KL = n KL_Bernoulli(p || q)``, computed by the stable Bernoulli
forms (:mod:`verify.formulas.bernoulli`: near-equal probabilities, logits that
round to probability 1). With different numbers of trials ``n_p != n_q``:

* ``P`` a point mass (``p = 0`` or ``n_p = 0``: at 0; ``p = 1``: at ``n_p``):
  ``KL = -log Q(point)``, a closed form (``+inf`` where Q has no mass there);
* ``n_p > n_q`` otherwise: ``+inf`` (P puts mass on ``n_p``, outside Q's support);
* ``n_p < n_q`` otherwise, with ``0 < q < 1``: the value is finite but has no
  closed form: it contains ``E_P[log((n_q - K)! / (n_p - K)!)]``, a sum of
  ``E_P[log(n_p - K + j)]`` over ``j = 1, ..., n_q - n_p``, which no identity
  reduces. The form returns NaN there, which :func:`verify.kl` reports for
  concrete parameters as NotImplementedError naming the members (torch raises
  for any ``n_p != n_q``); Monte Carlo (``verify.montecarlo.estimate``) applies.

The entropy contains ``E[log C(n, K)]``, which has no closed form either: it is
the special function :func:`verify._special.binomial_entropy` (its SymPy twin is
the defining sum over {0, ..., n}; torch sums over the support for one common
``n``), given ``p`` and ``1 - p`` (from logits: ``sigmoid(l)`` and
``sigmoid(-l)``, never ``1 - sigmoid(l)``, and the smaller one's logarithm,
``log_sigmoid(-|l|)``, which counts where that probability is below the normal
range). The cross-entropy is ``H(P) +
KL(P || Q)``, two non-negative terms, with the cases of the KL.
"""

from __future__ import annotations

from verify.families.binomial import Binomial, log_binomial_coefficient, times_softplus
from verify.formulas import (
    bernoulli,
    in_chunks,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


def _by_cases(xp, total_count_p, total_count_q, same, at_zero, at_top, p_zero, p_one, q_edge):
    """The case analysis of the module docstring, given each case's value."""
    differ = xp.where(
        p_zero | (total_count_p == 0),
        at_zero,
        xp.where(
            total_count_p > total_count_q,
            float("inf"),
            xp.where(p_one, at_top, xp.where(q_edge, float("inf"), float("nan"))),
        ),
    )
    return xp.where(total_count_p == total_count_q, same, differ)


@register_kl(Binomial, Binomial)
def kl(xp, total_count_p, probs_p, total_count_q, probs_q, scale=1):
    """KL(Binomial(n_p, probs_p) || Binomial(n_q, probs_q)); NaN for ``0 < n_p < n_q`` (see above).

    ``scale``: the result times a power of two, as :func:`verify.formulas.bernoulli.kl`'s.

    Example:
        >>> from verify._ops import jax_ops
        >>> float(kl(jax_ops, 10.0, 0.5, 10.0, 0.25))  # 10 KL_Bernoulli
        1.438410...
        >>> float(kl(jax_ops, 4.0, 0.5, 3.0, 0.5))  # P has mass on 4
        inf
    """
    # n_p = 0: 0 * KL_Bernoulli, which may be inf (q = 0 < p); Q's probability is then unused
    probs_q_same = xp.where(total_count_p == 0, probs_p, probs_q)
    same = total_count_p * bernoulli.kl(xp, probs_p, probs_q_same, scale)
    at_zero = 0 - scale * xp.xlog1py(total_count_q, -probs_q)  # -log Q(0)
    at_top = 0 - scale * (  # -log Q(n_p)
        log_binomial_coefficient(xp, total_count_q, total_count_p)
        + xp.xlogy(total_count_p, probs_q)
        + xp.xlog1py(total_count_q - total_count_p, -probs_q)
    )
    q_edge = (probs_q == 0) | (probs_q == 1)
    return _by_cases(
        xp, total_count_p, total_count_q, same, at_zero, at_top, probs_p == 0, probs_p == 1, q_edge
    )


@register_kl(Binomial, Binomial, parameterisations=("logits", "logits"))
def kl_logits(xp, total_count_p, logits_p, total_count_q, logits_q):
    """KL between binomials given by logits; the cases of :func:`kl`."""
    logits_q_same = xp.where(total_count_p == 0, logits_p, logits_q)
    same = total_count_p * bernoulli.kl_logits(xp, logits_p, logits_q_same)
    at_zero = times_softplus(xp, total_count_q, logits_q)  # -n_q log(1 - q)
    at_top = (
        times_softplus(xp, total_count_p, -logits_q)
        + times_softplus(xp, total_count_q - total_count_p, logits_q)
        - log_binomial_coefficient(xp, total_count_q, total_count_p)
    )
    inf = float("inf")
    q_edge = (logits_q == -inf) | (logits_q == inf)
    return _by_cases(
        xp,
        total_count_p,
        total_count_q,
        same,
        at_zero,
        at_top,
        logits_p == -inf,
        logits_p == inf,
        q_edge,
    )


@register_entropy(Binomial)
@in_chunks(0, 0)
def entropy(xp, total_count, probs):
    """Entropy of Binomial(total_count, probs).

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(entropy(jax_ops, 10.0, 0.3)), 6)
        1.779079
    """
    return xp.binomial_entropy(total_count, probs, 1 - probs)


@register_entropy(Binomial, parameterisations=("logits",))
@in_chunks(0, 0)
def entropy_logits(xp, total_count, logits):
    """Entropy of Binomial(total_count, logits=logits); the smaller probability's logarithm
    goes along, for one below the normal range (|logits| beyond 87.3 in float32)."""
    smaller = xp.log_sigmoid(-xp.abs(logits))
    return xp.binomial_entropy(total_count, xp.sigmoid(logits), xp.sigmoid(-logits), smaller)


@register_cross_entropy(Binomial, Binomial)
def cross_entropy(xp, total_count_p, probs_p, total_count_q, probs_q):
    """Cross-entropy H(P, Q) = H(P) + KL(P || Q) (NaN where the KL has no closed form).

    Both scaled by a power of two where the probabilities are near the smallest normal
    number, as the Poisson cross-entropy (:func:`verify.formulas.poisson.cross_entropy`):
    ``Binomial(1, 2.2e-308) || Binomial(1, 6.7e-308)`` was 1.3e-3 off in float64.
    """
    scale = xp.tiny_scale(probs_p, probs_q)
    kl_scaled = kl(xp, total_count_p, probs_p, total_count_q, probs_q, scale)
    return (scale * entropy(xp, total_count_p, probs_p) + kl_scaled) / scale


@register_cross_entropy(Binomial, Binomial, parameterisations=("logits", "logits"))
def cross_entropy_logits(xp, total_count_p, logits_p, total_count_q, logits_q):
    """Cross-entropy from logits: ``H(P) + KL(P || Q)``.

    Where the probabilities of one outcome are near the smallest normal number in P and
    in Q (logits below about -663 in float64, or above: the trials relabelled, ``K -> n - K``,
    which keeps the cross-entropy of equal numbers of trials), the KL is subnormal and
    ``H(P)`` is not: there the probs form, which scales both (:func:`cross_entropy`), on
    those probabilities (where both are positive: one that underflowed to 0 is not the
    logits').
    """
    plain = entropy_logits(xp, total_count_p, logits_p) + kl_logits(
        xp, total_count_p, logits_p, total_count_q, logits_q
    )
    same = total_count_p == total_count_q
    flip = same & (logits_p > 0)
    low_p, low_q = (xp.sigmoid(xp.where(flip, -x, x)) for x in (logits_p, logits_q))
    # positive: a probability that underflowed to 0 is not P's or Q's (the logits forms)
    tiny = same & (low_p > 0) & (low_q > 0) & (xp.tiny_scale(low_p, low_q) > 1)
    return xp.where(tiny, cross_entropy(xp, total_count_p, low_p, total_count_q, low_q), plain)

"""Closed forms for the Dirichlet distribution, in nats; K is the last axis.

The same stable form as the Beta KL (:mod:`verify.formulas.beta`, the case
``K = 2``): the Bregman divergence of ``sum_k lgamma(a_k) - lgamma(sum_k a_k)``,
written after Stirling's formula as

* ``s' KL(Categorical(mean_P) || Categorical(mean_Q))`` with ``s'`` the total
  concentration of Q, from the differences of the means ``(d_k / s')(r_k / s) -
  (e_k / s')(a_k / s)`` (``d = a' - a``, exact for close parameters; ``r_k`` and
  ``e_k`` the sums of the other ``a_j`` and ``d_j``), or from the means themselves
  (or their complements) where the totals are more than a factor 2 apart;
* half the Jensen gap ``sum_k f(d_k / a_k) - f(sum d / s)`` of ``f(u) = u -
  log1p(u)`` (``>= 0``);
* the divergences of Binet's function, ``sum_k W(a_k, a'_k) - W(s, s')``.

Accuracy: the difference of the means is rounded (about ``eps |d| / s'``), and
enters the first term squared and times ``s'``: a relative error about ``eps**2
s'`` where the means are equal, negligible in float64, but 1e-2 in float32 at a
total concentration of 3e12 (1e-8 up to 1e6). Where one class holds nearly all of
both totals and the others sum to at most 1 (``xp.nearly_all``), its Jensen and
Binet terms and the sum's cancel (a relative error about ``eps / r``, ``r`` the
others' sum: 3e-8 at ``[2.5, 1e-8, 1e-8] || [2.4999975, 1e-8, 1e-8]``); there the
KL is the sum of the classes' shares (as the Beta's: the large class's paired with
the sum, :func:`verify._special.lgamma_bregman_share`), within 1.5e-14. The
stable form is taken only where its rounding bound (with the means' term's, as the
Beta's) is within 1e-4 of it, else NaN (``verify.kl`` raises): on
``benchmarks/extremes.py``'s grid (K = 2, concentrations 1e-300 ... 1e300) every pair is
right up to a ratio of 1e16, and beyond
5747 right and 699 NaN, none loose or wrong (the shares' form included; before the
bound: 5135 right, 62 within
1e-2, 1025 NaN and 224 wrong, e.g. ``[1, 1e-20] || [1e8, 1e-20]``: 1e-12 for
1.645e-12; before the means were taken as above, 3725 right and 2298 wrong:
``[1e-20, 1e100] || [1e-20, 1e-20]``: 3.4e86 for log 2, and 38 % off at
``[1e20, 2e20] || [1e8, 2e8]``, a ratio of 1e12).

Entropy is ``-log((K - 1)!) - KL(P || Dirichlet(1, ..., 1))`` (the uniform
distribution on the simplex has density ``(K - 1)!``, and every P has
cross-entropy ``-log((K - 1)!)`` with it); both terms are ``<= 0``, so nothing
cancels. Cross-entropy is ``KL(P || Q) + H(P)``.
"""

from __future__ import annotations

import functools

from verify.families.dirichlet import Dirichlet
from verify.formulas import in_chunks, register_cross_entropy, register_entropy, register_kl


@register_kl(Dirichlet, Dirichlet)
@in_chunks(1, 1)
def kl(xp, concentration_p, concentration_q, shares=True):
    """KL(Dirichlet(a) || Dirichlet(a')).

    ``shares=False`` leaves out the shares' form (below), for a Q in which no class holds
    100 times the others' sum (the entropy's uniform Q), where it never applies: the
    computation is not compiled.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._ops import jax_ops
        >>> a = jnp.array([1e6, 2e6, 3e6])
        >>> float(kl(jax_ops, a, a * (1 + 2**-20)))  # equal means: about 2 h**2 / 4
        4.547...e-13
    """
    d = concentration_q - concentration_p
    s_p, s_q, ds = xp.sum(concentration_p), xp.sum(concentration_q), xp.sum(d)
    others_p, others_d = xp.sum_others(concentration_p), xp.sum_others(d)
    # NaN where a mean is below the float range (flushed to 0: see the Beta KL). Divided by
    # a_k + r_k, as in mean_difference: with the same rounded mean, mean + gap is >= 0.
    mean_p = xp.positive_or_nan(xp.divide(concentration_p, concentration_p + others_p))
    # mean_Q - mean_P = (d_k r_k - e_k a_k) / (s' s), with r_k and e_k the sums of the other
    # concentrations and differences: the Beta form (K = 2). Not d / s' - mean_P sum(d) / s',
    # whose two terms, each about s / s', cancel (38 % wrong at [1e20, 2e20] || [1e8, 2e8]).
    s_p_e, s_q_e = xp.expand_event(s_p), xp.expand_event(s_q)
    # Where the totals are more than a factor 2 apart, d loses Q's concentrations (a' - a
    # rounds to -a where a' << a) and the two products cancel: the means (or complements).
    near = xp.expand_event((s_q <= 2 * s_p) & (s_p <= 2 * s_q))
    others_q = xp.sum_others(concentration_q)
    gap = xp.where(
        near,
        xp.multiply(d / s_q_e, others_p / s_p_e) - xp.multiply(others_d / s_q_e, mean_p),
        xp.mean_difference(concentration_p, others_p, concentration_q, others_q),
    )
    means = s_q * xp.sum(xp.kl_div_delta(mean_p, gap))
    # How far the rounding of the gap may move the means' term, as in the Beta KL: the gap
    # is rounded from terms of the size of the two products (the second a sum of the other
    # differences, of at most the size sum |d|), or of the smaller of a mean and its
    # complement.
    complement = others_p / s_p_e
    products = xp.abs(xp.multiply(d / s_q_e, complement)) + xp.multiply(
        xp.expand_event(xp.sum(xp.abs(d))) / s_q_e, mean_p
    )
    smaller = xp.minimum(mean_p, complement)
    size = xp.where(near, products, 2 * smaller + xp.abs(gap))
    means_error = s_q * xp.sum(xp.kl_div_delta_error(mean_p, gap, size))
    # The classes' terms and the total's, subtracted (one call each: one copy to compile).
    jensen = xp.together(xp.ratio_kl, (concentration_q, concentration_p, d), (s_q, s_p, ds))
    binet = xp.together(xp.binet_bregman, (concentration_p, concentration_q, d), (s_p, s_q, ds))
    jensen, binet = ([x, -total] for x, total in (jensen, binet))
    stable = means + (xp.sum(jensen[0]) + jensen[1]) / 2 + (xp.sum(binet[0]) + binet[1])
    # The stable form where its rounding bound is within 1e-4 of it, as the Beta's; whether
    # it is within 1e-13 (a worst case; 64 ulp in float32: where not, the shares' form below
    # may be taken; at 1e-11 the Beta's was taken 4.7e-13 off).
    scalars, events = [means, jensen[1], binet[1]], [jensen[0], binet[0]]
    precise = xp.within_rounding(stable, scalars, events, tolerance=1e-13, error=means_error)
    stable = xp.within_rounding(stable, scalars, events, error=means_error)

    if shares:
        # One class with nearly all of both totals, the others summing to at most 1: its
        # Jensen and Binet terms and the sum's cancel (as in the Beta KL). There, each
        # class's share of the Bregman divergence, that class's paired with the sum; only
        # where the form above may have lost digits (10x its time).
        def by_shares(a, r, a_q, r_q, d, e):
            parts, errors = xp.lgamma_bregman_share(a, r, a_q, r_q, d, e)
            return xp.accurate_sum([], [parts], error=xp.sum(errors), tolerance=1e-4)

        tiny = xp.any(xp.nearly_all(concentration_p, others_p, concentration_q, others_q))
        tiny = tiny & xp.declined(precise)
        args = (concentration_p, others_p, concentration_q, others_q, d, others_d)
        # Where the shares are not finite or their rounding bound exceeds 1e-4 of them (NaN,
        # as the form above): the form above.
        routed = xp.in_regime(tiny, by_shares, args, (1, 1, 1, 1, 0, 0), stable, event=True)
        stable = xp.unless_nan(routed, lambda: stable)

    # Concentrations some 1e20 apart within a pair make the stable terms inf - inf (NaN);
    # there the textbook form is finite, but its terms (lgamma's size) may cancel: it is
    # taken only where its own rounding bound is within 1e-6 of it (else NaN, which
    # verify.kl reports). Unguarded, it was right in 105 and wrong, often by orders of
    # magnitude, in 565 of the 676 such pairs of benchmarks/extremes.py's grid.
    # It is computed only for a batch that has such a pair; the proved form is the stable one.
    def textbook():
        return xp.accurate_sum(
            [xp.lgamma(s_p), -xp.lgamma(s_q), ds * xp.digamma(s_p)],
            [
                -xp.lgamma(concentration_p),
                xp.lgamma(concentration_q),
                -xp.multiply(d, xp.digamma(concentration_p)),
            ],
        )

    return xp.unless_nan(stable, textbook)


def _log_factorial(xp, n):
    """``log(n!)`` as a sum of logarithms of integers (exact on SymPy, weakly typed on JAX)."""
    return sum(xp.log(k) for k in range(2, n + 1))


@register_entropy(Dirichlet)
@in_chunks(1)
def entropy(xp, concentration):
    """Differential entropy of Dirichlet(a), ``-log((K-1)!) - KL(P || Dirichlet(1, ..., 1))``."""
    uniform, log_normaliser = _uniform(xp, concentration)
    return 0 - log_normaliser - kl(xp, concentration, uniform, shares=False)


def _uniform(xp, concentration):
    """The uniform Dirichlet's concentration (ones, shaped like the parameter) and its
    log-density ``log((K-1)!)``, with which ``H(P) = -log((K-1)!) - KL(P || uniform)``."""
    uniform = xp.divide(concentration, concentration)
    return uniform, _log_factorial(xp, xp.event_size(concentration) - 1)


@register_cross_entropy(Dirichlet, Dirichlet)
@in_chunks(1, 1)
def cross_entropy(xp, concentration_p, concentration_q):
    """Cross-entropy H(Dirichlet(a), Dirichlet(a')) = KL + H(P).

    The entropy's KL to the uniform and the KL to Q are one call on both pairs (one KL to
    compile).
    """
    uniform, log_normaliser = _uniform(xp, concentration_p)
    to_q, to_uniform = xp.together(
        functools.partial(kl, xp),
        (concentration_p, concentration_q),
        (concentration_p, uniform),
        event=True,
    )
    return to_q - log_normaliser - to_uniform

"""Closed forms for the Gamma distribution (and its pairs with the exponential), in nats.

The textbook KL divergence ``(a_p - a_q) digamma(a_p) - lgamma(a_p) + lgamma(a_q) +
a_q log(b_p / b_q) + a_p (b_q - b_p) / b_p`` adds terms of size ``a log a`` to
get a result of size ``(a_q - a_p)**2 / a``: for close or large shapes it loses
every digit. Splitting ``lgamma`` into ``x log x - x`` and the rest regroups it
into two terms that are each ``>= 0``::

    KL = a_q (t - 1 - log t) + stirling_bregman(a_p, a_q),   t = (a_p / b_p) / (a_q / b_q),

the first a function of the ratio of the means ``t`` (computed from ``1 - t``,
:func:`verify._special.ratio_gap`, exact where the means are close), the second
the Bregman divergence of ``lgamma`` beyond that of ``x log x - x``
(:func:`verify._special.stirling_bregman`, a sum of non-negative terms). The
entropy ``a - log b + lgamma(a) + (1 - a) digamma(a)`` has the same
cancellation for large ``a``; with Stirling's remainder ``mu``
(:func:`verify._special.lgamma_stirling`) it is ``(log(2 pi a) + 1) / 2 - 1 /
(2 a) + mu(a) + (1 - a) mu'(a) - log b``, whose terms stay small. The
cross-entropy is ``H(P) + KL(P || Q)``. An exponential distribution is the
Gamma of shape 1: its pairs with a Gamma are these forms at ``a = 1``.
"""

from __future__ import annotations

from verify.families.exponential import Exponential
from verify.families.gamma import Gamma
from verify.formulas import exponential, register_cross_entropy, register_entropy, register_kl


@register_kl(Gamma, Gamma)
def kl(xp, concentration_p, rate_p, concentration_q, rate_q):
    """KL(Gamma(a_p, b_p) || Gamma(a_q, b_q)), both terms ``>= 0`` (see the module docstring).

    Example:
        >>> from verify._ops import jax_ops
        >>> # Equal means, shapes 1/1024 apart (relative): KL ~ (1/1024)**2 / 4
        >>> float(kl(jax_ops, 1024.0, 1.0, 1025.0, 1025 / 1024))
        2.38341...e-07
    """
    gap = xp.ratio_gap(concentration_p, rate_p, concentration_q, rate_q)  # 1 - t
    log_t = xp.log_ratio(concentration_p, concentration_q) + xp.log_ratio(rate_q, rate_p)
    return concentration_q * xp.kl_div_log(log_t, gap) + xp.stirling_bregman(
        concentration_p, concentration_q
    )


@register_entropy(Gamma)
def entropy(xp, concentration, rate):
    """Differential entropy, through Stirling's remainder (no ``a log a`` terms to cancel).

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(entropy(jax_ops, 1.0, 2.0)), 6)  # Gamma(1, b) = Exponential(b): 1 - log 2
        0.306853
    """
    a = concentration
    shape_part = (
        (xp.log(a) + xp.log(2 * xp.pi) + 1) / 2
        - 1 / (2 * a)
        + xp.lgamma_stirling(a)
        + (1 - a) * xp.digamma_stirling(a)
    )
    return shape_part - xp.log_full_range(rate)


@register_cross_entropy(Gamma, Gamma)
def cross_entropy(xp, concentration_p, rate_p, concentration_q, rate_q):
    """Cross-entropy ``-E_P[log q(X)]``, by one of two forms of the same value.

    For ``a_p >= 1``, ``H(P) + KL(P || Q)``: two accurate terms, ``H(P)`` bounded
    below. For ``a_p < 1``, where ``H(P)`` and the KL are about ``-1 / a_p`` and
    ``+1 / a_p``, the textbook sum ``-a_q log b_q + lgamma(a_q) + (a_q - 1) (log
    b_p - digamma(a_p)) + b_q a_p / b_p``, whose ``1 / a_p`` term is multiplied
    by ``a_q - 1`` (exactly 0 for an exponential Q).

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(cross_entropy(jax_ops, 2.0, 1.0, 2.0, 1.0)), 5)  # H(P)
        1.57722
    """
    small = concentration_p < 1
    a_small = xp.where(small, concentration_p, 1 / 2)  # harmless arguments where unused
    a_large = xp.where(small, 1, concentration_p)
    textbook = (
        -concentration_q * xp.log_full_range(rate_q)
        + xp.lgamma(concentration_q)
        + (concentration_q - 1) * (xp.log_full_range(rate_p) - xp.digamma(a_small))
        + a_small * xp.diff_ratio(rate_q, 0, rate_p)
    )
    split = entropy(xp, a_large, rate_p) + kl(xp, a_large, rate_p, concentration_q, rate_q)
    return xp.where(small, textbook, split)


@register_kl(Exponential, Gamma)
def kl_exponential_gamma(xp, rate_p, concentration_q, rate_q):
    """KL(Exponential(b_p) || Gamma(a_q, b_q)): the Gamma form at ``a_p = 1``.

    Example:
        >>> from verify._ops import jax_ops
        >>> float(kl_exponential_gamma(jax_ops, 2.0, 1.0, 2.0))  # the same distribution
        0.0
    """
    return kl(xp, 1, rate_p, concentration_q, rate_q)


@register_kl(Gamma, Exponential)
def kl_gamma_exponential(xp, concentration_p, rate_p, rate_q):
    """KL(Gamma(a_p, b_p) || Exponential(b_q)): the Gamma form at ``a_q = 1``."""
    return kl(xp, concentration_p, rate_p, 1, rate_q)


@register_cross_entropy(Exponential, Gamma)
def cross_entropy_exponential_gamma(xp, rate_p, concentration_q, rate_q):
    """Cross-entropy H(Exponential(b_p), Gamma(a_q, b_q)) = H(P) + KL(P || Q)."""
    return exponential.entropy(xp, rate_p) + kl_exponential_gamma(
        xp, rate_p, concentration_q, rate_q
    )


@register_cross_entropy(Gamma, Exponential)
def cross_entropy_gamma_exponential(xp, concentration_p, rate_p, rate_q):
    """Cross-entropy H(Gamma(a_p, b_p), Exponential(b_q)) = ``b_q a_p / b_p - log b_q``.

    As :func:`cross_entropy`: ``H(P) + KL(P || Q)`` for ``a_p >= 1`` (accurate near
    ``P = Q``, where the value may be near 0), the plain sum for ``a_p < 1``.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(cross_entropy_gamma_exponential(jax_ops, 1e-10, 1.0, 1.0)), 15)  # b_q E[X]
        1e-10
    """
    small = concentration_p < 1
    a_small = xp.where(small, concentration_p, 1 / 2)  # harmless arguments where unused
    a_large = xp.where(small, 1, concentration_p)
    plain = a_small * xp.diff_ratio(rate_q, 0, rate_p) - xp.log_full_range(rate_q)
    split = entropy(xp, a_large, rate_p) + kl_gamma_exponential(xp, a_large, rate_p, rate_q)
    return xp.where(small, plain, split)

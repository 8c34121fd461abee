"""Closed forms for the Beta distribution, in nats, in numerically stable form.

The Beta family is exponential with log-partition ``log B(a, b)``, so the KL
divergence is the Bregman divergence of ``lgamma`` terms,
``R(a) + R(b) - R(a + b)`` with ``R(x) = lgamma(x') - lgamma(x) - (x' - x)
digamma(x)`` (``x'`` the parameter of Q). Each ``R`` is non-negative, but their
difference is not a sum of non-negative terms: for large concentrations with
equal means (``Q = Beta(c a, c b)``) the three cancel to a result ``(a + b)``
times smaller (six digits at ``a, b = 1e6``). With Stirling's formula ``lgamma(x)
= (x - 1/2) log x - x + log(2 pi)/2 + omega(x)`` each ``R`` splits into a KL
summand ``x' log(x'/x) - x' + x``, half a ``x'/x - 1 - log(x'/x)`` and Binet's
function's divergence; grouped across the parameters these are

* ``(a' + b') KL(Bernoulli(mean_P) || Bernoulli(mean_Q))``, from the exact
  difference of the means ``(da b - db a) / ((a + b)(a' + b'))`` (``>= 0``);
* half a Jensen gap ``f(da/a) + f(db/b) - f(ds/s)`` of the convex ``f(u) = u -
  log1p(u)`` (``>= 0``, and at least the smallest of ``f(da/a), f(db/b)`` in size
  when one is not much larger than the other);
* the Binet remainder, ``O(1/x)`` smaller than the rest for large parameters,
  computed term by term from Stirling's series (:func:`verify._special.binet_bregman`).

The differences ``da = a' - a`` and ``db = b' - b`` are exact for close
parameters (Sterbenz) and carry the digits the parameters would lose.
Measured against mpmath: <= 1.2e-14 relative on near-equal and far pairs with
concentrations 1e-8 ... 1e12 within a factor 100 of each other. With one
concentration of at most 1 and at most 1/100 of the other, in P and in Q, the larger
one's Jensen and Binet terms and the sum's cancel (relative error about ``eps /
min``: 5e-7 at ``Beta(1e-8, 11.9) || Beta(1e-8, 11.9000119)``); there the KL is
the sum of each parameter's share, ``R(x) - x / s R(s)``, the larger one's with
``R(s) - R(x)`` as the integral of its derivative (digamma differences and
divergences, none of ``lgamma``'s size: :func:`verify._special.lgamma_bregman_share`),
which gives the adversarial pairs within 1.2e-14 (and 900 random pairs with ratios
1e2 ... 1e14 within 1.7e-14). The difference of the means comes from ``da, db`` only
where the total concentrations are within a factor 2; beyond, ``a' - a`` may round
to ``-a`` and it comes from the means themselves (NaN where a mean of P is below
the float range). Where the stable terms are ``inf - inf`` (concentrations some 1e20
apart), the textbook form is taken if its own rounding bound is within 1e-6 of it,
else NaN. The stable form itself is taken only where its rounding bound is within 1e-4
of it (64 ulp in float16 and bfloat16): ``4 n eps`` times the sum of its seven terms'
sizes, plus how far the means' term may move with the rounding of the gap
(``kl_div_delta_error``: the gap is rounded from products or means of its own size, and
at total concentrations beyond about 1e25 with nearly equal means that is all of it).
Beyond, the value is NaN (``verify.kl`` raises), not a number that means nothing.
``benchmarks/extremes.py`` (concentrations 1e-300 ... 1e300, 6561 pairs, mpmath at 720
digits) finds every pair right up to a ratio of 1e16 (largest over smallest of the
four), and beyond: 5757 right, 689 NaN, none loose or wrong (the shares' form
included; before the bound: 5145
right, 62 within 1e-2, 1015 NaN, 224 wrong, e.g. ``Beta(1e-20, 1e-100) || Beta(1e20,
1e-300)``: 1e-60 for 459.5). On concentrations 1e-3 ... 1e6 (10^4 pairs) it declines
none. ``Beta(3e100, 7e100) || Beta(4.5e100, 1.05e101)`` (exact 4.85e67: the rounded
inputs' means differ by 1e-17) is NaN; it was 5.3e67. Pairing each larger
concentration's Jensen and Binet terms with the sum's
(their difference formed without cancellation) would turn the NaN into values.

Entropy is ``-KL(P || Beta(1, 1))`` (the uniform distribution has entropy 0 and
cross-entropy 0 from any P), the same stable form. Cross-entropy is taken from the
density, ``log B(a', b') + (a' - 1)(psi(s) - psi(a)) + (b' - 1)(psi(s) - psi(b))``,
with ``log B`` free of cancelling ``lgamma``s (:func:`log_beta`) and the digamma
differences from ``a`` and ``b`` (:func:`verify._special.digamma_diff`), where its
rounding bound is within 64 ulp of it; elsewhere (large concentrations) as ``KL(P ||
Q) + H(P)``, whose two terms cancel where it crosses zero. The KL form alone was 0.39
off in float32 at ``Beta(1e-8, 11.9) || Beta(1, 1e5)`` (before the shares' form, the
KLs' cancellation there, twice).
"""

from __future__ import annotations

import functools

from verify.families.beta import Beta
from verify.formulas import in_chunks, register_cross_entropy, register_entropy, register_kl


@register_kl(Beta, Beta)
@in_chunks(0, 0, 0, 0)
def kl(xp, concentration1_p, concentration0_p, concentration1_q, concentration0_q, shares=True):
    """KL(Beta(a, b) || Beta(a', b')).

    ``shares=False`` leaves out the shares' form (below), for a Q in which no concentration
    is 100 times the other (``Beta(1, 1)``, the entropy's), where it never applies: the
    computation is not compiled.

    Example:
        >>> from verify._ops import jax_ops
        >>> h = 2**-20  # equal means: lgamma's divergences cancel by 1e6
        >>> float(kl(jax_ops, 1e6, 1e6, 1e6 * (1 + h), 1e6 * (1 + h)))  # about h**2 / 4
        2.2737...e-13
    """
    a, b = concentration1_p, concentration0_p
    da, db = concentration1_q - a, concentration0_q - b
    s_p, s_q = a + b, concentration1_q + concentration0_q
    ds = da + db
    # The means of P: NaN where one is below the float range (flushed to 0, for which
    # kl_div_delta would give +inf or 0 in place of a finite term).
    mean1, mean0 = xp.positive_or_nan(a / s_p), xp.positive_or_nan(b / s_p)
    # mean_Q - mean_P, written to overflow nowhere: from the differences (exact for close
    # parameters) where the totals are within a factor 2; beyond, a' - a may round to -a
    # (Q's concentrations lost) and the two products cancel: from the means themselves
    # (or their complements), each mean its own (one taken from the other rounds below 0).
    near = (s_q <= 2 * s_p) & (s_p <= 2 * s_q)
    gap = (da / s_q) * mean0 - (db / s_q) * mean1
    gap1 = xp.where(near, gap, xp.mean_difference(a, b, concentration1_q, concentration0_q))
    gap0 = xp.where(near, -gap, xp.mean_difference(b, a, concentration0_q, concentration1_q))
    means = s_q * (xp.kl_div_delta(mean1, gap1) + xp.kl_div_delta(mean0, gap0))
    # How far the rounding of the gap may move it: the gap is rounded from terms of the
    # size of the two products (near), or of the smaller of a mean and its complement
    # (mean_difference). Where the totals exceed 1e25 and the means nearly agree, this
    # is all of it (Beta(3e100, 7e100) || Beta(4.5e100, 1.05e101)).
    smaller = xp.minimum(mean1, mean0)
    products = xp.abs(da / s_q * mean0) + xp.abs(db / s_q * mean1)
    size1 = xp.where(near, products, 2 * smaller + xp.abs(gap1))
    size0 = xp.where(near, products, 2 * smaller + xp.abs(gap0))
    means_error = s_q * (
        xp.kl_div_delta_error(mean1, gap1, size1) + xp.kl_div_delta_error(mean0, gap0, size0)
    )
    # Each of the three parameters' terms, the sum's subtracted (one call each: one copy to
    # compile).
    signs = (1, 1, -1)
    jensen = xp.together(
        xp.ratio_kl, (concentration1_q, a, da), (concentration0_q, b, db), (s_q, s_p, ds)
    )
    binet = xp.together(
        xp.binet_bregman, (a, concentration1_q, da), (b, concentration0_q, db), (s_p, s_q, ds)
    )
    jensen, binet = ([sign * x for sign, x in zip(signs, terms)] for terms in (jensen, binet))
    stable = means + sum(jensen) / 2 + sum(binet)
    terms = [means, *jensen, *binet]
    # Whether its rounding bound (a worst case, 4 n ulp per term) is within 1e-13 of it (64
    # ulp in float32; NaN where not; at 1e-11 it was taken 4.7e-13 off at Beta(1e-3, 1) ||
    # Beta(1e-3, 0.999)), and the value where it is within 1e-4.
    precise = xp.within_rounding(stable, terms, [], tolerance=1e-13, error=means_error)
    stable = xp.within_rounding(stable, terms, [], error=means_error)

    # Where the stable terms are inf - inf (NaN): the textbook form, within its own rounding
    # bound, else NaN (as for the Dirichlet KL). Computed only for a batch with such a pair.
    def textbook():
        return xp.accurate_sum(
            [
                xp.lgamma(s_p),
                -xp.lgamma(s_q),
                xp.lgamma(concentration1_q),
                -xp.lgamma(a),
                xp.lgamma(concentration0_q),
                -xp.lgamma(b),
                -da * xp.digamma(a),
                -db * xp.digamma(b),
                ds * xp.digamma(s_p),
            ],
            [],
        )

    if shares:
        # One concentration at most 1 and at most 1/100 of the other, in P and in Q: the
        # larger one's Jensen and Binet terms and the sum's cancel (about eps / min is left).
        # There, each parameter's share of the Bregman divergence, the larger one's paired
        # with the sum; only where the form above may have lost digits (10x its time).
        def by_shares(a, b, a_q, b_q, da, db):
            (share_a, error_a), (share_b, error_b) = xp.together(
                xp.lgamma_bregman_share, (a, b, a_q, b_q, da, db), (b, a, b_q, a_q, db, da)
            )
            return xp.accurate_sum([share_a, share_b], [], error=error_a + error_b, tolerance=1e-4)

        tiny = xp.nearly_all(a, b, concentration1_q, concentration0_q) | xp.nearly_all(
            b, a, concentration0_q, concentration1_q
        )
        tiny = tiny & xp.declined(precise)
        args = (a, b, concentration1_q, concentration0_q, da, db)
        # Where the shares are not finite or their rounding bound exceeds 1e-4 of them (NaN,
        # as the form above): the form above.
        routed = xp.in_regime(tiny, by_shares, args, (1, 1, 1, 1, 0, 0), stable)
        stable = xp.unless_nan(routed, lambda: stable)

    return xp.unless_nan(stable, textbook)


@register_entropy(Beta)
@in_chunks(0, 0)
def entropy(xp, concentration1, concentration0):
    """Differential entropy of Beta(a, b), ``-KL(Beta(a, b) || Beta(1, 1))`` (``<= 0``)."""
    return 0 - kl(xp, concentration1, concentration0, 1, 1, shares=False)  # +0.0 at (1, 1)


def log_beta(xp, x, y):
    """``log B(x, y)`` and the sizes of its terms (for ``within_rounding``).

    With ``x <= y``: ``lgamma(x) - x digamma(y) - lgamma_bregman(y, x + y)``. The
    last term (``>= 0``, about ``x**2 / 2y``) is the part of ``lgamma(x + y) -
    lgamma(y)`` that ``x digamma(y)`` leaves: no ``lgamma`` of size ``y log y`` is
    subtracted from another (``log B(1, 1e5) = -log(1e5)``, not ``1.05e6 -
    1.05e6``). The sizes include ``x``: XLA's digamma is accurate to about eps in
    absolute terms only, near its zero at 1.46.
    """
    ordered = x <= y
    small, large = xp.where(ordered, x, y), xp.where(ordered, y, x)
    parts = [
        xp.lgamma(small),
        -small * xp.digamma(large),
        -xp.lgamma_bregman(large, large + small, small),
    ]
    return sum(parts), [*parts, small]


@register_cross_entropy(Beta, Beta)
@in_chunks(0, 0, 0, 0)
def cross_entropy(xp, concentration1_p, concentration0_p, concentration1_q, concentration0_q):
    """Cross-entropy H(Beta(a, b), Beta(a', b')), from the density where that is accurate.

    ``log B(a', b') + (a' - 1) (psi(s) - psi(a)) + (b' - 1) (psi(s) - psi(b))``,
    the digamma differences taken from ``a`` and ``b`` (:func:`digamma_diff`: no
    cancellation where one concentration is far below the other, as at ``Beta(1e-8,
    11.9) || Beta(1, 1e5)``, where ``KL(P || Q) - KL(P || U)`` was 0.39 off in
    float32), where its rounding bound is within 64 ulp of it; elsewhere (large
    concentrations, whose terms cancel) that difference of KLs.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(cross_entropy(jax_ops, 1e-8, 11.9, 1.0, 1e5)), 6)
        -11.512838
    """
    a, b = concentration1_p, concentration0_p
    beta, sizes = log_beta(xp, concentration1_q, concentration0_q)
    differences = xp.together(xp.digamma_diff, (a, b), (b, a))
    terms = [(concentration1_q - 1) * differences[0], (concentration0_q - 1) * differences[1]]
    direct = xp.within_rounding(beta + sum(terms), [*sizes, *terms], [], tolerance=0)

    def from_kls():  # one KL to compile, on both pairs
        to_q, to_uniform = xp.together(
            functools.partial(kl, xp), (a, b, concentration1_q, concentration0_q), (a, b, 1, 1)
        )
        return to_q - to_uniform

    return xp.unless_nan(direct, from_kls)

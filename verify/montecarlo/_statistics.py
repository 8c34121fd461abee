"""Normal tail probabilities, critical values and the trust diagnostics.

Everything here runs on the host in NumPy float64 (no SciPy at run time).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "MAX_EDGEWORTH_RATIO",
    "MAX_VARIANCE_REL_ERROR",
    "VARIANCE_BOUND_SIGMAS",
    "critical_value",
    "normal_isf",
    "normal_sf",
    "variance_rel_error",
]

#: Largest estimated relative standard error of the sample variance for which
#: the standard error is trusted (see :func:`variance_rel_error`).
MAX_VARIANCE_REL_ERROR = 0.1
#: The variance used by the test is ``s^2 (1 + VARIANCE_BOUND_SIGMAS * eps)``:
#: an upper confidence bound on the variance, not the point estimate.
VARIANCE_BOUND_SIGMAS = 3.0
#: Largest Edgeworth correction, relative to the normal tail, that is trusted.
MAX_EDGEWORTH_RATIO = 1.0

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_sf(z):
    """Upper tail ``P(Z > z)`` of the standard normal, accurate far into the tail.

    Example:
        >>> float(normal_sf(0.0)), f"{float(normal_sf(5.0)):.4e}"
        (0.5, '2.8665e-07')
    """
    return np.asarray(0.5 * _erfc(np.asarray(z, np.float64) / math.sqrt(2)), np.float64)


def normal_pdf(z):
    """Standard normal density."""
    z = np.asarray(z, np.float64)
    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _solve_decreasing(function, target, lo=0.0, hi=40.0, iterations=200):
    """``z`` in ``[lo, hi]`` with ``function(z) = target`` for decreasing ``function``."""
    target = np.asarray(target, np.float64)
    lo = np.full(target.shape, lo)
    hi = np.full(target.shape, hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        above = function(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return hi


def normal_isf(p):
    """``z`` with ``P(Z > z) = p``, for ``p`` in (0, 1/2].

    Example:
        >>> round(float(normal_isf(0.01)), 4), round(float(normal_isf(0.5e-6)), 4)
        (2.3263, 4.8916)
    """
    p = np.asarray(p, np.float64)
    return _solve_decreasing(lambda z: np.log(normal_sf(z)), np.log(p))


def variance_rel_error(kurtosis, num_samples):
    """Estimated relative standard error of the sample variance: ``sqrt((kurt - 1) / n)``.

    For i.i.d. samples with finite fourth moment the sample variance ``s^2``
    has variance ``sigma^4 (kurt - 1) / n`` (to leading order), so this is the
    relative error of ``s^2`` and about twice that of the standard error. It is
    the diagnostic that decides whether a standard error can be trusted.

    Why this and not batch means: batch means detect *correlation* between
    samples, and these samples are independent by construction; when the
    log-ratio is heavy-tailed both the naive and the batch-means variance are
    dominated by the same few extreme samples and agree with each other, so
    their ratio says nothing. Heavy tails show instead in the fourth moment:
    when one sample carries a share ``s`` of the sum of squared deviations,
    ``kurt / n >= s^2``, so a dominating sample drives this quantity to order 1.
    When the variance is infinite (e.g. Schulman's k3 estimator with a Normal
    Q more than ``sqrt(2)`` times wider than P, where ``E_P[(q/p)^2]``
    diverges) the sample kurtosis grows like ``n`` and this does not shrink
    with more samples.

    Example:
        >>> float(variance_rel_error(3.0, 200))  # normal samples
        0.1
    """
    kurtosis = np.asarray(kurtosis, np.float64)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.maximum(kurtosis - 1, 0) / num_samples)


def critical_value(alpha, skewness, num_samples):
    """Two-sided critical value of the CLT test, corrected for skewness.

    The one-term Edgeworth expansion of the standardised mean of ``n`` samples
    with skewness ``g`` is ``P(T > z) = sf(z) + pdf(z) g (z^2 - 1) / (6 sqrt(n))``
    (and with the opposite sign in the lower tail). The returned ``z`` makes
    the larger of the two tails plus the other at most ``alpha``:
    ``2 sf(z) + 2 pdf(z) |g| (z^2 - 1) / (6 sqrt(n)) = alpha``. At ``alpha =
    1e-6`` the correction matters: with skewness 3 and 10^4 samples the plain
    normal ``z`` would have about twice the stated false-alarm rate.

    Args:
        alpha: the false-alarm probability, in (0, 1).
        skewness: sample skewness of the terms (array).
        num_samples: the sample count.

    Returns:
        ``(z, ratio)``: the critical value and the Edgeworth correction relative
        to the normal tail at ``z``. The expansion is trusted as a bound only
        while ``ratio <= MAX_EDGEWORTH_RATIO``.

    Example:
        >>> z, ratio = critical_value(1e-6, 0.0, 10**6)
        >>> round(float(z), 4), float(ratio)
        (4.8916, 0.0)
    """
    g = np.abs(np.nan_to_num(np.asarray(skewness, np.float64), nan=np.inf))
    g = np.minimum(g, 1e300)
    scale = g / (6 * math.sqrt(num_samples))

    def tail(z):
        return 2 * normal_sf(z) + 2 * normal_pdf(z) * scale * (z * z - 1)

    target = np.broadcast_to(np.log(np.asarray(alpha, np.float64)), scale.shape)
    z = _solve_decreasing(lambda z: np.log(tail(z)), target, lo=1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = normal_pdf(z) * scale * (z * z - 1) / normal_sf(z)
    return z, ratio

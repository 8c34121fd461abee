"""Central moments of a stream, merged exactly and without cancellation.

A set of samples is summarised by its count ``n``, mean and the sums of
powers of deviations from that mean, ``M_k = sum (x - mean)^k`` for k = 2, 3, 4.
Two summaries merge exactly (Chan, Golub and LeVeque for ``M_2``; Pébay for
``M_3`` and ``M_4``): no sum of raw powers is ever formed, so a stream of 10^9
samples whose mean is large compared with their spread loses no digits the
way ``sum(x^2) - n mean^2`` does.

The functions take a backend (``numpy`` or ``jax.numpy``) so the device
(inside the jitted scan) and the host (across devices) merge with one code.

References:
    T. F. Chan, G. H. Golub, R. J. LeVeque, "Updating formulae and a pairwise
    algorithm for computing sample variances", 1979.
    P. Pébay, "Formulas for robust, one-pass parallel computation of
    covariances and arbitrary-order statistical moments", Sandia report
    SAND2008-6212, 2008.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Moments", "chunk_moments", "merge", "merge_all", "zeros"]


class Moments(NamedTuple):
    """Count, mean and central power sums ``M2, M3, M4``; arrays of one shape."""

    n: object
    mean: object
    m2: object
    m3: object
    m4: object


def zeros(xp, shape, dtype):
    """The summary of no samples."""
    return Moments(*(xp.zeros(shape, dtype) for _ in range(5)))


def chunk_moments(xp, values, valid):
    """Summary of the valid entries of ``values`` along axis 1.

    Args:
        xp: ``numpy`` or ``jax.numpy``.
        values: shape ``(terms, chunk, *batch)``; invalid entries may be anything
            (nan included).
        valid: boolean, shape ``(chunk,)``, or None when every entry is valid.

    Returns:
        :class:`Moments` of shape ``(terms, *batch)``. Two passes over the chunk
        (mean, then deviations), so the chunk's own sums are accurate too.
    """
    if valid is None:  # every entry is valid: one pass, about a shift (the first entry)
        n = xp.asarray(values.shape[1], values.dtype)
        shift = values[:, :1]
        d = values - shift
        d2 = d * d
        s1, s2 = xp.sum(d, axis=1), xp.sum(d2, axis=1)
        s3, s4 = xp.sum(d2 * d, axis=1), xp.sum(d2 * d2, axis=1)
        # Power sums about the shift -> about the chunk mean (c = mean - shift,
        # of the order of one standard deviation, so little cancellation).
        c = s1 / n
        m2 = s2 - c * s1
        m3 = s3 - 3 * c * s2 + 2 * c * c * s1
        m4 = s4 - 4 * c * s3 + 6 * c * c * s2 - 3 * c * c * c * s1
        mean = shift[:, 0] + c
        return Moments(xp.broadcast_to(n, mean.shape), mean, m2, m3, m4)
    else:
        mask = valid.reshape((1, -1) + (1,) * (values.ndim - 2))
        values = xp.where(mask, values, xp.zeros((), values.dtype))
        n = xp.sum(valid).astype(values.dtype)
        mean = xp.sum(values, axis=1) / xp.maximum(n, 1)
        dev = xp.where(mask, values - mean[:, None], xp.zeros((), values.dtype))
    dev2 = dev * dev
    m2 = xp.sum(dev2, axis=1)
    m3 = xp.sum(dev2 * dev, axis=1)
    m4 = xp.sum(dev2 * dev2, axis=1)
    return Moments(xp.broadcast_to(n, mean.shape), mean, m2, m3, m4)


def merge(xp, a: Moments, b: Moments) -> Moments:
    """Exact summary of the union of two sets of samples (Pébay's formulas)."""
    n = a.n + b.n
    safe = xp.where(n > 0, n, xp.ones((), n.dtype))
    delta = b.mean - a.mean
    # A summary of no samples has mean 0, so delta is finite whenever the means are.
    frac_b = b.n / safe
    mean = a.mean + delta * frac_b
    nab = a.n * b.n / safe
    m2 = a.m2 + b.m2 + delta * delta * nab
    m3 = (
        a.m3
        + b.m3
        + delta**3 * nab * (a.n - b.n) / safe
        + 3 * delta * (a.n * b.m2 - b.n * a.m2) / safe
    )
    m4 = (
        a.m4
        + b.m4
        + delta**4 * nab * (a.n * a.n - a.n * b.n + b.n * b.n) / (safe * safe)
        + 6 * delta * delta * (a.n * a.n * b.m2 + b.n * b.n * a.m2) / (safe * safe)
        + 4 * delta * (a.n * b.m3 - b.n * a.m3) / safe
    )
    return Moments(n, mean, m2, m3, m4)


def merge_all(xp, summaries: Moments) -> Moments:
    """Merges summaries stacked along axis 0, in order."""
    out = Moments(*(field[0] for field in summaries))
    for i in range(1, summaries.n.shape[0]):
        out = merge(xp, out, Moments(*(field[i] for field in summaries)))
    return out

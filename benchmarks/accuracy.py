"""Accuracy benchmark: relative error against mpmath at 50 digits, side by side with peers.

Usage::

    python benchmarks/accuracy.py [--points 200] [--output benchmarks/results/accuracy.md]

For every closed form (Normal, Bernoulli, Categorical, MultivariateNormal; KL,
entropy, cross-entropy), in float64 and float32, parameters are drawn on a grid
of regions (near-equal distributions with relative parameter differences 1e-1 ...
1e-12, probabilities down to 1e-300 and up to 1 - 1e-16, scales and locations
from 1e-300 to 1e300, multivariate normals of dimension up to 50 with
covariance condition numbers up to 1e6). The reference is the exact value of
the *definition* for the given floating-point inputs: the inputs are converted
exactly to mpmath numbers and the textbook formula is evaluated with 50
significant digits (for Bernoulli, ``1 - p`` is exact there; for Categorical,
the sum ``sum_k p_k log(p_k / q_k) - p_k + q_k`` of the given vectors, the KL
divergence on the simplex and the generalised divergence ``verify`` documents
off it). The table gives,
per region and implementation, the median and the maximum relative error
``|computed - exact| / |exact|``; ``inf`` means a non-finite result where the
exact value is finite. Peers that are not installed are skipped with a note.

A second table measures ``jax.grad`` of the KL forms on the near-equal regions
against the exact derivatives (analytic, evaluated in mpmath): the largest
componentwise relative error per point.

Peers run from a separate environment (``pip install .[bench]``); the script
imports this checkout from its parent directory.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

import _peers
import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np

DIGITS = 50
COLUMNS = list(_peers.IMPLEMENTATIONS)


# ------------------------------------------------------------------ references
def _m(x):
    return mp.mpf(float(x))


def _xlogy(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log(y)


def _ref_normal(quantity, mp_, sp_, mq=None, sq=None):
    mp_, sp_ = _m(mp_), _m(sp_)
    if quantity == "entropy":
        return mp.log(sp_) + (1 + mp.log(2 * mp.pi)) / 2
    mq, sq = _m(mq), _m(sq)
    d, r = (mp_ - mq) / sq, sp_ / sq
    if quantity == "kl":
        return d**2 / 2 + (r**2 - 1) / 2 - mp.log(r)
    return mp.log(sq) + mp.log(2 * mp.pi) / 2 + (d**2 + r**2) / 2


def _ref_discrete(quantity, p, q=None):
    p = [_m(x) for x in np.atleast_1d(p)]
    q = None if q is None else [_m(x) for x in np.atleast_1d(q)]
    if len(p) == 1:
        return _ref_bernoulli(quantity, p[0], None if q is None else q[0])
    if quantity == "entropy":
        return -mp.fsum(_xlogy(a, a) for a in p)
    if quantity == "cross_entropy":
        return -mp.fsum(_xlogy(a, b) for a, b in zip(p, q))
    if any(a > 0 and b == 0 for a, b in zip(p, q)):
        return mp.inf
    # sum p log(p/q) - p + q: the KL on the simplex, and for float vectors whose sums
    # differ from 1 the generalised divergence verify documents (never negative).
    return mp.fsum(_xlogy(a, a) - _xlogy(a, b) - a + b for a, b in zip(p, q))


def _ref_bernoulli(quantity, p, q):
    """The complements' logarithms through log1p: 1 - 1e-300 needs 300 digits, log1p does not."""

    def complement_log(x):
        return mp.log1p(-x)

    def xlog_complement(x, y):  # (1 - x) log(1 - y)
        return mp.mpf(0) if x == 1 else (1 - x) * complement_log(y)

    if quantity == "entropy":
        return -(_xlogy(p, p) + xlog_complement(p, p))
    if quantity == "cross_entropy":
        return -(_xlogy(p, q) + xlog_complement(p, q))
    if (p > 0 and q == 0) or (p < 1 and q == 1):
        return mp.inf
    ones = mp.mpf(0) if p == 0 else p * (mp.log(p) - mp.log(q))
    zeros = mp.mpf(0) if p == 1 else (1 - p) * (complement_log(p) - complement_log(q))
    return ones + zeros


def _mp_matrix(a):
    return mp.matrix([[_m(x) for x in row] for row in np.atleast_2d(a)])


def _lower_solve(lower, rhs):
    """Forward substitution in mpmath, rhs a matrix."""
    n, k = rhs.rows, rhs.cols
    out = mp.matrix(n, k)
    for j in range(k):
        for i in range(n):
            acc = rhs[i, j] - mp.fsum(lower[i, t] * out[t, j] for t in range(i))
            out[i, j] = acc / lower[i, i]
    return out


def _ref_mvn(quantity, mp_, lp, mq=None, lq=None):
    d = len(mp_)
    lp_ = _mp_matrix(lp)
    logdet_p = mp.fsum(mp.log(lp_[i, i]) for i in range(d))
    if quantity == "entropy":
        return d * (1 + mp.log(2 * mp.pi)) / 2 + logdet_p
    lq_ = _mp_matrix(lq)
    w = _lower_solve(lq_, lp_)
    z = _lower_solve(lq_, mp.matrix([[_m(a) - _m(b)] for a, b in zip(mp_, mq)]))
    trace = mp.fsum(w[i, j] ** 2 for i in range(d) for j in range(d))
    maha = mp.fsum(z[i, 0] ** 2 for i in range(d))
    logdet_q = mp.fsum(mp.log(lq_[i, i]) for i in range(d))
    if quantity == "kl":
        return (trace + maha - d) / 2 + logdet_q - logdet_p
    return (trace + maha + d * mp.log(2 * mp.pi)) / 2 + logdet_q


def reference(family, quantity, params, index):
    """Exact value at point ``index`` of the batched ``params``."""
    point = [np.asarray(a)[index] for a in params]
    with mp.workdps(DIGITS):
        if family == "normal":
            return _ref_normal(quantity, *point)
        if family == "multivariate_normal":
            return _ref_mvn(quantity, *point)
        return _ref_discrete(quantity, *point)


# --------------------------------------------------------------------- regions
def _decades(rng, n, low, high):
    return 10.0 ** rng.uniform(low, high, n)


def _signs(rng, n):
    return rng.choice([-1.0, 1.0], n)


def _near_equal_deltas(dtype):
    """Relative differences of the near-equal regions: 1e-1 ... 1e-12 (float32: ... 1e-6)."""
    return [10.0**-k for k in range(1, 13 if dtype == np.float64 else 7)]


def _exponent_range(dtype):
    return 300 if dtype == np.float64 else 30


def regions(family, quantity, dtype, n, rng):
    """[(name, params)] with params a list of float64 arrays holding values exact in ``dtype``."""
    two = quantity != "entropy"
    out = []
    e_max = _exponent_range(dtype)
    if family == "normal":
        if quantity == "entropy":
            root = 1 / np.sqrt(2 * np.pi * np.e)
            out.append(("generic", [rng.normal(0, 3, n), _decades(rng, n, -1, 1)]))
            out.append(
                (
                    f"scales 1e-{e_max}..1e+{e_max}",
                    [rng.normal(0, 3, n), _decades(rng, n, -e_max, e_max)],
                )
            )
            gap = _signs(rng, n) * _decades(rng, n, -15 if dtype == np.float64 else -6, -1)
            out.append(("near zero (scale ~ 0.242)", [rng.normal(0, 3, n), root * (1 + gap)]))
            return out
        loc_p, scale_p = rng.normal(0, 3, n), _decades(rng, n, -1, 1)
        out.append(("generic", [loc_p, scale_p, rng.normal(0, 3, n), _decades(rng, n, -1, 1)]))
        for delta in (
            _near_equal_deltas(dtype)[::3]
            if quantity == "cross_entropy"
            else _near_equal_deltas(dtype)
        ):
            u, v = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
            out.append(
                (
                    f"near-equal 1e{int(np.log10(delta))}",
                    [loc_p, scale_p, loc_p + delta * scale_p * u, scale_p * (1 + delta * v)],
                )
            )
        scale = _decades(rng, n, -e_max, e_max)
        loc = _signs(rng, n) * _decades(rng, n, -e_max, e_max)
        ratio = _decades(rng, n, -3, 3)
        out.append(
            (
                f"scales, locs 1e-{e_max}..1e+{e_max}",
                [loc, scale, loc + scale * rng.normal(0, 3, n), scale * ratio],
            )
        )
        # Differences of parameters must stay normal numbers: XLA on CPU flushes
        # subnormals to zero, so near-equal scales start at 1e-290 rather than 1e-300.
        delta = 1e-9 if dtype == np.float64 else 1e-4
        scale = _decades(rng, n, -e_max + 10, e_max)
        loc = _signs(rng, n) * _decades(rng, n, -e_max + 10, e_max)
        out.append(
            (
                f"scales 1e-{e_max - 10}..1e+{e_max}, near-equal",
                [
                    loc,
                    scale,
                    loc + delta * scale * rng.uniform(-1, 1, n),
                    scale * (1 + delta * rng.uniform(-1, 1, n)),
                ],
            )
        )
        return out
    if family == "bernoulli":
        tiny_low = -300 if dtype == np.float64 else -37
        near_one = -16 if dtype == np.float64 else -7
        p = rng.uniform(0.01, 0.99, n)
        if not two:
            out.append(("generic", [p]))
            out.append((f"p ~ 1e{tiny_low}..1e-5", [_decades(rng, n, tiny_low, -5)]))
            out.append((f"p ~ 1 - 1e{near_one}..1 - 1e-5", [1 - _decades(rng, n, near_one, -5)]))
            return out
        out.append(("generic", [p, rng.uniform(0.01, 0.99, n)]))
        for delta in _near_equal_deltas(dtype):
            # q - p relative to min(p, 1 - p): both q and 1 - q stay close to p and 1 - p
            gap = delta * np.minimum(p, 1 - p) * rng.uniform(-1, 1, n)
            out.append((f"near-equal 1e{int(np.log10(delta))}", [p, p + gap]))
        tiny = _decades(rng, n, tiny_low, -5)
        out.append((f"p ~ 1e{tiny_low}..1e-5, q = 3p", [tiny, 3 * tiny]))
        # KL ~ p delta**2 must be a normal number: p from 1e-280 (float32: 1e-25).
        delta, low = (1e-9, -280) if dtype == np.float64 else (1e-4, -25)
        tiny = _decades(rng, n, low, -5)
        out.append(
            (f"p ~ 1e{low}..1e-5, near-equal", [tiny, tiny * (1 + delta * rng.uniform(-1, 1, n))])
        )
        gap = _decades(rng, n, near_one, -5)
        out.append((f"p ~ 1 - 1e{near_one}..1 - 1e-5, 1 - q = 3(1 - p)", [1 - gap, 1 - 3 * gap]))
        return out
    if family == "categorical":
        k = 6
        tiny_low = -300 if dtype == np.float64 else -37

        def simplex(size):
            return rng.dirichlet(np.ones(k), size)

        p = simplex(n)
        if not two:
            out.append(("generic K=6", [p]))
            spiky = p.copy()
            spiky[:, :3] = _decades(rng, 3 * n, tiny_low, -5).reshape(n, 3)
            spiky[:, 3:] *= (1 - spiky[:, :3].sum(1, keepdims=True)) / spiky[:, 3:].sum(
                1, keepdims=True
            )
            out.append((f"3 classes ~ 1e{tiny_low}..1e-5", [spiky]))
            return out
        out.append(("generic K=6", [p, simplex(n)]))
        for delta in _near_equal_deltas(dtype):
            q = _moved_mass(p, delta, rng, dtype)
            out.append((f"near-equal 1e{int(np.log10(delta))}", [p, q]))
        spiky = p.copy()
        spiky[:, :3] = _decades(rng, 3 * n, tiny_low, -5).reshape(n, 3)
        spiky[:, 3:] *= (1 - spiky[:, :3].sum(1, keepdims=True)) / spiky[:, 3:].sum(
            1, keepdims=True
        )
        tripled = spiky.copy()
        tripled[:, :3] *= 3
        out.append((f"3 classes ~ 1e{tiny_low}..1e-5, q = 3p there", [spiky, tripled]))
        delta, low = (1e-9, -280) if dtype == np.float64 else (1e-4, -25)
        spiky = p.copy()
        spiky[:, :3] = _decades(rng, 3 * n, low, -5).reshape(n, 3)
        spiky[:, 3:] *= (1 - spiky[:, :3].sum(1, keepdims=True)) / spiky[:, 3:].sum(
            1, keepdims=True
        )
        out.append(
            (
                f"3 classes ~ 1e{low}..1e-5, near-equal",
                [spiky, _moved_mass(spiky, delta, rng, dtype)],
            )
        )
        zeros = p.copy()
        zeros[:, :2] = 0
        zeros /= zeros.sum(1, keepdims=True)
        out.append(("P has zero classes", [zeros, simplex(n)]))
        return out
    raise ValueError(family)


def _moved_mass(p, delta, rng, dtype):
    """q from p by moving mass between class pairs, exactly: sum q = sum p in exact arithmetic."""
    from fractions import Fraction

    q = p.astype(dtype).astype(np.float64).copy()
    n, k = q.shape
    for row in range(n):
        for i in range(0, k - 1, 2):
            j = i + 1
            h = float(dtype(delta * min(q[row, i], q[row, j]) * rng.uniform(0.5, 1)))
            a, b = float(dtype(q[row, i] + h)), float(dtype(q[row, j] - h))
            if Fraction(a) - Fraction(q[row, i]) == Fraction(q[row, j]) - Fraction(b):
                q[row, i], q[row, j] = a, b
            else:  # move exactly the mass that the rounded sum moved
                moved = float(dtype(a - q[row, i]))
                b = float(dtype(q[row, j] - moved))
                if Fraction(a) - Fraction(q[row, i]) == Fraction(q[row, j]) - Fraction(b):
                    q[row, i], q[row, j] = a, b
    return q


def extreme_regions(family, quantity, dtype, n, rng):
    """[(name, params)] at the ends of the range: near the largest float, subnormal, mixed.

    XLA on CPU reads subnormal inputs as 0, so these regions test that the forms
    never let one reach the arithmetic (and never let an intermediate overflow
    where the result is finite).
    """
    info = np.finfo(dtype)
    top = int(np.floor(np.log10(info.max)))  # 308 (float64), 38 (float32)
    sub_low = float(np.log10(info.smallest_subnormal))
    sub_high = float(np.log10(info.tiny))
    two = quantity != "entropy"
    out = []
    if family == "normal":
        if not two:
            out.append(
                (
                    "huge scales 1e(top-10)..max",
                    [rng.normal(0, 1, n), _decades(rng, n, top - 10, top)],
                )
            )
            out.append(("subnormal scales", [np.zeros(n), _decades(rng, n, sub_low, sub_high)]))
            return out
        loc = rng.normal(0, 1, n)
        huge = _decades(rng, n, top - 10, top)
        out.append(("scale_q huge, scale_p ~ 1", [loc, _decades(rng, n, -1, 1), loc, huge]))
        out.append(
            (
                "scales anywhere (ratio beyond the range)",
                [loc, _decades(rng, n, sub_high, top), loc, _decades(rng, n, sub_high, top)],
            )
        )
        sub_p, sub_q = (
            _decades(rng, n, sub_low + 2, sub_high),
            _decades(rng, n, sub_low + 2, sub_high),
        )
        out.append(("subnormal scales", [np.zeros(n), sub_p, np.zeros(n), sub_q]))
        out.append(("subnormal, P = Q", [sub_p * 0, sub_p, sub_p * 0, sub_p]))
        edge = info.max * rng.uniform(0.5, 1, n)
        out.append(("locations +-max/2..max, scales max/4", [edge, edge / 4, -edge, edge / 4]))
        return out
    if family == "multivariate_normal":
        d = 3
        params = []
        for _ in range(max(n // 10, 10)):
            pattern = np.tril(rng.uniform(-0.5, 0.5, (d, d)), -1) + np.diag(rng.uniform(1, 2, d))
            s_p, s_q = 10.0 ** rng.uniform(sub_high, top - 1, 2)
            loc = rng.normal(0, 1, d)
            params.append((loc * s_p, pattern * s_p, loc[::-1] * s_q, pattern * s_q))
        arrays = [np.stack(a) for a in zip(*params)]
        out.append(("d=3, scales anywhere", arrays if two else arrays[:2]))
        params = []
        for _ in range(max(n // 10, 10)):
            pattern = np.tril(rng.uniform(-0.5, 0.5, (d, d)), -1) + np.diag(rng.uniform(1, 2, d))
            s = 10.0 ** rng.uniform(sub_low + 4, sub_high)
            params.append((np.zeros(d), pattern * s, np.zeros(d), pattern * s * 1.5))
        arrays = [np.stack(a) for a in zip(*params)]
        out.append(("d=3, subnormal factors", arrays if two else arrays[:2]))
        return out
    if family == "bernoulli":
        p = _decades(rng, n, sub_low + 1, sub_high)
        if two:
            out.append(("subnormal p, q = 3p", [p, 3 * p]))
            out.append(("p = 1/2, subnormal q", [np.full(n, 0.5), p]))
        else:
            out.append(("subnormal p", [p]))
        return out
    if family == "categorical":
        k = 4
        tiny = _decades(rng, (n, k - 1), sub_low + 1, sub_high)
        p = np.concatenate([tiny, 1 - tiny.sum(-1, keepdims=True)], axis=-1)
        q = np.concatenate([3 * tiny, 1 - 3 * tiny.sum(-1, keepdims=True)], axis=-1)
        out.append(("subnormal probabilities", [p, q] if two else [p]))
        return out
    raise ValueError(family)


def mvn_regions(quantity, dtype, rng):
    """[(name, params)] for dimensions 2 ... 50 and covariance condition numbers 1 ... 1e6."""
    out = []
    dims = (2, 5, 10, 20, 50)
    conds = (1e0, 1e2, 1e4, 1e6)
    deltas = (1e-1, 1e-4, 1e-8, 1e-12) if dtype == np.float64 else (1e-1, 1e-3, 1e-5)
    if quantity != "kl":
        deltas = deltas[:1]
    per_cell = 3
    for d in dims:
        for cond in conds:
            params = []
            for delta in deltas:
                for _ in range(per_cell):
                    lq = _tril_with_condition(rng, d, cond, dtype)
                    noise = np.tril(rng.normal(0, 1, (d, d))) * np.abs(lq)
                    lp = (lq + delta * noise).astype(dtype).astype(np.float64)
                    lp[np.diag_indices(d)] = np.abs(lp[np.diag_indices(d)])
                    mq = rng.normal(0, 1, d).astype(dtype).astype(np.float64)
                    mp_ = mq + delta * rng.normal(0, 1, d) * np.sqrt(np.diag(lq @ lq.T))
                    params.append((mp_.astype(dtype).astype(np.float64), lp, mq, lq))
            arrays = [np.stack(a) for a in zip(*params)]
            if quantity == "entropy":
                arrays = arrays[:2]
            out.append((f"d={d} cond={cond:.0e}", arrays))
    return out


def _tril_with_condition(rng, d, cond, dtype):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = np.logspace(0, -np.log10(cond), d) if d > 1 else np.ones(1)
    cov = (q * eig) @ q.T
    cov = (cov + cov.T) / 2
    return np.linalg.cholesky(cov).astype(dtype).astype(np.float64)


# ------------------------------------------------------------------- measuring
def relative_errors(values, exact, dtype=np.float64):
    """|v - e| / |e| per point; NaN (dropped) where e is below the smallest normal of dtype.

    Where ``|e|`` exceeds the largest float the correctly rounded result is ``±inf``:
    error 0 for it, ``inf`` for anything else.
    """
    tiny, largest = np.finfo(dtype).tiny, mp.mpf(float(np.finfo(dtype).max))
    out = []
    for v, e in zip(values, exact):
        if e != 0 and not mp.isinf(e) and abs(e) < tiny:
            out.append(np.nan)  # not representable to relative accuracy
            continue
        if not mp.isinf(e) and abs(e) > largest:  # beyond the range: inf is the rounding
            out.append(0.0 if v == (np.inf if e > 0 else -np.inf) else np.inf)
            continue
        if not np.isfinite(v):
            out.append(0.0 if (mp.isinf(e) and v == float(e)) else np.inf)
        elif mp.isinf(e):
            out.append(np.inf)
        elif e == 0:
            out.append(0.0 if v == 0 else np.inf)
        else:
            out.append(float(abs((mp.mpf(float(v)) - e) / e)))
    return np.asarray(out)


def _fmt(errors):
    if errors is None:
        return "—"
    if len(errors) == 0:
        return "(results below the normal range)"
    med, mx = np.median(errors), np.max(errors)
    return f"{_num(med)} / {_num(mx)}"


def _num(x):
    if not np.isfinite(x):
        return "inf"
    return "0" if x == 0 else f"{x:.0e}"


def measure(family, quantity, dtype, region_list, kernels):
    rows = []
    for name, params in region_list:
        cast = [np.asarray(a, dtype) for a in params]
        count = len(cast[0])
        exact = [reference(family, quantity, cast, i) for i in range(count)]
        row = {}
        for column, kernel in kernels.items():
            if kernel is None:
                row[column] = None
                continue
            try:
                values = np.asarray(kernel(*cast), np.float64)
            except Exception as error:  # a peer that rejects these inputs
                row[column] = f"error: {type(error).__name__}"
                continue
            errors = relative_errors(values, exact, dtype)
            row[column] = errors[~np.isnan(errors)]
        rows.append((name, row))
    return rows


# ------------------------------------------------------------------- gradients
def _grad_reference(family, point):
    """Exact partial derivatives of the KL at a point, in mpmath."""
    with mp.workdps(DIGITS):
        if family == "normal":
            mp_, sp_, mq, sq = (_m(x) for x in point)
            diff = mp_ - mq
            return [
                diff / sq**2,
                sp_ / sq**2 - 1 / sp_,
                -diff / sq**2,
                1 / sq - sp_**2 / sq**3 - diff**2 / sq**3,
            ]
        if family == "bernoulli":
            p, q = (_m(x) for x in point)
            return [mp.log(p / q) - mp.log((1 - p) / (1 - q)), -p / q + (1 - p) / (1 - q)]
        p, q = ([_m(x) for x in a] for a in point)
        return [mp.log(a / b) for a, b in zip(p, q)] + [1 - a / b for a, b in zip(p, q)]


def _verify_kl_function(family):
    import verify as v

    if family == "normal":
        return lambda a, b, c, d: v.kl(
            v.Normal(a, b, validate_args=False), v.Normal(c, d, validate_args=False)
        )
    if family == "bernoulli":
        return lambda p, q: v.kl(
            v.Bernoulli(probs=p, validate_args=False), v.Bernoulli(probs=q, validate_args=False)
        )
    return lambda p, q: v.kl(
        v.Categorical(probs=p, validate_args=False), v.Categorical(probs=q, validate_args=False)
    )


def gradient_rows(n, rng):
    """Componentwise relative error of jax.grad of the KL, near-equal regions, float64."""
    rows = []
    for family in ("normal", "bernoulli", "categorical"):
        functions = {
            "verify": _verify_kl_function(family),
            "textbook JAX": _peers._textbook(jnp, family, "kl"),
        }
        try:
            from tensorflow_probability.substrates import jax as tfp

            build = {
                "normal": tfp.distributions.Normal,
                "bernoulli": lambda p: tfp.distributions.Bernoulli(probs=p, dtype=p.dtype),
                "categorical": lambda p: tfp.distributions.Categorical(probs=p),
            }[family]
            arity = _peers._ARITY[family]
            functions["TFP-JAX"] = lambda *a, b=build, k=arity: b(*a[:k]).kl_divergence(b(*a[k:]))
        except ImportError:
            pass
        for name, params in regions(family, "kl", np.float64, n, rng):
            if not name.startswith("near-equal"):
                continue
            row = {}
            for column, function in functions.items():
                grad = jax.jit(
                    jax.vmap(
                        jax.grad(
                            lambda *a, f=function: jnp.sum(f(*a)), argnums=tuple(range(len(params)))
                        )
                    )
                )
                values = [np.asarray(g) for g in grad(*[jnp.asarray(a) for a in params])]
                worst = []
                for i in range(len(params[0])):
                    exact = _grad_reference(family, [a[i] for a in params])
                    got = np.concatenate([np.atleast_1d(g[i]) for g in values])
                    errs = relative_errors(got, exact)
                    nonzero = [err for err, e in zip(errs, exact) if e != 0]
                    worst.append(max(nonzero) if nonzero else 0.0)
                row[column] = np.asarray(worst)
            rows.append((f"{family} {name}", row))
    return rows


# ------------------------------------------------------------------- logits
LOGITS_DTYPES = ("float64", "float32", "bfloat16")


def _mp_kl_logits(a, b):
    """Exact KL(softmax(a) || softmax(b)) for float logits (``-inf`` allowed), in mpmath."""

    def log_softmax(x):
        x = [mp.mpf(float(v)) for v in x]
        top = max(v for v in x if mp.isfinite(v))
        total = top + mp.log(mp.fsum(mp.exp(v - top) for v in x if mp.isfinite(v)))
        return [v - total if mp.isfinite(v) else -mp.inf for v in x]

    total = mp.mpf(0)
    for lp, lq in zip(log_softmax(a), log_softmax(b)):
        if lp == -mp.inf:
            continue
        if lq == -mp.inf:
            return mp.inf
        total += mp.exp(lp) * (lp - lq)
    return total


def logits_regions(dtype, n, rng):
    """[(name, a, b)]: logits of shape [n, V] (float64 arrays of values exact in ``dtype``)."""
    cast = _logits_cast(dtype)
    out = []
    deltas = {"float64": range(-1, -13, -1), "float32": range(-1, -7, -1)}.get(dtype, (-1, -2))
    for e in deltas:
        a = rng.normal(size=(n, 8)) * 3
        out.append((f"near-equal 1e{e}, V=8", a, a + 10.0**e * rng.normal(size=a.shape)))
    biggest = {"float64": 1e4}.get(dtype, 200.0)
    for gap in (30.0, 100.0, biggest):
        a = rng.normal(size=(n, 4))
        b = a.copy()
        b[:, 0] -= gap  # q underflows where p has mass: finite KL, about gap * p_0
        a[:, 1] -= gap / 2
        out.append((f"one softmax underflowing, gap {gap:g}, V=4", a, b))
    a = rng.normal(size=(n, 16)) * 100
    out.append(("wide logits (scale 1e2), V=16", a, rng.normal(size=(n, 16)) * 100))
    for vocab in (2, 1024, 32768, 262144):
        rows = n if vocab <= 1024 else {32768: 4}.get(vocab, 2)
        a = rng.normal(size=(rows, vocab)) * 2
        out.append((f"V={vocab}, near-equal 1e-3", a, a + 1e-3 * rng.normal(size=a.shape)))
    a = rng.normal(size=(4, 32768)) * 2  # distillation-like: KL about 1/2, far from 0
    out.append(("V=32768, noise 1", a, a + rng.normal(size=a.shape)))
    # An offset c: b = a + c + noise is the same distribution up to the noise (softmax
    # ignores c), while b - a rounds to eps |c|. Wide rows hold nearly all the mass in a class.
    for c, noise, vocab, spread in ((100.0, 1e-3, 8, 3), (1e4, 1e-2, 8, 3), (1e4, 1e-4, 4096, 20)):
        rows = n if vocab <= 1024 else 4
        a = rng.normal(size=(rows, vocab)) * spread
        b = a + c + noise * rng.normal(size=a.shape)
        out.append((f"offset {c:g}, noise {noise:g}, V={vocab}", a, b))
    a = rng.normal(size=(n, 8)) * 3
    out.append(("offset 1e+04, noise 1, V=8", a, a + 1e4 + rng.normal(size=a.shape)))
    return [(name, cast(a), cast(b)) for name, a, b in out]


def _logits_cast(dtype):
    if dtype == "bfloat16":
        return lambda x: np.asarray(jnp.asarray(x, jnp.bfloat16), np.float64)
    return lambda x: x.astype(dtype).astype(np.float64)


def logits_implementations():
    """name -> function(a, b) of float arrays in the benchmarked dtype -> KL per row (numpy)."""
    import verify as v

    def to_jax(x, dtype):
        return jnp.asarray(x, {"bfloat16": jnp.bfloat16}.get(dtype, dtype))

    def jax_kernel(function):
        compiled = jax.jit(function)
        return lambda a, b, dtype: np.asarray(
            compiled(to_jax(a, dtype), to_jax(b, dtype)), np.float64
        )

    def verify_kl(a, b):
        return v.kl(
            v.Categorical(logits=a, validate_args=False),
            v.Categorical(logits=b, validate_args=False),
        )

    def hand(a, b):
        la, lb = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
        return jnp.sum(jnp.exp(la) * (la - lb), axis=-1)

    out = {"verify": jax_kernel(verify_kl), "hand-written JAX": jax_kernel(hand)}
    try:
        import optax

        out["optax"] = jax_kernel(
            lambda a, b: optax.losses.kl_divergence_with_log_targets(
                jax.nn.log_softmax(b, axis=-1), jax.nn.log_softmax(a, axis=-1)
            )
        )
    except ImportError:
        pass
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812

        dtypes = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}

        def torch_kernel(function):
            def run(a, b, dtype):
                ta = torch.from_numpy(np.asarray(a, np.float64)).to(dtypes[dtype])
                tb = torch.from_numpy(np.asarray(b, np.float64)).to(dtypes[dtype])
                with torch.no_grad():
                    return function(ta, tb).to(torch.float64).numpy()

            return run

        out["torch F.kl_div"] = torch_kernel(
            lambda a, b: F.kl_div(
                torch.log_softmax(b, -1),
                torch.log_softmax(a, -1),
                log_target=True,
                reduction="none",
            ).sum(-1)
        )
        td = torch.distributions
        out["torch.distributions"] = torch_kernel(
            lambda a, b: td.kl_divergence(
                td.Categorical(logits=a, validate_args=False),
                td.Categorical(logits=b, validate_args=False),
            )
        )
    except ImportError:
        pass
    try:
        from tensorflow_probability.substrates import jax as tfp

        tfd = tfp.distributions
        out["TFP-JAX"] = jax_kernel(
            lambda a, b: tfd.Categorical(logits=a).kl_divergence(tfd.Categorical(logits=b))
        )
    except ImportError:
        pass
    try:
        import distrax

        out["distrax"] = jax_kernel(
            lambda a, b: distrax.Categorical(logits=a).kl_divergence(distrax.Categorical(logits=b))
        )
    except ImportError:
        pass
    return out


def logits_rows(n, rng):
    """[(title, rows, columns)] per dtype: relative error of KL from logits, per region."""
    implementations = logits_implementations()
    columns = list(implementations)
    tables = []
    for dtype in LOGITS_DTYPES:
        rows = []
        for name, a, b in logits_regions(dtype, n, rng):
            with mp.workdps(30 if a.shape[-1] > 4096 else DIGITS):
                exact = [_mp_kl_logits(x, y) for x, y in zip(a, b)]
            row = {}
            for column, function in implementations.items():
                try:
                    values = function(a, b, dtype)
                except Exception as error:  # a peer that rejects these inputs
                    row[column] = f"error: {type(error).__name__}"
                    continue
                tiny = np.float32 if dtype == "bfloat16" else getattr(np, dtype)
                errors = relative_errors(values, exact, tiny)
                row[column] = errors[~np.isnan(errors)]
            rows.append((name, row))
            print(f"done logits {dtype} {name}", flush=True)
        tables.append((f"Categorical kl from logits ({dtype})", rows, columns))
    return tables


# ------------------------------------------------------------------------ main
def table(rows, columns):
    lines = ["| region | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows:
        cells = [row.get(c) if isinstance(row.get(c), str) else _fmt(row.get(c)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200, help="points per region (univariate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    parser.add_argument("--families", nargs="*", default=list(_peers.FAMILIES))
    parser.add_argument(
        "--logits-only", action="store_true", help="only the logits regions (Categorical kl)"
    )
    args = parser.parse_args(argv)
    mp.mp.dps = DIGITS
    started = time.time()
    out = [
        "# Accuracy: relative error against mpmath at 50 digits",
        "",
        f"Generated by `python benchmarks/accuracy.py` on {datetime.date.today()} "
        f"({platform.machine()}, {platform.processor() or platform.platform()}). "
        "Cells: median / max relative error over the region; `—`: no such closed form "
        "(or peer not installed, see notes). Versions: "
        + ", ".join(f"{k} {v}" for k, v in _peers.versions().items())
        + ".",
        "",
    ]
    summary = []
    notes = set()
    for dtype in () if args.logits_only else (np.float64, np.float32):
        for family in args.families:
            for quantity in _peers.QUANTITIES:
                rng = np.random.default_rng(
                    [args.seed, _peers.FAMILIES.index(family), _peers.QUANTITIES.index(quantity)]
                )
                kernels = {}
                for column in COLUMNS:
                    kernel, note = _peers.load(column, family, quantity, dtype)
                    kernels[column] = kernel
                    if note.startswith("not installed"):
                        notes.add(f"{column}: {note}")
                if family == "multivariate_normal":
                    region_list = mvn_regions(quantity, dtype, rng)
                else:
                    region_list = regions(family, quantity, dtype, args.points, rng)
                region_list += extreme_regions(family, quantity, dtype, args.points, rng)
                rows = measure(family, quantity, dtype, region_list, kernels)
                title = f"{family} {quantity} ({np.dtype(dtype).name})"
                out += [f"## {title}", "", table(rows, COLUMNS), ""]
                worst = {}
                for column in COLUMNS:
                    errs = [r[column] for _, r in rows if isinstance(r.get(column), np.ndarray)]
                    worst[column] = np.concatenate(errs) if errs else None
                summary.append((title, worst))
                print(f"done {title} ({time.time() - started:.0f} s)", flush=True)
    head = [
        "## Summary: median / max relative error over all regions",
        "",
        table(summary, COLUMNS),
        "",
    ]
    logits_tables = logits_rows(max(args.points // 4, 10), np.random.default_rng(args.seed))
    head_logits = []
    for title, rows, columns in logits_tables:
        out += [f"## {title}", "", table(rows, columns), ""]
        worst = {}
        for column in columns:
            errs = [r[column] for _, r in rows if isinstance(r.get(column), np.ndarray)]
            worst[column] = np.concatenate(errs) if errs else None
        head_logits.append((title, worst))
    logits_summary = [
        "## Logits: Categorical kl from logits, median / max relative error over all regions",
        "",
        "Regions: near-equal logits (b = a + 10^-k noise, k = 1 ... 12 in float64, ... 6 in "
        "float32, ... 2 in bfloat16), one softmax underflowing (q_0 below the smallest float "
        "where p_0 is not: gaps 30, 100 and 1e4 (float64) or 200), wide logits (scale 1e2), "
        "V = 2 ... 262144 (near-equal 1e-3; at V = 32768 also b = a + N(0, 1) noise), logits "
        "with an offset (b = a + c + noise, c = 100 and 1e4, noise 1e-2 ... 1e-4 and 1; V = 8 "
        "and 4096), each compiled with jax.jit. Reference: mpmath from the given (rounded) "
        "logits. bfloat16: 2 ulp is a relative error of at most 1.6e-2.",
        "",
        table(head_logits, logits_tables[0][2]),
        "",
    ]
    if args.logits_only:
        text = "\n".join(out[:4] + logits_summary + out[4:])
        print(text)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text + "\n")
        return 0
    grads = gradient_rows(max(args.points // 4, 20), np.random.default_rng(args.seed))
    grad_columns = ["verify", "textbook JAX", "TFP-JAX"]
    out += [
        "## Gradients: jax.grad of KL, near-equal regions (float64)",
        "",
        "Largest componentwise relative error of the gradient per point (median / max over "
        "points), against the exact partial derivatives of the definition with respect to every "
        "parameter (for Categorical, of `sum p log(p/q) - p + q`: `log(p_k / q_k)` and "
        "`1 - p_k / q_k`; TFP normalises `probs` inside and the textbook form has no `- p + q`, "
        "so their gradients differ from these partials by a constant vector, normal to the "
        "simplex).",
        "",
        table(grads, grad_columns),
        "",
    ]
    if notes:
        out += ["Notes: " + "; ".join(sorted(notes)) + ".", ""]
    text = "\n".join(out[:4] + head + logits_summary + out[4:])
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

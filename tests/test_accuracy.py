"""Accuracy pinned at hard points: every closed form against mpmath at 50 digits.

The points are where the textbook forms lose digits: P and Q equal to 1e-12
relative, probabilities of 1e-300 and 1 - 2**-53, scales and locations near the
ends of the float range, an entropy at its zero, and multivariate normals with
ill-conditioned covariances. The reference is the definition evaluated exactly
on the given floating-point inputs. Bounds: relative error <= 1e-13 in float64
(the stable forms reach a few 1e-16) and <= 1e-5 in float32; for multivariate
normals the same bound up to d = 20 and covariance condition number 1e6
(``benchmarks/accuracy.py`` measures the full grid, d up to 50).
"""

import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import verify

mpmath.mp.dps = 50
TOLERANCE = {np.float64: 1e-13, np.float32: 1e-5}


def m(x):
    return mpmath.mpf(float(x))


def rel_err(value, exact):
    value = float(value)
    if mpmath.isinf(exact):
        return 0.0 if value == float(exact) else np.inf
    if not np.isfinite(value):
        return np.inf
    return float(abs((mpmath.mpf(value) - exact) / exact))


# ------------------------------------------------------------------ references
def normal_ref(quantity, loc_p, scale_p, loc_q=None, scale_q=None):
    if quantity == "entropy":
        return mpmath.log(m(scale_p)) + (1 + mpmath.log(2 * mpmath.pi)) / 2
    d, r = (m(loc_p) - m(loc_q)) / m(scale_q), m(scale_p) / m(scale_q)
    if quantity == "kl":
        return d**2 / 2 + (r**2 - 1) / 2 - mpmath.log(r)
    return mpmath.log(m(scale_q)) + mpmath.log(2 * mpmath.pi) / 2 + (d**2 + r**2) / 2


def xlogy(x, y):
    return mpmath.mpf(0) if x == 0 else x * mpmath.log(y)


def bernoulli_ref(quantity, p, q=None):
    # (1 - p) log(1 - q) with log1p: 1 - 1e-300 needs 300 digits, log1p does not.
    p, q = m(p), None if q is None else m(q)

    def xlog_complement(x, y):
        return mpmath.mpf(0) if x == 1 else (1 - x) * mpmath.log1p(-y)

    if quantity == "entropy":
        return -(xlogy(p, p) + xlog_complement(p, p))
    if quantity == "cross_entropy":
        return -(xlogy(p, q) + xlog_complement(p, q))
    ones = 0 if p == 0 else p * (mpmath.log(p) - mpmath.log(q))
    zeros = 0 if p == 1 else (1 - p) * (mpmath.log1p(-p) - mpmath.log1p(-q))
    return ones + zeros


def categorical_ref(quantity, p, q=None):
    p = [m(x) for x in p]
    q = None if q is None else [m(x) for x in q]
    if quantity == "entropy":
        return -mpmath.fsum(xlogy(a, a) for a in p)
    if quantity == "cross_entropy":
        return -mpmath.fsum(xlogy(a, b) for a, b in zip(p, q))
    # The documented semantics: sum p log(p/q) - p + q (KL on the simplex; for float
    # vectors whose exact sums differ, e.g. [1e-300, 1 - 1e-300], never negative).
    return mpmath.fsum(xlogy(a, a) - xlogy(a, b) - a + b for a, b in zip(p, q))


# ------------------------------------------------------------------- the points
TINY, NEAR_ONE = 1e-300, 1 - 2.0**-53
NORMAL_PAIRS = [
    (0.0, 1.0, 0.0, 1.0 + 1e-12),  # KL ~ 1e-24
    (0.3, 2.0, 0.3 + 2e-12, 2.0),  # locations 1e-12 apart
    (1.0, 0.5, 1.0 - 1e-9, 0.5 * (1 + 3e-10)),
    (1e300, 1e-280, 1e300, 1e-280 * (1 + 1e-10)),  # extreme location, tiny scales
    (-1e-300, 1e250, 1e-300, 1e250 * (1 - 1e-11)),
    (0.0, 1e-100, 1.0e-100, 1e-99),
    (0.0, 1.0, 2.0, 1e-3),
]
BERNOULLI_PAIRS = [
    (0.3, 0.3 * (1 + 1e-12)),
    (0.7, 0.7 * (1 - 1e-10)),
    (TINY, 3 * TINY),
    (1e-200, 1e-200 * (1 + 1e-9)),
    (NEAR_ONE, 1 - 3 * 2.0**-53),
    (0.5, NEAR_ONE),
    (1e-5, 0.99),
]
CATEGORICAL_PAIRS = [
    ([0.25, 0.25, 0.5], [0.25 + 2.0**-40, 0.25 - 2.0**-40, 0.5]),
    ([TINY, 0.5, 0.5], [3 * TINY, 0.5, 0.5]),
    ([0.1, 0.2, 0.3, 0.4], [0.1 * (1 + 1e-12), 0.2, 0.3, 0.4 - 1e-13]),  # sums differ: kept
    ([0.0, 0.5, 0.5], [0.2, 0.4, 0.4]),
    ([1e-200, 1 - 1e-200, 0.0], [1e-200 * (1 + 1e-8), 1.0, 0.0]),
]


def normal_cases(quantity):
    if quantity == "entropy":
        root = 1 / float(mpmath.sqrt(2 * mpmath.pi * mpmath.e))  # the entropy's zero
        return [(0.0, s) for s in (root, np.nextafter(root, 1), root * (1 + 1e-9), 1e-300, 1e300)]
    return NORMAL_PAIRS


def bernoulli_cases(quantity):
    if quantity == "entropy":
        return [(p,) for p in (TINY, 1e-20, 0.5, NEAR_ONE, 1 - 1e-10)]
    return BERNOULLI_PAIRS


def categorical_cases(quantity):
    if quantity == "entropy":
        return [(p,) for p, _ in CATEGORICAL_PAIRS]
    return CATEGORICAL_PAIRS


FAMILIES = {
    "normal": (lambda loc, scale: verify.Normal(loc, scale), 2, normal_ref, normal_cases),
    "bernoulli": (lambda p: verify.Bernoulli(probs=p), 1, bernoulli_ref, bernoulli_cases),
    "categorical": (lambda p: verify.Categorical(probs=p), 1, categorical_ref, categorical_cases),
}


def evaluate(family, quantity, point, dtype):
    make, arity, _, _ = FAMILIES[family]
    arrays = [jnp.asarray(np.asarray(x, dtype)) for x in point]
    dists = [make(*arrays[i : i + arity]) for i in range(0, len(arrays), arity)]
    value = getattr(verify, quantity)(*dists)
    assert value.dtype == dtype
    return value, [np.asarray(a, np.float64) for a in arrays]


def cases():
    for family, (_, _, _, points) in FAMILIES.items():
        for quantity in ("kl", "entropy", "cross_entropy"):
            for i, point in enumerate(points(quantity)):
                yield pytest.param(family, quantity, point, id=f"{family}-{quantity}-{i}")


@pytest.mark.parametrize("family, quantity, point", list(cases()))
def test_float64_hard_points(family, quantity, point):
    value, exact_inputs = evaluate(family, quantity, point, np.float64)
    exact = FAMILIES[family][2](quantity, *exact_inputs)
    assert rel_err(value, exact) <= TOLERANCE[np.float64], (float(value), exact)


FLOAT32_POINTS = {
    "normal": [(0.0, 1.0, 0.0, 1.0 + 2.0**-20), (1e30, 1e-20, 1e30, 1e-20 * (1 + 1e-5))],
    "bernoulli": [(0.3, 0.3 + 2.0**-22), (1e-30, 3e-30), (1 - 2.0**-24, 0.5)],
    "categorical": [
        ([0.25, 0.75], [0.25 + 2.0**-20, 0.75 - 2.0**-20]),
        ([1e-30, 0.5, 0.5], [3e-30, 0.5, 0.5]),
    ],
}


@pytest.mark.parametrize("family", sorted(FLOAT32_POINTS))
@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
def test_float32_hard_points(family, quantity):
    for point in FLOAT32_POINTS[family]:
        if quantity == "entropy":
            point = point[: len(point) // 2]
        value, exact_inputs = evaluate(family, quantity, point, np.float32)
        exact = FAMILIES[family][2](quantity, *exact_inputs)
        assert rel_err(value, exact) <= TOLERANCE[np.float32], (point, float(value), exact)


# ------------------------------------------------------------ multivariate normal
def _tril_with_condition(rng, d, cond):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    cov = (q * np.logspace(0, -np.log10(cond), d)) @ q.T
    return np.linalg.cholesky((cov + cov.T) / 2)


def _lower_solve(lower, rhs):
    n, k = rhs.rows, rhs.cols
    out = mpmath.matrix(n, k)
    for j in range(k):
        for i in range(n):
            acc = rhs[i, j] - mpmath.fsum(lower[i, t] * out[t, j] for t in range(i))
            out[i, j] = acc / lower[i, i]
    return out


def mvn_ref(quantity, loc_p, tril_p, loc_q, tril_q):
    d = len(loc_p)
    to_mp = lambda a: mpmath.matrix([[m(x) for x in row] for row in np.atleast_2d(a)])  # noqa: E731
    lp, lq = to_mp(tril_p), to_mp(tril_q)
    logdet_p = mpmath.fsum(mpmath.log(lp[i, i]) for i in range(d))
    logdet_q = mpmath.fsum(mpmath.log(lq[i, i]) for i in range(d))
    if quantity == "entropy":
        return d * (1 + mpmath.log(2 * mpmath.pi)) / 2 + logdet_p
    w = _lower_solve(lq, lp)
    z = _lower_solve(lq, to_mp(np.asarray(loc_p) - np.asarray(loc_q)).T)
    quadratic = mpmath.fsum(x**2 for x in w) + mpmath.fsum(x**2 for x in z)
    if quantity == "kl":
        return (quadratic - d) / 2 + logdet_q - logdet_p
    return (quadratic + d * mpmath.log(2 * mpmath.pi)) / 2 + logdet_q


@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
@pytest.mark.parametrize("dim, cond, delta", [(3, 1e6, 1e-12), (8, 1e4, 1e-9), (20, 1e6, 1e-6)])
def test_multivariate_normal_ill_conditioned_and_near_equal(quantity, dim, cond, delta):
    rng = np.random.default_rng(dim)
    tril_q = _tril_with_condition(rng, dim, cond)
    tril_p = tril_q + delta * np.tril(rng.normal(size=(dim, dim))) * np.abs(tril_q)
    loc_q = rng.normal(size=dim)
    # loc_q - loc_p is exact (Sterbenz), so the reference sees the same difference
    loc_p = loc_q + delta * rng.normal(size=dim) * np.sqrt(np.diag(tril_q @ tril_q.T))
    p = verify.MultivariateNormal(loc_p, scale_tril=tril_p)
    q = verify.MultivariateNormal(loc_q, scale_tril=tril_q)
    value = (
        verify.kl(p, q)
        if quantity == "kl"
        else (verify.entropy(p) if quantity == "entropy" else verify.cross_entropy(p, q))
    )
    exact = mvn_ref(quantity, loc_p, tril_p, loc_q, tril_q)
    assert rel_err(value, exact) <= TOLERANCE[np.float64], (float(value), exact)


# ---------------------------------------------- the ends of the range (issue 9, items 6, 7)
F32, F64 = np.float32, np.float64
TINY32, TINY64 = float(np.finfo(F32).smallest_subnormal), float(np.finfo(F64).smallest_subnormal)
#: (dtype, loc_p, scale_p, loc_q, scale_q): huge scales, subnormal ones, overflowing gaps.
EXTREME_NORMALS = [
    (F32, 0.0, 1.0, 0.0, 1e38),  # KL 87.0 (was 0)
    (F32, 0.0, 1e38, 0.0, 1.0),  # KL above float32's range: inf
    (F32, 0.0, 1e20, 0.0, 1e-20),  # inf (was nan)
    (F32, 0.0, 1e-30, 0.0, 1e30),  # the scale ratio underflows, the KL is 137.7
    (F32, 0.0, 1e-40, 0.0, 1e-40),  # subnormal: KL(P||P) = 0 (was nan)
    (F32, 0.0, 1e-40, 0.0, 1.25e-40),  # subnormal, different
    (F32, 1e-40, 1e-38, 0.0, 1.2e-38),  # subnormal location gap against a tiny scale
    (F32, 3e38, 1e38, -3e38, 1e38),  # loc_p - loc_q overflows; d = 6
    (F32, 3e38, 1e-3, 3e38, 1e-3),  # equal huge locations, small scale
    (F32, 0.0, TINY32, 0.0, 3e38),  # smallest subnormal against the largest float
    (F64, 0.0, 1.0, 0.0, 1e308),  # KL 708.7 (was 0)
    (F64, 0.0, 1e-300, 0.0, 1e-300 * (1 + 1e-12)),  # KL 1e-24 (was 0)
    (F64, 0.0, 5e-324, 0.0, 1e-320),
    (F64, 1e-310, 1e-308, -1e-310, 1e-308),
    (F64, 1.7e308, 1.0, -1.7e308, 1e308),
    (F64, 0.0, TINY64, 0.0, 1.7e308),
]


def _expect(value, exact, dtype):
    """``value`` is ``exact`` rounded: ``inf`` beyond the range, ``0`` exactly at ``0``."""
    limit = mpmath.mpf(float(np.finfo(dtype).max))
    if exact > limit:
        assert float(value) == np.inf, (float(value), exact)
    elif exact == 0:
        assert float(value) == 0.0, float(value)
    else:
        assert rel_err(value, exact) <= TOLERANCE[dtype], (float(value), exact)


@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
@pytest.mark.parametrize("point", EXTREME_NORMALS, ids=str)
def test_normal_over_the_whole_finite_range(quantity, point):
    dtype, *params = point
    loc_p, scale_p, loc_q, scale_q = (dtype(x) for x in params)
    p, q = verify.Normal(loc_p, scale_p), verify.Normal(loc_q, scale_q)
    value = getattr(verify, quantity)(*((p,) if quantity == "entropy" else (p, q)))
    args = (loc_p, scale_p) if quantity == "entropy" else (loc_p, scale_p, loc_q, scale_q)
    assert value.dtype == dtype
    _expect(value, normal_ref(quantity, *args), dtype)


#: (dtype, scale of P's factor, scale of Q's factor), with a random unit-scale pattern.
EXTREME_MVN_SCALES = [
    (F32, 1.0, 1e38),
    (F32, 1e38, 1e38),
    (F32, 1e-40, 1e-40),
    (F32, 1e-30, 1e30),
    (F64, 1.0, 1e307),
    (F64, 1e-310, 1e-310),
    (F64, 1e-300, 1e300),
]


@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
@pytest.mark.parametrize("point", EXTREME_MVN_SCALES, ids=str)
def test_multivariate_normal_over_the_whole_finite_range(quantity, point):
    dtype, scale_p, scale_q = point
    rng = np.random.default_rng(3)
    pattern = np.tril(rng.uniform(-0.5, 0.5, (3, 3)), -1) + np.diag(rng.uniform(1, 2, 3))
    loc = rng.normal(size=3)
    tril_p, tril_q = (np.asarray(pattern * s, dtype) for s in (scale_p, scale_q))
    loc_p, loc_q = np.asarray(loc * scale_p, dtype), np.asarray(loc[::-1] * scale_q, dtype)
    p = verify.MultivariateNormal(loc_p, scale_tril=tril_p)
    q = verify.MultivariateNormal(loc_q, scale_tril=tril_q)
    value = getattr(verify, quantity)(*((p,) if quantity == "entropy" else (p, q)))
    args = (loc_p, tril_p, loc_q, tril_q)
    _expect(value, mvn_ref(quantity, *args), dtype)


def _kl_from_covariances_ref(loc_p, cov_p, loc_q, cov_q):
    d = len(loc_p)
    s_p, s_q = (mpmath.matrix([[m(x) for x in row] for row in c]) for c in (cov_p, cov_q))
    gap = mpmath.matrix([m(a) - m(b) for a, b in zip(loc_p, loc_q)])
    inverse = s_q**-1
    trace = mpmath.fsum((inverse * s_p)[i, i] for i in range(d))
    quadratic = (gap.T * inverse * gap)[0]
    return (trace + quadratic - d - mpmath.log(mpmath.det(s_p) / mpmath.det(s_q))) / 2


@pytest.mark.parametrize("seed", range(4))
def test_multivariate_normal_near_equal_covariances(seed):
    """Issue 9 item 13: covariances and means 1e-9 apart at d = 5 gave 1.8e-7 relative error."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(5, 5))
    cov_q = a @ a.T + 5 * np.eye(5)
    e = rng.normal(size=(5, 5))
    cov_p = cov_q + 1e-9 * (e + e.T) / 2 * np.abs(cov_q)
    loc_q = rng.normal(size=5)
    loc_p = loc_q + 1e-9 * rng.normal(size=5)
    p = verify.MultivariateNormal(loc_p, covariance_matrix=cov_p)
    q = verify.MultivariateNormal(loc_q, covariance_matrix=cov_q)
    exact = _kl_from_covariances_ref(loc_p, cov_p, loc_q, cov_q)
    assert rel_err(verify.kl(p, q), exact) <= 1e-12, (float(verify.kl(p, q)), exact)

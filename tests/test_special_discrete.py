"""sigmoid, sigmoid_diff and log_sigmoid_diff against mpmath at 50 digits, on both backends."""

import itertools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from jax.test_util import check_grads

from verify import _special
from verify.symbolic import functions as symbolic

mpmath.mp.dps = 50
EPS = np.finfo(np.float64).eps
# Logits from log(tiny) (a probability of the smallest normal float64) to beyond +log(1/eps),
# with near-equal partners at relative distances 1e-3 ... 1e-15 and 0.
BASE = [-708.0, -300.0, -40.0, -3.0, -0.5, 0.0, 0.25, 2.0, 37.0, 300.0, 800.0]
PAIRS = [(a, b) for a, b in itertools.product(BASE, BASE)] + [
    (a, a + h * max(1.0, abs(a))) for a in BASE for h in (1e-3, -1e-6, 1e-9, -1e-12, 1e-15, 0.0)
]


def _sig(x):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


def _rel(value, exact):
    """Relative error; a value below the normal range only has to be as small (XLA flushes it)."""
    value = mpmath.mpf(float(value))
    if abs(exact) < np.finfo(np.float64).tiny:
        return 0.0 if abs(value) < np.finfo(np.float64).tiny else np.inf
    return float(abs((value - exact) / exact))


@pytest.mark.parametrize("a, b", PAIRS)
def test_values_and_derivatives_against_mpmath(a, b):
    b = float(np.float64(b))
    with mpmath.workdps(800):  # sigmoid(800) - sigmoid(300) cancels 350 digits
        exact_diff = _sig(b) - _sig(a)
        exact_log = mpmath.log(_sig(b)) - mpmath.log(_sig(a))
    assert _rel(_special.sigmoid_diff(a, b), exact_diff) <= 4 * EPS
    assert _rel(_special.log_sigmoid_diff(a, b), exact_log) <= 4 * EPS
    grad_a, grad_b = jax.grad(_special.log_sigmoid_diff, argnums=(0, 1))(a, b)
    assert _rel(grad_b, _sig(-b)) <= 4 * EPS and _rel(grad_a, -_sig(-a)) <= 4 * EPS
    grad_a, grad_b = jax.grad(_special.sigmoid_diff, argnums=(0, 1))(a, b)
    assert _rel(grad_b, _sig(b) * _sig(-b)) <= 8 * EPS
    assert _rel(grad_a, -_sig(a) * _sig(-a)) <= 8 * EPS


@pytest.mark.parametrize("x", BASE)
def test_sigmoid_is_accurate_relative_to_its_value(x):
    assert _rel(_special.sigmoid(x), _sig(x)) <= 2 * EPS


@pytest.mark.parametrize(
    "dtype, x",
    [(np.float64, x) for x in (-1000.0, -745.0, -720.0, -400.0, -40.0, 0.5, 800.0)]
    + [(np.float32, x) for x in (-200.0, -90.0, -88.0, -80.0, -44.5, -3.0, 0.5, 90.0)],
)
def test_the_derivative_of_sigmoid_is_accurate_in_its_tails(dtype, x):
    """``sigmoid(x) sigmoid(-x)``; by autodiff, ``e^-x / (1 + e^-x)^2`` overflowed: 0 below
    -44.4 and NaN below -88.7 in float32 (below -355 and -709.8 in float64), which the
    gradients of every form from logits inherited (Binomial's entropy, Geometric's...).
    A value below the normal range only has to be as small (XLA:CPU flushes it)."""
    x = dtype(x)
    slope = jax.grad(_special.sigmoid)(x)
    exact = _sig(float(x)) * _sig(-float(x))
    assert slope.dtype == dtype
    if exact < np.finfo(dtype).tiny:
        assert 0 <= float(slope) < np.finfo(dtype).tiny
    else:
        assert float(abs((mpmath.mpf(float(slope)) - exact) / exact)) <= 4 * np.finfo(dtype).eps


def test_infinite_logits_and_float32():
    inf = np.inf
    assert float(_special.log_sigmoid_diff(inf, inf)) == 0.0
    assert float(_special.log_sigmoid_diff(inf, 0.0)) == pytest.approx(-np.log(2), rel=EPS)
    assert float(_special.sigmoid_diff(inf, 0.0)) == -0.5
    a, b = np.float32(-80.0), np.float32(-80.0) + np.float32(2**-16)
    got = _special.log_sigmoid_diff(a, b)
    assert got.dtype == jnp.float32
    exact = mpmath.log(_sig(float(b))) - mpmath.log(_sig(float(a)))
    assert _rel(got, exact) <= 4 * np.finfo(np.float32).eps


def test_jit_vmap_and_numerical_gradients():
    args = (jnp.array([-3.0, 0.5, 2.0, 10.0]), jnp.array([-2.5, 0.5, -1.0, 12.0]))
    for function in (_special.sigmoid_diff, _special.log_sigmoid_diff):
        np.testing.assert_allclose(jax.jit(function)(*args), function(*args), rtol=4 * EPS)
        np.testing.assert_allclose(jax.vmap(function)(*args), function(*args), rtol=4 * EPS)
        check_grads(function, args, order=2, modes=("fwd", "rev"), eps=1e-6)


A, B = sp.symbols("a b", real=True)


@pytest.mark.parametrize("function", [symbolic.sigmoid_diff, symbolic.log_sigmoid_diff])
def test_symbolic_twins(function):
    expr = function(A, B)
    elementary = symbolic.to_elementary(expr)
    for symbol in (A, B):
        difference = symbolic.to_elementary(sp.diff(expr, symbol)) - sp.diff(elementary, symbol)
        assert sp.simplify(difference) == 0
    values = {A: sp.Rational(-3, 7), B: sp.Rational(5, 3)}
    assert abs(expr.subs(values).evalf(50) - elementary.subs(values).evalf(50)) < 1e-45
    assert function(A, A) == 0
    jax_function = getattr(_special, function.__name__)
    exact = mpmath.mpf(str(expr.subs(values).evalf(50)))
    assert _rel(jax_function(-3 / 7, 5 / 3), exact) <= 4 * EPS


# ------------------------------------------------------------- poisson_entropy
def _poisson_entropy_exact(rate):
    """-sum_k p_k log p_k at 60 digits, summed 40 standard deviations around the mean."""
    with mpmath.workdps(60):
        lam = mpmath.mpf(rate)
        mode, width = int(lam), int(40 * mpmath.sqrt(lam + 1)) + 60
        total = mpmath.mpf(0)
        for k in range(max(0, mode - width), mode + width):
            log_p = k * mpmath.log(lam) - lam - mpmath.loggamma(k + 1)
            total -= mpmath.exp(log_p) * log_p
        return total


def _poisson_entropy_limits(rate):
    """Where the sum is out of reach: two terms of the series in l (l tiny), or
    1/2 log(2 pi e l) - 1/(12 l) - 1/(24 l^2) - 19/(360 l^3) (l huge, next term ~ l^-4)."""
    with mpmath.workdps(60):
        lam = mpmath.mpf(rate)
        if lam < 1:
            return lam - lam * mpmath.log(lam) + lam**2 * mpmath.log(2) / 2
        return (
            mpmath.log(2 * mpmath.pi * mpmath.e * lam) / 2
            - 1 / (12 * lam)
            - 1 / (24 * lam**2)
            - mpmath.mpf(19) / (360 * lam**3)
        )


POISSON_RATES = [0.001, 0.1, 0.5, 0.999, 1.0, 3.0, 15.5, 50.0, 200.0, 999.0, 1000.0, 3000.0, 1e4]


@pytest.mark.parametrize("rate", POISSON_RATES)
def test_poisson_entropy_against_the_sum_at_60_digits(rate):
    assert _rel(_special.poisson_entropy(rate), _poisson_entropy_exact(rate)) <= 1.2e-13


@pytest.mark.parametrize("rate", [np.finfo(np.float64).tiny, 1e-300, 1e-30, 1e6, 1e30, 1e300])
def test_poisson_entropy_at_the_ends_of_the_range(rate):
    assert _rel(_special.poisson_entropy(rate), _poisson_entropy_limits(rate)) <= 4 * EPS


def test_poisson_entropy_float32_and_gradient():
    rates = np.array([1e-30, 1e-3, 0.7, 20.0, 999.0, 5e3, 1e30], np.float32)
    got = _special.poisson_entropy(rates)
    assert got.dtype == jnp.float32
    for rate, value in zip(rates, got):
        exact = (
            _poisson_entropy_exact(float(rate))
            if 1e-3 <= rate <= 1e4
            else _poisson_entropy_limits(float(rate))
        )
        assert _rel(value, exact) <= 1e-6
    # dH/dl = -log(l) + E[log(K + 1)], at 60 digits
    for rate in [0.5, 10.0, 999.0, 2000.0]:
        with mpmath.workdps(60):
            lam = mpmath.mpf(rate)
            width = int(40 * mpmath.sqrt(lam + 1)) + 60
            expected = -mpmath.log(lam) + mpmath.fsum(
                mpmath.exp(k * mpmath.log(lam) - lam - mpmath.loggamma(k + 1)) * mpmath.log(k + 1)
                for k in range(max(0, int(lam) - width), int(lam) + width)
            )
        assert _rel(jax.grad(_special.poisson_entropy)(rate), expected) <= 1e-12


def test_poisson_entropy_symbolic_twin():
    rate = sp.Symbol("rate", positive=True)
    expr = symbolic.poisson_entropy(rate)
    assert float(expr.subs(rate, sp.Rational(7, 2)).evalf(30)) == pytest.approx(
        float(_poisson_entropy_exact(3.5)), rel=1e-15
    )
    # its derivative is that of the value
    h = sp.Rational(1, 10**12)
    slope = (expr.subs(rate, 3 + h).evalf(50) - expr.subs(rate, 3 - h).evalf(50)) / (2 * h)
    derivative = sp.diff(expr, rate).subs(rate, 3).evalf(30)
    assert abs(slope - derivative) < 1e-15


# ------------------------------------------------------------ binomial_entropy
def _binomial_entropy_exact(n, p):
    """-sum_k P(k) log P(k) at 60 digits, 40 standard deviations around the mean."""
    with mpmath.workdps(60):
        p = mpmath.mpf(p)
        if p in (0, 1) or n == 0:
            return mpmath.mpf(0)
        mean, sd = n * p, mpmath.sqrt(n * p * (1 - p))
        width = int(40 * sd) + 60
        total = mpmath.mpf(0)
        for k in range(max(0, int(mean) - width), min(n, int(mean) + width) + 1):
            log_p = (
                mpmath.log(mpmath.binomial(n, k)) + k * mpmath.log(p) + (n - k) * mpmath.log1p(-p)
            )
            total -= mpmath.exp(log_p) * log_p
        return total


BINOMIAL_CASES = [
    (1, 0.5),
    (3, 1e-300),  # n p < 1: running products
    (3, 0.2),
    (5, 0.4),  # window of k: n + 1 = 6 terms, the 8-term window
    (10, 0.3),
    (10, 0.7),
    (40, 0.02),
    (1000, 0.001),
    (3, 1 - 1e-9),
    (100, 0.5),  # window of k
    (2000, 0.3),
    (3999, 0.5),
    (4000, 0.5),  # variance 1000: the trapezoid integral
    (5000, 0.3),
    (20_000, 0.5),
]


@pytest.mark.parametrize("n, p", BINOMIAL_CASES)
def test_binomial_entropy_against_the_sum_at_60_digits(n, p):
    value = _special.binomial_entropy(float(n), p, 1 - p)
    assert _rel(value, _binomial_entropy_exact(n, p)) <= 1e-13


def test_binomial_entropy_edges_float32_and_gradient():
    assert [float(_special.binomial_entropy(n, p, 1 - p)) for n, p in [(7, 0.0), (7, 1.0)]] == [
        0.0,
        0.0,
    ]
    assert float(_special.binomial_entropy(0.0, 0.4, 0.6)) == 0.0
    # sigmoid(40) rounds to 1; its complement sigmoid(-40) carries the entropy
    tiny_q = float(_special.sigmoid(-40.0))
    exact = _binomial_entropy_exact(5, mpmath.mpf(tiny_q))  # symmetric in p and 1 - p
    assert _rel(_special.binomial_entropy(5.0, 1.0, tiny_q), exact) <= 1e-13
    got = _special.binomial_entropy(np.float32(10.0), np.float32(0.3), np.float32(0.7))
    assert got.dtype == jnp.float32 and _rel(got, _binomial_entropy_exact(10, 0.3)) <= 1e-6
    # the wide regime's gradient against central differences of the value itself
    grad = jax.grad(_special.binomial_entropy, argnums=1)
    value = _special.binomial_entropy
    slope = (value(2e4, 0.3 + 1e-6, 0.7 - 1e-6) - value(2e4, 0.3 - 1e-6, 0.7 + 1e-6)) / 2e-6
    assert float(grad(2e4, 0.3, 0.7)) == pytest.approx(float(slope), rel=1e-7)
    for n, p in [(10.0, 0.3), (400.0, 0.3), (3.0, 0.01)]:
        h = 1e-8
        with mpmath.workdps(60):
            slope = (
                _binomial_entropy_exact(int(n), mpmath.mpf(p) + h)
                - _binomial_entropy_exact(int(n), mpmath.mpf(p) - h)
            ) / (2 * h)
        assert _rel(jax.grad(_special.binomial_entropy, argnums=1)(n, p, 1 - p), slope) <= 1e-9


def test_binomial_entropy_symbolic_twin():
    p = sp.Symbol("p", positive=True)
    expr = symbolic.binomial_entropy(4, p, 1 - p)
    value = expr.subs(p, sp.Rational(3, 10)).evalf(40)
    assert abs(value - _binomial_entropy_exact(4, mpmath.mpf(3) / 10)) < 1e-35
    derivative = sp.diff(expr, p).subs(p, sp.Rational(3, 10)).evalf(30)
    elementary = sp.diff(symbolic.to_elementary(expr), p).subs(p, sp.Rational(3, 10)).evalf(30)
    assert abs(derivative - elementary) < 1e-25


# ------------------------------------------- a batch computes what each element alone does
# A regime that no element needs is skipped and the window is sized to the batch's widest
# element (under vmap too): a mixed batch, its jit, its vmap and its gradient must all give
# each element's value alone.
@pytest.mark.parametrize(
    "function, batch",
    [
        (_special.poisson_entropy, (np.array(POISSON_RATES),)),
        pytest.param(
            _special.binomial_entropy,
            tuple(
                np.array(column, float)
                for column in zip(*[(n, p, 1 - p) for n, p in BINOMIAL_CASES])
            ),
            # 15 s (six compilations of the three regimes); the Poisson's case takes the same
            # batch-wide branches in the quick run.
            marks=pytest.mark.slow,
        ),
    ],
    ids=["poisson", "binomial"],
)
def test_mixed_batch_equals_each_element_alone(function, batch):
    argnum = 0 if len(batch) == 1 else 1  # the rate; the probability
    one, slope = jax.jit(function), jax.jit(jax.grad(function, argnums=argnum))
    alone = np.array([float(one(*row)) for row in zip(*batch)])
    slopes_alone = np.array([float(slope(*row)) for row in zip(*batch)])
    for name, got in [
        ("eager", function(*batch)),
        ("jit", jax.jit(function)(*batch)),
        ("vmap", jax.jit(jax.vmap(function))(*batch)),
    ]:
        np.testing.assert_allclose(got, alone, rtol=4 * EPS, atol=0, err_msg=name)
    slopes = jax.jit(jax.grad(lambda *b: jnp.sum(function(*b)), argnums=argnum))(*batch)
    # A slope is a sum of terms ~ log(n) that cancel to ~ 1/n: 1e-12 relative, as in the
    # tests above; at p = 1/2 the exact slope is 0 and both are rounding, below 1e-13.
    np.testing.assert_allclose(slopes, slopes_alone, rtol=1e-12, atol=1e-13)

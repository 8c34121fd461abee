"""The accurate special functions, against mpmath at 50 digits, on both backends."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from jax.test_util import check_grads

from verify import _special
from verify.symbolic import functions as symbolic

EPS = np.finfo(np.float64).eps
mpmath.mp.dps = 50


def rel_err(value, exact):
    exact = mpmath.mpf(exact)
    if exact == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - exact) / exact))


def mpf(x):
    return mpmath.mpf(float(x))


# -------------------------------------------------------------------- log1p
@pytest.mark.parametrize(
    "x", [-1 + 2**-52, -0.7, -0.4130970679450451, -0.39, -0.37, -1e-20, 1e-300, 0.3, 3.0, 1e300]
)
def test_log1p_compiled_is_accurate_where_xla_log1p_is_not(x):
    # jax.numpy.log1p loses two digits near -0.4 on CPU; XLA also folds (1 + x) - 1 to x
    # under jit, which would silently undo the correction: test the compiled function.
    exact = mpmath.log1p(mpf(x))
    assert rel_err(jax.jit(_special.log1p)(x), exact) <= 2 * EPS
    assert rel_err(jax.jit(_special.xlog1py)(0.5, x), exact / 2) <= 2 * EPS
    assert float(_special.log1p(-1.0)) == -np.inf
    assert float(_special.xlog1py(0.0, -1.0)) == 0.0


# ------------------------------------------------------------------ log1pmx
LOG1PMX_POINTS = [
    -1 + 2**-52,
    -0.999999,
    -0.9,
    -0.5,
    -0.25,
    -0.2,
    -0.19,
    -0.18,
    -0.1,
    -1e-3,
    -1e-8,
    -1e-300,
    0.0,
    1e-300,
    1e-12,
    1e-5,
    1e-3,
    0.1,
    0.2,
    0.22,
    0.23,
    0.5,
    1.0,
    3.0,
    1e10,
    1e300,
]


def exact_log1pmx(x):
    return mpmath.log1p(mpf(x)) - mpf(x)


@pytest.mark.parametrize("x", LOG1PMX_POINTS)
def test_log1pmx_and_derivative_against_mpmath(x):
    assert rel_err(_special.log1pmx(x), exact_log1pmx(x)) <= 4 * EPS
    assert rel_err(jax.jit(_special.log1pmx)(x), exact_log1pmx(x)) <= 4 * EPS
    if x > -1:
        derivative = -mpf(x) / (1 + mpf(x))
        assert rel_err(jax.grad(_special.log1pmx)(x), derivative) <= 4 * EPS


def test_log1pmx_float32_keeps_dtype_and_accuracy():
    xs = np.array([-0.5, -1e-2, -1e-4, 1e-6, 1e-3, 0.15, 2.0], np.float32)
    values = _special.log1pmx(jnp.asarray(xs))
    assert values.dtype == jnp.float32
    for x, v in zip(xs, np.asarray(values)):
        assert rel_err(v, exact_log1pmx(x)) <= 4 * np.finfo(np.float32).eps


# ------------------------------------------------------------- kl_div_delta
def exact_kl_div(y, delta):
    y, delta = mpf(y), mpf(delta)
    x = y + delta
    value = (x * mpmath.log(x / y) if x != 0 else 0) - delta
    dy = mpmath.log1p(delta / y) - delta / y
    ddelta = mpmath.log1p(delta / y)
    return value, dy, ddelta


KL_DIV_POINTS = [
    (0.3, 1e-10),
    (0.3, -1e-3),
    (0.3, 0.03),
    (1.0, 0.05),
    (1.0, -0.18),
    (1.0, 0.22),
    (1.0, -0.25),
    (1.0, 0.3),
    (0.25, -0.24),
    (1e-300, 2e-300),
    (1e-280, 3e-289),
    (0.5, -0.4999999999999999),
    (1.0, 1e300),
    (1e300, -0.5e300),
    (7.0, 1e-14),
    (2.0, 5.0),
]


@pytest.mark.parametrize("y, delta", KL_DIV_POINTS)
def test_kl_div_delta_and_partials_against_mpmath(y, delta):
    value, dy, ddelta = exact_kl_div(y, delta)
    assert rel_err(_special.kl_div_delta(y, delta), value) <= 8 * EPS
    grad_y, grad_delta = jax.grad(_special.kl_div_delta, argnums=(0, 1))(y, delta)
    assert rel_err(grad_y, dy) <= 8 * EPS
    assert rel_err(grad_delta, ddelta) <= 8 * EPS


def test_kl_div_delta_is_non_negative_and_zero_only_at_zero():
    rng = np.random.default_rng(0)
    y = 10.0 ** rng.uniform(-300, 300, 2000)
    delta = y * rng.uniform(-1, 3, 2000)
    values = np.asarray(_special.kl_div_delta(y, delta))
    assert np.all(values >= 0)
    assert float(_special.kl_div_delta(0.7, 0.0)) == 0.0


def test_kl_div_delta_conventions_at_the_boundary():
    kl_div = _special.kl_div_delta
    assert float(kl_div(0.0, 0.0)) == 0.0  # 0 log(0/0) = 0
    assert float(kl_div(0.0, 0.5)) == np.inf  # x log(x/0) = inf
    assert float(kl_div(0.25, -0.25)) == 0.25  # x = 0: the divergence is y
    # Along x = 0 (a class P never takes) the derivative in y at fixed x is 1, and finite.
    dy, ddelta = jax.grad(kl_div, argnums=(0, 1))(0.25, -0.25)
    assert float(dy) - float(ddelta) == 1.0
    assert np.isfinite(float(dy)) and np.isfinite(float(ddelta))
    assert all(np.isfinite(g) for g in jax.grad(kl_div, argnums=(0, 1))(0.0, 0.0))


def test_kl_div_delta_float32():
    y = np.array([0.3, 0.3, 1e-20, 2.0], np.float32)
    delta = np.array([1e-6, -0.2, 2e-20, 3.0], np.float32)
    values = _special.kl_div_delta(jnp.asarray(y), jnp.asarray(delta))
    assert values.dtype == jnp.float32
    for a, b, v in zip(y, delta, np.asarray(values)):
        assert rel_err(v, exact_kl_div(a, b)[0]) <= 8 * np.finfo(np.float32).eps


# -------------------------------------------------------------- kl_div_unit
@pytest.mark.parametrize(
    "a", [1 - 1e-12, 1 + 1e-9, 0.95, 1.1, 1.3, 0.8, 0.5, 2.0, 1e-300, 1e-5, 1e5, 1e150]
)
def test_kl_div_unit_and_derivative_against_mpmath(a):
    # b = 1 - a computed accurately, as the formulas do from (s - t) / s
    b = float(1 - mpf(a))
    exact = mpf(a) - 1 - mpmath.log(mpf(a))
    assert rel_err(_special.kl_div_unit(a, b), exact) <= 4 * EPS
    assert rel_err(jax.jit(_special.kl_div_unit)(a, b), exact) <= 4 * EPS
    # along b = 1 - a the derivative is 1 - 1/a = -b/a, without cancellation
    grad = jax.grad(lambda a: _special.kl_div_unit(a, 1 - a))(a)
    if abs(a - 1) > 1e-6:  # 1 - a in float64 loses the digits of b closer to 1
        assert rel_err(grad, 1 - 1 / mpf(a)) <= 4 * EPS
    assert float(_special.kl_div_unit(1.0, 0.0)) == 0.0


# ------------------------------------------------------------------ log_mul
SQRT_2PIE = mpmath.sqrt(2 * mpmath.pi * mpmath.e)


def test_exact_constants_hold_more_than_double_precision():
    hi, lo = _special.SQRT_2PIE.split(np.float64)
    assert abs(mpf(hi) + mpf(lo) - SQRT_2PIE) < 1e-30
    hi, lo = _special.SQRT_2PI.split(np.float32)
    assert abs(mpf(hi) + mpf(lo) - mpmath.sqrt(2 * mpmath.pi)) < 1e-13


@pytest.mark.parametrize("offset", [0, 1, -1, 7, -40, 10**6])
def test_log_mul_keeps_relative_accuracy_at_its_zero(offset):
    root = float(1 / SQRT_2PIE)
    x = root + offset * np.spacing(root)
    exact = mpmath.log(mpf(x) * SQRT_2PIE)
    assert rel_err(_special.log_mul(x, _special.SQRT_2PIE), exact) <= 4 * EPS
    naive = np.log(x) + np.log(float(SQRT_2PIE))
    if offset in (1, -1):  # what the plain sum of logarithms gives there
        assert rel_err(naive, exact) > 1e-3


@pytest.mark.parametrize("x", [1e-300, 1e-20, 0.5, 3.0, 1e20, 1e300])
def test_log_mul_elsewhere_and_derivative(x):
    exact = mpmath.log(mpf(x) * SQRT_2PIE)
    assert rel_err(_special.log_mul(x, _special.SQRT_2PIE), exact) <= 4 * EPS
    assert rel_err(jax.grad(_special.log_mul)(x, _special.SQRT_2PIE), 1 / mpf(x)) <= 2 * EPS


def test_log_mul_at_zero_and_infinity_and_float32():
    values = _special.log_mul(jnp.array([0.0, np.inf]), _special.SQRT_2PIE)
    assert list(np.asarray(values)) == [-np.inf, np.inf]
    x = np.float32(1 / float(SQRT_2PIE))
    value = _special.log_mul(jnp.float32(x), _special.SQRT_2PIE)
    assert value.dtype == jnp.float32
    assert rel_err(value, mpmath.log(mpf(x) * SQRT_2PIE)) <= 4 * np.finfo(np.float32).eps


def sum_all(x):
    return float(jnp.sum(x))


# ------------------------------------------------------------ transformations
@pytest.mark.parametrize(
    "function, args",
    [
        (_special.log1pmx, (jnp.array([-0.5, -0.05, 1e-3, 0.15, 2.0]),)),
        (
            _special.kl_div_delta,
            (jnp.array([0.3, 1.0, 2.0, 0.7]), jnp.array([1e-3, -0.3, 0.1, 5.0])),
        ),
        (lambda x: _special.log_mul(x, _special.SQRT_2PI), (jnp.array([0.1, 0.4, 3.0]),)),
        (lambda a: _special.kl_div_unit(a, 1 - a), (jnp.array([0.5, 0.97, 1.02, 3.0]),)),
        (lambda a: _special.kl_div_log(jnp.log(a), 1 - a), (jnp.array([0.5, 0.97, 1.02, 3.0]),)),
        (
            _special.diff_ratio,
            (jnp.array([0.3, -2.0]), jnp.array([0.1, 5.0]), jnp.array([1.5, 0.2])),
        ),
        (_special.log_ratio, (jnp.array([0.3, 7.0]), jnp.array([2.0, 0.01]))),
    ],
)
def test_jit_vmap_and_numerical_gradients(function, args):
    # Compiled and eager code may round differently (fusion), by an ulp or so.
    np.testing.assert_allclose(jax.jit(function)(*args), function(*args), rtol=4 * EPS)
    np.testing.assert_allclose(jax.vmap(function)(*args), function(*args), rtol=4 * EPS)
    check_grads(function, args, order=2, modes=("fwd", "rev"), eps=1e-6)


# ------------------------------------------------------------------ SymPy side
X, Y = sp.symbols("x y", positive=True)
C = sp.Symbol("c", positive=True)
SYMBOLIC = [
    (symbolic.log1pmx(X), [X]),
    (symbolic.kl_div_delta(Y, X), [X, Y]),
    (symbolic.log_mul(X, C), [X, C]),
    (symbolic.kl_div_unit(X, 1 - X), [X]),
    (symbolic.kl_div_log(sp.log(X), 1 - X), [X]),
    (symbolic.xlog1py(X, Y), [X, Y]),
]


@pytest.mark.parametrize("expr, symbols", SYMBOLIC, ids=lambda v: str(v))
def test_symbolic_derivatives_are_those_of_the_elementary_rewrite(expr, symbols):
    elementary = symbolic.to_elementary(expr)
    assert not elementary.atoms(sp.Function) - elementary.atoms(sp.log)
    for symbol in symbols:
        difference = symbolic.to_elementary(sp.diff(expr, symbol)) - sp.diff(elementary, symbol)
        assert sp.simplify(difference) == 0


@pytest.mark.parametrize("expr, symbols", SYMBOLIC, ids=lambda v: str(v))
def test_symbolic_evalf_matches_the_rewrite_at_50_digits(expr, symbols):
    values = dict(zip(symbols, [sp.Rational(3, 7), sp.Rational(5, 3)]))
    got = expr.subs(values).evalf(50)
    want = symbolic.to_elementary(expr).subs(values).evalf(50)
    assert abs(got - want) < sp.Float(10) ** -45


def test_symbolic_and_jax_functions_agree_numerically():
    pairs = [
        (symbolic.log1pmx(sp.Rational(1, 10**6)), _special.log1pmx(1e-6)),
        (
            symbolic.kl_div_delta(sp.Float(0.3, 50), sp.Float(1e-9, 50)),
            _special.kl_div_delta(0.3, 1e-9),
        ),
    ]
    for expr, value in pairs:
        assert rel_err(value, mpmath.mpf(str(expr.evalf(50)))) <= 8 * EPS


def test_symbolic_conventions():
    assert symbolic.kl_div_delta(Y, 0) == 0
    assert symbolic.log1pmx(0) == 0
    assert symbolic.xlog1py(0, -1) == 0


# ------------------------------------------------ the whole finite range (issue 9, items 6, 7)
def _edges(dtype):
    """Finite values from the smallest subnormal to the largest float, both signs."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(0)
    exponents = rng.uniform(np.log2(float(info.smallest_subnormal)), np.log2(float(info.max)), 300)
    values = np.exp2(exponents) * rng.choice([-1.0, 1.0], 300)
    special = [info.smallest_subnormal, info.tiny, info.max, -info.max, 3 * info.smallest_subnormal]
    return np.concatenate([np.asarray(special, np.float64), values]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_frexp_and_ldexp_are_exact_on_subnormals_where_xla_flushes_them(dtype):
    x = _edges(dtype)
    m, e = _special.frexp(jnp.asarray(x))
    m, e = np.asarray(m, np.float64), np.asarray(e)
    assert np.all((np.abs(m) >= 1) & (np.abs(m) < 2))
    np.testing.assert_array_equal(np.ldexp(m, e), x.astype(np.float64))
    back = np.asarray(_special.ldexp(jnp.asarray(m, dtype), jnp.asarray(e)), np.float64)
    normal = np.abs(x) >= np.finfo(dtype).tiny
    np.testing.assert_array_equal(back[normal], x[normal].astype(np.float64))
    assert np.all(back[~normal] == 0)  # below the normal range: 0, never a wrong number
    assert float(_special.ldexp(jnp.asarray(1.5, dtype), 10**4)) == np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_diff_ratio_and_log_ratio_over_the_whole_range(dtype):
    rng = np.random.default_rng(1)
    x, y = _edges(dtype), rng.permutation(_edges(dtype))
    s = np.abs(rng.permutation(_edges(dtype)))
    ratio = np.asarray(_special.diff_ratio(x, y, s), np.float64)
    logs = np.asarray(_special.log_ratio(np.abs(x), s), np.float64)
    largest, tol = mpmath.mpf(float(np.finfo(dtype).max)), 4 * float(np.finfo(dtype).eps)
    for i in range(len(x)):
        exact = (mpf(x[i]) - mpf(y[i])) / mpf(s[i])
        if abs(exact) > largest:
            assert ratio[i] == (np.inf if exact > 0 else -np.inf)
        elif exact != 0:
            # Operands rescaled below the normal range count as 0: an absolute error < tiny.
            bound = tol + 2 * float(np.finfo(dtype).tiny) / abs(exact)
            assert rel_err(ratio[i], exact) <= bound, (x[i], y[i], s[i], ratio[i])
        exact_log = mpmath.log(abs(mpf(x[i])) / mpf(s[i]))
        assert abs(logs[i] - exact_log) <= tol * max(1, abs(exact_log)), (x[i], s[i])
    assert float(_special.diff_ratio(dtype(2.5), dtype(2.5), dtype(1e-30))) == 0.0


MODERATE_DTYPES = [np.float16, jnp.bfloat16, np.float32, np.float64]


def _moderate_values(dtype, n, rng):
    """Moderate values of both signs, the bounds of the moderate range among them."""
    b = _special._moderate_exponent(dtype)
    bounds = [2.0**-b, 2.0**b * (1 - float(jnp.finfo(dtype).epsneg))]  # the largest below 2**b
    size = np.exp2(rng.uniform(-b, b - 1, n))  # not rounded up to 2**b in `dtype`
    values = np.concatenate([bounds, size, 1 + size * 2.0**-10, [0.0]])
    values = values * rng.choice([-1.0, 1.0], values.size)
    return jnp.asarray(values, dtype)


@pytest.mark.parametrize("dtype", MODERATE_DTYPES, ids=lambda d: jnp.dtype(d).name)
def test_moderate_is_the_range_of_exponents(dtype):
    b = _special._moderate_exponent(dtype)
    info = jnp.finfo(dtype)
    inside = _moderate_values(dtype, 50, np.random.default_rng(0))
    assert bool(_special.moderate(inside, jnp.asarray(3), 2))  # integers are not checked
    assert bool(jax.jit(_special.moderate)(inside))
    below = float(2.0**-b * (1 - float(info.epsneg)))
    subnormal = float(info.smallest_subnormal)
    for outside in (below, 2.0**b, subnormal, np.inf, np.nan):
        for sign in (1, -1):
            x = np.array(inside)  # set in NumPy: XLA on CPU would flush the subnormal
            x[3] = sign * outside
            x = jnp.asarray(x)
            assert not bool(_special.moderate(x)), outside
            assert not bool(jax.jit(_special.moderate)(x)), outside
            assert not bool(_special.moderate(inside, x[:, None]))  # shapes apart
    assert bool(_special.moderate(jnp.asarray(-0.0, dtype)))


@pytest.mark.parametrize("dtype", MODERATE_DTYPES, ids=lambda d: jnp.dtype(d).name)
def test_moderate_helpers_give_the_range_helpers_values(dtype):
    """diff_ratio and log_mul bit for bit; log_ratio within a few ulp of 1 and of itself."""
    rng = np.random.default_rng(2)
    x = _moderate_values(dtype, 3000, rng)
    y, s = jnp.asarray(rng.permutation(np.asarray(x)), dtype), jnp.abs(x[::-1])
    y = y.at[::7].set(x[::7] * (1 + jnp.finfo(dtype).eps))  # close pairs: exact differences
    s = jnp.where(s == 0, jnp.asarray(1, dtype), s)
    ratio = jax.jit(_special.diff_ratio)(x, y, s)
    np.testing.assert_array_equal(jax.jit(_special.diff_ratio_moderate)(x, y, s), ratio)
    for constant in (_special.SQRT_2PIE, 3.0):
        exact = jax.jit(lambda v, c=constant: _special.log_mul(v, c))(s)
        fast = jax.jit(lambda v, c=constant: _special.log_mul_moderate(v, c))(s)
        np.testing.assert_array_equal(fast, exact)
    logs = np.asarray(jax.jit(_special.log_ratio_moderate)(s, s[::-1]), np.float64)
    eps = float(jnp.finfo(dtype).eps)
    for i in range(0, len(s), 10):
        exact_log = mpmath.log(mpf(s[i]) / mpf(s[::-1][i]))
        assert abs(logs[i] - exact_log) <= 2 * eps * (1 + abs(exact_log)), (s[i], s[::-1][i])


def test_fast_when_moderate_takes_the_plain_helpers_only_for_moderate_parameters():
    from verify._ops import jax_ops, moderate_ops, range_ops

    seen = []

    def form(xp, x, s):
        seen.append(xp)
        return xp.diff_ratio(x, 0, s)

    assert float(jax_ops.fast_when_moderate(form, 3.0, 2.0)) == 1.5
    tiny = jnp.float32(1e-40)  # subnormal: read as 0 by the plain division
    assert float(jax_ops.fast_when_moderate(form, jnp.float32(1e-39), tiny)) > 9
    assert seen == [moderate_ops, range_ops]
    jitted = jax.jit(lambda x, s: jax_ops.fast_when_moderate(form, x, s))
    x, s = np.float32([1e-39, 3]), np.float32([1e-40, 2])
    np.testing.assert_array_equal(jitted(x, s), np.float32(np.float64(x) / np.float64(s)))
    assert float(jitted(jnp.float32(3.0), jnp.float32(2.0))) == 1.5
    # Under vmap the test is over the whole batch: a branch, not both run and selected.
    program = str(jax.make_jaxpr(jax.vmap(jitted))(x, s))
    assert "cond[" in program  # a per-member test would have become select_n
    np.testing.assert_array_equal(jax.vmap(jitted)(x, s), jitted(x, s))
    # Derivatives: those of the range helpers' form, with no branch to keep residuals of.
    gradient = jax.grad(lambda x, s: jnp.sum(jitted(x, s)), argnums=(0, 1))
    assert "cond[" not in str(jax.make_jaxpr(gradient)(x, s))
    assert float(gradient(x, s)[1][1]) == -3 / 4  # d/ds of x / s at x = 3, s = 2


@pytest.mark.parametrize("log_a", [-700.0, -5.0, -0.3, -1e-3, 1e-9, 0.2, 40.0])
def test_kl_div_log_and_derivative_against_mpmath(log_a):
    a = mpmath.exp(mpf(log_a))
    b = float(1 - a)
    exact = a - 1 - mpf(log_a)
    assert rel_err(_special.kl_div_log(log_a, b), exact) <= 4 * EPS
    assert rel_err(jax.grad(_special.kl_div_log)(log_a, b), a - 1) <= 4 * EPS
    assert float(_special.kl_div_log(800.0, -np.inf)) == np.inf  # a beyond the range


# --- cont: Stirling's remainder, the Bregman divergence of lgamma beyond x log x - x, ratio_gap
def exact_stirling_bregman(a, b):
    with mpmath.workdps(120):  # lgamma(1e30) ~ 7e31 against a result ~ 1e-25
        a, b = mpf(a), mpf(b)
        value = (mpmath.loggamma(b) - mpmath.loggamma(a) - (b - a) * mpmath.digamma(a)) - (
            b * mpmath.log(b / a) - (b - a)
        )
        return +value


STIRLING_SHAPES = [
    1e-30,
    1e-6,
    1e-3,
    0.1,
    0.5,
    1.0,
    1.5,
    3.0,
    7.9,
    15.5,
    16.0,
    30.0,
    1e3,
    1e6,
    1e15,
]
STIRLING_STEPS = [1e-12, 1e-8, -1e-6, 1e-3, -0.1, 0.5, -0.5, 2.0, 1e3, -1 + 1e-6]


@pytest.mark.parametrize(
    "dtype, bound",
    [(np.float64, 32 * EPS), pytest.param(np.float32, 3e-6, marks=pytest.mark.slow)],
)
def test_stirling_bregman_against_mpmath(dtype, bound):
    # Near-equal shapes (relative steps down to 1e-12), far ones, tiny and huge shapes.
    worst = 0.0
    for a in STIRLING_SHAPES:
        for r in STIRLING_STEPS:
            a_, b_ = dtype(a), dtype(a * (1 + r))
            if not 0 < b_ < np.inf:
                continue
            value = _special.stirling_bregman(a_, b_)
            assert value.dtype == dtype
            worst = max(worst, rel_err(value, exact_stirling_bregman(a_, b_)))
    assert worst <= bound


@pytest.mark.parametrize("a, b", [(0.3, 0.31), (2.0, 5.0), (20.0, 20.5), (1e3, 1.0), (1e-3, 40.0)])
def test_stirling_bregman_gradient_and_sympy_twin(a, b):
    grad = jax.grad(_special.stirling_bregman, argnums=(0, 1))(a, b)
    x, y = sp.symbols("x y", positive=True)
    twin = symbolic.stirling_bregman(x, y)
    for g, v in zip(grad, (x, y)):
        exact = twin.diff(v).rewrite(sp.log).evalf(30, subs={x: a, y: b})
        assert rel_err(g, exact) <= 1e-13
    assert rel_err(_special.stirling_bregman(a, b), twin.evalf(50, subs={x: a, y: b})) <= 8 * EPS
    if a > 0.1:  # finite differences (step 1e-4) cannot resolve the curvature at a = 1e-3
        check_grads(_special.stirling_bregman, (a, b), order=1, modes=["rev"])


@pytest.mark.parametrize("x", [1e-5, 0.3, 1.0, 5.0, 15.9, 16.0, 20.0, 1e3, 1e10])
def test_lgamma_and_digamma_stirling_against_mpmath(x):
    mu = mpmath.loggamma(x) - (x - 0.5) * mpmath.log(x) + x - mpmath.log(2 * mpmath.pi) / 2
    mu_prime = mpmath.digamma(x) - mpmath.log(x) + 1 / (2 * mpf(x))
    # Below 16 from lgamma itself: an absolute error of a few ulp of lgamma(x).
    scale = max(1.0, abs(float(mpmath.loggamma(x)))) if x < 16 else abs(float(mu))
    assert abs(float(_special.lgamma_stirling(x)) - float(mu)) <= 8 * EPS * scale
    scale = max(1.0, abs(float(mpmath.digamma(x)))) if x < 16 else abs(float(mu_prime))
    assert abs(float(_special.digamma_stirling(x)) - float(mu_prime)) <= 8 * EPS * scale
    assert float(jax.grad(_special.lgamma_stirling)(x)) == float(_special.digamma_stirling(x))


@pytest.mark.parametrize(
    "params",
    [
        (1.0, 1.0, 1 + 2**-40, 1 + 2**-40),
        (3.0, 2.0, 3.0 + 1e-9, 2.0 + 2e-9),
        (5.0, 7.0, 5.0000001, 7.0),
        (1e300, 1e-300, 2e300, 3e-300),
        (1e15, 1e-30, 5e15 * (1 + 2**-40), 5e-30),  # shapes and rates far apart, means close
        (2.0**-1070, 1.0, 2.0**-1069, 2.0),
    ],
)
def test_ratio_gap_against_mpmath(params):
    a_p, b_p, a_q, b_q = (mpf(v) for v in params)
    exact = 1 - a_p * b_q / (a_q * b_p)
    assert rel_err(_special.ratio_gap(*params), exact) <= 4 * EPS


def test_new_exact_constants():
    for constant, exact in [
        (_special.E_INV, mpmath.exp(-1)),
        (_special.SQRT_PI_2, mpmath.sqrt(mpmath.pi / 2)),
        (_special.SQRT_PIE_2, mpmath.sqrt(mpmath.pi * mpmath.e / 2)),
    ]:
        assert (
            abs(mpmath.mpf(constant.value.numerator) / constant.value.denominator - exact) < 1e-45
        )


@pytest.mark.parametrize(
    "x", [1e-310, 2.0**-1074, 1e-30, 0.7071, 0.999999999, 1.0, 1.000000001, 1.4143, 3.0, 1e300]
)
def test_log_full_range_against_mpmath(x):
    assert rel_err(_special.log_full_range(x), mpmath.log(mpf(x))) <= 2 * EPS
    assert float(jax.grad(_special.log_full_range)(x)) == pytest.approx(1 / x, rel=1e-15)


def test_log_full_range_keeps_float32():
    x = np.float32([1e-40, 0.99999994, 3.0])
    value = _special.log_full_range(x)
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, np.log(x.astype(np.float64)), rtol=2e-7)


def test_ratio_gap_derivatives():
    # The value goes through frexp; the derivatives come from the JVP rule, to second order.
    check_grads(_special.ratio_gap, (2.0, 3.0, 2.5, 3.5), order=2, modes=["fwd", "rev"])


# --- unit: Bregman divergences of lgamma, Binet's function and log(sinh(t)/t)
def exact_lgamma_bregman(a, b):
    a, b = mpf(a), mpf(b)
    return mpmath.loggamma(b) - mpmath.loggamma(a) - (b - a) * mpmath.digamma(a)


def exact_binet_bregman(a, b):
    a, b = mpf(a), mpf(b)
    d = b - a
    main = b * mpmath.log(b / a) - d + (d / a - mpmath.log(b / a)) / 2
    return exact_lgamma_bregman(a, b) - main


GAMMA_ARGS = [1e-30, 1e-5, 0.01, 0.3, 0.5, 1.0, 1.7, 3.0, 9.5, 10.0, 10.5, 30.0, 1e3, 1e6, 1e15]
GAMMA_STEPS = [1e-12, -1e-12, 1e-8, 1e-4, -1e-3, 0.1, -0.3, 1.0, -0.999, 3.0, 1e5]


def _gamma_pairs(args):
    pairs = [(a, a * (1 + r)) for a in args for r in GAMMA_STEPS]
    return pairs + [(a, b) for a in args for b in args if a != b]


def _delta(a, b):
    return float(mpf(b) - mpf(a))


@pytest.mark.parametrize("function", [_special.lgamma_bregman])
def test_lgamma_bregman_against_mpmath_everywhere(function):
    """A sum of non-negative terms: a few ulp for all arguments, near-equal or far apart;
    also where ``b - a`` rounds to ``-a`` (``(1e20, 1e-100)`` was inf: ``1 + (b - a) / a``)."""
    pairs = _gamma_pairs(GAMMA_ARGS) + [(1e20, 1e-100), (1e300, 1.0), (1e20, 1e-30)]
    a, b = np.array(pairs).T
    delta = np.array([_delta(*p) for p in pairs])
    values = np.asarray(jax.jit(function)(a, b, delta))
    with mpmath.workdps(150):  # the reference itself cancels
        errors = [rel_err(v, exact_lgamma_bregman(*p)) for v, p in zip(values, pairs)]
    assert max(errors) <= 32 * EPS, pairs[int(np.argmax(errors))]


def test_binet_bregman_against_mpmath_where_stirling_applies():
    """From 12 on, the divergence of each term of Stirling's series: a few ulp."""
    pairs = [(a, b) for a, b in _gamma_pairs([12.0, 12.5, 30.0, 1e3, 1e6, 1e15]) if b >= 12]
    a, b = np.array(pairs).T
    delta = np.array([_delta(*p) for p in pairs])
    values = np.asarray(_special.binet_bregman(a, b, delta))
    with mpmath.workdps(300):
        exact = [exact_binet_bregman(*p) for p in pairs]
        errors = [rel_err(v, e) for v, e in zip(values, exact) if b_ok(e)]
    assert max(errors) <= 32 * EPS
    assert np.all(values >= 0)


def b_ok(exact):
    return abs(exact) > 1e-300  # below, the exact value underflows


def test_binet_bregman_below_ten_is_accurate_relative_to_lgamma_bregman():
    """Below 12 it is lgamma_bregman minus Stirling's main parts: error ~ eps lgamma_bregman."""
    pairs = _gamma_pairs([1e-30, 1e-5, 0.3, 1.0, 3.0, 9.5, 11.9])
    a, b = np.array(pairs).T
    delta = np.array([_delta(*p) for p in pairs])
    values = np.asarray(_special.binet_bregman(a, b, delta))
    with mpmath.workdps(150):
        for v, p in zip(values, pairs):
            scale = abs(exact_lgamma_bregman(*p))
            assert abs(mpf(v) - exact_binet_bregman(*p)) <= 64 * EPS * scale, p


def _binet_slopes(a, b):
    """``d/da binet_bregman = -(b - a) omega''(a)`` and ``d/db = omega'(b) - omega'(a)``."""
    a, b = mpf(a), mpf(b)

    def slope(x):
        return mpmath.digamma(x) - mpmath.log(x) + 1 / (2 * x)

    curvature = mpmath.psi(1, a) - 1 / a - 1 / (2 * a * a)
    return -(b - a) * curvature, slope(b) - slope(a)


def test_binet_bregman_derivatives_against_mpmath():
    """Both derivatives to a few ulp of themselves, near-equal and far apart, below 12 and
    above (``omega'(b) - omega'(a)`` is about ``(b - a) / (6 a**3)``: taken as a difference
    of digammas and logarithms it keeps about ``eps a**2 / |b - a|``)."""
    pairs = [
        (a, b)
        for a, b in _gamma_pairs([1e-5, 0.3, 1.0, 3.0, 9.5, 11.9, 12.5, 30.0, 1e3, 1e6])
        if b > 1e-200
    ]
    a, b = np.array(pairs).T
    delta = np.array([_delta(*p) for p in pairs])
    slopes = jax.jit(jax.vmap(jax.grad(_special.binet_bregman, argnums=(0, 1))))(a, b, delta)
    with mpmath.workdps(300):
        for k, p in enumerate(pairs):
            for got, exact in zip((slopes[0][k], slopes[1][k]), _binet_slopes(*p)):
                assert rel_err(got, exact) <= 64 * EPS, (p, float(got), float(exact))


def test_ratio_kl_outside_the_float_range_of_the_ratio():
    """Also tiny and huge ends of a moderate ratio: 3e-284 over 1e-284 was 6e-14 off (the
    difference of two logarithms of 655)."""
    cases = [(1e-300, 1e12), (1e300, 1e10), (1.0, 1.0 + 1e-12), (3.0, 2.0)]
    cases += [(1.774420398940792e-284, 5.914734663135973e-285), (3e300, 1e300), (1e-200, 4e-200)]
    for x, y in cases:
        with mpmath.workdps(100):
            exact = mpf(x) / mpf(y) - 1 - mpmath.log(mpf(x) / mpf(y))
            assert rel_err(_special.ratio_kl(x, y, _delta(y, x)), exact) <= 4 * EPS
    assert float(_special.ratio_kl(1e300, 1e-10, 1e300)) == np.inf  # beyond the range


def _exact(x):
    return x if isinstance(x, mpmath.mpf) else mpf(x)


def exact_log_sinhc(t):
    t = _exact(t)
    return mpmath.log(mpmath.sinh(t) / t) if t != 0 else mpmath.mpf(0)


def exact_langevin(t):
    t = _exact(t)
    return mpmath.coth(t) - 1 / t if t != 0 else mpmath.mpf(0)


def exact_log_sinhc_bregman(t, d):
    y = mpf(t) + mpf(d)
    return exact_log_sinhc(y) - exact_log_sinhc(t) - mpf(d) * exact_langevin(t)


SINHC_POINTS = [0.0, 1e-300, 1e-12, 1e-5, 0.1, 0.5, 0.99, 1.0, 1.5, 1.51, 2.0, 2.01, 5.0, 20.0]
SINHC_POINTS += [355.0, 1e4, 1e300]


@pytest.mark.parametrize("t", SINHC_POINTS + [-t for t in SINHC_POINTS])
def test_log_sinhc_and_langevin_against_mpmath(t):
    with mpmath.workdps(60):
        assert rel_err(_special.log_sinhc(t), exact_log_sinhc(t)) <= 4 * EPS
        assert rel_err(_special.langevin(t), exact_langevin(t)) <= 4 * EPS
        if abs(t) < 1e300:
            derivative = jax.grad(_special.log_sinhc)(t)
            assert rel_err(derivative, exact_langevin(t)) <= 8 * EPS


def _sinhc_bregman_cases():
    """Dense near t = 0 (probabilities near 1/2, the region of tensorflow/probability#1511)."""
    near_half = np.concatenate([-np.logspace(-16, 0.3, 60), [0.0], np.logspace(-16, 0.3, 60)])
    steps = [1e-12, -1e-9, 1e-6, -1e-3, 0.05, -0.4, 1.0, -3.0]
    cases = [(t, d) for t in near_half for d in steps]
    cases += [(t, r * t) for t in near_half if t for r in (1e-12, -1e-6, 0.3, -1.0, -2.0, 5.0)]
    far = [0.99, 1.5, 2.5, 20.0, 355.0, 1e4]
    far += [-t for t in far]
    cases += [(t, d) for t in far for d in (1e-12, -1e-6, 0.1, -0.5, 1.0, -2.0, 40.0, -3e4)]
    cases += [(t, r * t) for t in far for r in (1e-12, -1e-6, 0.3, -1.0, -2.0, 5.0)]
    return [(t, d) for t, d in cases if d != 0]


def test_log_sinhc_bregman_against_mpmath_densely_near_one_half():
    cases = _sinhc_bregman_cases()
    t, d = np.array(cases).T
    values = np.asarray(jax.jit(_special.log_sinhc_bregman)(t, d))
    with mpmath.workdps(250):
        errors = [rel_err(v, exact_log_sinhc_bregman(*c)) for v, c in zip(values, cases)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= 32 * EPS, (cases[worst], errors[worst])
    near = [e for e, (t, d) in zip(errors, cases) if abs(t) <= 1 and abs(t + d) <= 1]
    assert max(near) <= 4 * EPS


def test_log_sinhc_bregman_float32():
    cases = [(t, d) for t, d in _sinhc_bregman_cases() if abs(t) < 1e30 and abs(d) < 1e30]
    t, d = np.array(cases, np.float32).T
    values = np.asarray(_special.log_sinhc_bregman(t, d))
    assert values.dtype == np.float32
    with mpmath.workdps(250):
        exact = [exact_log_sinhc_bregman(*c) for c in zip(t, d)]
    # values below float32's normal range (d**2 / 6 at d = 1e-28) underflow
    errors = [rel_err(v, e) for v, e in zip(values, exact) if e > 1e-36]
    assert max(errors) <= 1e-5


@pytest.mark.parametrize(
    "function, args",
    [
        (_special.lgamma_bregman, (0.7, 2.5, 1.8)),
        (_special.lgamma_bregman, (12.0, 11.0, -1.0)),
        (_special.binet_bregman, (0.7, 2.5, 1.8)),
        (_special.binet_bregman, (12.0, 31.0, 19.0)),
        (_special.log_sinhc_bregman, (0.3, -0.2)),
        (_special.log_sinhc_bregman, (1.7, 0.6)),
        (_special.log_sinhc_bregman, (0.2, 4.0)),
    ],
)
def test_unit_functions_derivatives_match_their_sympy_twins(function, args):
    """jax.grad of each function against SymPy's derivative of its twin (hints have none)."""
    twin = getattr(symbolic, function.__name__)
    symbols = sp.symbols(f"x0:{len(args)}", real=True)
    expr = twin(*symbols)
    point = {s: sp.Rational(v) for s, v in zip(symbols, args)}  # exact: no 15-digit rounding
    grads = jax.grad(lambda *v: function(*v), argnums=tuple(range(len(args))))(*args)
    hints = len(args) == 3  # delta = b - a: its derivative belongs to b
    for i, symbol in enumerate(symbols):
        exact = sp.N(sp.diff(expr, symbol).subs(point).rewrite(sp.log), 30)
        total = float(grads[i]) + (float(grads[2]) if hints and i == 1 else 0.0)
        total -= float(grads[2]) if hints and i == 0 else 0.0
        if hints and i == 2:
            continue
        assert rel_err(total, exact) <= 1e-12, (function.__name__, i)
    # binet_bregman below 12 is accurate relative to lgamma_bregman (tested above)
    assert rel_err(function(*args), sp.N(expr.subs(point).rewrite(sp.log), 30)) <= 32 * EPS


def _exact_logit(p):
    p = _exact(p)
    return mpmath.log(p) - mpmath.log1p(-p)


@pytest.mark.parametrize(
    "p", [1e-300, 1e-10, 0.1, 0.2499, 0.25, 0.3, 0.5 - 1e-12, 0.5, 0.5 + 2**-40, 0.9, 1 - 2**-53]
)
def test_logit_against_mpmath_also_near_one_half(p):
    with mpmath.workdps(60):
        assert rel_err(_special.logit(p), _exact_logit(p)) <= 4 * EPS


@pytest.mark.parametrize("p", [1e-300, 1e-5, 0.25, 0.3, 0.5, 0.5 + 1e-13, 0.99, 1 - 2**-53])
@pytest.mark.parametrize("step", [1e-12, -1e-9, 1e-4, -0.3, 0.5, 3.0, -0.9999])
def test_logit_gap_against_mpmath(p, step):
    q = p + step * min(p, 1 - p)
    if not 0 < q < 1 or abs(q - p) < np.finfo(np.float64).tiny:
        return  # XLA on CPU reads a subnormal difference as 0
    with mpmath.workdps(60):
        exact = _exact_logit(q) - _exact_logit(p)
        assert rel_err(_special.logit_gap(p, q), exact) <= 8 * EPS


# ------------------------------------------------------------- lgamma near its zeros
def _lgamma_points(dtype):
    near = np.logspace(-12, -1, 23)
    return np.concatenate(
        [
            np.linspace(0.001, 6, 1201),
            1 + near,
            1 - near,
            2 + near,
            2 - near,
            np.logspace(-30, -1, 16),
            np.logspace(0.8, 30, 30),
        ]
    ).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lgamma_is_accurate_relative_to_its_value_also_near_its_zeros(dtype):
    """XLA's lgamma is accurate in absolute terms only: lgamma(1) = 4.8e-7 in float32, and
    near 1 its relative error reaches 13 (float32) and 1.3e-3 (float64). Ours: 16 ulp at most
    on (0, 1e30], 0 exactly at 1 and 2; the derivative is digamma."""
    from jax.scipy.special import digamma, gammaln

    from verify._special import lgamma

    x = _lgamma_points(dtype)
    values = np.asarray(jax.jit(lgamma)(jnp.asarray(x)))
    eps = np.finfo(dtype).eps
    with mpmath.workdps(40):
        for xi, value in zip(x, values):
            exact = mpmath.loggamma(mpmath.mpf(float(xi)))
            assert abs(mpmath.mpf(float(value)) - exact) <= 16 * eps * abs(exact), (xi, value)
    one_two = jnp.asarray([1.0, 2.0], dtype)
    assert np.all(np.asarray(lgamma(one_two)) == 0)
    np.testing.assert_array_equal(jax.vmap(jax.grad(lgamma))(one_two), digamma(one_two))
    negative = jnp.asarray([-0.5, -2.5, -1.0], dtype)  # XLA's values (and inf at poles)
    np.testing.assert_array_equal(lgamma(negative), gammaln(negative))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_digamma_diff_is_accurate_where_the_digammas_cancel(dtype):
    """digamma(x + h) - digamma(x) from x and h: within 4 ulp of itself on 10**-10 <= x <=
    10**10 and |h| from 10**-12 to 10**12 (x + h > 0), where the difference of XLA's digammas
    loses every digit (|h| << x); its derivatives are trigamma's."""
    from verify._special import digamma_diff

    rng = np.random.default_rng(0)
    x = 10 ** rng.uniform(-10, 10, 400)
    h = 10 ** rng.uniform(-12, 12, 400) * rng.choice([-1, 1], 400)
    h = np.where(x + h > 0, h, -x * rng.uniform(0.01, 0.99, 400))
    # x + h far below x: (1 + h / x)**-m overflowed in a term (NaN at 1e12 and 12 in float32)
    x, h = np.append(x, [1e12, 1e30, 3e7]), np.append(h, [12 - 1e12, 2 - 1e30, 0.5 - 3e7])
    x, h = x.astype(dtype), h.astype(dtype)
    keep = (x + h > 0) & (np.abs(h) >= np.finfo(dtype).tiny * 1e6)
    values = np.asarray(jax.jit(digamma_diff)(jnp.asarray(x[keep]), jnp.asarray(h[keep])))
    eps = np.finfo(dtype).eps
    with mpmath.workdps(50):
        for xi, hi, value in zip(x[keep], h[keep], values):
            a, b = mpmath.mpf(float(xi)), mpmath.mpf(float(hi))
            exact = mpmath.digamma(a + b) - mpmath.digamma(a)
            assert abs(mpmath.mpf(float(value)) - exact) <= 4 * eps * abs(exact), (xi, hi)
    grads = jax.grad(digamma_diff, (0, 1))(2.0, 0.5)
    np.testing.assert_allclose(grads, [_polygamma1(2.5) - _polygamma1(2.0), _polygamma1(2.5)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_digamma_bregman_is_accurate_where_the_textbook_form_cancels(dtype):
    """digamma(y) - digamma(x) - (y - x) trigamma(x): within 8 ulp of itself on 10**-10 <= x
    <= 10**10 and |h| from 10**-12 to 10**12 (y = x + h > 0), y given apart from x (x = 1e12,
    y = 1: x + h would round y's digits away); derivatives from polygamma."""
    from verify._special import digamma_bregman

    rng = np.random.default_rng(1)
    x = 10 ** rng.uniform(-10, 10, 400)
    h = 10 ** rng.uniform(-12, 12, 400) * rng.choice([-1, 1], 400)
    h = np.where(x + h > 0, h, -x * rng.uniform(0.01, 0.99, 400))
    x, h = x.astype(dtype), h.astype(dtype)
    y = x + h
    h = y - x  # the difference of the rounded ends (exact where they are close)
    keep = (y > 0) & (np.abs(h) >= np.finfo(dtype).tiny * 1e6)
    x, y, h = np.append(x[keep], 1e12), np.append(y[keep], 1.0), np.append(h[keep], 1 - 1e12)
    x, y, h = (v.astype(dtype) for v in (x, y, h))
    values = np.asarray(jax.jit(digamma_bregman)(*(jnp.asarray(v) for v in (x, y, h))))
    eps = np.finfo(dtype).eps
    with mpmath.workdps(60):
        for xi, yi, value in zip(x, y, values):
            a, b = mpmath.mpf(float(xi)), mpmath.mpf(float(yi))
            exact = mpmath.digamma(b) - mpmath.digamma(a) - (b - a) * mpmath.psi(1, a)
            assert abs(mpmath.mpf(float(value)) - exact) <= 8 * eps * abs(exact), (xi, yi)
    grads = jax.grad(digamma_bregman, (0, 1))(2.0, 2.5, 0.5)
    expected = [-0.5 * float(mpmath.psi(2, 2.0)), _polygamma1(2.5) - _polygamma1(2.0)]
    np.testing.assert_allclose(grads, expected, rtol=1e-14)


def test_trigamma_where_xla_underflows():
    """XLA's polygamma(1, x) is 0 from about 1e154 on (1e19 in float32); the slide of the
    shares' form needs it there (it made a Beta KL 1 too large)."""
    from verify._special import _trigamma

    for dtype, xs in [
        (np.float64, [0.5, 11.9, 12.0, 1e10, 1e200, 1e300]),
        (np.float32, [3.0, 1e20]),
    ]:
        values = np.asarray(_trigamma(jnp.asarray(xs, dtype)))
        for x, value in zip(np.asarray(xs, dtype), values):
            assert rel_err(value, mpmath.psi(1, mpf(float(x)))) <= 4 * np.finfo(dtype).eps, x


def _exact_share(x, r, x_q, r_q):
    def bregman(a, b):
        return mpmath.loggamma(b) - mpmath.loggamma(a) - (b - a) * mpmath.digamma(a)

    return bregman(x, x_q) - x / (x + r) * bregman(x + r, x_q + r_q)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lgamma_bregman_share_sums_to_the_dirichlet_kl_where_a_class_holds_nearly_all(dtype):
    """The shares of a Beta pair, the larger class with at most 1/100 of it besides and the
    rest at most 1 (the regime the Beta and Dirichlet KLs take them in): their sum within
    64 ulp of the KL (mpmath), where the larger class's divergence and the total's cancel
    (they agree to 1e-12 and beyond); each share alone within 64 ulp of its size."""
    from verify._special import lgamma_bregman_share

    rng = np.random.default_rng(2)
    n = 200
    big = 10 ** rng.uniform(-1, 12, n)
    small = np.minimum(big / 10 ** rng.uniform(2, 14, n), 10 ** rng.uniform(-300, 0, n))
    small = np.maximum(small, 1e-300)
    big_q = big * np.exp(10 ** rng.uniform(-12, 0.3, n) * rng.choice([-1, 1], n))
    small_q = np.where(rng.uniform(size=n) < 0.5, small, np.minimum(big_q / 100, small * 3))
    if dtype == np.float32:
        keep = (small > 1e-30) & (small_q > 1e-30) & (big < 1e30)
        big, small, big_q, small_q = (v[keep] for v in (big, small, big_q, small_q))
    args = [v.astype(dtype) for v in (big, small, big_q, small_q)]
    big, small, big_q, small_q = args
    d_big, d_small = big_q - big, small_q - small
    share = jax.jit(lgamma_bregman_share)
    (share_big, error_big), (share_small, error_small) = (
        share(big, small, big_q, small_q, d_big, d_small),
        share(small, big, small_q, big_q, d_small, d_big),
    )
    values = np.asarray(share_big) + np.asarray(share_small)
    bounds = np.asarray(error_big) + np.asarray(error_small)
    eps = np.finfo(dtype).eps
    with mpmath.workdps(400):
        for i, value in enumerate(values):
            p = [mpmath.mpf(float(v[i])) for v in args]
            exact = _exact_share(p[0], p[1], p[2], p[3]) + _exact_share(p[1], p[0], p[3], p[2])
            if exact < 1e-300 or (dtype == np.float32 and exact < 1e-30):
                continue  # below the float range
            error = abs(mpmath.mpf(float(value)) - exact)
            assert error <= 64 * eps * exact, [v[i] for v in args]
            assert error <= bounds[i] + 4 * eps * exact, [v[i] for v in args]  # the bound holds


def _polygamma1(x):
    return float(mpmath.psi(1, x))


def test_digamma_differences_derivatives_where_xla_trigamma_underflows():
    """Their derivatives are trigammas: XLA's polygamma(1, x) is 0 beyond about 1e154, where
    it is 1 / x (the derivatives in h were 0)."""
    from verify._special import digamma_bregman

    x, h = 1e200, 1e200  # y = 2e200
    d_diff = jax.grad(lambda h: _special.digamma_diff(x, h))(h)  # trigamma(2e200)
    d_bregman = jax.grad(lambda y: digamma_bregman(x, y, y - x), argnums=0)(x + h)
    assert rel_err(d_diff, 1 / (x + h)) <= 1e-14
    assert rel_err(d_bregman, 1 / (x + h) - 1 / x) <= 1e-14  # trigamma(y) - trigamma(x)


def test_digamma_derivative_where_xla_trigamma_underflows():
    """verify's digamma (the one the closed forms and derived expressions call) has the
    derivative 1 / x beyond 1e154, where XLA's polygamma(1, x) is 0; and lgamma's second
    derivative is that trigamma too."""
    from verify._ops import jax_ops
    from verify.symbolic.jaxify import to_jax

    z = sp.Symbol("z", positive=True)
    derived = to_jax(sp.digamma(z), [z])  # SymPy prints it polygamma(0, z)
    for digamma in (jax_ops.digamma, derived):
        for x in (1e200, 3.0):
            want = 1 / x if x > 1e100 else float(mpmath.psi(1, x))
            assert rel_err(jax.grad(digamma)(x), want) <= 1e-14
    assert rel_err(jax.grad(jax.grad(jax_ops.lgamma))(1e200), 1e-200) <= 1e-14
    assert float(jax.grad(jax.grad(jax_ops.digamma))(1e100)) == pytest.approx(-1e-200, rel=1e-14)
    assert rel_err(to_jax(sp.polygamma(1, z), [z])(1e200), 1e-200) <= 1e-14  # value, too


@pytest.mark.parametrize(
    "x, h", [(1e6, 1e-3), (11.9, 1e-8), (3.0, -1e-9), (0.5, 1e-7), (2e-3, 1e-12), (5.0, 20.0)]
)
def test_trigamma_differences_in_the_derivatives_do_not_cancel(x, h):
    """d/dx digamma_diff(x, h) and d/dy digamma_bregman(x, y) are trigamma(x + h) -
    trigamma(x), about h polygamma(2, x): taken as a difference of trigammas they kept
    about eps x / h of it (1e-7 relative at x = 1e6, h = 1e-3)."""
    from verify._special import digamma_bregman

    with mpmath.workdps(60):
        exact = float(mpmath.psi(1, mpmath.mpf(x) + mpmath.mpf(h)) - mpmath.psi(1, x))
    d_diff = jax.grad(_special.digamma_diff, argnums=0)(x, h)
    d_bregman = jax.grad(digamma_bregman, argnums=1)(x, x + h, h)
    assert rel_err(d_diff, exact) <= 8 * EPS
    assert rel_err(d_bregman, exact) <= 8 * EPS


def test_trigamma_difference_is_zero_at_equal_arguments_where_trigamma_overflows():
    """At ``h = 0`` the derivatives above are 0, also below 1e-154 (inf - inf was NaN)."""
    from verify._special import digamma_bregman

    x = np.array([1e-200, 1e-160, 3.0])
    d_diff = jax.jit(jax.vmap(jax.grad(_special.digamma_diff)))(x, 0 * x)
    d_bregman = jax.jit(jax.vmap(jax.grad(digamma_bregman, argnums=1)))(x, x, 0 * x)
    assert np.all(np.asarray(d_diff) == 0) and np.all(np.asarray(d_bregman) == 0)


def test_binet_bregman_derivatives_are_zero_at_equal_arguments_below_1e154():
    """At ``a = b`` both derivatives are 0, also where ``omega''(a)`` overflows (they were
    NaN under ``jit``: XLA computes ``0 / z / z`` as ``0 / (z z)``, 0 / 0 below 1e-154)."""
    a = np.array([1e-300, 1e-200, 1e-160, 1e-20, 3.0])
    slopes = jax.jit(jax.vmap(jax.grad(_special.binet_bregman, argnums=(0, 1))))(a, a, 0 * a)
    assert np.all(np.asarray(slopes) == 0)


def test_some_and_largest_answer_for_the_whole_batch_under_vmap():
    """A ``lax.cond`` on them stays a branch under ``vmap`` (on ``jnp.any`` of a member it
    becomes a select of both branches), and their derivatives' branches too."""
    masks = jnp.array([[False, False], [False, True]])
    assert not bool(_special.some(masks[0])) and bool(_special.some(masks))
    assert jax.vmap(_special.some)(masks).tolist() == [True, True]
    assert jax.vmap(jax.vmap(_special.some))(masks[None]).tolist() == [[True, True]]
    tiers = jnp.array([[0, 1], [3, 2]])
    assert jax.vmap(_special.largest)(tiers).tolist() == [3, 3]
    assert int(_special.largest(jnp.zeros((0,), jnp.int32))) == 0

    def regime(x):
        return _special.in_regime(x > 1, jnp.sqrt, (x,), (1.0,), -x)

    x = jnp.array([[0.5, 4.0], [0.25, 0.5]])
    assert "cond[" in str(jax.make_jaxpr(jax.vmap(regime))(x))
    np.testing.assert_array_equal(jax.vmap(regime)(x), [[-0.5, 2], [-0.25, -0.5]])
    # The derivative rule of the shares' form branches on the batch as well.
    x, r, x_q, r_q = (jnp.array([11.9, 3.0]), jnp.array([1e-8, 2.0]), 11.9, 2e-8)

    def share(x, r):
        return _special.lgamma_bregman_share(x, r, x_q, r_q, x_q - x, r_q - r)[0]

    gradient = jax.grad(lambda x, r: jnp.sum(share(x, r)), argnums=(0, 1))
    program = str(jax.make_jaxpr(jax.vmap(gradient))(x[:, None], r[:, None]))
    assert program.count("cond[") == str(jax.make_jaxpr(gradient)(x, r)).count("cond[")

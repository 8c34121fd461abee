"""Tests of verify.symbolic.from_jaxpr: every translated primitive against JAX's own evaluation."""

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np
import pytest
import sympy as sp

from verify.symbolic.from_jaxpr import (
    UnsupportedPrimitiveError,
    exact_constant,
    function_to_sympy,
    jaxpr_to_sympy,
)

X = np.array([0.3, -0.7, 1.1])
Y = np.array([0.6, 0.2, 1.4])
L = np.array([[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.2, 1.5]])


def _primitives(jaxpr):
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for value in eqn.params.values():
            for inner in value if isinstance(value, tuple) else (value,):
                inner = getattr(inner, "jaxpr", inner)
                if hasattr(inner, "eqns"):
                    names |= _primitives(inner)
    return names


def _symbols(name, array):
    flat = [sp.Symbol(f"{name}{i}", real=True) for i in range(np.size(array))]
    return np.array(flat, dtype=object).reshape(np.shape(array))


def _check(function, *args, primitive, rtol=1e-12):
    """Translates ``function``, substitutes ``args`` and compares with JAX's value."""
    symbols = [_symbols(f"a{k}_", a) for k, a in enumerate(args)]
    jaxpr = jax.make_jaxpr(function)(*args)
    assert primitive in _primitives(jaxpr.jaxpr), f"{primitive} not in {_primitives(jaxpr.jaxpr)}"
    (out,) = jaxpr_to_sympy(jaxpr, *symbols)
    values = {
        s: float(v) for sym, a in zip(symbols, args) for s, v in zip(sym.ravel(), np.ravel(a))
    }
    expected = np.asarray(function(*args), np.float64)
    got = np.array([complex(sp.N(e.subs(values), 30)).real for e in out.ravel()]).reshape(out.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-14)


@jax.custom_vjp
def _custom_vjp_sin(x):
    return jnp.sin(x)


_custom_vjp_sin.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))

POSITIVE = np.array([0.4, 1.3, 2.5])

CASES = {
    "add": (lambda x, y: x + y, (X, Y)),
    "sub": (lambda x, y: x - y, (X, Y)),
    "mul": (lambda x, y: x * y, (X, Y)),
    "div": (lambda x, y: x / y, (X, Y)),
    "neg": (lambda x: -x, (X,)),
    "integer_pow": (lambda x: x**3, (X,)),
    "square": (jnp.square, (X,)),
    "pow": (lambda x, y: x**y, (POSITIVE, Y)),
    "exp": (jnp.exp, (X,)),
    "log": (jnp.log, (POSITIVE,)),
    "log1p": (jnp.log1p, (X / 2,)),
    "expm1": (jnp.expm1, (X,)),
    "sqrt": (jnp.sqrt, (POSITIVE,)),
    "rsqrt": (jax.lax.rsqrt, (POSITIVE,)),
    "logistic": (jax.nn.sigmoid, (X,)),
    "lgamma": (jss.gammaln, (POSITIVE,)),
    "digamma": (jss.digamma, (POSITIVE,)),
    "erf": (jss.erf, (X,)),
    "abs": (jnp.abs, (X,)),
    "max": (jnp.maximum, (X, Y)),
    "min": (jnp.minimum, (X, Y)),
    "select_n": (lambda x, y: jnp.where(x < y, x * y, x - y), (X, Y)),
    "lt": (lambda x, y: jnp.where(x < 0.2, x, y), (X, Y)),
    "ge": (lambda x, y: jnp.where(x >= y, x, y), (X, Y)),
    "eq": (lambda x, y: jnp.where(x == y, 1.0, y), (X, Y)),
    "ne": (lambda x, y: jnp.where(x != 0.3, x, y), (X, Y)),
    "and": (lambda x, y: jnp.where((x > 0) & (y > 0.5), x, y), (X, Y)),
    "reduce_sum": (lambda x: jnp.sum(x * x), (X,)),
    "reduce_max": (jnp.max, (X,)),
    "dot_general": (lambda m, x: m @ x + jnp.einsum("ij,kj->ik", m, m).sum(), (L, X)),
    "triangular_solve": (
        lambda m, x: (
            jax.scipy.linalg.solve_triangular(m, x, lower=True)
            + jax.scipy.linalg.solve_triangular(m, x, lower=True, trans=1)
        ),
        (L, X),
    ),
    "cholesky": (lambda m: jnp.linalg.cholesky(m[:2, :2] @ m[:2, :2].T + jnp.eye(2)), (L,)),
    "custom_jvp_call": (lambda x, y: jss.xlogy(x, y) + jax.nn.softplus(x), (X, POSITIVE)),
    "custom_vjp_call": (lambda x: _custom_vjp_sin(x) * 2, (X,)),
    "jit": (lambda x: jax.jit(lambda v: jnp.exp(v) * 2)(x), (X,)),
    "gather": (lambda m: jnp.trace(m) + jnp.diag(m).sum() + m[jnp.array([2, 0]), 1].sum(), (L,)),
    "concatenate": (lambda x, y: jnp.concatenate([x, y[:2]]) * 2, (X, Y)),
    "broadcast_in_dim": (lambda x: jnp.broadcast_to(x, (2, 3)) + x[:2, None], (X,)),
    "transpose": (lambda m: m.T - m, (L,)),
    "reshape": (lambda m: m.reshape(9)[::2], (L,)),
    # beyond the list of the issue
    "reduce_min": (jnp.min, (X,)),
    "reduce_prod": (jnp.prod, (X,)),
    "erfc": (jss.erfc, (X,)),
    "tanh": (jnp.tanh, (X,)),
    "sign": (lambda x: jnp.sign(x) * x, (X,)),
    "exp2": (jnp.exp2, (X,)),
    "or": (lambda x, y: jnp.where((x > 0) | (y > 1.0), x, y), (X, Y)),
    "not": (lambda x, y: jnp.where(~(x > 0), x, y), (X, Y)),
    "rev": (lambda x: x[::-1] * x, (X,)),
    "pad": (lambda x: jnp.pad(x, 1) + 1.0, (X,)),
    "dynamic_slice": (lambda x: jax.lax.dynamic_slice(x, (1,), (2,)), (X,)),
    "stack": (lambda x, y: jnp.stack([x, y]).sum(0), (X, Y)),
    "convert_element_type": (lambda x: (x > 0).astype(x.dtype) * x, (X,)),
    "cond": (lambda x: jax.lax.cond(True, lambda v: v * 2, lambda v: v, x), (X,)),
}


@pytest.mark.parametrize("primitive", sorted(CASES))
def test_primitive_matches_jax(primitive):
    function, args = CASES[primitive]
    _check(function, *args, primitive=primitive)


def test_logsumexp_and_log_softmax():
    _check(lambda x: jax.nn.logsumexp(x) + jax.nn.log_softmax(x)[1], X, primitive="reduce_max")


def test_literal_constants_are_exact():
    assert exact_constant(0.5) == sp.Rational(1, 2)
    assert exact_constant(float(np.log(2 * np.pi) / 2)) == sp.log(2 * sp.pi) / 2
    assert exact_constant(float(np.sqrt(2 * np.pi))) == sp.sqrt(2 * sp.pi)
    assert exact_constant(1e-12) == sp.Rational(1, 10**12)
    assert exact_constant(2 * np.pi * np.e) == 2 * sp.pi * sp.E
    assert exact_constant(0.5 + 0.5 * np.log(2 * np.pi)) == (1 + sp.log(2 * sp.pi)) / 2
    # a constant off by more than rounding stays off
    assert exact_constant(3.14159) == sp.Rational(314159, 100000)
    assert exact_constant(float(np.pi) * (1 + 1e-14)) != sp.pi
    assert exact_constant(np.inf) == sp.oo


def test_translation_is_symbolic():
    a, b = sp.symbols("a b", positive=True)
    out = function_to_sympy(lambda x, y: jnp.log(x * y) - jnp.log1p(y), [1.0, 1.0], [a, b])
    assert sp.expand_log(out[()] - (sp.log(a) + sp.log(b) - sp.log(1 + b)), force=True) == 0


def test_where_is_piecewise_with_its_condition():
    a = sp.Symbol("a", real=True)
    out = function_to_sympy(lambda x: jnp.where(x < 1e-4, x**2, jnp.exp(x)), [1.0], [a])[()]
    assert out == sp.Piecewise((a**2, a < sp.Rational(1, 10**4)), (sp.exp(a), True))


def test_a_batch_wide_test_is_its_reduction():
    """``verify._special.some`` (a ``custom_vmap``, batch-wide under ``vmap``) is ``any``."""
    from verify import _special

    a = sp.Symbol("a", real=True)
    out = function_to_sympy(lambda x: jnp.where(_special.some(x > 1), x, -x), [2.0], [a])[()]
    assert out == sp.Piecewise((a, a > 1), (-a, True))


def test_unsupported_primitive_is_named():
    with pytest.raises(UnsupportedPrimitiveError, match="`sort`"):
        function_to_sympy(lambda x: jnp.sort(x)[0], [X], [_symbols("x", X)])
    m = np.eye(4)
    with pytest.raises(UnsupportedPrimitiveError, match="`lu`"):
        function_to_sympy(jnp.linalg.det, [m], [_symbols("m", m)])


def test_cholesky_beyond_3_is_refused():
    m = np.eye(4)
    with pytest.raises(UnsupportedPrimitiveError, match="cholesky of a 4 x 4"):
        function_to_sympy(jnp.linalg.cholesky, [m], [_symbols("m", m)])


def test_cholesky_of_a_product_recovers_the_factor():
    d = 3
    low = np.array(
        sp.Matrix(
            d,
            d,
            lambda i, j: (
                sp.Symbol(f"l{i}{j}", positive=True)
                if i == j
                else (sp.Symbol(f"l{i}{j}", real=True) if i > j else 0)
            ),
        ).tolist(),
        dtype=object,
    )
    out = function_to_sympy(lambda m: jnp.linalg.cholesky(m @ m.T), [np.eye(d)], [low])
    assert all(sp.simplify(a - b) == 0 for a, b in zip(out.ravel(), low.ravel()))

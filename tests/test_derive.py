"""Derivations from densities: literature values, gradients, compilation to JAX."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from helpers import (
    FAMILIES,
    LITERATURE,
    literature_cross_entropy,
    literature_entropy,
    literature_kl,
)

import verify
from verify.symbolic import JAX_FUNCTIONS, derive, is_identically_zero, to_jax

LITERATURE_VALUES = {
    "kl": literature_kl,
    "entropy": literature_entropy,
    "cross_entropy": literature_cross_entropy,
}
QUANTITIES = {"kl": 2, "entropy": 1, "cross_entropy": 2}


#: SymPy evaluates these derivatives (digamma, trigamma; the Binomial's sums over the support)
#: to 30 digits in 8-28 s a case: run by the full suite. The quick run keeps the Dirichlet's and
#: the Binomial's KL; the Beta KL's gradient is checked against mpmath in
#: tests/test_family_beta.py, the Binomial entropy's in tests/test_special_discrete.py.
_SLOW_DERIVATIVES = {
    ("beta", "kl"),
    ("beta", "entropy"),
    ("beta", "cross_entropy"),
    ("dirichlet", "entropy"),
    ("dirichlet", "cross_entropy"),
    ("binomial", "entropy"),
    ("binomial", "cross_entropy"),
}


def _cases(families, slow=()):
    for family in families:
        for quantity in QUANTITIES:
            marks = [pytest.mark.slow] if (family, quantity) in slow else []
            yield pytest.param(family, quantity, id=f"{quantity}-{family}", marks=marks)


@pytest.mark.parametrize("family, quantity", list(_cases(LITERATURE)))
def test_derived_form_matches_literature(family, quantity):
    """The derivation, compiled to JAX and evaluated exactly in SymPy, equals the textbook value."""
    cls, dims, draw = LITERATURE[family]
    derivation = derive(quantity, *[cls] * QUANTITIES[quantity], **dims)
    rng = np.random.default_rng(1)
    for _ in range(5):
        dists = [draw(rng) for _ in range(QUANTITIES[quantity])]
        values = derivation.bind(*dists)
        expected = LITERATURE_VALUES[quantity](*dists)
        exact = float(derivation.expr.evalf(30, subs=values))
        compiled = float(derivation.jax_function(*(values[s] for s in derivation.symbols)))
        np.testing.assert_allclose(exact, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(compiled, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            float(getattr(verify, quantity)(*dists)), expected, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("family, quantity", list(_cases(FAMILIES, slow=_SLOW_DERIVATIVES)))
def test_jax_grad_matches_sympy_derivative(family, quantity):
    """jax.grad of verify's formula = SymPy's diff of the derived form, rel. err <= 1e-10."""
    cls, dims, draw = FAMILIES[family]
    n = QUANTITIES[quantity]
    derivation = derive(quantity, *[cls] * n, **dims)
    formula = getattr(verify, quantity)
    rng = np.random.default_rng(2)
    for _ in range(3):
        dists = [draw(rng) for _ in range(n)]
        values = derivation.bind(*dists)
        # Gradients with respect to the distributions are distributions of cotangents.
        grads = jax.grad(lambda ds: formula(*ds))(dists)
        for family_symbolic, grad in zip(derivation.families, grads):
            flat = [np.asarray(g, np.float64).ravel() for g in grad.canonical()]
            exact = [np.full_like(f, np.nan) for f in flat]
            for entry, (i, k) in family_symbolic._entries():
                if entry.is_Symbol:
                    exact[i][k] = float(sp.diff(derivation.expr, entry).evalf(30, subs=values))
            if family_symbolic.assumptions:  # probabilities on a simplex: compare along it
                flat = [f - f.mean() for f in flat]
                exact = [e - e.mean() for e in exact]
            for got, want in zip(flat, exact):
                for g, e in zip(got, want):
                    if not np.isnan(e):  # entries that are not parameters (MVN upper triangle)
                        assert abs(g - e) <= 1e-10 * max(abs(e), 1e-3), (family_symbolic.name, e)


ALL_DERIVATIONS = [
    ("kl", (verify.Normal,) * 2, {}),
    ("entropy", (verify.Normal,), {}),
    ("cross_entropy", (verify.Normal,) * 2, {}),
    ("kl", (verify.Bernoulli,) * 2, {}),
    ("entropy", (verify.Bernoulli,), {}),
    ("kl", (verify.Categorical,) * 2, {"num_classes": 3}),
    ("kl", (verify.MultivariateNormal,) * 2, {"dim": 2}),
    ("cross_entropy", (verify.MultivariateNormal,) * 2, {"dim": 2}),
]


@pytest.mark.parametrize("quantity, families, dims", ALL_DERIVATIONS)
def test_compiled_functions_never_reach_python_math(quantity, families, dims):
    function = derive(quantity, *families, **dims).jax_function
    source = function.__source__
    assert "math." not in source
    # every callable the source can reach is a JAX function
    for value in JAX_FUNCTIONS.values():
        module = getattr(value, "__module__", "") or ""
        assert isinstance(value, float) or module.startswith(("jax", "verify._special")), value
    # and it runs under jit (a call into `math` fails on tracers)
    args = [jnp.float64(0.3)] * len(derive(quantity, *families, **dims).symbols)
    assert jnp.isfinite(jax.jit(function)(*args))


def test_special_functions_compile_to_jax_scipy():
    """erf, loggamma, digamma: the functions SymPy's own JAX printer sends to `math` or fails on."""
    x = sp.Symbol("x", positive=True)
    expr = sp.erf(x) + sp.loggamma(x) + sp.digamma(x)
    function = to_jax(expr, [x])
    assert "math." not in function.__source__
    value = jax.jit(function)(jnp.float64(1.5))
    np.testing.assert_allclose(float(value), float(expr.subs(x, 1.5).evalf()), rtol=1e-14)
    grad = jax.grad(function)(1.5)
    np.testing.assert_allclose(
        float(grad), float(sp.diff(expr, x).subs(x, 1.5).evalf()), rtol=1e-12
    )


def test_stable_helpers_compile_to_their_jax_versions():
    """Evaluation forms use accurate helpers; compiled, they must match the SymPy values."""
    from verify.symbolic.functions import kl_div_delta, kl_div_unit, log1pmx

    y, delta, a, b, x = sp.symbols("y delta a b x", positive=True)
    expr = kl_div_delta(y, delta) + kl_div_unit(a, b) + log1pmx(x)
    function = to_jax(expr, [y, delta, a, b, x])
    # b = 1 - a exactly (kl_div_unit takes both); every value is a float64
    point = {y: 0.3, delta: 1e-9, a: 1 - 2.0**-20, b: 2.0**-20, x: 1e-6}
    exact = {k: sp.Rational(v) for k, v in point.items()}  # the float64 inputs, exactly
    expected = float(expr.subs(exact).evalf(50))
    np.testing.assert_allclose(float(jax.jit(function)(*point.values())), expected, rtol=1e-13)


def test_unsupported_function_is_a_clear_error():
    x = sp.Symbol("x")
    with pytest.raises(NotImplementedError, match="besselj"):
        to_jax(sp.besselj(0, x), [x])


def test_two_routes_agree_mvn_in_one_dimension_is_the_normal():
    """Integration over the real line and the standardised multivariate route give the same form."""
    univariate = derive("kl", verify.Normal, verify.Normal)
    multivariate = derive("kl", verify.MultivariateNormal, verify.MultivariateNormal, dim=1)
    rename = dict(zip(multivariate.symbols, univariate.symbols))
    assert is_identically_zero(multivariate.expr.subs(rename) - univariate.expr)


def test_bernoulli_is_categorical_with_two_classes():
    bernoulli = derive("kl", verify.Bernoulli, verify.Bernoulli)
    categorical = derive("kl", verify.Categorical, verify.Categorical, num_classes=2)
    p, q = bernoulli.symbols
    (cp,), (cq,) = (f.params for f in categorical.families)
    # class 1 of the categorical is the Bernoulli's "1"
    swap = {cp[1]: p, cp[0]: 1 - p, cq[1]: q, cq[0]: 1 - q}
    assert is_identically_zero(categorical.expr.subs(swap) - bernoulli.expr)


def test_derived_kl_of_a_distribution_with_itself_is_zero():
    for quantity, families, dims in ALL_DERIVATIONS:
        if quantity != "kl":
            continue
        derivation = derive(quantity, *families, **dims)
        p, q = derivation.families
        same = dict(zip(q.symbols(), p.symbols()))
        assert is_identically_zero(derivation.expr.subs(same))


def test_derivation_reports_latex_and_route():
    derivation = derive("kl", verify.Normal, verify.Normal)
    assert r"\mu_p" in derivation.latex and r"\sigma_q" in derivation.latex
    assert "integral" in derivation.route
    assert "sum" in derive("entropy", verify.Bernoulli).route


def test_derive_errors():
    with pytest.raises(ValueError, match="quantity"):
        derive("kullback", verify.Normal, verify.Normal)
    with pytest.raises(TypeError, match="takes 2 families"):
        derive("kl", verify.Normal)
    with pytest.raises(NotImplementedError, match="Normal and Bernoulli"):
        derive("kl", verify.Normal, verify.Bernoulli)
    with pytest.raises(TypeError, match="Normal takes no size `dim`; sizes: none"):
        derive("entropy", verify.Normal, dim=3)


def test_standardisation_is_checked_not_assumed(monkeypatch):
    """A density that x = loc + L z does not standardise makes the derivation stop."""
    from verify.families import MultivariateNormal
    from verify.symbolic.derive import expected_log

    family = MultivariateNormal.symbolic("p", dim=2)
    wrong = type(family)(
        name=family.name,
        params=family.params,
        variable=family.variable,
        density_code=lambda xp, x, loc, tril: MultivariateNormal.log_density(xp, x, loc, 2 * tril),
        support=family.support,
    )
    with pytest.raises(ArithmeticError, match="standardise"):
        expected_log(wrong, wrong.log_density)


@pytest.mark.parametrize(
    "args, dims, error, message",
    [
        (
            ("kl", "Normal", "Normal"),
            {},
            TypeError,
            "family classes such as verify.Normal, got 'Normal'",
        ),
        (
            ("entropy", verify.Categorical),
            {"num_classes": 2.5},
            ValueError,
            "`num_classes` must be an integer >= 2, got 2.5",
        ),
        (
            ("entropy", verify.Categorical),
            {"num_classes": 0},
            ValueError,
            "`num_classes` must be an integer >= 2, got 0",
        ),
        (("entropy", verify.Categorical), {"num_classes": -1}, ValueError, "got -1"),
        (("entropy", verify.Categorical), {"num_classes": True}, ValueError, "got True"),
        (
            ("entropy", verify.MultivariateNormal),
            {"dim": 0},
            ValueError,
            "`dim` must be an integer >= 1, got 0",
        ),
    ],
)
def test_derive_rejects_bad_families_and_sizes(args, dims, error, message):
    with pytest.raises(error, match=re.escape(message)):
        verify.derive(*args, **dims)

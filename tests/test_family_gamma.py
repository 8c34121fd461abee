"""What is specific to the Gamma family (and its pairs with the exponential)."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats
from helpers import worst_relative_error

import verify
from verify._ops import jax_ops
from verify.families.exponential import Exponential
from verify.families.gamma import Gamma
from verify.formulas import gamma as forms


# Typed from the literature (W. Penny, "KL-divergences of Normal, Gamma, Dirichlet and
# Wishart densities", 2001, with b the rate), in mpmath.
def textbook_kl(ap, bp, aq, bq):
    return (
        (ap - aq) * mpmath.digamma(ap)
        - mpmath.loggamma(ap)
        + mpmath.loggamma(aq)
        + aq * (mpmath.log(bp) - mpmath.log(bq))
        + ap * (bq - bp) / bp
    )


def textbook_entropy(a, b):
    return a - mpmath.log(b) + mpmath.loggamma(a) + (1 - a) * mpmath.digamma(a)


def textbook_cross_entropy(ap, bp, aq, bq):
    # -E_p[log q] = -aq log bq + lgamma(aq) - (aq - 1)(digamma(ap) - log bp) + bq ap / bp
    return (
        -aq * mpmath.log(bq)
        + mpmath.loggamma(aq)
        - (aq - 1) * (mpmath.digamma(ap) - mpmath.log(bp))
        + bq * ap / bp
    )


def scipy_gamma(a, b):
    return scipy.stats.gamma(a, scale=1 / b)


@pytest.mark.parametrize(
    "p, q", [((2.0, 3.0), (1.5, 2.0)), ((0.5, 1.0), (4.0, 0.25)), ((7.0, 7.0), (7.0, 7.0))]
)
def test_literature_values(p, q):
    dist_p, dist_q = scipy_gamma(*p), scipy_gamma(*q)
    assert float(forms.entropy(jax_ops, *p)) == pytest.approx(dist_p.entropy(), rel=1e-13)
    quad_kl = dist_p.expect(lambda x: dist_p.logpdf(x) - dist_q.logpdf(x))
    assert float(forms.kl(jax_ops, *p, *q)) == pytest.approx(quad_kl, rel=1e-7, abs=1e-12)
    quad_cross = dist_p.expect(lambda x: -dist_q.logpdf(x))
    assert float(forms.cross_entropy(jax_ops, *p, *q)) == pytest.approx(quad_cross, rel=1e-7)
    with mpmath.workdps(50):
        exact = textbook_kl(*(mpmath.mpf(v) for v in p + q))
    assert float(forms.kl(jax_ops, *p, *q)) == pytest.approx(float(exact), rel=1e-14, abs=1e-300)


QUANTITIES = [
    ("kl", textbook_kl, 4),
    ("entropy", textbook_entropy, 2),
    ("cross_entropy", textbook_cross_entropy, 4),
]


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("quantity, exact, arity", QUANTITIES)
def test_accuracy_on_adversarial_pairs(quantity, exact, arity, dtype, bound):
    # Shapes 1e-10 ... 1e15, rates 1e-30 ... 1e30, shapes / rates / both (equal means)
    # perturbed by 0 and 1e-12 ... 4: against mpmath at 100 digits.
    p, q = Gamma.adversarial_pairs(np.random.default_rng(0))
    columns = (p + q)[:arity]
    if quantity == "cross_entropy" and dtype == np.float32:
        # JAX's float32 lgamma is off by up to ~5e-7 in absolute terms near its zeros
        # (lgamma(1) = 4.8e-7): where the cross-entropy itself is that small, its
        # error is absolute. The same pairs in float64 are all checked above.
        keep = np.abs([float(textbook_cross_entropy(*v)) for v in zip(*columns)]) > 1e-3
        columns = [np.asarray(c)[keep] for c in columns]
    worst, where = worst_relative_error(getattr(forms, quantity), exact, columns, dtype)
    assert worst <= bound, (worst, where)


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_accuracy_of_the_exponential_pairs(dtype, bound):
    (a, b), (c, d) = Gamma.adversarial_pairs(np.random.default_rng(0))
    one = mpmath.mpf(1)
    cases = [
        (forms.kl_exponential_gamma, lambda bp, aq, bq: textbook_kl(one, bp, aq, bq), (b, c, d)),
        (forms.kl_gamma_exponential, lambda ap, bp, bq: textbook_kl(ap, bp, one, bq), (a, b, d)),
        (
            forms.cross_entropy_exponential_gamma,
            lambda bp, aq, bq: textbook_cross_entropy(one, bp, aq, bq),
            (b, c, d),
        ),
        (
            forms.cross_entropy_gamma_exponential,
            lambda ap, bp, bq: textbook_cross_entropy(ap, bp, one, bq),
            (a, b, d),
        ),
    ]
    for form, exact, columns in cases:
        worst, where = worst_relative_error(form, exact, columns, dtype)
        assert worst <= bound, (form.__name__, worst, where)


def test_exponential_pairs_are_the_gamma_forms_at_shape_one():
    assert float(forms.kl_exponential_gamma(jax_ops, 2.0, 3.0, 0.5)) == float(
        forms.kl(jax_ops, 1.0, 2.0, 3.0, 0.5)
    )
    p, q = scipy.stats.expon(scale=1 / 2.0), scipy_gamma(3.0, 0.5)
    quad = p.expect(lambda x: p.logpdf(x) - q.logpdf(x))
    assert float(forms.kl_exponential_gamma(jax_ops, 2.0, 3.0, 0.5)) == pytest.approx(quad, 1e-8)
    quad = q.expect(lambda x: -p.logpdf(x))
    assert float(forms.cross_entropy_gamma_exponential(jax_ops, 3.0, 0.5, 2.0)) == pytest.approx(
        quad, rel=1e-8
    )


def test_near_equal_and_large_shapes_where_the_textbook_form_fails():
    # Equal means, shapes 1e6 apart by 1e-6 (relative): KL = 2.5e-13 (the d**2 / (4 a**2) term).
    a, s = 1e6, 1e-6
    args = (a, 1.0, a * (1 + s), 1.0 + s)
    with mpmath.workdps(100):
        exact = float(textbook_kl(*(mpmath.mpf(v) for v in args)))
    assert float(forms.kl(jax_ops, *args)) == pytest.approx(exact, rel=1e-14)
    import scipy.special as sc

    ap, bp, aq, bq = args
    naive = (
        (ap - aq) * sc.digamma(ap) - sc.gammaln(ap) + sc.gammaln(aq)
        + aq * (np.log(bp) - np.log(bq)) + ap * (bq - bp) / bp
    )  # fmt: skip
    assert abs(naive - exact) / exact > 1e-3


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`concentration` must be > 0, got -1.0"):
        Gamma(-1.0, 1.0)
    with pytest.raises(ValueError, match=r"`rate` must be > 0, got 0.0 at index \(1,\)"):
        Gamma(1.0, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"`rate` must be finite, got inf"):
        Gamma(1.0, float("inf"))
    with pytest.raises(ValueError, match=r"batch shapes do not broadcast"):
        Gamma(np.ones(2), np.ones(3))


def test_log_prob_against_scipy_and_at_the_boundary():
    a, b = np.array([0.5, 1.0, 2.5]), np.array([2.0, 3.0, 0.7])
    x = np.array([0.3, 1.7, 4.0])
    np.testing.assert_allclose(Gamma(a, b).log_prob(x), scipy_gamma(a, b).logpdf(x), rtol=1e-13)
    at_zero = Gamma(a, b).log_prob(0.0)  # +inf (a < 1), log(rate) (a = 1), -inf (a > 1)
    np.testing.assert_array_equal(at_zero, [np.inf, np.log(3.0), -np.inf])
    assert bool(jnp.all(Gamma(a, b).log_prob(-1.0) == -jnp.inf))


def test_sample_moments_and_reparameterised_gradient():
    # Mean against a / b with z = 6 (false alarm about 2e-9 per entry).
    a, b = jnp.array([0.3, 2.0, 20.0]), jnp.array([1.0, 3.0, 0.5])
    n = 2**18
    x = Gamma(a, b).sample(jax.random.key(0), (n,))
    assert x.shape == (n, 3) and x.dtype == jnp.float64 and bool(jnp.all(x >= 0))
    z = (jnp.mean(x, axis=0) - a / b) / (jnp.sqrt(a) / b / np.sqrt(n))
    assert bool(jnp.all(jnp.abs(z) < 6)), z
    # d/da E[X] = 1 / b through the sampler (implicit reparameterisation); with the same
    # key the estimate's error is that of the sample mean of dX/da: loose bound 5 %.
    grad = jax.grad(lambda a: jnp.mean(Gamma(a, 3.0).sample(jax.random.key(1), (n,))))(2.0)
    assert float(grad) == pytest.approx(1 / 3.0, rel=0.05)


def test_dtype_kept_and_transformations():
    p32 = Gamma(np.float32(2.0), np.float32(3.0))
    q32 = Gamma(np.float32(1.5), np.float32(2.0))
    e32 = Exponential(np.float32(2.0))
    for value in (
        verify.kl(p32, q32),
        verify.entropy(p32),
        verify.cross_entropy(p32, q32),
        verify.kl(e32, q32),
        verify.kl(p32, e32),
        verify.cross_entropy(e32, q32),
        verify.cross_entropy(p32, e32),
    ):
        assert value.dtype == jnp.float32
    shapes = jnp.array([0.5, 2.0, 30.0])
    batched = jax.vmap(lambda a: verify.kl(Gamma(a, 1.0), Gamma(2.0, 1.5)))(shapes)
    with mpmath.workdps(30):
        expected = [float(textbook_kl(mpmath.mpf(a), 1, 2, 1.5)) for a in (0.5, 2.0, 30.0)]
    np.testing.assert_allclose(batched, expected, rtol=1e-13)
    # d KL / d a_p = (a_p - a_q) trigamma(a_p) + (b_q - b_p) / b_p, from the textbook form.
    grad = jax.jit(jax.grad(lambda a: verify.kl(Gamma(a, 1.0), Gamma(2.0, 1.5))))(0.5)
    with mpmath.workdps(30):
        exact = float((0.5 - 2) * mpmath.psi(1, 0.5) + 0.5)
    assert float(grad) == pytest.approx(exact, rel=1e-12)


def test_cross_entropy_where_lgamma_of_q_is_zero_float32():
    """H(Gamma(1e-10, 1), Gamma(1, 1)) = E_P[X] = 1e-10: lgamma(1) must be 0, not XLA's
    float32 4.8e-7 (which made this 4.8e-7, 4768 times the value)."""
    p = verify.Gamma(np.float32(1e-10), np.float32(1.0))
    q = verify.Gamma(np.float32(1.0), np.float32(1.0))
    np.testing.assert_allclose(float(verify.cross_entropy(p, q)), 1e-10, rtol=1e-6)

"""What is specific to the exponential family: literature values, accuracy, checks, sampling."""

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
from verify.formulas import exponential as forms


# Typed from the textbook (e.g. Wikipedia, "Exponential distribution"), in mpmath.
def textbook_kl(a, b):
    return mpmath.log(a) - mpmath.log(b) + b / a - 1


def textbook_entropy(a):
    return 1 - mpmath.log(a)


def textbook_cross_entropy(a, b):
    return b / a - mpmath.log(b)


@pytest.mark.parametrize("rate_p, rate_q", [(1.0, 1.0), (2.0, 0.5), (0.3, 7.0), (1e-3, 1e2)])
def test_literature_values(rate_p, rate_q):
    kl = float(forms.kl(jax_ops, rate_p, rate_q))
    entropy = float(forms.entropy(jax_ops, rate_p))
    cross_entropy = float(forms.cross_entropy(jax_ops, rate_p, rate_q))
    assert entropy == pytest.approx(scipy.stats.expon(scale=1 / rate_p).entropy(), rel=1e-14)
    with mpmath.workdps(50):
        assert kl == pytest.approx(float(textbook_kl(mpmath.mpf(rate_p), rate_q)), rel=1e-14)
    # Cross-entropy by quadrature of -p(x) log q(x) (SciPy), independent of any formula.
    p, q = scipy.stats.expon(scale=1 / rate_p), scipy.stats.expon(scale=1 / rate_q)
    quad = p.expect(lambda x: -q.logpdf(x))
    assert cross_entropy == pytest.approx(quad, rel=1e-8)


@pytest.mark.parametrize(
    "quantity, exact, dtype, bound",
    [
        (q, e, dtype, bound)
        for q, e in [("kl", textbook_kl), ("cross_entropy", textbook_cross_entropy)]
        for dtype, bound in [(np.float64, 1e-13), (np.float32, 1e-5)]
    ],
)
def test_accuracy_on_adversarial_pairs(quantity, exact, dtype, bound):
    (p,), (q,) = Exponential.adversarial_pairs(np.random.default_rng(0))
    form = getattr(forms, quantity)
    # Near-equal rates around e, where the cross-entropy is near 0, included.
    p = np.concatenate([p, np.full(4, np.e)])
    q = np.concatenate([q, np.e * (1 + np.array([1e-12, -1e-9, 1e-6, 0.0]))])
    worst, where = worst_relative_error(form, exact, [p, q], dtype)
    assert worst <= bound, (worst, where)


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_entropy_accuracy_across_its_zero(dtype, bound):
    (rates,), _ = Exponential.adversarial_pairs(np.random.default_rng(0))
    rates = np.concatenate([rates, np.e * (1 + np.array([1e-12, -1e-9, 1e-6, 0.0]))])
    worst, where = worst_relative_error(forms.entropy, textbook_entropy, [rates], dtype)
    assert worst <= bound, (worst, where)


def test_near_equal_rates_where_the_textbook_form_fails():
    # h = 2**-30: KL = h**2/2 - ... = 4.3e-19; the textbook form returns 0 or noise.
    h = 2.0**-30
    with mpmath.workdps(50):
        exact = float(textbook_kl(mpmath.mpf(1), mpmath.mpf(1) + h))
    assert float(forms.kl(jax_ops, 1.0, 1.0 + h)) == pytest.approx(exact, rel=1e-15)
    naive = np.log(1.0) - np.log(1.0 + h) + (1.0 + h) - 1
    assert abs(naive - exact) / exact > 1e-3


def test_bad_rates_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`rate` must be > 0, got -1.0"):
        Exponential(-1.0)
    with pytest.raises(ValueError, match=r"`rate` must be > 0, got 0.0 at index \(1,\)"):
        Exponential([1.0, 0.0])
    with pytest.raises(ValueError, match=r"`rate` must be finite, got nan"):
        Exponential(float("nan"))
    with pytest.raises(TypeError, match=r"`rate` must be an array of numbers, got None"):
        Exponential(None)


def test_log_prob_against_scipy():
    rate = np.array([0.5, 2.0, 30.0])
    x = np.array([0.0, 0.7, 1e-3])
    expected = scipy.stats.expon(scale=1 / rate).logpdf(x)
    np.testing.assert_allclose(Exponential(rate).log_prob(x), expected, rtol=1e-14)
    assert bool(jnp.all(Exponential(rate).log_prob(-x - 1) == -jnp.inf))
    grad = jax.grad(lambda r: Exponential(r).log_prob(-1.0))(2.0)  # no nan from the mask
    assert float(grad) == 0.0


def test_sample_moments():
    # Mean and mean of squares against 1/rate and 2/rate**2; z = 6 (false alarm ~2e-9 each).
    rate = jnp.array([0.5, 3.0])
    n = 2**18
    x = Exponential(rate).sample(jax.random.key(0), (n,))
    assert x.shape == (n, 2) and x.dtype == jnp.float64 and bool(jnp.all(x >= 0))
    for power, exact, sd in [(1, 1 / rate, 1 / rate), (2, 2 / rate**2, np.sqrt(20) / rate**2)]:
        z = (jnp.mean(x**power, axis=0) - exact) / (sd / np.sqrt(n))
        assert bool(jnp.all(jnp.abs(z) < 6)), z


def test_dtype_kept_and_transformations():
    p32 = Exponential(np.float32(2.0))
    q32 = Exponential(np.float32(0.5))
    assert verify.kl(p32, q32).dtype == jnp.float32
    assert verify.entropy(p32).dtype == jnp.float32
    assert verify.cross_entropy(p32, q32).dtype == jnp.float32
    rates = jnp.array([0.5, 1.0, 4.0])
    batched = jax.vmap(lambda a: verify.kl(Exponential(a), Exponential(2.0)))(rates)
    np.testing.assert_allclose(batched, [float(textbook_kl(a, 2)) for a in [0.5, 1.0, 4.0]])
    grad = jax.jit(jax.grad(lambda a: verify.kl(Exponential(a), Exponential(2.0))))(0.5)
    assert float(grad) == pytest.approx(1 / 0.5 - 2 / 0.5**2, rel=1e-14)  # 1/a - b/a**2

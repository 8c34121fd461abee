"""What is specific to the half-normal family: literature values, accuracy, checks, sampling."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats
from helpers import worst_relative_error

import verify
from verify._ops import jax_ops
from verify.families.half_normal import HalfNormal
from verify.formulas import half_normal as forms


# Typed from the textbook (e.g. Wikipedia, "Half-normal distribution"), in mpmath.
def textbook_kl(a, b):
    return mpmath.log(b / a) + a**2 / (2 * b**2) - mpmath.mpf(1) / 2


def textbook_entropy(a):
    return mpmath.log(mpmath.pi * mpmath.e * a**2 / 2) / 2


def textbook_cross_entropy(a, b):
    return mpmath.log(mpmath.pi * b**2 / 2) / 2 + a**2 / (2 * b**2)


@pytest.mark.parametrize("scale_p, scale_q", [(1.0, 1.0), (2.0, 0.5), (0.3, 7.0)])
def test_literature_values(scale_p, scale_q):
    p, q = scipy.stats.halfnorm(scale=scale_p), scipy.stats.halfnorm(scale=scale_q)
    assert float(forms.entropy(jax_ops, scale_p)) == pytest.approx(p.entropy(), rel=1e-14)
    quad = p.expect(lambda x: p.logpdf(x) - q.logpdf(x))
    assert float(forms.kl(jax_ops, scale_p, scale_q)) == pytest.approx(quad, rel=1e-8, abs=1e-12)
    quad = p.expect(lambda x: -q.logpdf(x))
    assert float(forms.cross_entropy(jax_ops, scale_p, scale_q)) == pytest.approx(quad, rel=1e-8)


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize(
    "quantity, exact, arity",
    [
        ("kl", textbook_kl, 2),
        ("entropy", textbook_entropy, 1),
        ("cross_entropy", textbook_cross_entropy, 2),
    ],
)
def test_accuracy_on_adversarial_pairs(quantity, exact, arity, dtype, bound):
    # Scales 1e-300 ... 1e300 (the entropy's zero at 0.48 among them), relative steps 1e-12 up.
    p, q = HalfNormal.adversarial_pairs(np.random.default_rng(0))
    worst, where = worst_relative_error(getattr(forms, quantity), exact, (p + q)[:arity], dtype)
    assert worst <= bound, (worst, where)


def test_bad_scales_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`scale` must be > 0, got -1.0"):
        HalfNormal(-1.0)
    with pytest.raises(ValueError, match=r"`scale` must be finite, got inf"):
        HalfNormal(float("inf"))


def test_log_prob_against_scipy():
    scale, x = np.array([0.5, 2.0, 30.0]), np.array([0.0, 0.7, 1e-3])
    expected = scipy.stats.halfnorm(scale=scale).logpdf(x)
    np.testing.assert_allclose(HalfNormal(scale).log_prob(x), expected, rtol=1e-14)
    assert bool(jnp.all(HalfNormal(scale).log_prob(-x - 1) == -jnp.inf))


def test_sample_moments():
    # E[X] = scale sqrt(2 / pi), sd = scale sqrt(1 - 2 / pi); z = 6 (false alarm ~2e-9 each).
    scale, n = jnp.array([0.5, 3.0]), 2**18
    x = HalfNormal(scale).sample(jax.random.key(0), (n,))
    assert x.shape == (n, 2) and bool(jnp.all(x >= 0))
    z = (jnp.mean(x, axis=0) - scale * np.sqrt(2 / np.pi)) / (
        scale * np.sqrt(1 - 2 / np.pi) / np.sqrt(n)
    )
    assert bool(jnp.all(jnp.abs(z) < 6)), z


def test_dtype_kept_and_gradient():
    p32, q32 = HalfNormal(np.float32(2.0)), HalfNormal(np.float32(0.5))
    for value in (verify.kl(p32, q32), verify.entropy(p32), verify.cross_entropy(p32, q32)):
        assert value.dtype == jnp.float32
    # d KL / d scale_p = scale_p / scale_q**2 - 1 / scale_p
    grad = jax.jit(jax.grad(lambda s: verify.kl(HalfNormal(s), HalfNormal(2.0))))(0.5)
    assert float(grad) == pytest.approx(0.5 / 4 - 2, rel=1e-14)

"""What is specific to the log-normal family: literature values, accuracy, checks, sampling."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats
from helpers import worst_relative_error

import verify
from verify._ops import jax_ops
from verify.families.log_normal import LogNormal
from verify.formulas import log_normal as forms


# Typed from the textbook (e.g. Wikipedia, "Log-normal distribution"), in mpmath.
def textbook_kl(m1, s1, m2, s2):
    return mpmath.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - mpmath.mpf(1) / 2


def textbook_entropy(m, s):
    return m + mpmath.mpf(1) / 2 + mpmath.log(2 * mpmath.pi * s**2) / 2


def textbook_cross_entropy(m1, s1, m2, s2):
    return m1 + mpmath.log(2 * mpmath.pi * s2**2) / 2 + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2)


def scipy_lognorm(loc, scale):
    return scipy.stats.lognorm(s=scale, scale=np.exp(loc))


@pytest.mark.parametrize("p, q", [((0.0, 1.0), (0.5, 2.0)), ((-1.0, 0.3), (1.0, 0.7))])
def test_literature_values(p, q):
    dist_p, dist_q = scipy_lognorm(*p), scipy_lognorm(*q)
    assert float(forms.entropy(jax_ops, *p)) == pytest.approx(dist_p.entropy(), rel=1e-14)
    quad = dist_p.expect(lambda x: dist_p.logpdf(x) - dist_q.logpdf(x))
    assert float(forms.kl(jax_ops, *p, *q)) == pytest.approx(quad, rel=1e-7)
    quad = dist_p.expect(lambda x: -dist_q.logpdf(x))
    assert float(forms.cross_entropy(jax_ops, *p, *q)) == pytest.approx(quad, rel=1e-7)


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize(
    "quantity, exact, arity",
    [
        ("kl", textbook_kl, 4),
        ("entropy", textbook_entropy, 2),
        ("cross_entropy", textbook_cross_entropy, 4),
    ],
)
def test_accuracy_on_adversarial_pairs(quantity, exact, arity, dtype, bound):
    # Locations and scales 1e-12 ... 1e-3 apart, scales 1e-300 ... 1e300, far locations.
    p, q = LogNormal.adversarial_pairs(np.random.default_rng(0))
    worst, where = worst_relative_error(getattr(forms, quantity), exact, (p + q)[:arity], dtype)
    assert worst <= bound, (worst, where)


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`scale` must be > 0, got 0.0"):
        LogNormal(0.0, 0.0)
    with pytest.raises(ValueError, match=r"`loc` must be finite, got nan"):
        LogNormal(float("nan"), 1.0)


def test_log_prob_against_scipy():
    loc, scale = np.array([0.0, -1.0, 2.0]), np.array([1.0, 0.3, 2.0])
    x = np.array([1.0, 0.2, 40.0])
    expected = scipy_lognorm(loc, scale).logpdf(x)
    np.testing.assert_allclose(LogNormal(loc, scale).log_prob(x), expected, rtol=1e-13)
    assert bool(jnp.all(LogNormal(loc, scale).log_prob(np.array([0.0, -1.0, -5.0])) == -jnp.inf))


def test_sample_moments():
    # E[log X] = loc; z = 6 (false alarm ~2e-9 each).
    loc, scale, n = jnp.array([0.0, 1.5]), jnp.array([0.5, 2.0]), 2**18
    x = LogNormal(loc, scale).sample(jax.random.key(0), (n,))
    assert x.shape == (n, 2) and bool(jnp.all(x > 0))
    z = (jnp.mean(jnp.log(x), axis=0) - loc) / (scale / np.sqrt(n))
    assert bool(jnp.all(jnp.abs(z) < 6)), z


def test_dtype_kept_and_gradient():
    p32, q32 = (
        LogNormal(np.float32(0.0), np.float32(2.0)),
        LogNormal(np.float32(1.0), np.float32(0.5)),
    )
    for value in (verify.kl(p32, q32), verify.entropy(p32), verify.cross_entropy(p32, q32)):
        assert value.dtype == jnp.float32
    # d H(P, Q) / d loc_p = 1 + (loc_p - loc_q) / scale_q**2
    grad = jax.jit(
        jax.grad(lambda m: verify.cross_entropy(LogNormal(m, 1.0), LogNormal(2.0, 0.5)))
    )(0.5)
    assert float(grad) == pytest.approx(1 + (0.5 - 2.0) / 0.25, rel=1e-14)

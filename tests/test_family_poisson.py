"""Poisson(rate): what is specific to it (the registry tests do the rest).

Literature values from SciPy (``scipy.stats.poisson``), accuracy from mpmath at
50 digits, sampling from moments with a stated false-alarm rate.
"""

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats
import sympy as sp

from verify._ops import jax_ops
from verify.families.poisson import Poisson
from verify.formulas import poisson as forms
from verify.symbolic import is_identically_zero, sympy_ops

mpmath.mp.dps = 50


def _rel_err(value, exact, dtype):
    value = float(value)
    tiny, huge = np.finfo(dtype).tiny, np.finfo(dtype).max
    if abs(exact) > huge:
        return 0.0 if value == np.inf else np.inf
    if abs(exact) < tiny:  # below the normal range: XLA flushes it to 0
        return 0.0 if abs(value) < tiny else np.inf
    return float(abs((mpmath.mpf(value) - exact) / exact))


@pytest.mark.parametrize("rate", [1e-3, 0.5, 7.0, 250.0])
def test_log_prob_is_scipys(rate):
    k = np.arange(0.0, 400.0)
    want = scipy.stats.poisson(rate).logpmf(k)
    np.testing.assert_allclose(Poisson(rate).log_prob(k), want, rtol=1e-12)


def test_log_prob_is_minus_inf_outside_the_support_also_under_jit():
    outside = jnp.array([-1.0, 0.5, 2.25, np.inf, -np.inf])
    dist = Poisson(3.0)
    assert np.all(dist.log_prob(outside) == -np.inf)
    assert np.all(jax.jit(lambda d: d.log_prob(outside))(dist) == -np.inf)


@pytest.mark.parametrize("rate_p, rate_q", [(3.0, 5.0), (0.1, 2.0), (40.0, 35.0), (2.0, 2.0)])
def test_kl_is_the_sum_over_scipys_probabilities(rate_p, rate_q):
    k = np.arange(0, 2000)
    log_p = scipy.stats.poisson(rate_p).logpmf(k)
    log_q = scipy.stats.poisson(rate_q).logpmf(k)
    want = np.sum(np.exp(log_p) * (log_p - log_q))
    assert float(forms.kl(jax_ops, rate_p, rate_q)) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("rate_p, rate_q", [(3.0, 5.0), (0.1, 2.0), (40.0, 35.0), (600.0, 900.0)])
def test_entropy_and_cross_entropy_are_sums_over_scipys_probabilities(rate_p, rate_q):
    k = np.arange(0, 4000)
    mass = scipy.stats.poisson(rate_p).pmf(k)
    log_q = scipy.stats.poisson(rate_q).logpmf(k)
    assert float(forms.entropy(jax_ops, rate_p)) == pytest.approx(
        scipy.stats.poisson(rate_p).entropy(), rel=1e-12
    )
    want = -np.sum(mass * log_q)
    assert float(forms.cross_entropy(jax_ops, rate_p, rate_q)) == pytest.approx(want, rel=1e-12)


@functools.cache
def _exact_entropy(rate):
    """-sum_k p_k log p_k at 60 digits (series in the rate below 1e-20, asymptotic above 1e5)."""
    with mpmath.workdps(60):
        lam = mpmath.mpf(rate)
        if lam < 1e-20:
            return lam - lam * mpmath.log(lam) + lam**2 * mpmath.log(2) / 2
        if lam > 1e5:  # the next term is about 0.11 / l^4
            return mpmath.log(2 * mpmath.pi * mpmath.e * lam) / 2 - (
                1 / (12 * lam) + 1 / (24 * lam**2) + mpmath.mpf(19) / (360 * lam**3)
            )
        mode, width = int(lam), int(40 * mpmath.sqrt(lam + 1)) + 60
        terms = (
            k * mpmath.log(lam) - lam - mpmath.loggamma(k + 1)
            for k in range(max(0, mode - width), mode + width)
        )
        return -mpmath.fsum(mpmath.exp(t) * t for t in terms)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_entropy_and_cross_entropy_accuracy_on_adversarial_pairs(dtype, tolerance):
    (rates_p,), (rates_q,) = Poisson.adversarial_pairs(np.random.default_rng(0))
    info, worst = np.finfo(dtype), 0.0
    entropies = {}
    for p, q in zip(rates_p, rates_q):
        if not all(info.tiny <= x <= info.max for x in (p, q)):
            continue
        p, q = dtype(p), dtype(q)
        if float(p) not in entropies:
            entropies[float(p)] = _exact_entropy(float(p))
            value = forms.entropy(jax_ops, p)
            assert value.dtype == dtype
            worst = max(worst, _rel_err(value, entropies[float(p)], dtype))
        with mpmath.workdps(60):
            lam, mu = mpmath.mpf(float(p)), mpmath.mpf(float(q))
            kl = lam * mpmath.log(lam / mu) - lam + mu
        # a KL below the normal range still counts where H(P) is normal (rates near the
        # smallest normal number: H about 708 l, the KL of l and 2 l about 0.3 l)
        exact = entropies[float(p)] + kl
        worst = max(worst, _rel_err(forms.cross_entropy(jax_ops, p, q), exact, dtype))
    assert worst <= tolerance


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_kl_accuracy_on_adversarial_pairs_against_mpmath(dtype, tolerance):
    (rates_p,), (rates_q,) = Poisson.adversarial_pairs(np.random.default_rng(0))
    info, worst = np.finfo(dtype), 0.0
    for p, q in zip(rates_p, rates_q):
        if not all(info.tiny <= x <= info.max for x in (p, q)):
            continue  # not a valid rate in this dtype
        p, q = dtype(p), dtype(q)
        value = forms.kl(jax_ops, p, q)
        assert value.dtype == dtype
        lam, mu = mpmath.mpf(float(p)), mpmath.mpf(float(q))
        worst = max(worst, _rel_err(value, lam * mpmath.log(lam / mu) - lam + mu, dtype))
    assert worst <= tolerance


def test_the_kl_is_homogeneous_so_the_cross_entropy_may_scale_it():
    """The cross-entropy takes ``KL(s l || s m) / s`` at tiny rates: proved in SymPy."""
    rate_p, rate_q, scale = sp.symbols("l m s", positive=True)
    scaled = forms.kl(sympy_ops, scale * rate_p, scale * rate_q)
    assert is_identically_zero(scaled - scale * forms.kl(sympy_ops, rate_p, rate_q))


def test_gradients_are_the_derivatives_of_the_closed_form():
    # dKL/dl = log(l / m), dKL/dm = 1 - l / m; also where m / l overflows
    for lam, mu in [(2.0, 3.0), (3.0, 2.0), (1e-300, 1e300), (1e300, 1e-300), (5.0, 5.0)]:
        got = jax.grad(forms.kl, argnums=(1, 2))(jax_ops, lam, mu)
        lam_, mu_ = mpmath.mpf(lam), mpmath.mpf(mu)
        want = (float(mpmath.log(lam_ / mu_)), float(1 - lam_ / mu_))  # -inf: -1e600
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(
    "rate, message",
    [
        (0.0, r"`rate` must be > 0, got 0.0"),
        (-1.0, r"`rate` must be > 0, got -1.0"),
        (np.inf, r"`rate` must be finite, got inf"),
        ([1.0, 1e-310], r"`rate` must be 0 or at least the smallest normal float64.*index \(1,\)"),
        (None, r"`rate` must be an array of numbers, got None"),
    ],
)
def test_bad_rates_are_named(rate, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Poisson(rate)


def test_sampling_moments():
    """Mean and variance within 6 standard errors (2**18 samples; a false alarm has
    probability < 4e-9 per check under the normal approximation, 8 checks here)."""
    rates = np.array([0.05, 1.5, 20.0, 1e4])
    n = 2**18
    draws = np.asarray(Poisson(rates).sample(jax.random.key(3), (n,)))
    assert draws.shape == (n, 4) and draws.dtype == np.float64
    assert np.all((draws >= 0) & (draws == np.floor(draws)))
    assert np.all(np.abs(draws.mean(axis=0) - rates) <= 6 * np.sqrt(rates / n))
    # Var of the sample variance: (mu4 - sigma^4 (n - 3) / (n - 1)) / n, mu4 = l (1 + 3 l)
    var_error = np.sqrt((rates * (1 + 3 * rates) - rates**2 * (n - 3) / (n - 1)) / n)
    assert np.all(np.abs(draws.var(axis=0, ddof=1) - rates) <= 6 * var_error)


def test_float32_is_kept():
    dist = Poisson(np.float32(2.5))
    assert dist.sample(jax.random.key(0), (3,)).dtype == jnp.float32
    assert dist.log_prob(2.0).dtype == jnp.float32
    for form in (forms.kl, forms.cross_entropy):
        assert form(jax_ops, np.float32(2.5), np.float32(3.0)).dtype == jnp.float32
    assert forms.entropy(jax_ops, np.float32(2.5)).dtype == jnp.float32


def test_a_nan_rate_gives_a_nan_entropy_under_jit():
    """Traced parameters are not validated: NaN must come out as NaN (the window of the
    support counted a NaN rate as empty, and the entropy was 0)."""
    from verify._special import poisson_entropy

    values = jax.jit(poisson_entropy)(jnp.array([np.nan, 0.5, 5.0, 1e7]))
    assert np.isnan(values[0]) and np.all(np.isfinite(values[1:]))

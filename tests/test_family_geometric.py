"""Geometric(probs | logits): what is specific to it (the registry tests do the rest).

Literature values come from SciPy (``scipy.stats.geom`` counts trials, support
{1, 2, ...}: our ``k`` failures are its ``k + 1``), accuracy from mpmath at 800
digits (probabilities of 1e-300 need them), sampling from moments with a
stated false-alarm rate.
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats

from verify._ops import jax_ops
from verify.families.geometric import Geometric
from verify.formulas import geometric as forms

RNG = np.random.default_rng(20261125)


def _exact(quantity, p, q=None):
    """KL, cross-entropy or entropy at exact probabilities (mpmath numbers), from the sums
    ``sum_k (1 - p)^k p log(...)`` done by hand: ``E[K] = (1 - p) / p``."""
    q = p if q is None else q
    if q == 1 and p < 1 and quantity != "entropy":
        return mpmath.inf
    odds = (1 - p) / p
    log_fail_p = mpmath.log(1 - p) if p < 1 else mpmath.mpf(0)
    log_fail_q = mpmath.log(1 - q) if q < 1 else mpmath.mpf(0)
    cross = -mpmath.log(q) - odds * log_fail_q
    entropy = -mpmath.log(p) - odds * log_fail_p
    return {"kl": cross - entropy, "cross_entropy": cross, "entropy": entropy}[quantity]


def _sigmoid(logit):
    return mpmath.mpf(1) if logit == np.inf else 1 / (1 + mpmath.exp(-mpmath.mpf(float(logit))))


def _rel_err(value, exact, dtype):
    value = float(value)
    tiny, huge = np.finfo(dtype).tiny, np.finfo(dtype).max
    if exact == mpmath.inf or abs(exact) > huge:
        return 0.0 if value == np.inf else np.inf
    if abs(exact) < tiny:  # below the normal range: XLA flushes it to 0
        return 0.0 if abs(value) < tiny else np.inf
    return float(abs((mpmath.mpf(value) - exact) / exact))


# --------------------------------------------------------------------- density
@pytest.mark.parametrize("p", [1e-6, 0.1, 0.5, 0.97, 1.0])
def test_log_prob_is_scipys_from_probs_and_from_logits(p):
    k = np.arange(0.0, 40.0)
    want = scipy.stats.geom(p).logpmf(k + 1)
    np.testing.assert_allclose(Geometric(probs=p).log_prob(k), want, rtol=1e-13)
    logits = np.log(p) - np.log1p(-p) if p < 1 else np.inf
    np.testing.assert_allclose(Geometric(logits=logits).log_prob(k), want, rtol=1e-12)


def test_log_prob_is_minus_inf_outside_the_support_also_under_jit():
    outside = jnp.array([-1.0, 0.5, 2.25, np.inf, -np.inf])
    for dist in (Geometric(probs=0.3), Geometric(logits=-1.0)):
        assert np.all(dist.log_prob(outside) == -np.inf)
        assert np.all(jax.jit(lambda d: d.log_prob(outside))(dist) == -np.inf)
    # a success probability of 1 is the point mass at 0
    assert float(Geometric(probs=1.0).log_prob(0.0)) == 0.0
    assert float(Geometric(logits=np.inf).log_prob(0.0)) == 0.0
    assert float(Geometric(logits=np.inf).log_prob(3.0)) == -np.inf


# -------------------------------------------------------- literature values
@pytest.mark.parametrize("p, q", [(0.3, 0.6), (0.05, 0.5), (0.9, 0.2), (0.5, 0.5)])
def test_literature_values_from_scipy(p, q):
    k = np.arange(0, 4000)
    log_p, log_q = scipy.stats.geom(p).logpmf(k + 1), scipy.stats.geom(q).logpmf(k + 1)
    mass = np.exp(log_p)
    kl_sum = np.sum(mass * (log_p - log_q))
    cross_sum = -np.sum(mass * log_q)
    assert float(forms.kl(jax_ops, p, q)) == pytest.approx(kl_sum, rel=1e-12, abs=1e-15)
    assert float(forms.cross_entropy(jax_ops, p, q)) == pytest.approx(cross_sum, rel=1e-12)
    assert float(forms.entropy(jax_ops, p)) == pytest.approx(scipy.stats.geom(p).entropy())


# ------------------------------------------------------------------ accuracy
_PARAMS_P, _PARAMS_Q = Geometric.adversarial_pairs(RNG)
_PAIRS = list(zip(_PARAMS_P[0], _PARAMS_Q[0]))
_FORMS = {
    ("kl", "probs"): forms.kl,
    ("cross_entropy", "probs"): forms.cross_entropy,
    ("entropy", "probs"): forms.entropy,
    ("kl", "logits"): forms.kl_logits,
    ("cross_entropy", "logits"): forms.cross_entropy_logits,
    ("entropy", "logits"): forms.entropy_logits,
}


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("quantity, kind", list(_FORMS))
def test_accuracy_on_adversarial_pairs_against_mpmath(dtype, tolerance, quantity, kind):
    tiny = np.finfo(dtype).tiny
    worst = 0.0
    with mpmath.workdps(800):
        for p, q in _PAIRS:
            p, q = dtype(p), dtype(q)
            if not (p >= tiny and q >= tiny):
                continue  # not a valid float32 probability
            if kind == "probs":
                args, exact_p, exact_q = (p, q), mpmath.mpf(float(p)), mpmath.mpf(float(q))
            else:
                args = tuple(Geometric.logits_from_probs(jax_ops, jnp.asarray(x)) for x in (p, q))
                exact_p, exact_q = (_sigmoid(a) for a in args)  # what the float logits stand for
            if quantity == "entropy":
                args, exact_q = args[:1], exact_p
            value = _FORMS[quantity, kind](jax_ops, *args)
            assert value.dtype == dtype
            worst = max(worst, _rel_err(value, _exact(quantity, exact_p, exact_q), dtype))
    assert worst <= tolerance


def test_compiled_kl_keeps_near_equal_tiny_probabilities():
    """Under jit XLA flushes subnormal intermediates to 0: p - q of two probabilities near
    the smallest normal number must not be formed (it was: KL 0 instead of 5e-7)."""
    tiny = np.finfo(np.float64).tiny
    p, q = jnp.array([tiny, 1e-300]), jnp.array([tiny * (1 + 1e-3), 1e-300 * (1 + 1e-9)])
    got = jax.jit(lambda p, q: forms.kl(jax_ops, p, q))(p, q)
    with mpmath.workdps(800):
        for value, a, b in zip(got, p, q):
            exact = _exact("kl", mpmath.mpf(float(a)), mpmath.mpf(float(b)))
            assert _rel_err(value, exact, np.float64) <= 1e-13


# ------------------------------------------------------------ the edges
def test_point_mass_at_zero_and_impossible_outcomes():
    q = 0.3
    for p_one, q_given, q_one in (
        (1.0, q, 1.0),
        (np.inf, float(np.log(q) - np.log1p(-q)), np.inf),
    ):
        kind = "probs" if p_one == 1.0 else "logits"
        kl, cross, entropy = (_FORMS[name, kind] for name in ("kl", "cross_entropy", "entropy"))
        assert float(entropy(jax_ops, p_one)) == 0.0
        assert float(kl(jax_ops, p_one, q_given)) == pytest.approx(-np.log(q), rel=1e-15)
        assert float(kl(jax_ops, p_one, q_one)) == 0.0
        assert float(cross(jax_ops, p_one, q_one)) == 0.0
        # P puts mass on k >= 1, Q (success probability 1) does not
        assert float(kl(jax_ops, q_given, q_one)) == np.inf
        assert float(cross(jax_ops, q_given, q_one)) == np.inf


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_gradients_against_the_derivatives_of_the_closed_form(kind):
    # dKL/dp = log((1 - q) / (1 - p)) / p**2, dKL/dq = (q - p) / (p q (1 - q)), by hand
    for p, q in [(0.3, 0.6), (0.02, 0.01), (0.8, 0.8 + 1e-9)]:
        d_p = np.log((1 - q) / (1 - p)) / p**2
        d_q = (q - p) / (p * q * (1 - q))
        if kind == "probs":
            got = jax.grad(forms.kl, argnums=(1, 2))(jax_ops, p, q)
            want = (d_p, d_q)
        else:  # dp/dl = p (1 - p)
            lp, lq = (np.log(x) - np.log1p(-x) for x in (p, q))
            got = jax.grad(forms.kl_logits, argnums=(1, 2))(jax_ops, lp, lq)
            want = (d_p * p * (1 - p), d_q * q * (1 - q))
        np.testing.assert_allclose(got, want, rtol=1e-6)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"probs": 0.0}, r"`probs` must be in \(0, 1\] and at least the smallest normal float64"),
        ({"probs": 1.5}, r"`probs` must be in \(0, 1\].*got 1.5"),
        ({"probs": np.nan}, r"`probs` must be finite, got nan"),
        ({"probs": [0.5, 1e-310]}, r"`probs` must be in \(0, 1\].*got 1e-310 at index \(1,\)"),
        ({"logits": np.nan}, r"`logits` must be a number \(not NaN\), got nan"),
        ({"logits": -np.inf}, r"`logits` must be >= log\(smallest normal float64\) = -708.4"),
        ({"logits": np.float32(-90.0)}, r"`logits` must be >= log\(smallest normal float32\)"),
        ({}, r"pass exactly one of `probs` or `logits`, got neither"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Geometric(**kwargs)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_sampling_moments(kind):
    """Mean and P(K = 0) within 6 standard errors: a false alarm has probability < 4e-9
    per check (normal approximation; 2**18 samples), 8 checks here."""
    probs = np.array([0.05, 0.3, 0.7, 1.0])
    dist = Geometric(probs=probs)
    if kind == "logits":
        dist = Geometric(logits=dist.logits)  # +inf for probs 1
    n = 2**18
    draws = np.asarray(dist.sample(jax.random.key(7), (n,)))
    assert draws.shape == (n, 4) and draws.dtype == np.float64
    assert np.all((draws >= 0) & (draws == np.floor(draws)))
    mean, variance = (1 - probs) / probs, (1 - probs) / probs**2
    error = np.sqrt(np.maximum(variance, 1e-300) / n)
    assert np.all(np.abs(draws.mean(axis=0) - mean) <= 6 * error)
    zero = (draws == 0).mean(axis=0)
    assert np.all(np.abs(zero - probs) <= 6 * np.sqrt(probs * (1 - probs) / n) + 1e-12)


def test_float32_is_kept_by_sampling_and_log_prob():
    dist = Geometric(probs=np.float32(0.25))
    assert dist.sample(jax.random.key(0), (3,)).dtype == jnp.float32
    assert dist.log_prob(2.0).dtype == jnp.float32

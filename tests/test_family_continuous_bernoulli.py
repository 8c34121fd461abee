"""What is specific to the continuous Bernoulli: its normaliser near 1/2, references, validation."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.integrate

import verify
from verify._ops import jax_ops
from verify.families.continuous_bernoulli import ContinuousBernoulli
from verify.formulas import continuous_bernoulli as forms


def _mp(x):
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(float(x))


def exact_logit(p):
    p = _mp(p)
    return mpmath.log(p / (1 - p))


def exact_log_normaliser(logit):
    """``log C`` from the textbook ``C(p) = 2 atanh(1 - 2p) / (1 - 2p)`` (Loaiza-Ganem and
    Cunningham, 2019), in the logit: ``C = l / expm1(l) / (1 - p)``; 2 at ``p = 1/2``."""
    if logit == 0:
        return mpmath.log(2)
    p = 1 / (1 + mpmath.exp(-logit))
    return mpmath.log(2 * mpmath.atanh(1 - 2 * p) / (1 - 2 * p))


def exact_log_prob(x, logit):
    p = 1 / (1 + mpmath.exp(-logit))
    return exact_log_normaliser(logit) + _mp(x) * mpmath.log(p) + (1 - _mp(x)) * mpmath.log(1 - p)


def exact_kl(lp, lq):
    """Bregman divergence of the log-partition ``log(expm1(l) / l)`` (mean ``1/(1-e^-l) - 1/l``)."""

    def log_partition(l):  # noqa: E741
        return mpmath.log(mpmath.expm1(l) / l) if l != 0 else mpmath.mpf(0)

    mean = 1 / (1 - mpmath.exp(-lp)) - 1 / lp if lp != 0 else mpmath.mpf(1) / 2
    return log_partition(lq) - log_partition(lp) - (lq - lp) * mean


def rel_err(value, exact):
    exact = mpmath.mpf(exact)
    if exact == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - exact) / exact))


# ------------------------------------------------------------------- density
NEAR_HALF = 0.5 + np.concatenate([[0.0], np.logspace(-16, -1, 40), -np.logspace(-16, -1, 40)])


def test_log_prob_near_one_half_against_the_textbook_normaliser_densely():
    """tensorflow/probability#1511: a wrong Taylor branch of log C near p = 1/2. Here the
    density from probs and from logits against the textbook normaliser at 60 digits."""
    x = np.array([0.0, 0.3, 1.0])
    for p in NEAR_HALF:
        with mpmath.workdps(60):
            logit = exact_logit(p)
            exact = [exact_log_prob(v, logit) for v in x]
            from_probs = ContinuousBernoulli(probs=p).log_prob(x)
            from_logits = ContinuousBernoulli(logits=float(logit)).log_prob(x)
            for a, b, e in zip(np.asarray(from_probs), np.asarray(from_logits), exact):
                assert abs(mpmath.mpf(float(a)) - e) <= 4e-16 * max(1, abs(e)), p
                assert abs(mpmath.mpf(float(b)) - e) <= 4e-16 * max(1, abs(e)), p


@pytest.mark.parametrize("p", [1e-8, 0.1, 0.3, 0.7, 0.999])
def test_density_integrates_to_one_and_is_minus_inf_outside(p):
    dist = ContinuousBernoulli(probs=p)
    total, _ = scipy.integrate.quad(lambda v: float(np.exp(dist.log_prob(v))), 0, 1)
    assert abs(total - 1) <= 1e-10
    assert np.all(np.asarray(dist.log_prob(np.array([-0.1, 1.1, np.nan]))) == -np.inf)


# ---------------------------------------------------------- literature values
@pytest.mark.parametrize("p, q", [(0.2, 0.7), (0.5, 0.9), (0.01, 0.5), (0.93, 0.94)])
def test_kl_entropy_cross_entropy_match_numerical_integration(p, q):
    dp, dq = ContinuousBernoulli(probs=p), ContinuousBernoulli(probs=q)

    def density(v):
        return float(np.exp(dp.log_prob(v)))

    kl, _ = scipy.integrate.quad(
        lambda v: density(v) * float(dp.log_prob(v) - dq.log_prob(v)), 0, 1
    )
    h, _ = scipy.integrate.quad(lambda v: -density(v) * float(dp.log_prob(v)), 0, 1)
    np.testing.assert_allclose(forms.kl(jax_ops, p, q), kl, rtol=1e-9)
    np.testing.assert_allclose(forms.entropy(jax_ops, p), h, rtol=1e-9)
    np.testing.assert_allclose(forms.cross_entropy(jax_ops, p, q), kl + h, rtol=1e-9)


def test_uniform_at_one_half():
    for dist in (ContinuousBernoulli(probs=0.5), ContinuousBernoulli(logits=0.0)):
        h = verify.entropy(dist)
        assert float(h) == 0.0 and not np.signbit(h)
        assert float(verify.kl(dist, dist)) == 0.0


# ------------------------------------------------------------------ accuracy
def _errors(values, p, q, dps=200):
    with mpmath.workdps(dps):
        return np.array(
            [rel_err(v, exact_kl(exact_logit(a), exact_logit(b))) for v, a, b in zip(values, p, q)]
        )


def test_kl_accuracy_on_adversarial_pairs_from_probs_and_from_logits():
    """Dense near 1/2, near-equal (1e-3 ... 1e-12), tails to 1e-290 and 1 - 2**-53: <= 1e-13."""
    ((p,), (q,)) = ContinuousBernoulli.adversarial_pairs(np.random.default_rng(0))
    values = np.asarray(jax.jit(lambda a, b: forms.kl(jax_ops, a, b))(p, q))
    errors = _errors(values, p, q)
    assert errors.max() <= 1e-13, (p[errors.argmax()], q[errors.argmax()])
    # from logits: the logits are the parameters (exact), the reference takes them as given
    lp, lq = (np.asarray(jax_ops.logit(v)) for v in (p, q))
    values = np.asarray(forms.kl_logits(jax_ops, lp, lq))
    with mpmath.workdps(200):
        errors = [rel_err(v, exact_kl(_mp(a), _mp(b))) for v, a, b in zip(values, lp, lq)]
    assert max(errors) <= 1e-13


def test_kl_accuracy_float32():
    ((p,), (q,)) = ContinuousBernoulli.adversarial_pairs(np.random.default_rng(0))
    keep = (p > 1e-30) & (q > 1e-30)  # float32's range
    p, q = p[keep].astype(np.float32), q[keep].astype(np.float32)
    ok = (p > 0) & (p < 1) & (q > 0) & (q < 1)
    p, q = p[ok], q[ok]
    values = np.asarray(forms.kl(jax_ops, jnp.asarray(p), jnp.asarray(q)))
    assert values.dtype == np.float32
    with mpmath.workdps(200):
        exact = [exact_kl(exact_logit(a), exact_logit(b)) for a, b in zip(p, q)]
    errors = [rel_err(v, e) for v, e in zip(values, exact) if e > 1e-30]
    assert max(errors) <= 1e-5


def test_entropy_accuracy_near_one_half():
    for p in NEAR_HALF:
        with mpmath.workdps(200):
            logit = exact_logit(p)
            exact = -exact_kl(logit, mpmath.mpf(0))
        assert rel_err(forms.entropy(jax_ops, p), exact) <= 1e-13


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"probs": 0.0}, "`probs` must be in \\(0, 1\\)"),
        ({"probs": 1.0}, "`probs` must be in \\(0, 1\\)"),
        ({"probs": 1.5}, "`probs` must be in \\(0, 1\\)"),
        ({"probs": np.nan}, "`probs` must be finite"),
        ({"probs": 1e-310}, "smallest normal"),
        ({"logits": np.inf}, "`logits` must be finite"),
        ({"probs": 0.3, "logits": 0.1}, "exactly one"),
    ],
)
def test_bad_parameters_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ContinuousBernoulli(**kwargs)


# ------------------------------------------------------------------ sampling
def test_sample_moments_support_and_reparameterised_gradient():
    """Means of 2**16 draws within 6 standard errors (false alarm < 1e-8 each)."""
    logits = np.array([-30.0, -2.0, -1e-8, 0.0, 1e-7, 3.0, 800.0])
    x = ContinuousBernoulli(logits=logits).sample(jax.random.key(0), (2**16,))
    assert x.shape == (2**16, 7) and bool(np.all((x >= 0) & (x <= 1)))
    with mpmath.workdps(30):
        mean = np.array(
            [float(1 / (1 - mpmath.exp(-v)) - 1 / v) if v else 0.5 for v in map(_mp, logits)]
        )
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * np.sqrt(1 / 12 / 2**16) + 1e-12)
    grad = jax.grad(lambda v: ContinuousBernoulli(logits=v).sample(jax.random.key(1), (64,)).mean())
    assert np.isfinite(grad(0.0)) and grad(0.0) > 0 and grad(1.5) > 0
    f32 = ContinuousBernoulli(probs=np.float32(0.3))
    assert f32.sample(jax.random.key(0)).dtype == jnp.float32
    assert verify.kl(f32, f32).dtype == jnp.float32

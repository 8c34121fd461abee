"""What is specific to the Beta family: SciPy and mpmath references, accuracy, validation."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import verify
from verify._ops import jax_ops
from verify.families.beta import Beta
from verify.formulas import beta as forms

EPS64 = np.finfo(np.float64).eps


def exact_kl(a, b, a2, b2):
    """The textbook KL (e.g. Penny, 2001), typed independently, at mpmath's precision."""
    a, b, a2, b2 = (
        v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v)) for v in (a, b, a2, b2)
    )

    def log_beta(x, y):
        return mpmath.loggamma(x) + mpmath.loggamma(y) - mpmath.loggamma(x + y)

    return (
        log_beta(a2, b2)
        - log_beta(a, b)
        + (a - a2) * mpmath.digamma(a)
        + (b - b2) * mpmath.digamma(b)
        + (a2 - a + b2 - b) * mpmath.digamma(a + b)
    )


def rel_err(value, exact):
    exact = mpmath.mpf(exact)
    if exact == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - exact) / exact))


# ------------------------------------------------------------------- density
@pytest.mark.parametrize("a, b", [(2.0, 3.0), (0.5, 0.5), (1.0, 1.0), (1.0, 4.0), (30.0, 0.7)])
def test_log_prob_matches_scipy_inside_at_the_edges_and_outside(a, b):
    x = np.array([0.0, 1e-300, 0.1, 0.5, 0.9, 1 - 1e-16, 1.0])
    expected = scipy.stats.beta(a, b).logpdf(x)
    np.testing.assert_allclose(Beta(a, b).log_prob(x), expected, rtol=1e-12)
    outside = Beta(a, b).log_prob(np.array([-0.1, 1.5, np.inf, -np.inf]))
    assert np.all(np.asarray(outside) == -np.inf)
    assert jax.jit(Beta(a, b).log_prob)(2.0) == -np.inf


def test_log_prob_keeps_float32():
    p = Beta(np.float32(2.0), np.float32(3.0))
    assert p.log_prob(np.float32(0.3)).dtype == jnp.float32


# ---------------------------------------------------------- literature values
@pytest.mark.parametrize("a, b", [(2.0, 3.0), (0.5, 0.5), (1.0, 1.0), (7.5, 0.2), (400.0, 300.0)])
def test_entropy_matches_scipy(a, b):
    value = forms.entropy(jax_ops, a, b)
    assert rel_err(value, scipy.stats.beta(a, b).entropy()) <= 1e-12 or abs(value) < 1e-15


@pytest.mark.parametrize(
    "p, q", [((2.0, 3.0), (1.0, 1.0)), ((0.5, 0.5), (3.0, 2.0)), ((5.0, 1.5), (4.0, 2.5))]
)
def test_kl_and_cross_entropy_match_numerical_integration(p, q):
    dp, dq = scipy.stats.beta(*p), scipy.stats.beta(*q)
    integrand = lambda x: dp.pdf(x) * (dp.logpdf(x) - dq.logpdf(x))  # noqa: E731
    kl, _ = scipy.integrate.quad(integrand, 0, 1, limit=200)
    np.testing.assert_allclose(forms.kl(jax_ops, *p, *q), kl, rtol=1e-8)
    cross, _ = scipy.integrate.quad(lambda x: -dp.pdf(x) * dq.logpdf(x), 0, 1, limit=200)
    np.testing.assert_allclose(forms.cross_entropy(jax_ops, *p, *q), cross, rtol=1e-8)


def test_kl_is_zero_for_equal_and_entropy_zero_for_uniform():
    assert float(forms.kl(jax_ops, 3.0, 0.2, 3.0, 0.2)) == 0.0
    h = forms.entropy(jax_ops, 1.0, 1.0)
    assert float(h) == 0.0 and not np.signbit(h)


# ------------------------------------------------------------------ accuracy
def _adversarial():
    (a, b), (a2, b2) = Beta.adversarial_pairs(np.random.default_rng(0))
    return a, b, a2, b2


def _conditioned(a, b, a2, b2):
    """Pairs whose concentrations are within a factor 100 of each other's."""
    params = np.stack([a, b, a2, b2])
    return params.min(0) / params.max(0) >= 1e-2


def _errors(values, params):
    with mpmath.workdps(100):  # the textbook reference cancels: 80 digits at most
        return np.array([rel_err(v, exact_kl(*c)) for v, c in zip(values, zip(*params))])


def test_kl_accuracy_on_adversarial_pairs_float64():
    """Near-equal (1e-3 ... 1e-12 relative, one or both parameters, equal means) and far
    pairs, concentrations 1e-8 ... 1e12: <= 1e-13 relative, those with one concentration
    far below the other included (5e-7 at ``Beta(1e-8, 11.9) || Beta(1e-8, 11.9000119)``
    before the shares' form, where the larger one's divergence and the sum's cancel:
    lgamma_bregman_share pairs them)."""
    params = _adversarial()
    assert 0 < _conditioned(*params).sum() < len(params[0])  # both kinds are here
    values = np.asarray(jax.jit(lambda *v: forms.kl(jax_ops, *v))(*params))
    errors = _errors(values, params)
    assert errors.max() <= 1e-13, [p[int(errors.argmax())] for p in params]


def test_kl_accuracy_on_adversarial_pairs_float32():
    params = tuple(p.astype(np.float32) for p in _adversarial())
    keep = _conditioned(*params)
    params = tuple(p[keep] for p in params)
    values = np.asarray(forms.kl(jax_ops, *(jnp.asarray(p) for p in params)))
    assert values.dtype == np.float32
    with mpmath.workdps(100):
        exact = [exact_kl(*c) for c in zip(*params)]
    # Results below float32's normal range cannot keep relative accuracy.
    errors = [rel_err(v, e) for v, e in zip(values, exact) if e > 1e-30]
    assert max(errors) <= 1e-5


def test_entropy_accuracy_where_it_crosses_zero_and_for_large_concentrations():
    for a, b in [(1.0, 1.0 + 1e-9), (1 + 1e-6, 1 - 1e-6), (1e8, 3e8), (1e-6, 2.0)]:
        with mpmath.workdps(300):
            exact = -exact_kl(a, b, 1.0, 1.0)
        assert rel_err(forms.entropy(jax_ops, a, b), exact) <= 1e-13


def test_kl_gradient_matches_mpmath():
    """At an ordinary pair, and where b holds nearly all of both totals (the shares' form,
    whose derivative in b was 4e-8 off before it had its own): 1e-12; in b' there, 1e-10
    (the integrand of the shares' derivative in b', r' polygamma(1, b'_t) - r
    polygamma(1, b_t), cancels to about (b' - b) / b = 1e-6 of its terms)."""
    pairs = [((2.5, 0.7), (1.3, 4.0)), ((1e-8, 11.9), (1e-8, 11.9000119))]
    params = [np.array(c) for c in zip(*(p + q for p, q in pairs))]
    grads = jax.grad(lambda *v: forms.kl(jax_ops, *v).sum(), argnums=(0, 1, 2, 3))(*params)
    tolerances = [[1e-12] * 4, [1e-12, 1e-12, 1e-12, 1e-10]]
    with mpmath.workdps(60):
        for k, (p, q) in enumerate(pairs):
            args = [mpmath.mpf(v) for v in (*p, *q)]
            for i, g in enumerate(grads):

                def f(x, i=i, args=args):
                    return exact_kl(*(x if j == i else v for j, v in enumerate(args)))

                assert rel_err(g[k], mpmath.diff(f, args[i])) <= tolerances[k][i], (k, i)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"concentration1": -1.0, "concentration0": 1.0}, "`concentration1` must be > 0, got -1.0"),
        ({"concentration1": 1.0, "concentration0": 0.0}, "`concentration0` must be > 0, got 0.0"),
        ({"concentration1": np.nan, "concentration0": 1.0}, "`concentration1` must be finite"),
        ({"concentration1": 1.0, "concentration0": np.inf}, "`concentration0` must be finite"),
        ({"concentration1": 1e-310, "concentration0": 1.0}, "smallest normal float64"),
    ],
)
def test_bad_parameters_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Beta(**kwargs)


def test_batch_shapes_must_broadcast():
    with pytest.raises(ValueError, match="concentration"):
        Beta(np.ones(3), np.ones(4))


# ------------------------------------------------------------------ sampling
def test_sample_moments_and_reparameterised_gradient():
    """Mean and variance of 2**16 draws within 6 standard errors (false alarm < 1e-8 each)."""
    a, b = np.array([0.5, 2.0, 30.0]), np.array([0.5, 5.0, 3.0])
    x = Beta(a, b).sample(jax.random.key(0), (2**16,))
    assert x.shape == (2**16, 3) and x.dtype == jnp.float64
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * np.sqrt(var / 2**16))
    # variance of the sample variance: (mu4 - var**2) / n, mu4 bounded by var (x in [0, 1])
    assert np.all(np.abs(x.var(0) - var) <= 6 * np.sqrt(var / 2**16))
    grad = jax.grad(lambda a: Beta(a, 2.0).sample(jax.random.key(1), (64,)).mean())(3.0)
    assert np.isfinite(grad) and grad > 0
    assert Beta(np.float32(2.0), np.float32(3.0)).sample(jax.random.key(0)).dtype == jnp.float32


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_cross_entropy_with_a_concentration_far_below_the_other(dtype, tolerance):
    """H(Beta(1e-8, 11.9), Beta(1, 1e5)) = -11.5128...: as KL(P || Q) - KL(P || U) it was 0.39
    off in float32 and 4.6e-10 in float64 (the KLs' known limit, twice); from the density,
    with the digamma differences taken from a and b, it is right."""
    with mpmath.workdps(50):
        a, b, a_q, b_q = (mpmath.mpf(float(dtype(x))) for x in (1e-8, 11.9, 1.0, 1e5))
        s = a + b
        exact = (
            mpmath.loggamma(a_q)
            + mpmath.loggamma(b_q)
            - mpmath.loggamma(a_q + b_q)
            - (a_q - 1) * (mpmath.digamma(a) - mpmath.digamma(s))
            - (b_q - 1) * (mpmath.digamma(b) - mpmath.digamma(s))
        )
    p = verify.Beta(dtype(1e-8), dtype(11.9))
    q = verify.Beta(dtype(1.0), dtype(1e5))
    value = verify.cross_entropy(p, q)
    assert abs(float(value) - float(exact)) <= tolerance * abs(float(exact))

"""Binomial(total_count, probs | logits): what is specific to it (the registry tests do the rest).

Literature values from SciPy (``scipy.stats.binom``), accuracy from mpmath at
800 digits, sampling from moments with a stated false-alarm rate. KL between
different numbers of trials: ``+inf``, a point mass's ``-log Q(point)``, or NaN
where it has no closed form (``0 < n_p < n_q``, ``0 < p < 1``, ``0 < q < 1``).
"""

import functools
import itertools
import warnings

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats
import sympy as sp

from verify._ops import jax_ops
from verify.families.binomial import Binomial
from verify.formulas import bernoulli
from verify.formulas import binomial as forms
from verify.symbolic.derive import derive_from, is_identically_zero
from verify.symbolic.ops import sympy_ops

INF = np.inf


def _logit(p):
    return float(np.log(p) - np.log1p(-p)) if 0 < p < 1 else (INF if p == 1 else -INF)


def _scipy_kl(n_p, p, n_q, q):
    """sum_k P(k) log(P(k) / Q(k)) over P's support, from SciPy's log-pmf."""
    k = np.arange(0, int(n_p) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) of a point mass
        log_p = scipy.stats.binom(n_p, p).logpmf(k)
        log_q = scipy.stats.binom(n_q, q).logpmf(k)
        mass = np.exp(log_p)
        return float(np.sum(np.where(mass > 0, mass * (log_p - log_q), 0.0)))


@pytest.mark.parametrize("n, p", [(1, 0.3), (7, 0.5), (40, 0.02), (12, 0.0), (12, 1.0)])
def test_log_prob_is_scipys_from_probs_and_from_logits(n, p):
    k = np.arange(0.0, n + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = scipy.stats.binom(n, p).logpmf(k)
    np.testing.assert_allclose(Binomial(n, probs=p).log_prob(k), want, rtol=1e-12)
    np.testing.assert_allclose(Binomial(n, logits=_logit(p)).log_prob(k), want, rtol=1e-12)


def test_log_prob_is_minus_inf_outside_the_support_also_under_jit():
    outside = jnp.array([-1.0, 0.5, 4.0, 7.0, INF, -INF])
    for dist in (Binomial(3.0, probs=0.3), Binomial(3.0, logits=-1.0)):
        assert np.all(dist.log_prob(outside) == -INF)
        assert np.all(jax.jit(lambda d: d.log_prob(outside))(dist) == -INF)


def test_total_count_broadcasts_with_the_probabilities():
    dist = Binomial(jnp.array([2.0, 5.0]), probs=jnp.array([[0.1], [0.6], [0.9]]))
    assert dist.batch_shape == (3, 2)
    assert dist.sample(jax.random.key(0), (4,)).shape == (4, 3, 2)
    assert dist.log_prob(5.0)[0, 0] == -INF  # 5 > 2 trials


@pytest.mark.parametrize(
    "n_p, p, n_q, q",
    [
        (10, 0.5, 10, 0.25),
        (25, 0.03, 25, 0.2),
        (3, 0.5, 3, 0.5),
        (0, 0.3, 5, 0.2),  # point mass at 0
        (5, 0.0, 3, 0.2),  # point mass at 0, more trials than Q
        (3, 1.0, 5, 0.2),  # point mass at 3
    ],
)
def test_kl_is_the_sum_over_scipys_probabilities(n_p, p, n_q, q):
    want = _scipy_kl(n_p, p, n_q, q)
    for got in (
        forms.kl(jax_ops, n_p * 1.0, p, n_q * 1.0, q),
        forms.kl_logits(jax_ops, n_p * 1.0, _logit(p), n_q * 1.0, _logit(q)),
    ):
        assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "n_p, p, n_q, q, want",
    [
        (4, 0.5, 3, 0.5, INF),  # P has mass on 4, Q does not
        (6, 1.0, 5, 0.2, INF),
        (3, 0.4, 5, 0.0, INF),  # Q is the point mass at 0
        (3, 0.4, 5, 1.0, INF),  # Q is the point mass at 5
        (2, 0.3, 2, 0.0, INF),
        (0, 0.3, 0, 0.0, 0.0),  # both the point mass at 0
        (3, 0.4, 5, 0.2, np.nan),  # finite, but no closed form
    ],
)
def test_kl_between_different_numbers_of_trials(n_p, p, n_q, q, want):
    for got in (
        forms.kl(jax_ops, n_p * 1.0, p, n_q * 1.0, q),
        forms.kl_logits(jax_ops, n_p * 1.0, _logit(p), n_q * 1.0, _logit(q)),
    ):
        np.testing.assert_equal(float(got), want)


def _sigmoid(logit):
    if logit == INF:
        return mpmath.mpf(1)
    return mpmath.mpf(0) if logit == -INF else 1 / (1 + mpmath.exp(-mpmath.mpf(float(logit))))


def _exact_kl(n, p, q):
    def term(x, y):
        if x == 0:
            return mpmath.mpf(0)
        return mpmath.inf if y == 0 else x * mpmath.log(x / y)

    return n * (term(p, q) + term(1 - p, 1 - q))


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_kl_accuracy_on_adversarial_pairs_against_mpmath(dtype, tolerance, kind):
    (counts, probs_p), (_, probs_q) = Binomial.adversarial_pairs(np.random.default_rng(0))
    tiny, huge = np.finfo(dtype).tiny, np.finfo(dtype).max
    n, p, q = (np.asarray(x, dtype) for x in (counts, probs_p, probs_q))
    valid = ~np.any([(0 < x) & (x < tiny) for x in (p, q)], axis=0)  # subnormal: not a probability
    n, p, q = n[valid], p[valid], q[valid]
    # all pairs in one call, jitted as verify.kl runs it: un-jitted, XLA flushes each
    # subnormal intermediate apart (at p = t, q = 2 t, t the smallest normal number, t log(1/2)
    # is flushed and the subnormal KL 0.3 t came out as t)
    if kind == "probs":
        values = jax.jit(functools.partial(forms.kl, jax_ops))(n, p, n, q)
        exact_probs = p, q
    else:
        lp, lq = (Binomial.logits_from_probs(jax_ops, jnp.asarray(x)) for x in (p, q))
        values = jax.jit(functools.partial(forms.kl_logits, jax_ops))(n, lp, n, lq)
        exact_probs = np.asarray(lp), np.asarray(lq)
    to_mp = mpmath.mpf if kind == "probs" else _sigmoid
    assert values.dtype == dtype
    worst = 0.0
    with mpmath.workdps(800):
        for count, value, x, y in zip(n, np.asarray(values), *exact_probs):
            exact = _exact_kl(int(count), to_mp(float(x)), to_mp(float(y)))
            value = float(value)
            if exact == mpmath.inf or exact > huge:
                assert value == INF
            elif exact < tiny:
                assert abs(value) < tiny
            else:
                worst = max(worst, float(abs((mpmath.mpf(value) - exact) / exact)))
    assert worst <= tolerance


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"total_count": -1.0, "probs": 0.5}, r"`total_count` must be an integer >= 0, got -1.0"),
        ({"total_count": 2.5, "probs": 0.5}, r"`total_count` must be an integer >= 0, got 2.5"),
        ({"total_count": np.nan, "probs": 0.5}, r"`total_count` must be finite, got nan"),
        ({"total_count": 3, "probs": 1.5}, r"`probs` must be in \[0, 1\], got 1.5"),
        ({"total_count": 3, "logits": np.nan}, r"`logits` must be a number \(not NaN\), got nan"),
        ({"total_count": 3}, r"pass exactly one of `probs` or `logits`, got neither"),
        (
            {"total_count": [1.0, 2.0], "probs": [0.1, 0.2, 0.3]},
            r"batch shapes do not broadcast: `total_count` \(2,\), `probs` \(3,\)",
        ),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Binomial(**kwargs)


def test_sampling_moments():
    """Mean and variance within 6 standard errors (2**18 samples; a false alarm has
    probability < 4e-9 per check under the normal approximation, 8 checks here)."""
    counts = np.array([1.0, 10.0, 50.0, 200.0])
    probs = np.array([0.5, 0.05, 0.7, 0.3])
    n = 2**18
    draws = np.asarray(Binomial(counts, probs=probs).sample(jax.random.key(5), (n,)))
    assert draws.shape == (n, 4) and draws.dtype == np.float64
    assert np.all((draws >= 0) & (draws <= counts) & (draws == np.floor(draws)))
    mean, variance = counts * probs, counts * probs * (1 - probs)
    assert np.all(np.abs(draws.mean(axis=0) - mean) <= 6 * np.sqrt(variance / n))
    # Var of the sample variance: (mu4 - sigma^4 (n - 3) / (n - 1)) / n, with the fourth
    # central moment of a binomial mu4 = N p q (1 + 3 (N - 2) p q)
    mu4 = variance * (1 + 3 * (counts - 2) * probs * (1 - probs))
    var_error = np.sqrt((mu4 - variance**2 * (n - 3) / (n - 1)) / n)
    assert np.all(np.abs(draws.var(axis=0, ddof=1) - variance) <= 6 * var_error)


def test_float32_is_kept():
    dist = Binomial(np.float32(5.0), probs=np.float32(0.25))
    assert dist.dtype == jnp.float32
    assert dist.sample(jax.random.key(0), (3,)).dtype == jnp.float32
    assert dist.log_prob(2.0).dtype == jnp.float32
    kl = forms.kl(jax_ops, np.float32(5.0), np.float32(0.25), np.float32(5.0), np.float32(0.5))
    assert kl.dtype == jnp.float32


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_kl_is_proved_for_a_symbolic_number_of_trials_shared_by_p_and_q(kind):
    """The derivation for one symbol n (the Bregman divergence of n log(1 + e^eta)), and the
    form that runs equal to it: what ``derive(..., total_count=3)`` shows at n = 3, for all n."""
    n = sp.Symbol("n", integer=True, positive=True)
    p, q = (Binomial.symbolic(s, kind, total_count=n) for s in "pq")
    derivation = derive_from("kl", p, q)
    form = forms.kl if kind == "probs" else forms.kl_logits
    assert is_identically_zero(form(sympy_ops, n, p.params[1], n, q.params[1]) - derivation.expr)


def _log_pair(x, kind):
    """(log of the probability, log of its complement) of a probability or a logit, exactly."""
    with mpmath.workdps(60):
        x = mpmath.mpf(float(x))
        if kind == "probs":
            return (mpmath.log(x) if x else -mpmath.inf), mpmath.log1p(-x)
        return -mpmath.log1p(mpmath.exp(-x)), -mpmath.log1p(mpmath.exp(x))


def _exact_cross_entropy(n, p, q):
    """-sum_k P(k) log Q(k) at 60 digits; ``p``, ``q``: :func:`_log_pair`'s."""
    with mpmath.workdps(60):
        total = mpmath.mpf(0)
        for k in range(n + 1):
            log_c = mpmath.log(mpmath.binomial(n, k))
            # 0 log 0 = 0: the k = 0 and k = n terms drop a power with exponent 0
            log_mass = log_c + (k * p[0] if k else 0) + ((n - k) * p[1] if n - k else 0)
            if log_mass > -mpmath.inf:
                log_q = log_c + (k * q[0] if k else 0) + ((n - k) * q[1] if n - k else 0)
                total -= mpmath.exp(log_mass) * log_q
        return total


@pytest.mark.parametrize(
    "dtype, tolerance",
    # float32's grid has no rate near float64's smallest normal number: the float64 cases hold
    # the scaled sums
    [(np.float64, 1e-13), pytest.param(np.float32, 1e-5, marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_cross_entropy_accuracy_on_adversarial_pairs_against_mpmath(dtype, tolerance, kind):
    """Where p and q are near the smallest normal number the KL is subnormal and H(P) is not:
    the KL still counts (it was flushed: 4e-4 off at p = 2.2e-308, q = 2 p)."""
    (counts, probs_p), (_, probs_q) = Binomial.adversarial_pairs(np.random.default_rng(0))
    tiny = np.finfo(dtype).tiny
    n, p, q = (np.asarray(x, dtype) for x in (counts, probs_p, probs_q))
    valid = ~np.any([(0 < x) & (x < tiny) for x in (p, q)], axis=0)  # subnormal: not a probability
    valid &= (q > 0) & (q < 1)  # a finite cross-entropy
    n, p, q = n[valid], p[valid], q[valid]
    if kind == "probs":
        values = forms.cross_entropy(jax_ops, n, p, n, q)
    else:
        p, q = (Binomial.logits_from_probs(jax_ops, jnp.asarray(x)) for x in (p, q))
        values = forms.cross_entropy_logits(jax_ops, n, p, n, q)
    pairs = [[_log_pair(x, kind) for x in np.asarray(xs)] for xs in (p, q)]
    assert values.dtype == dtype
    worst = 0.0
    for count, value, x, y in zip(n, np.asarray(values), *pairs):
        exact = _exact_cross_entropy(int(count), x, y)
        error = abs(value - exact) / exact if exact >= tiny else (0.0 if value < tiny else np.inf)
        worst = max(worst, float(error))
    assert worst <= tolerance


def test_the_scaled_bernoulli_kl_is_the_kl_times_the_scale():
    """The cross-entropy's ``kl(p, q, scale)`` at tiny probabilities: proved in SymPy."""
    p, q, scale = sp.symbols("p q s", positive=True)
    scaled = bernoulli.kl(sympy_ops, p, q, scale)
    assert is_identically_zero(scaled - scale * bernoulli.kl(sympy_ops, p, q))


@pytest.mark.parametrize(
    "dtype, logit", [(np.float64, -708.0), pytest.param(np.float32, -87.0, marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("side", [1, -1])
def test_cross_entropy_from_logits_at_either_end_of_the_normal_range(dtype, logit, side):
    """Success (side 1) or failure (side -1) probabilities near the smallest normal number:
    the KL (about 0.2 p) is subnormal, H(P) (about 700 p) is not."""
    lp, lq = dtype(side * logit), dtype(side * (logit + 0.7))
    value = forms.cross_entropy_logits(jax_ops, dtype(4), lp, dtype(4), lq)
    exact = _exact_cross_entropy(4, _log_pair(lp, "logits"), _log_pair(lq, "logits"))
    assert value.dtype == dtype
    assert float(abs((mpmath.mpf(float(value)) - exact) / exact)) <= (
        1e-13 if dtype == np.float64 else 1e-5
    )


@pytest.mark.parametrize(
    "dtype, logits",
    [
        # float64: 30 s more (compiling)
        pytest.param(np.float64, (-720.0, -709.0, 712.0), marks=pytest.mark.slow),
        (np.float32, (-95.0, -90.0, -88.0, -80.0, 88.0)),
    ],
)
def test_entropy_from_logits_where_a_probability_is_below_the_normal_range(dtype, logits):
    """XLA:CPU reads ``sigmoid(-88)`` (float32) as 0: the entropy of Binomial(5, logits=-88),
    2.6e-36, was 0, and its gradient NaN below -88.7 (sigmoid's) and 0 below -44.4. Values and
    gradients within 8 eps of mpmath's; one below the normal range only has to be as small."""
    n, logit = (np.asarray(x, dtype) for x in zip(*itertools.product((1, 5, 1000), logits)))
    values = forms.entropy_logits(jax_ops, n, logit)
    slopes = jax.grad(lambda x: jnp.sum(forms.entropy_logits(jax_ops, n, x)))(logit)

    def exact(count, x):  # x an mpf (mpmath.diff's points are not floats); r < 1e-30
        log_r, log_1mr = sorted((-mpmath.log1p(mpmath.exp(-x)), -mpmath.log1p(mpmath.exp(x))))
        total = mpmath.mpf(0)
        for k in range(min(count, 8) + 1):  # the terms beyond are (n r)^k: below 60 digits
            log_mass = mpmath.log(mpmath.binomial(count, k)) + k * log_r + (count - k) * log_1mr
            total -= mpmath.exp(log_mass) * log_mass
        return total

    tiny, eps = np.finfo(dtype).tiny, np.finfo(dtype).eps
    assert values.dtype == slopes.dtype == dtype
    for count, x, value, slope in zip(n, logit, np.asarray(values), np.asarray(slopes)):
        with mpmath.workdps(60):
            x = mpmath.mpf(float(x))
            entropy = functools.partial(exact, int(count))
            want = (entropy(x), mpmath.diff(entropy, x, h=mpmath.mpf("1e-20")))
        for got, exact_value in zip((value, slope), want):
            if abs(exact_value) < tiny:
                assert abs(float(got)) < tiny, (count, x)
            else:
                error = abs((mpmath.mpf(float(got)) - exact_value) / exact_value)
                assert float(error) <= 8 * eps, (count, x, got, exact_value)


def test_a_nan_parameter_gives_a_nan_entropy_under_jit():
    """Traced parameters are not validated: NaN must come out as NaN (the window of the
    support counted a NaN row as empty, and the entropy was 0)."""
    from verify._special import binomial_entropy

    entropy = jax.jit(lambda n, p: binomial_entropy(n, p, 1 - p, jnp.log(p)))
    values = entropy(jnp.array([5.0, np.nan, 0.0]), jnp.array([np.nan, 0.3, 0.3]))
    assert np.isnan(values[0]) and np.isnan(values[1]) and values[2] == 0


@pytest.mark.parametrize("n, p, q", [(10, 0.3, 0.6), (25, 0.03, 0.2), (6, 0.5, 0.5), (1, 0.9, 0.1)])
def test_entropy_and_cross_entropy_from_scipy(n, p, q):
    k = np.arange(0, n + 1)
    mass, log_q = scipy.stats.binom(n, p).pmf(k), scipy.stats.binom(n, q).logpmf(k)
    want_entropy, want_cross = scipy.stats.binom(n, p).entropy(), -np.sum(mass * log_q)
    for entropy, cross, (a, b) in (
        (forms.entropy, forms.cross_entropy, (p, q)),
        (forms.entropy_logits, forms.cross_entropy_logits, (_logit(p), _logit(q))),
    ):
        assert float(entropy(jax_ops, n * 1.0, a)) == pytest.approx(want_entropy, rel=1e-12)
        got = cross(jax_ops, n * 1.0, a, n * 1.0, b)
        assert float(got) == pytest.approx(want_cross, rel=1e-12)


def test_entropy_from_logits_where_the_probability_rounds_to_one():
    # logits 40: p = 1 - 4.2e-18 rounds to 1; the entropy (about 5 * 4.2e-18 * 41) does not vanish
    logit = 40.0
    with mpmath.workdps(60):
        small = 1 / (1 + mpmath.exp(mpmath.mpf(logit)))  # 1 - p
        exact = -sum(
            mpmath.binomial(5, k)
            * (1 - small) ** (5 - k)
            * small**k
            * mpmath.log(mpmath.binomial(5, k) * (1 - small) ** (5 - k) * small**k)
            for k in range(6)
        )
    got = forms.entropy_logits(jax_ops, 5.0, logit)
    assert float(abs((mpmath.mpf(float(got)) - exact) / exact)) <= 1e-13
    assert float(forms.entropy(jax_ops, 5.0, 1.0)) == 0.0  # the point mass itself


def test_kl_without_a_closed_form_is_refused_by_name_for_concrete_parameters():
    import verify

    p, q = Binomial(3.0, probs=0.4), Binomial(5.0, probs=0.2)
    with pytest.raises(NotImplementedError, match="has no closed form at batch index"):
        verify.kl(p, q)
    assert np.isnan(jax.jit(verify.kl)(p, q))  # traced: the form's NaN
    assert float(verify.kl(Binomial(5.0, probs=0.0), q)) == pytest.approx(-5 * np.log(0.8))

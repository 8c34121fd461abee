"""The Monte Carlo engine: estimators, streaming, reproducibility, statistics, progress.

Statistical assertions state their false-alarm rate; most use the package's
own decision at alpha = 1e-6, so a correct engine fails them with probability
at most 1e-6 each.
"""

import io
import math
import os
import resource
import select
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import verify
from verify import montecarlo
from verify.montecarlo import _engine, _estimate, _moments, _statistics

NORMAL_P, NORMAL_Q = verify.Normal(0.3, 1.2), verify.Normal(-0.5, 0.9)
BATCH_P = verify.Normal(jnp.array([0.0, 1.0, -1.0]), jnp.array([1.0, 0.5, 2.0]))
BATCH_Q = verify.Normal(0.2, 1.1)


# ------------------------------------------------------------------ moments
def test_merged_moments_equal_direct_moments_without_cancellation():
    rng = np.random.default_rng(0)
    # A large offset against a small spread: raw power sums would lose every digit.
    data = 1e8 + rng.standard_exponential(100_000)
    cuts = [0, 1, 17, 5000, 5001, 64_000, 100_000]
    parts = [
        _moments.chunk_moments(np, data[a:b][None], np.ones(b - a, bool))
        for a, b in zip(cuts[:-1], cuts[1:])
    ]
    total = parts[0]
    for part in parts[1:]:
        total = _moments.merge(np, total, part)
    small = data - 1e8  # exact (Sterbenz): an accurate reference for the deviations
    dev = small - small.mean()
    np.testing.assert_allclose(total.mean[0] - 1e8, small.mean(), rtol=1e-7)
    np.testing.assert_allclose(total.m2[0], np.sum(dev**2), rtol=1e-10)
    # M3 and M4 are central moments about a mean known to ~eps * 1e8 only, which
    # moves them by k * error(mean) * M_(k-1): allow ten times that.
    mean_error = 10 * np.finfo(float).eps * 1e8
    np.testing.assert_allclose(total.m3[0], np.sum(dev**3), atol=3 * mean_error * total.m2[0])
    np.testing.assert_allclose(total.m4[0], np.sum(dev**4), atol=4 * mean_error * abs(total.m3[0]))
    # The textbook one-pass formula loses every digit here.
    naive = np.sum(data**2) - data.size * data.mean() ** 2
    assert abs(naive - np.sum(dev**2)) > 0.01 * np.sum(dev**2)


def test_the_one_pass_summary_of_a_full_chunk_equals_the_two_pass_one():
    rng = np.random.default_rng(2)
    values = 1e3 + rng.standard_gamma(2.0, size=(2, 65536))
    one_pass = _moments.chunk_moments(np, values, None)
    two_pass = _moments.chunk_moments(np, values, np.ones(65536, bool))
    for a, b in zip(one_pass, two_pass):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_masked_entries_are_ignored_even_when_nan():
    values = np.array([[1.0, 2.0, np.nan, 4.0]])
    summary = _moments.chunk_moments(np, values, np.array([True, True, False, True]))
    assert summary.n[0] == 3
    np.testing.assert_allclose(summary.mean[0], 7 / 3)
    np.testing.assert_allclose(summary.m2[0], np.var([1, 2, 4]) * 3)


# --------------------------------------------------------------- estimators
@pytest.mark.parametrize("estimator", ["plain", "k3"])
def test_kl_estimators_agree_with_the_closed_form(estimator):
    # False-alarm rate of this assertion: <= 1e-6 (the decision's alpha).
    est = montecarlo.estimate(
        "kl", NORMAL_P, NORMAL_Q, key=jax.random.key(1), num_samples=2**20, estimator=estimator
    )
    decision = montecarlo.decide((est,), verify.kl(NORMAL_P, NORMAL_Q))
    assert decision.verdict == "agree", str(decision)
    assert est.num_samples == 2**20 and est.trusted and est.estimator == estimator
    assert isinstance(est.value, float) and isinstance(est.stderr, float)


def test_k3_has_lower_variance_than_plain_when_p_and_q_are_close():
    # Mean shift 0.1: plain has sd 0.1 per term, k3 about 0.1**2 / sqrt(2).
    p, q = verify.Normal(0.0, 1.0), verify.Normal(0.1, 1.0)
    plain, k3 = (
        montecarlo.estimate("kl", p, q, num_samples=2**16, estimator=e) for e in ("plain", "k3")
    )
    assert k3.stderr < plain.stderr / 10


def test_k3_is_computed_without_cancellation():
    # KL ~ 5e-13: (r - 1) - log r computed naively loses all digits; expm1(l) - l does not.
    p, q = verify.Normal(0.0, 1.0), verify.Normal(1e-6, 1.0)
    est = montecarlo.estimate("kl", p, q, num_samples=2**14, estimator="k3")
    assert abs(est.value - 5e-13) < 6 * est.stderr + 1e-20
    assert 0 < est.stderr < 1e-13


@pytest.mark.parametrize("quantity", ["entropy", "cross_entropy"])
def test_entropy_and_cross_entropy_estimates(quantity):
    # False-alarm rate: <= 1e-6.
    q = None if quantity == "entropy" else BATCH_Q
    closed = verify.entropy(BATCH_P) if q is None else verify.cross_entropy(BATCH_P, q)
    decision = montecarlo.compare(quantity, closed, BATCH_P, q, num_samples=2**16)
    assert decision.overall == "agree", str(decision)
    assert decision.estimate.value.shape == (3,)
    assert decision.verdict.shape == (3,)


def test_a_batch_gives_the_same_estimates_as_its_members():
    batch = montecarlo.estimate("kl", BATCH_P, BATCH_Q, key=jax.random.key(3), num_samples=2**15)
    for i in range(3):
        member = verify.Normal(BATCH_P.loc[i], BATCH_P.scale[i])
        single = montecarlo.estimate(
            "kl", member, BATCH_Q, key=jax.random.key(4), num_samples=2**15
        )
        # Different samples, same distribution: within 6 combined standard errors
        # (false-alarm rate about 2e-9 per member).
        assert abs(batch.value[i] - single.value) < 6 * math.hypot(batch.stderr[i], single.stderr)


# ---------------------------------------------------------- reproducibility
def test_a_run_is_reproducible_bit_for_bit():
    run = [
        montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, key=jax.random.key(7), num_samples=300_001)
        for _ in range(2)
    ]
    assert run[0] == run[1]
    other = montecarlo.estimate(
        "kl", NORMAL_P, NORMAL_Q, key=jax.random.key(8), num_samples=300_001
    )
    assert other.value != run[0].value


def test_the_split_into_blocks_does_not_change_a_single_bit(monkeypatch):
    args = dict(key=jax.random.key(9), num_samples=200_000, chunk_size=1024, progress=False)
    whole = montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, **args)
    monkeypatch.setattr(_engine, "BLOCK_SAMPLES", 3 * 1024)
    assert montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, **args) == whole


def test_chunk_i_uses_fold_in_of_the_key():
    # Two chunks of 4 samples: the samples are p.sample(fold_in(key, i), (4,)).
    key = jax.random.key(11)
    est = montecarlo.estimate("entropy", NORMAL_P, key=key, num_samples=8, chunk_size=4)
    x = jnp.concatenate([NORMAL_P.sample(jax.random.fold_in(key, i), (4,)) for i in range(2)])
    terms = -np.asarray(NORMAL_P.log_prob(x))
    np.testing.assert_allclose(est.value, terms.mean(), rtol=1e-14)
    np.testing.assert_allclose(est.variance, terms.var(ddof=1), rtol=1e-12)


def test_a_partial_last_chunk_is_masked():
    key = jax.random.key(12)
    est = montecarlo.estimate("entropy", NORMAL_P, key=key, num_samples=6, chunk_size=4)
    x = jnp.concatenate([NORMAL_P.sample(jax.random.fold_in(key, i), (4,)) for i in range(2)])
    terms = -np.asarray(NORMAL_P.log_prob(x))[:6]
    assert est.num_samples == 6
    np.testing.assert_allclose(est.value, terms.mean(), rtol=1e-14)


def test_a_second_call_does_not_retrace():
    integrand = _estimate._Integrand("kl", ("plain",))
    block = _engine._block_function(integrand, 4096, _engine._mesh(tuple(jax.devices())))
    for n, seed in ((10_000, 0), (50_000, 1), (123_456, 2)):
        montecarlo.estimate(
            "kl", NORMAL_P, NORMAL_Q, key=jax.random.key(seed), num_samples=n, chunk_size=4096
        )
    assert block._cache_size() == 1


def test_device_memory_does_not_depend_on_the_sample_count():
    # One compiled program serves every sample count (the loop bounds are
    # traced), so its buffers are those of one chunk whatever the count.
    integrand = _estimate._Integrand("kl", ("plain", "k3"))
    mesh = _engine._mesh(tuple(jax.devices()))
    block = _engine._block_function(integrand, 2**16, mesh)
    summary = _moments.zeros(jnp, (1, 2), jnp.float64)
    args = (NORMAL_P, NORMAL_Q)
    sizes = set()
    for n in (10**3, 10**9):
        lowered = block.lower(summary, args, jax.random.key(0), *map(np.int64, (0, 1, n)))
        sizes.add(lowered.compile().memory_analysis().temp_size_in_bytes)
    assert len(sizes) == 1
    assert sizes.pop() < 64 * 2**20


@pytest.mark.slow
def test_a_billion_samples_run_in_bounded_memory():
    p, q = verify.Bernoulli(probs=0.3), verify.Bernoulli(probs=0.4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    est = montecarlo.estimate("kl", p, q, num_samples=10**9, estimator="k3", progress=False)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert est.num_samples == 10**9
    assert grown_mib < 256, f"peak memory grew by {grown_mib:.0f} MiB"
    # False-alarm rate <= 1e-6.
    assert montecarlo.decide((est,), verify.kl(p, q)).verdict == "agree"


# --------------------------------------------------------------- statistics
def test_normal_tail_functions_match_scipy():
    z = np.array([0.0, 1.0, 4.0, 8.0, 20.0])
    np.testing.assert_allclose(_statistics.normal_sf(z), scipy.stats.norm.sf(z), rtol=1e-13)
    p = np.array([0.4, 1e-3, 5e-7, 1e-30])
    np.testing.assert_allclose(_statistics.normal_isf(p), scipy.stats.norm.isf(p), rtol=1e-10)


def test_critical_value_without_skewness_is_the_normal_one():
    z, ratio = _statistics.critical_value(1e-6, 0.0, 10**4)
    np.testing.assert_allclose(z, scipy.stats.norm.isf(0.5e-6), rtol=1e-10)
    assert ratio == 0


def test_critical_value_grows_with_skewness_and_shrinks_with_samples():
    z, ratio = _statistics.critical_value(1e-6, np.array([0.0, 1.0, 3.0]), 10**4)
    assert z[0] < z[1] < z[2]
    z_more, ratio_more = _statistics.critical_value(1e-6, 3.0, 10**6)
    assert z_more < z[2] and ratio_more < ratio[2]


def test_edgeworth_critical_value_holds_the_false_alarm_rate_for_skewed_terms():
    # Means of n = 20 exponential variables (skewness 2) are Gamma(20): exact tail
    # known. The corrected z keeps the two-sided rate at or below alpha where
    # the plain normal z more than doubles it.
    n, alpha = 20, 1e-3
    z, _ = _statistics.critical_value(alpha, 2.0, n)
    gamma = scipy.stats.gamma(n, scale=1 / n)
    se = 1 / math.sqrt(n)
    exact = gamma.sf(1 + z * se) + gamma.cdf(1 - z * se)
    z0 = scipy.stats.norm.isf(alpha / 2)
    naive = gamma.sf(1 + z0 * se) + gamma.cdf(1 - z0 * se)
    assert exact <= 1.1 * alpha < 2 * alpha < naive


def test_variance_rel_error_flags_heavy_tails_but_not_normal_data():
    rng = np.random.default_rng(1)
    n = 10**5
    normal = _moments.chunk_moments(np, rng.normal(size=(1, n)), np.ones(n, bool))
    pareto = _moments.chunk_moments(np, rng.pareto(1.5, size=(1, n)), np.ones(n, bool))
    light = _estimate._from_moments("kl", "plain", n, *(f[0] for f in normal))
    heavy = _estimate._from_moments("kl", "plain", n, *(f[0] for f in pareto))
    assert light.trusted and light.variance_rel_error < 0.01
    assert not heavy.trusted and heavy.variance_rel_error > 0.1
    assert "heavy tails" in heavy.reason


def test_bonferroni_and_holm():
    assert montecarlo.bonferroni(1e-6, 10) == pytest.approx(1e-7)
    reject = montecarlo.holm([0.01, 3e-7, 2e-7, 0.9], alpha=1e-6)
    assert reject.tolist() == [False, True, True, False]
    # Holm rejects what Bonferroni (1e-6 / 3 each) would not.
    assert montecarlo.holm([3e-7, 4e-7, 0.5], alpha=1e-6).tolist() == [True, True, False]


def test_detection_probability_at_the_detectable_discrepancy_is_the_power():
    decision = montecarlo.compare(
        "kl", verify.kl(NORMAL_P, NORMAL_Q), NORMAL_P, NORMAL_Q, num_samples=2**16
    )
    power = montecarlo.detection_probability(
        decision.detectable, decision.stderr_bound, decision.critical
    )
    np.testing.assert_allclose(power, 0.99, rtol=1e-9)


# ----------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only(monkeypatch):
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        monkeypatch.setattr("sys.stderr", stream)
        montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**16, chunk_size=2**10)
    assert log.getvalue() == ""
    drawn = terminal.getvalue()
    assert "65.54k/65.54k samples" in drawn and "/s" in drawn and drawn.endswith("\n")


def test_progress_can_be_forced_off_on_a_terminal(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**12, progress=False)
    assert terminal.getvalue() == ""


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_samples": 0}, ValueError, "`num_samples` must be >= 2, got 0"),
        ({"num_samples": -5}, ValueError, "`num_samples` must be >= 2, got -5"),
        ({"num_samples": 1.5}, TypeError, "`num_samples` must be an integer, got 1.5"),
        ({"num_samples": True}, TypeError, "`num_samples` must be an integer"),
        ({"chunk_size": 0}, ValueError, "`chunk_size` must be >= 1, got 0"),
        ({"estimator": "k7"}, ValueError, "`estimator` must be one of"),
        ({"key": 3}, TypeError, "`key` must be a JAX random key, got 3"),
    ],
)
def test_bad_estimate_arguments(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, **kwargs)


def test_bad_quantities_and_distributions():
    with pytest.raises(ValueError, match="`quantity` must be one of"):
        montecarlo.estimate("mutual_information", NORMAL_P, NORMAL_Q)
    with pytest.raises(ValueError, match="`estimator` must be one of"):
        montecarlo.estimate("entropy", NORMAL_P, estimator="k3")
    with pytest.raises(ValueError, match="`q` must be None for entropy"):
        montecarlo.estimate("entropy", NORMAL_P, NORMAL_Q)
    with pytest.raises(TypeError, match="`q` must be a verify distribution"):
        montecarlo.estimate("kl", NORMAL_P, 1.0)
    with pytest.raises(ValueError, match="both have densities or both have mass functions"):
        montecarlo.estimate("kl", NORMAL_P, verify.Bernoulli(probs=0.5))


# ------------------------------------------- every entry point checks P and Q's events
CAT2 = verify.Categorical(probs=[0.5, 0.5])
CAT3 = verify.Categorical(probs=[0.2, 0.3, 0.5])
MVN2 = verify.MultivariateNormal(jnp.zeros(2), scale_tril=jnp.eye(2))
MVN3 = verify.MultivariateNormal(jnp.zeros(3), scale_tril=jnp.eye(3))
EVENT_MISMATCH = r"`p` and `q` must have the same event size"


@pytest.mark.parametrize(("p", "q"), [(CAT2, CAT3), (CAT3, CAT2), (MVN2, MVN3)])
@pytest.mark.parametrize("quantity", ["kl", "cross_entropy"])
def test_every_entry_point_refuses_p_and_q_of_different_event_sizes(p, q, quantity):
    # closed forms, Monte Carlo values and gradients, plans and checks: one message
    calls = [
        lambda: getattr(verify, quantity)(p, q),  # the closed form
        lambda: montecarlo.estimate(quantity, p, q, num_samples=64),
        lambda: montecarlo.compare(quantity, 0.5, p, q, num_samples=64),
        lambda: montecarlo.plan_samples(p, q, quantity, discrepancy=0.1),
        lambda: montecarlo.compare_gradient(quantity, (p, q), p, q, num_samples=64),
        lambda: verify.checks.check(quantity, lambda p, q: 0.5, p, q, num_samples=64),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=EVENT_MISMATCH):
            call()


# --------------------------------------------- bad arguments: a message naming them
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"key": jnp.zeros(3)}, TypeError, "`key` must be a JAX random key"),
        ({"key": jnp.full(2, 1.5)}, TypeError, "`key` must be a JAX random key"),
        ({"key": jax.random.split(jax.random.key(0), 2)}, TypeError, "one key, got 2"),
        ({"key": "seed"}, TypeError, "`key` must be a JAX random key, got 'seed'"),
        ({"num_samples": 2**63}, ValueError, "`num_samples` must be at most 2\\*\\*53"),
        ({"num_samples": 2**62}, ValueError, "`num_samples` must be at most 2\\*\\*53"),
        ({"num_samples": 10**15}, ValueError, "over the budget"),
        ({"num_samples": 10**12}, ValueError, "over the budget"),
        ({"max_seconds": 0}, ValueError, "`max_seconds` must be a number > 0"),
        ({"max_seconds": True}, TypeError, "`max_seconds` must be a number > 0"),
    ],
)
def test_bad_arguments_are_named_with_their_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        montecarlo.compare("kl", 0.5, NORMAL_P, NORMAL_Q, **kwargs)


def test_old_style_uint32_keys_are_accepted():
    key = jax.random.PRNGKey(0)
    assert montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, key=key, num_samples=64).num_samples == 64


@pytest.mark.parametrize(
    ("closed_form", "error", "message"),
    [
        ("abc", TypeError, "`closed_form` must be a real number or array, got 'abc'"),
        (None, TypeError, "`closed_form` must be a real number or array, got None"),
        (1 + 2j, TypeError, r"`closed_form` must be a real number or array, got \(1\+2j\)"),
        ([[0.1], [0.2, 0.3]], TypeError, "`closed_form` must be a real number or array"),
    ],
)
def test_a_non_numeric_closed_form_is_refused(closed_form, error, message):
    with pytest.raises(error, match=message):
        montecarlo.compare("kl", closed_form, NORMAL_P, NORMAL_Q, num_samples=64)


def test_batches_that_do_not_broadcast_are_refused_by_name():
    p, q = verify.Normal(jnp.zeros(3), 1.0), verify.Normal(jnp.zeros(4), 1.0)
    message = r"batch shapes do not broadcast: `p` \(3,\), `q` \(4,\)"
    with pytest.raises(ValueError, match=message):
        montecarlo.estimate("kl", p, q, num_samples=64)
    with pytest.raises(ValueError, match=message):
        montecarlo.compare("kl", 0.0, p, q, num_samples=64)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_shape": (-1,)}, ValueError, r"`batch_shape` must be a tuple of integers >= 0"),
        ({"batch_shape": (2.5,)}, TypeError, r"`batch_shape` must be a tuple of integers >= 0"),
        ({"batch_shape": "ab"}, TypeError, r"`batch_shape` must be a tuple of integers >= 0"),
        ({"num_classes": 0}, ValueError, "`num_classes` must be an integer >= 2, got 0"),
        ({"num_classes": 2.5}, TypeError, "`num_classes` must be an integer >= 2, got 2.5"),
        ({"dim": 0}, ValueError, "`dim` must be an integer >= 1, got 0"),
        ({"key": 0}, TypeError, "`key` must be a JAX random key, got 0"),
    ],
)
def test_random_distribution_refuses_bad_arguments(kwargs, error, message):
    family = verify.MultivariateNormal if "dim" in kwargs else verify.Categorical
    kwargs = {"key": jax.random.key(0), **kwargs}
    with pytest.raises(error, match=message):
        montecarlo.random_distribution(family, **kwargs)


@pytest.mark.parametrize(
    ("p_values", "error", "message"),
    [
        ([float("nan")], ValueError, r"`p_values` must be in \[0, 1\], got nan"),
        ([0.1, 1.5], ValueError, r"`p_values` must be in \[0, 1\], got 1.5"),
        (None, TypeError, "`p_values` must be an array of numbers in \\[0, 1\\], got None"),
        (["a"], TypeError, "`p_values` must be an array of numbers in \\[0, 1\\]"),
    ],
)
def test_holm_refuses_what_is_not_a_p_value(p_values, error, message):
    with pytest.raises(error, match=message):
        montecarlo.holm(p_values)


def test_holm_of_no_p_values_rejects_nothing():
    assert montecarlo.holm([]).tolist() == []


# --------------------------------------------------- budgets, memory and Ctrl-C
@pytest.mark.parametrize("num_samples", [10**12, 10**15, 2**53])
def test_a_run_over_the_budget_is_refused_before_it_starts(num_samples):
    started = time.perf_counter()
    for call in (
        lambda: montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=num_samples),
        lambda: montecarlo.compare("kl", 0.5, NORMAL_P, NORMAL_Q, num_samples=num_samples),
        lambda: verify.check_kl(lambda p, q: verify.kl(p, q), NORMAL_P, NORMAL_Q,
                                num_samples=num_samples),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=r"plans about [\d,]+ s of sampling, over the budget"):
            call()
    assert time.perf_counter() - started < 5


def test_the_gradient_budget_is_checked_before_the_value_run():
    with pytest.raises(ValueError, match="`gradient_samples` = .* over the budget"):
        verify.check_kl(
            lambda p, q: verify.kl(p, q), NORMAL_P, NORMAL_Q, num_samples=2**10,
            gradient_samples=2**50,
        )  # fmt: skip


def test_the_budget_is_an_argument():
    assert _estimate.plan_seconds(NORMAL_P, 2**24) == 1.0
    batch = verify.Normal(jnp.zeros(10**4), 1.0)
    planned = _estimate.plan_seconds(batch, _estimate.default_num_samples(batch), 10**4)
    assert 5 < planned < 20  # a batch of 10^4 takes about 10 planned seconds, not 1
    with pytest.raises(ValueError, match="over the budget of `max_seconds` = 1 s"):
        montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**26, max_seconds=1)


def test_chunks_hold_a_bounded_number_of_elements_whatever_the_event_size():
    assert _engine.default_chunk_size(10**9, 1, 10**6) * 10**6 <= _engine.MAX_CHUNK_ELEMENTS
    assert _engine.default_chunk_size(10**9, 10**3, 10**6) == 1  # at least one sample
    assert _engine.default_chunk_size(10**9, 1, 4) == 2**16  # small events: unchanged


def test_a_categorical_with_a_million_classes_runs_in_bounded_memory(monkeypatch):
    big = 10**6
    p = verify.Categorical(probs=jnp.full(big, 1.0 / big))
    seen = []
    stream = _engine.stream

    def spy(*args, chunk_size, **kwargs):
        seen.append(chunk_size)
        return stream(*args, chunk_size=chunk_size, **kwargs)

    monkeypatch.setattr(_engine, "stream", spy)
    est = montecarlo.estimate("entropy", p, num_samples=16)
    assert seen[0] * big <= _engine.MAX_CHUNK_ELEMENTS
    assert abs(est.value - math.log(big)) < 1e-9  # uniform: every term is log K
    # the default sample count stays near a second of work and within the budget
    assert _estimate.plan_seconds(p, _estimate.default_num_samples(p)) <= 600


_INTERRUPTED_RUN = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background run inherits SIG_IGN
import verify
from verify import montecarlo
p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
est = montecarlo.estimate("kl", p, q, num_samples=2**50, max_seconds=float("inf"), progress=True)
print("interrupted", est.interrupted, est.num_samples, repr(est.value), flush=True)
print(est)
"""


@pytest.mark.slow
def test_ctrl_c_stops_a_long_run_promptly_with_a_partial_result():
    process = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_RUN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen, deadline = b"", time.monotonic() + 300
    while b"samples" not in seen and time.monotonic() < deadline:  # the bar is moving
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            seen += os.read(process.stderr.fileno(), 4096)
    assert b"samples" in seen, seen
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = process.communicate(timeout=120)
    latency = time.monotonic() - sent
    assert process.returncode == 0, err.decode()[-2000:]
    words = out.decode().split()
    assert words[:2] == ["interrupted", "True"], out
    assert 0 < int(words[2]) < 2**50 and math.isfinite(float(words[3]))
    assert "interrupted: a partial result" in out.decode()
    assert latency < 10, latency  # blocks last about 0.25 s; the machine may be busy


def test_an_empty_batch_is_refused_by_name():
    empty = verify.Normal(jnp.zeros(0), 1.0)
    with pytest.raises(ValueError, match=r"must hold at least one distribution, got batch shape"):
        montecarlo.compare("kl", jnp.zeros(0), empty, empty, num_samples=64)
    with pytest.raises(ValueError, match=r"must hold at least one distribution"):
        verify.check_entropy(lambda p: verify.entropy(p), empty)


@pytest.mark.parametrize("gradient", [0.5, (0.5,), "g", (NORMAL_P,)])
def test_compare_gradient_names_a_gradient_of_the_wrong_form(gradient):
    with pytest.raises(TypeError, match="`gradient` must be a tuple of 2 gradient"):
        montecarlo.compare_gradient("kl", gradient, NORMAL_P, NORMAL_Q, num_samples=64)


def _interrupt_at_block(monkeypatch, number):
    """Ctrl-C while waiting for the ``number``-th block of every later run."""
    calls = {"n": 0}
    wait = jax.block_until_ready

    def block_until_ready(x):
        calls["n"] += 1
        if calls["n"] == number:
            raise KeyboardInterrupt
        return wait(x)

    monkeypatch.setattr(jax, "block_until_ready", block_until_ready)


def test_an_interrupted_run_returns_the_samples_done_marked_partial(monkeypatch):
    _interrupt_at_block(monkeypatch, 3)
    est = montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**22, chunk_size=2**10)
    assert est.interrupted and 2 * 2**10 <= est.num_samples < 2**22
    assert est.num_samples % 2**10 == 0 and math.isfinite(est.value)
    assert "interrupted: a partial result" in str(est)


def test_ctrl_c_before_the_first_block_is_done_is_not_swallowed(monkeypatch):
    _interrupt_at_block(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**12)


def test_ctrl_c_during_a_finalizer_is_not_lost(monkeypatch):
    """Python drops a KeyboardInterrupt raised inside a finalizer (``__del__``, a GC
    callback: JAX frees arrays there); the run notes the signal instead, and stops."""

    class Finalised:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)

    calls = {"n": 0}
    wait = jax.block_until_ready

    def block_until_ready(x):
        calls["n"] += 1
        if calls["n"] == 3:
            Finalised()  # dropped at once: Ctrl-C arrives inside its __del__
        return wait(x)

    monkeypatch.setattr(jax, "block_until_ready", block_until_ready)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal
    try:
        est = montecarlo.estimate("kl", NORMAL_P, NORMAL_Q, num_samples=2**22, chunk_size=2**10)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
    assert est.interrupted and 2 * 2**10 <= est.num_samples < 2**22


def test_an_interrupted_check_starts_no_further_sampling(monkeypatch):
    _interrupt_at_block(monkeypatch, 3)
    report = verify.check_kl(
        lambda p, q: verify.kl(p, q), NORMAL_P, NORMAL_Q, num_samples=2**22, gradient_samples=2**22
    )
    assert "interrupted" in report["monte_carlo"].statement
    assert [e.name for e in report.evidence] == [
        "closed_form",
        "symbolic",
        "monte_carlo",
        "gradient_closed_form",
    ]

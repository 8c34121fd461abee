"""Fuzzing the Monte Carlo API's arguments: every call returns or raises a clear error.

Generated arguments to ``estimate``, ``compare``, ``compare_gradient``,
``check_kl``, ``random_distribution`` and ``holm``, valid or not. Each call must
either return its result or raise ``TypeError`` / ``ValueError`` whose message
names an argument in backticks (never an internal error, never a hang: sample
counts that run are small, and larger ones must be refused by the budget before
any work). No statistical assertion is made, so nothing here fails by chance.
"""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify
from verify import montecarlo

DISTRIBUTIONS = {
    "normal": verify.Normal(0.2, 1.5),
    "normal batch 3": verify.Normal(jnp.zeros(3), 1.0),
    "normal batch 4": verify.Normal(jnp.zeros(4), 2.0),
    "bernoulli": verify.Bernoulli(probs=0.3),
    "bernoulli at 0": verify.Bernoulli(probs=0.0),
    "categorical 2": verify.Categorical(probs=[0.5, 0.5]),
    "categorical 3": verify.Categorical(probs=[0.2, 0.3, 0.5]),
    "categorical 3 with a zero": verify.Categorical(probs=[0.0, 0.5, 0.5]),
    "mvn 2": verify.MultivariateNormal(jnp.zeros(2), scale_tril=jnp.eye(2)),
    "mvn 3": verify.MultivariateNormal(jnp.ones(3), scale_tril=2 * jnp.eye(3)),
}
ODD = [None, "x", 1.5, -1, 0, True, [1, 2], {"a": 1}, float("nan"), float("inf"), 1 + 2j]

distributions = st.sampled_from(sorted(DISTRIBUTIONS)).map(DISTRIBUTIONS.get)
anything = st.sampled_from(ODD)
sample_counts = st.one_of(
    st.integers(2, 2**9), st.integers(-3, 1), st.sampled_from([10**12, 2**53, 2**62, 2**63]),
    anything,
)  # fmt: skip
keys = st.one_of(
    st.integers(0, 3).map(jax.random.key),
    st.just(jax.random.PRNGKey(1)),
    st.just(jnp.zeros(3)),
    st.just(jax.random.split(jax.random.key(0), 2)),
    anything,
)
levels = st.one_of(st.floats(1e-9, 0.5), anything)
closed_forms = st.one_of(st.floats(-10, 10), st.just([0.1, 0.2]), anything)
quantities = st.sampled_from(["kl", "entropy", "cross_entropy", "mutual_information", None])


def _names_an_argument(error):
    return "`" in str(error)


def _call(function, *args, **kwargs):
    started = time.perf_counter()
    try:
        function(*args, **kwargs)
    except (TypeError, ValueError, NotImplementedError) as error:
        assert _names_an_argument(error), f"{type(error).__name__}: {error}"
    assert time.perf_counter() - started < 120  # small runs only; the rest is refused


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@pytest.mark.slow
@FUZZ
@given(quantities, closed_forms, distributions, st.none() | distributions, sample_counts, keys,
       levels)  # fmt: skip
def test_compare_answers_or_names_the_bad_argument(quantity, closed, p, q, n, key, alpha):
    _call(montecarlo.compare, quantity, closed, p, q, key=key, num_samples=n, alpha=alpha)


@pytest.mark.slow
@FUZZ
@given(quantities, distributions, st.none() | distributions, sample_counts, keys,
       st.one_of(st.floats(0.01, 1e4), anything))  # fmt: skip
def test_estimate_and_gradients_answer_or_name_the_bad_argument(quantity, p, q, n, key, seconds):
    _call(montecarlo.estimate, quantity, p, q, key=key, num_samples=n, max_seconds=seconds)
    _call(montecarlo.compare_gradient, quantity, (p, q), p, q, key=key, num_samples=n)


@pytest.mark.slow
@FUZZ
@given(distributions, distributions, sample_counts, levels, st.one_of(st.floats(0, 1), anything))
def test_check_kl_answers_or_names_the_bad_argument(p, q, n, alpha, rtol):
    def candidate(p, q):
        return verify.kl(p, q)

    # symbolic=False: the arguments are under test here, not SymPy's reading (test_prove_formula)
    _call(verify.check_kl, candidate, p, q, num_samples=n, gradient_samples=n, alpha=alpha,
          rtol=rtol, symbolic=False)  # fmt: skip


@FUZZ
@given(
    st.sampled_from([verify.Normal, verify.MultivariateNormal, verify.Bernoulli,
                     verify.Categorical, int, None]),
    keys,
    st.one_of(st.lists(st.integers(-1, 3), max_size=2).map(tuple), anything),
    st.one_of(st.integers(-1, 4), anything),
)  # fmt: skip
def test_random_distribution_answers_or_names_the_bad_argument(family, key, shape, size):
    _call(montecarlo.random_distribution, family, key, shape, dim=size, num_classes=size)


@FUZZ
@given(st.one_of(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4), anything),
       levels)  # fmt: skip
def test_holm_answers_or_names_the_bad_argument(p_values, alpha):
    _call(montecarlo.holm, p_values, alpha)


def test_the_fuzzed_values_include_valid_calls():
    # The strategies above reach real runs, not only refusals.
    decision = montecarlo.compare("kl", 0.1, DISTRIBUTIONS["normal"], DISTRIBUTIONS["normal"],
                                  key=jax.random.key(0), num_samples=2**9)  # fmt: skip
    assert decision.verdict in ("agree", "disagree", "inconclusive")
    assert math.isfinite(decision.estimate.value) and np.ndim(decision.verdict) == 0

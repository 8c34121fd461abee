"""Tests of verify.testing: assert_kl and siblings, the fixtures, the hypothesis strategies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import verify
from verify.testing import (
    FormulaAssertionError,
    assert_cross_entropy,
    assert_entropy,
    assert_kl,
    strategies,
)

FAST = dict(num_samples=2**14, gradient_samples=2**12)


def normal_kl(p, q):
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - jnp.log(r)


def normal_kl_slightly_off(p, q):  # 0.2 % off: Monte Carlo misses it, the proof does not
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - 0.998 * jnp.log(r)


def categorical_cross_entropy(p, q):
    return -jnp.sum(p.probs * jnp.log(q.probs), axis=-1)


def bernoulli_entropy_series(p):  # a right series near 1/2: not equal, agrees in float64
    a = p.probs
    x = a - 0.5
    series = jnp.log(2.0) - 2 * x**2 - 4 * x**4 / 3 - 32 * x**6 / 15
    exact = -a * jnp.log(a) - (1 - a) * jnp.log1p(-a)
    return jnp.where(jnp.abs(x) < 1e-3, series, exact)


def test_assert_kl_passes_a_right_formula_with_proof_and_evidence():
    report = assert_kl(normal_kl, verify.Normal, verify.Normal, **FAST)
    names = [e.name for e in report.evidence]
    assert names[:3] == ["symbolic", "closed_form", "monte_carlo"]
    assert report["symbolic"].verdict == "pass" and report.passed


def test_assert_kl_fails_a_formula_monte_carlo_misses():
    with pytest.raises(FormulaAssertionError) as caught:
        assert_kl(normal_kl_slightly_off, verify.Normal, verify.Normal, gradients=False, **FAST)
    report = caught.value.report
    assert report["symbolic"].verdict == "fail"
    assert report["monte_carlo"].verdict == "pass"  # sampling alone would have let it through
    assert "[FAIL] symbolic" in str(caught.value)
    assert isinstance(caught.value, AssertionError)


def test_assert_entropy_and_cross_entropy():
    assert_cross_entropy(categorical_cross_entropy, verify.Categorical, verify.Categorical, **FAST)
    with pytest.raises(FormulaAssertionError, match="symbolic"):
        assert_cross_entropy(
            lambda p, q: categorical_cross_entropy(p, q) * 1.001,
            verify.Categorical,
            verify.Categorical,
            monte_carlo=False,
        )
    report = assert_entropy(bernoulli_entropy_series, verify.Bernoulli, monte_carlo=False)
    assert report["symbolic"].verdict == "inconclusive"  # a series is not proved equal
    with pytest.raises(FormulaAssertionError):  # strict: inconclusive fails too
        assert_entropy(bernoulli_entropy_series, verify.Bernoulli, monte_carlo=False, strict=True)


def test_given_distributions_are_used_as_given():
    p = verify.Normal(jnp.array([0.0, 1.0]), jnp.array([1.0, 2.0]))
    q = verify.Normal(jnp.array([0.5, 1.0]), jnp.array([1.5, 2.0]))
    report = assert_kl(normal_kl, p, q, **FAST)
    assert np.shape(report["closed_form"].figures["value"]) == (2,)


CI_TESTS = """
import jax
import jax.numpy as jnp
import verify
from verify.testing import assert_kl

jax.config.update("jax_enable_x64", True)


def my_kl(p, q):
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - jnp.log(r)


def wrong_kl(p, q):
    return my_kl(p, q) * 1.003


def test_right(verify_key):
    p = verify.random_distribution(verify.Normal, verify_key, (4,))
    q = verify.Normal(0.0, 1.0)
    assert_kl(my_kl, p, q, num_samples=2**14, gradient_samples=2**12)


def test_wrong():
    assert_kl(wrong_kl, verify.Normal, verify.Normal, monte_carlo=False)


def test_streams(verify_rng, verify_seed):
    assert 0 <= verify_seed < 2**32 and verify_rng.uniform() < 1
"""


@pytest.mark.slow
def test_helpers_inside_a_pytest_run(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["verify.testing.fixtures"]\n')
    (tmp_path / "test_ci.py").write_text(textwrap.dedent(CI_TESTS))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_ci.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert "2 passed" in run.stdout and "1 failed" in run.stdout, run.stdout + run.stderr
    assert "FormulaAssertionError" in run.stdout
    assert "[FAIL] symbolic: wrong_kl is not kl(Normal || Normal)" in run.stdout


@settings(max_examples=10, deadline=None)
@given(strategies.pairs(verify.Normal))
def test_strategies_give_valid_pairs(pair):
    p, q = pair
    assert float(verify.kl(p, q)) >= 0


@settings(max_examples=10, deadline=None)
@given(strategies.categoricals(num_classes=4))
def test_registry_shortcuts(p):
    assert p.probs.shape == (4,)
    assert abs(float(jnp.sum(p.probs)) - 1) < 1e-12


@pytest.mark.parametrize(
    "name",
    ["normals", "bernoullis", "categoricals", "multivariate_normals", "gammas", "dirichlets"],
)
def test_every_family_has_a_shortcut(name):
    assert callable(getattr(strategies, name))


def test_unknown_shortcut_is_an_attribute_error():
    with pytest.raises(AttributeError, match="cauchys"):
        strategies.cauchys  # noqa: B018

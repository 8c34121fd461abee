"""Families: densities against SciPy and textbooks, samplers, validation, pytrees."""

import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import sympy as sp
from helpers import FAMILIES, LITERATURE, random_tril

import verify
from verify.symbolic import is_identically_zero


# ----------------------------------------------------------- densities
def test_normal_log_prob_matches_scipy():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(
        verify.Normal(0.3, 1.7).log_prob(x), scipy.stats.norm(0.3, 1.7).logpdf(x), rtol=1e-14
    )


def test_mvn_log_prob_matches_scipy():
    rng = np.random.default_rng(0)
    tril = random_tril(rng, 4)
    loc = rng.normal(size=4)
    x = rng.normal(size=(6, 4))
    expected = scipy.stats.multivariate_normal(loc, tril @ tril.T).logpdf(x)
    np.testing.assert_allclose(
        verify.MultivariateNormal(loc, scale_tril=tril).log_prob(x), expected, rtol=1e-12
    )


def test_discrete_log_probs_match_scipy():
    np.testing.assert_allclose(
        verify.Bernoulli(probs=0.3).log_prob(np.array([0.0, 1.0])),
        scipy.stats.bernoulli(0.3).logpmf([0, 1]),
        rtol=1e-15,
    )
    probs = np.array([0.1, 0.2, 0.7])
    np.testing.assert_allclose(
        verify.Categorical(probs=probs).log_prob(np.arange(3)), np.log(probs), rtol=1e-15
    )


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_symbolic_mvn_density_is_the_textbook_density(dim):
    """The Cholesky-based log-density is the textbook one with S = L L^T.

    Textbook: (2 pi)^(-d/2) det(S)^(-1/2) exp(-(x - m)^T S^-1 (x - m) / 2).
    """
    family = verify.MultivariateNormal.symbolic("p", dim=dim)
    loc, tril = family.params
    x = family.variable
    sigma = tril * tril.T
    textbook = (
        -sp.Rational(dim, 2) * sp.log(2 * sp.pi)
        - sp.log(sigma.det()) / 2
        - ((x - loc).T * sigma.inv() * (x - loc))[0, 0] / 2
    )
    assert is_identically_zero(family.log_density() - textbook)


def test_symbolic_densities_normalise():
    normal = verify.Normal.symbolic("p")
    assert sp.integrate(sp.exp(normal.log_density()), (normal.variable, -sp.oo, sp.oo)) == 1
    bern = verify.Bernoulli.symbolic("p")
    assert sp.simplify(sum(sp.exp(bern.log_density(x)) for x in bern.support)) == 1


# ------------------------------------------------------------- samplers
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sample_shapes(family):
    rng = np.random.default_rng(1)
    dist = FAMILIES[family][2](rng)
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), dist)
    samples = batch.sample(jax.random.key(0), (5, 3))
    assert samples.shape == (5, 3, 2) + batch.event_shape


@pytest.mark.parametrize("family", sorted(LITERATURE))
def test_sample_means_match_the_distribution(family):
    """z-test of each coordinate's sample mean; false-alarm rate <= 1e-6 per family (Bonferroni)."""
    rng = np.random.default_rng(2)
    dist = LITERATURE[family][2](rng)
    n = 200_000
    samples = np.asarray(dist.sample(jax.random.key(3), (n,)), np.float64)
    if isinstance(dist, verify.Categorical):
        samples = np.eye(dist.num_classes)[samples.astype(int)]
        mean = np.asarray(dist.probs)
    elif isinstance(dist, verify.Bernoulli):
        mean = np.asarray(dist.probs)
    else:
        mean = np.asarray(dist.loc)
    samples = samples.reshape(n, -1)
    z = (samples.mean(0) - np.ravel(mean)) / (samples.std(0, ddof=1) / math.sqrt(n))
    threshold = scipy.stats.norm.isf(1e-6 / (2 * samples.shape[1]))
    assert np.all(np.abs(z) < threshold), z


def test_mvn_sample_covariance():
    rng = np.random.default_rng(4)
    tril = random_tril(rng, 3)
    samples = np.asarray(
        verify.MultivariateNormal(np.zeros(3), scale_tril=tril).sample(
            jax.random.key(5), (400_000,)
        )
    )
    # standard error of a covariance entry is about sqrt(2/n) * scale^2 ~ 0.005; 8 sigma
    np.testing.assert_allclose(
        np.cov(samples.T),
        tril @ tril.T,
        atol=8 * math.sqrt(2 / 400_000) * np.max(np.abs(tril @ tril.T)),
    )


# ------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: verify.Normal(0.0, 0.0), r"`scale` must be > 0, got 0.0"),
        (lambda: verify.Normal(0.0, -1.0), r"`scale` must be > 0, got -1.0"),
        (lambda: verify.Normal(np.nan, 1.0), r"`loc` must be finite, got nan"),
        (lambda: verify.Normal(0.0, np.inf), r"`scale` must be finite, got inf"),
        (
            lambda: verify.Normal([0.0, 1.0], [1.0, -2.0]),
            r"`scale` must be > 0, got -2.0 at index \(1,\)",
        ),
        (
            lambda: verify.Normal(np.zeros(3), np.ones(4)),
            r"batch shapes do not broadcast: `loc` \(3,\), `scale` \(4,\)",
        ),
        (lambda: verify.Bernoulli(probs=1.5), r"`probs` must be in \[0, 1\], got 1.5"),
        (lambda: verify.Bernoulli(probs=-0.1), r"`probs` must be in \[0, 1\], got -0.1"),
        (
            lambda: verify.Bernoulli(logits=np.nan),
            r"`logits` must be a number \(not NaN\), got nan",
        ),
        (
            lambda: verify.Bernoulli(probs=0.5, logits=0.0),
            r"exactly one of `probs` or `logits`, got both",
        ),
        (lambda: verify.Bernoulli(), r"exactly one of `probs` or `logits`, got neither"),
        (
            lambda: verify.Categorical(probs=[0.5, 0.6]),
            r"`probs` must sum to 1 .*\|sum - 1\| <= 1e-06.*got sum 1.1",
        ),
        (lambda: verify.Categorical(probs=[1.2, -0.2]), r"`probs` must be in \[0, 1\], got 1.2"),
        (
            lambda: verify.Categorical(logits=[0.0, np.nan]),
            r"`logits` must be finite or -inf \(a masked class\), got nan at index \(1,\)",
        ),
        (
            lambda: verify.Categorical(logits=[0.0, np.inf]),
            r"`logits` must be finite or -inf \(a masked class\), got inf at index \(1,\)",
        ),
        (
            lambda: verify.Categorical(logits=[[0.0, 1.0], [-np.inf, -np.inf]]),
            r"`logits` must be a row with at least one logit > -inf, got -inf at index \(1, 0\)",
        ),
        (lambda: verify.Categorical(probs=0.5), r"last axis of K >= 1 classes"),
        (lambda: verify.Categorical(), r"got neither"),
        (
            lambda: verify.MultivariateNormal(
                [0.0, 0.0], covariance_matrix=[[1.0, 0.5], [0.4, 1.0]]
            ),
            r"must be symmetric .*C\[0, 1\] = 0.5 but C\[1, 0\] = 0.4",
        ),
        (
            lambda: verify.MultivariateNormal(
                [0.0, 0.0], covariance_matrix=[[1.0, 2.0], [2.0, 1.0]]
            ),
            r"positive definite.*smallest eigenvalue -1.0",
        ),
        (
            lambda: verify.MultivariateNormal([0.0, 0.0], covariance_matrix=np.eye(3)),
            r"shape \(\.\.\., 2, 2\).*got shape \(3, 3\)",
        ),
        (
            lambda: verify.MultivariateNormal([0.0, 0.0], scale_tril=[[1.0, 0.1], [0.0, 1.0]]),
            r"lower triangular, got 0.1 above the diagonal",
        ),
        (
            lambda: verify.MultivariateNormal([0.0, 0.0], scale_tril=[[1.0, 0.0], [0.3, -1.0]]),
            r"diagonal of `scale_tril`. must be > 0, got -1.0",
        ),
        (
            lambda: verify.MultivariateNormal([0.0, np.inf], scale_tril=np.eye(2)),
            r"`loc` must be finite",
        ),
        (
            lambda: verify.MultivariateNormal(0.0, scale_tril=np.eye(2)),
            r"`loc` must have shape \(\.\.\., d\)",
        ),
        (
            lambda: verify.MultivariateNormal([0.0], covariance_matrix=[[1.0]], scale_tril=[[1.0]]),
            r"got both",
        ),
    ],
)
def test_bad_parameters_get_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_non_numeric_parameters():
    with pytest.raises(TypeError, match="`loc` must be an array of numbers"):
        verify.Normal("zero", 1.0)


def test_traced_parameters_are_not_checked():
    """Under jit a bad value cannot be inspected: it flows through (documented), yielding nan."""
    value = jax.jit(lambda s: verify.entropy(verify.Normal(0.0, s)))(-1.0)
    assert math.isnan(float(value))


def test_validation_can_be_turned_off():
    assert verify.Normal(0.0, -1.0, validate_args=False).scale == -1.0


# ---------------------------------------------------------------- pytrees
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_pytree_round_trip(family):
    dist = FAMILIES[family][2](np.random.default_rng(6))
    leaves, tree = jax.tree_util.tree_flatten(dist)
    rebuilt = jax.tree_util.tree_unflatten(tree, leaves)
    assert type(rebuilt) is type(dist)
    for a, b in zip(dist.canonical(), rebuilt.canonical()):
        np.testing.assert_array_equal(a, b)


def test_distributions_are_immutable():
    dist = verify.Normal(0.0, 1.0)
    with pytest.raises(AttributeError, match="immutable"):
        dist.loc = 3.0


def test_repr_shows_parameters():
    assert repr(verify.Bernoulli(logits=0.5)) == "Bernoulli(logits=0.5)"


def test_methods_delegate_to_the_formulas():
    p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
    assert float(p.kl_divergence(q)) == float(verify.kl(p, q))
    assert float(p.entropy(base="bits")) == float(verify.entropy(p, base="bits"))
    assert float(p.cross_entropy(q)) == float(verify.cross_entropy(p, q))


# ----------------------------------------------------------------- import
def test_import_does_not_touch_global_x64_nor_import_sympy():
    code = (
        "import sys, jax; import verify; "
        "p = verify.Normal(0.0, 1.0); v = verify.kl(p, verify.Normal(1.0, 2.0)); "
        "print(jax.config.jax_enable_x64, 'sympy' in sys.modules, v.dtype)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "float32"]


# ------------------------------------------------ construction mistakes (issue 10)
@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: verify.MultivariateNormal(np.zeros(0), covariance_matrix=np.zeros((0, 0))),
            ValueError,
            r"`loc` must have shape \(\.\.\., d\) with dimension d >= 1, got shape \(0,\)",
        ),
        (lambda: verify.Normal(None, 1), TypeError, r"`loc` must be an array of numbers, got None"),
        (
            lambda: verify.Normal([[0.0], [1.0, 2.0]], 1.0),
            TypeError,
            r"`loc` must be an array of numbers \(nested lists of equal lengths\), got \[\[0.0\]",
        ),
        (
            lambda: verify.Normal(10**400, 1),
            ValueError,
            r"`loc` must be within the range of float64 .*got 1.000000e\+400",
        ),
        (
            lambda: verify.Normal(np.float32(0.0), 1e308),
            ValueError,
            r"`scale` = 1e\+308 overflows float32 \(largest finite value 3.403e\+38\)",
        ),
        (
            lambda: verify.Normal(np.float32(0.0), 1e-50),
            ValueError,
            r"`scale` = 1e-50 underflows to 0 in float32 \(smallest positive value 1.401e-45\)",
        ),
        (
            lambda: verify.Normal(np.zeros(2, np.float32), -1e39),
            ValueError,
            r"`scale` = -1e\+39 overflows float32",
        ),
        (
            lambda: verify.Normal(0.0, 1.0).sample(jax.random.key(0), (-1,)),
            ValueError,
            r"`sample_shape` must be a tuple of integers >= 0, got \(-1,\)",
        ),
        (
            lambda: verify.Bernoulli(probs=0.3).sample(jax.random.key(0), (-1,)),
            ValueError,
            r"`sample_shape` must be a tuple of integers >= 0, got \(-1,\)",
        ),
        (
            lambda: verify.Categorical(logits=np.zeros(3)).sample(jax.random.key(0), (3, -2)),
            ValueError,
            r"`sample_shape` must be a tuple of integers >= 0, got \(3, -2\)",
        ),
        (
            lambda: verify.MultivariateNormal(np.zeros(3), scale_tril=np.eye(3)).sample(
                jax.random.key(0), (2.5,)
            ),
            ValueError,
            r"`sample_shape` must be a tuple of integers >= 0, got \(2.5,\)",
        ),
        (
            lambda: verify.MultivariateNormal(np.zeros(3), scale_tril=np.eye(3)).log_prob(
                np.zeros(2)
            ),
            ValueError,
            r"`value` must have shape \(\.\.\., 3\) to match the dimension d = 3, got shape \(2,\)",
        ),
    ],
)
def test_construction_mistakes_get_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


HALF_PRECISION = {
    "normal": lambda dtype: verify.Normal(jnp.asarray(0.5, dtype), jnp.asarray(2.0, dtype)),
    "bernoulli": lambda dtype: verify.Bernoulli(probs=jnp.asarray(0.3, dtype)),
    "categorical": lambda dtype: verify.Categorical(probs=jnp.asarray([0.25, 0.75], dtype)),
    "multivariate_normal": lambda dtype: verify.MultivariateNormal(
        jnp.zeros(2, dtype), covariance_matrix=jnp.asarray([[2.0, 0.5], [0.5, 1.0]], dtype)
    ),
}


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
@pytest.mark.parametrize("family", sorted(HALF_PRECISION))
def test_half_precision_parameters_are_checked_and_computed(family, dtype):
    """float16 and bfloat16 parameters validate like any other float (numpy said 'not inexact')."""
    half = HALF_PRECISION[family](dtype)
    full = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64), half)
    value = verify.entropy(half)
    assert value.dtype == dtype
    np.testing.assert_allclose(float(value), float(verify.entropy(full)), rtol=0.02, atol=0.02)

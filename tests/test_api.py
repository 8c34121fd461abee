"""verify.kl / entropy / cross_entropy: values, identities, edge semantics, JAX transforms."""

import math

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from helpers import FAMILIES, random_tril

import verify

PAIRS = sorted(FAMILIES)


def _draw(family, seed, n=2):
    rng = np.random.default_rng(seed)
    return [FAMILIES[family][2](rng) for _ in range(n)]


# ---------------------------------------------------------------- identities
@pytest.mark.parametrize("family", PAIRS)
def test_kl_is_nonnegative_on_random_points(family):
    for seed in range(30):
        p, q = _draw(family, seed)
        assert float(verify.kl(p, q)) >= 0


@pytest.mark.parametrize("family", PAIRS)
def test_kl_of_distribution_with_itself_is_exactly_zero(family):
    for seed in range(10):
        (p,) = _draw(family, seed, 1)
        assert float(verify.kl(p, p)) == 0.0


@pytest.mark.parametrize("family", PAIRS)
def test_kl_is_cross_entropy_minus_entropy(family):
    for seed in range(10):
        p, q = _draw(family, seed)
        difference = verify.cross_entropy(p, q) - verify.entropy(p)
        np.testing.assert_allclose(
            float(verify.kl(p, q)), float(difference), rtol=1e-12, atol=1e-13
        )


@pytest.mark.parametrize("family", PAIRS)
@pytest.mark.parametrize(
    "base, log_base",
    [
        ("bits", math.log(2)),
        (2, math.log(2)),
        ("hartleys", math.log(10)),
        (10, math.log(10)),
        (3.5, math.log(3.5)),
        (math.e, 1.0),
        ("nats", 1.0),
    ],
)
def test_units_divide_by_log_of_the_base(family, base, log_base):
    p, q = _draw(family, 3)
    for quantity, args in (("kl", (p, q)), ("entropy", (p,)), ("cross_entropy", (p, q))):
        function = getattr(verify, quantity)
        nats = float(function(*args))
        np.testing.assert_allclose(float(function(*args, base=base)), nats / log_base, rtol=1e-15)


def test_entropy_of_fair_coin_is_one_bit_exactly():
    assert float(verify.entropy(verify.Bernoulli(probs=0.5), base="bits")) == 1.0


# ------------------------------------------------------------ edge semantics
def test_categorical_zero_in_q_where_p_is_positive_is_infinite():
    p = verify.Categorical(probs=[0.5, 0.5, 0.0])
    q = verify.Categorical(probs=[1.0, 0.0, 0.0])
    assert float(verify.kl(p, q)) == math.inf
    assert float(verify.cross_entropy(p, q)) == math.inf


def test_categorical_classes_with_zero_probability_contribute_nothing():
    p = verify.Categorical(probs=[0.5, 0.5, 0.0])
    q_zero = verify.Categorical(probs=[0.25, 0.75, 0.0])  # P = Q = 0 in class 2
    q_pos = verify.Categorical(probs=[0.25, 0.25, 0.5])
    expected_zero = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    expected_pos = 0.5 * math.log(2) + 0.5 * math.log(2)
    np.testing.assert_allclose(float(verify.kl(p, q_zero)), expected_zero, rtol=1e-15)
    np.testing.assert_allclose(float(verify.kl(p, q_pos)), expected_pos, rtol=1e-15)
    np.testing.assert_allclose(float(verify.entropy(p)), math.log(2), rtol=1e-15)


@pytest.mark.parametrize(
    "p, q, expected",
    [
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 0.0),
        (0.0, 0.5, math.log(2)),
        (1.0, 0.5, math.log(2)),
        (0.5, 0.0, math.inf),
        (0.5, 1.0, math.inf),
        (0.0, 1.0, math.inf),
        (1.0, 0.25, math.log(4)),
    ],
)
def test_bernoulli_probabilities_zero_and_one(p, q, expected):
    value = float(verify.kl(verify.Bernoulli(probs=p), verify.Bernoulli(probs=q)))
    assert (
        value == pytest.approx(expected, rel=1e-15)
        if math.isfinite(expected)
        else value == expected
    )


def test_bernoulli_entropy_at_the_ends_is_zero():
    for p in (0.0, 1.0):
        assert float(verify.entropy(verify.Bernoulli(probs=p))) == 0.0


def test_logits_and_probs_agree():
    logits = np.array([0.3, -1.2, 2.0])
    probs = np.exp(logits) / np.exp(logits).sum()
    a = verify.Categorical(logits=logits)
    b = verify.Categorical(probs=probs)
    q = verify.Categorical(probs=[0.2, 0.3, 0.5])
    np.testing.assert_allclose(float(verify.kl(a, q)), float(verify.kl(b, q)), rtol=1e-14)
    bern = verify.Bernoulli(logits=0.7)
    np.testing.assert_allclose(
        float(verify.entropy(bern)),
        float(verify.entropy(verify.Bernoulli(probs=1 / (1 + math.exp(-0.7))))),
        rtol=1e-14,
    )


# --------------------------------------------------------------- batches
def test_batches_broadcast():
    p = verify.Normal(jnp.zeros((3, 1)), 1.0)
    q = verify.Normal(jnp.arange(4.0), 2.0)
    values = verify.kl(p, q)
    assert values.shape == (3, 4)
    np.testing.assert_allclose(
        values[1, 2], float(verify.kl(verify.Normal(0.0, 1.0), verify.Normal(2.0, 2.0))), rtol=1e-15
    )


def test_mvn_batches_broadcast_against_a_single_distribution():
    rng = np.random.default_rng(4)
    locs = rng.normal(size=(5, 3))
    p = verify.MultivariateNormal(locs, scale_tril=random_tril(rng, 3))
    q = verify.MultivariateNormal(np.zeros(3), scale_tril=random_tril(rng, 3))
    values = verify.kl(p, q)
    assert values.shape == (5,)
    single = verify.MultivariateNormal(locs[2], scale_tril=p.scale_tril)
    np.testing.assert_allclose(values[2], float(verify.kl(single, q)), rtol=1e-14)


def test_categorical_batch_over_leading_axes():
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(6), size=(2, 3))
    p = verify.Categorical(probs=probs)
    q = verify.Categorical(probs=probs[0, 0])
    assert verify.kl(p, q).shape == (2, 3)
    assert float(verify.kl(p, q)[0, 0]) == 0.0


# -------------------------------------------------------- JAX transforms
@pytest.mark.parametrize("family", PAIRS)
@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
def test_jit_matches_eager_and_does_not_retrace(family, quantity):
    function = getattr(verify, quantity)
    n = 1 if quantity == "entropy" else 2
    traces = []

    def traced(*dists):
        traces.append(1)
        return function(*dists)

    jitted = jax.jit(traced)
    for seed in (0, 1):
        dists = _draw(family, seed, n)
        # XLA may fuse differently from eager: allow a few ulps of the O(1) intermediate terms.
        np.testing.assert_allclose(
            float(jitted(*dists)), float(function(*dists)), rtol=1e-14, atol=1e-15
        )
    assert len(traces) == 1


@pytest.mark.parametrize("family", PAIRS)
def test_vmap_over_a_stack_of_distributions(family):
    dists = _draw(family, 7, 4)
    ps = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *dists[:2])
    qs = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *dists[2:])
    values = jax.vmap(verify.kl)(ps, qs)
    np.testing.assert_allclose(
        values,
        [float(verify.kl(dists[0], dists[2])), float(verify.kl(dists[1], dists[3]))],
        rtol=1e-14,
    )


# check_grads compiles second-order derivatives: 20 to 50 s for these families, which is slow;
# their gradients are also checked in the default run: against SymPy's in test_derive (the
# Beta KL's against mpmath in test_family_beta).
HEAVY_GRADIENTS = {"beta", "continuousbernoulli", "dirichlet", "gamma", "multivariate_normal"}


@pytest.mark.parametrize(
    "family",
    [pytest.param(f, marks=[pytest.mark.slow] if f in HEAVY_GRADIENTS else []) for f in PAIRS],
)
def test_grad_passes_jax_numerical_check(family):
    """jax.test_util.check_grads: reverse and forward mode against finite differences."""
    p, q = _draw(family, 8)
    # Parameters that are no free coordinates (a Binomial's integer total_count) stay fixed.
    fixed = [
        i
        for i, field in enumerate(p._fields[: len(p.canonical())])
        if p._free_mask(field) is not None and not np.any(p._free_mask(field))
    ]

    def free(dist):
        return tuple(x for i, x in enumerate(dist.canonical()) if i not in fixed)

    def full(dist, values):
        values = iter(values)
        return tuple(x if i in fixed else next(values) for i, x in enumerate(dist.canonical()))

    def kl_of(params):
        return verify.kl(_like(p, full(p, params[0])), _like(q, full(q, params[1])))

    params = (free(p), free(q))
    jax.test_util.check_grads(kl_of, (params,), order=2, modes=("fwd", "rev"), eps=1e-6)


def _like(dist, canonical):
    """Same family, these parameters; unvalidated, as finite differences leave the simplex."""
    if isinstance(dist, verify.Normal):
        return verify.Normal(*canonical, validate_args=False)
    if isinstance(dist, verify.MultivariateNormal):
        tril = jnp.tril(canonical[1])
        return verify.MultivariateNormal(canonical[0], scale_tril=tril, validate_args=False)
    if isinstance(dist, (verify.Bernoulli, verify.Categorical)):
        return type(dist)(probs=canonical[0], validate_args=False)
    return type(dist).from_params(*canonical)


def test_grad_through_constructors_with_logits_and_covariance():
    def loss(logits, cov):
        cat = verify.kl(
            verify.Categorical(logits=logits), verify.Categorical(probs=[0.2, 0.3, 0.5])
        )
        mvn = verify.kl(
            verify.MultivariateNormal(jnp.zeros(2), covariance_matrix=cov),
            verify.MultivariateNormal(jnp.ones(2), covariance_matrix=jnp.eye(2)),
        )
        return cat + mvn

    grads = jax.grad(loss, argnums=(0, 1))(
        jnp.array([0.1, 0.2, -0.3]), jnp.array([[2.0, 0.3], [0.3, 1.0]])
    )
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    # d/dSigma of KL(N(0,S)||N(1,I)) = (I - S^-1)/2 for symmetric perturbations
    np.testing.assert_allclose(
        grads[1] + grads[1].T,
        (np.eye(2) - np.linalg.inv([[2.0, 0.3], [0.3, 1.0]])),
        rtol=1e-10,
        atol=1e-12,
    )


# ------------------------------------------------------------ dtypes
@pytest.mark.parametrize("family", PAIRS)
def test_float32_in_float32_out(family):
    p, q = _draw(family, 9)
    p32, q32 = (jax.tree_util.tree_map(lambda x: x.astype(jnp.float32), d) for d in (p, q))
    for value in (
        verify.kl(p32, q32),
        verify.entropy(p32, base="bits"),
        verify.cross_entropy(p32, q32),
    ):
        assert value.dtype == jnp.float32
    np.testing.assert_allclose(
        float(verify.kl(p32, q32)), float(verify.kl(p, q)), rtol=2e-5, atol=1e-6
    )


def test_python_scalars_do_not_promote_float32():
    p = verify.Normal(np.float32(0.0), 1.0)
    assert p.dtype == jnp.float32
    assert verify.kl(p, verify.Normal(np.float32(1.0), np.float32(2.0))).dtype == jnp.float32


# ------------------------------------------------------------ errors
def test_pair_without_closed_form_names_both():
    with pytest.raises(NotImplementedError, match=r"`p` \(Normal\) and `q` \(Bernoulli\)"):
        verify.kl(verify.Normal(0.0, 1.0), verify.Bernoulli(probs=0.5))


def test_different_number_of_classes_is_an_error():
    with pytest.raises(ValueError, match=r"same event size.*\(3,\).*\(4,\)"):
        verify.kl(verify.Categorical(probs=[0.2, 0.3, 0.5]), verify.Categorical(probs=[0.25] * 4))


def test_different_dimension_is_an_error():
    with pytest.raises(ValueError, match="same event size"):
        verify.kl(
            verify.MultivariateNormal(np.zeros(2), scale_tril=np.eye(2)),
            verify.MultivariateNormal(np.zeros(3), scale_tril=np.eye(3)),
        )


def test_batch_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"batch shapes do not broadcast.*\(3,\).*\(4,\)"):
        verify.kl(verify.Normal(np.zeros(3), 1.0), verify.Normal(np.zeros(4), 1.0))


@pytest.mark.parametrize("base", [1, 0, -2, "furlongs", math.inf, math.nan, 1.0])
def test_bad_base(base):
    with pytest.raises(ValueError, match="`base`"):
        verify.entropy(verify.Normal(0.0, 1.0), base=base)


def test_base_of_wrong_type():
    with pytest.raises(TypeError, match="`base`"):
        verify.entropy(verify.Normal(0.0, 1.0), base=[2])


def test_non_distribution_argument():
    with pytest.raises(TypeError, match="`q` must be a verify distribution"):
        verify.kl(verify.Normal(0.0, 1.0), 3.0)


# ------------------------------------------------------------------ shapes
SHAPE_CASES = {
    "Normal loc": lambda: verify.Normal(jnp.arange(3.0), 1.0),
    "Normal scale": lambda: verify.Normal(0.0, jnp.arange(1.0, 4.0)),
    "MVN loc": lambda: verify.MultivariateNormal(jnp.zeros((3, 2)), scale_tril=jnp.eye(2)),
    "MVN scale_tril": lambda: verify.MultivariateNormal(
        jnp.zeros(2), scale_tril=jnp.broadcast_to(jnp.eye(2), (3, 2, 2))
    ),
}


@pytest.mark.parametrize("name", sorted(SHAPE_CASES))
@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
def test_shape_is_the_batch_shape_of_every_parameter(name, quantity):
    """Forms that ignore a parameter (the entropy ignores loc) still answer per batch member."""
    p = SHAPE_CASES[name]()
    args = (p,) if quantity == "entropy" else (p, p)
    assert p.batch_shape == (3,)
    assert getattr(verify, quantity)(*args).shape == (3,)
    assert jax.jit(getattr(verify, quantity))(*args).shape == (3,)


@pytest.mark.parametrize("quantity", ["kl", "entropy"])
def test_batch_shape_mismatch_under_jit_is_the_documented_error(quantity):
    def f(loc, scale):
        p = verify.Normal(loc, scale)
        return verify.kl(p, verify.Normal(0.0, 1.0)) if quantity == "kl" else verify.entropy(p)

    with pytest.raises(ValueError, match=r"batch shapes do not broadcast: `loc` \(3,\), `scale`"):
        jax.jit(f)(jnp.zeros(3), jnp.ones(4))


def test_eager_multivariate_normal_reuses_compiled_code():
    """Issue 10 item 3: eager kl on MVNs compiled its solve loops again at every call."""
    import jax.monitoring

    events = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, *args, **kwargs: events.append(name)
    )
    p = verify.MultivariateNormal(jnp.zeros(2), scale_tril=jnp.eye(2))
    q = verify.MultivariateNormal(jnp.ones(2), scale_tril=2 * jnp.eye(2))
    for function in (verify.kl, verify.cross_entropy):
        function(p, q)
        before = len(events)
        function(q, p)
        compiles = [e for e in events[before:] if "compile" in e]
        assert not compiles, compiles


def test_huge_integer_base_is_a_valid_unit():
    p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)
    np.testing.assert_allclose(
        float(verify.kl(p, q, base=10**400)), 0.5 / (400 * math.log(10)), rtol=1e-15
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
    "quantity, dists",
    [
        ("entropy", lambda t: (verify.Bernoulli(probs=t(1.0)),)),
        ("entropy", lambda t: (verify.Bernoulli(probs=t(0.0)),)),
        ("entropy", lambda t: (verify.Categorical(probs=t([0.0, 1.0, 0.0])),)),
        ("entropy", lambda t: (verify.Categorical(logits=t([-jnp.inf, 0.0])),)),
        ("cross_entropy", lambda t: (verify.Bernoulli(probs=t(1.0)),) * 2),
        ("cross_entropy", lambda t: (verify.Categorical(probs=t([1.0, 0.0])),) * 2),
        ("kl", lambda t: (verify.Categorical(probs=t([1.0, 0.0])),) * 2),
    ],
)
def test_a_zero_result_is_positive_zero(quantity, dists, dtype):
    """H, H(P, Q) and KL are >= 0: a zero is +0.0, as users and printers expect."""
    value = getattr(verify, quantity)(*dists(lambda x: jnp.asarray(x, dtype)))
    assert float(value) == 0.0 and not np.signbit(value)


@pytest.mark.parametrize("quantity", ["kl", "entropy", "cross_entropy"])
@pytest.mark.parametrize("family", ["normal", "multivariate_normal"])
def test_nan_parameters_under_jit_give_nan(family, quantity):
    """The exact rescaling must not turn an unchecked nan into a number (or into inf)."""

    def make(loc, scale):
        if family == "normal":
            return verify.Normal(loc, scale)
        return verify.MultivariateNormal(jnp.full(2, loc), scale_tril=scale * jnp.eye(2))

    def f(loc, scale):
        p, q = make(loc, scale), make(0.0, 1.0)
        return getattr(verify, quantity)(*((p,) if quantity == "entropy" else (p, q)))

    assert np.isnan(jax.jit(f)(0.0, np.nan))
    if quantity != "entropy":
        assert np.isnan(jax.jit(f)(np.nan, 1.0))


def test_nan_from_a_form_at_concrete_numbers_is_an_error_not_a_result(isolated_registry):
    """A form returns NaN only where its quantity has no closed form: that is said."""

    class Partial(verify.Normal):
        pass

    @verify.register_kl(Partial, Partial)
    def kl(xp, loc_p, scale_p, loc_q, scale_q):
        exact = verify.formulas.normal.kl(xp, loc_p, scale_p, loc_q, scale_q)
        return xp.where(loc_p > 1, float("nan"), exact)

    p, q = Partial(jnp.array([0.0, 2.0]), 1.0), Partial(0.0, 1.0)
    with pytest.raises(NotImplementedError, match=r"no closed form at batch index \(1,\)"):
        verify.kl(p, q)
    assert float(verify.kl(Partial(0.0, 1.0), q)) == 0.0
    assert bool(jnp.isnan(jax.jit(verify.kl)(p, q)[1]))  # traced: not checked, documented

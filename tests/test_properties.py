"""Property-based tests: every family and quantity, float32 and float64, the whole finite range.

Hypothesis draws valid parameters from subnormal to near the largest float and
checks what holds for every valid input:

* the value is finite where the exact one is (``inf`` only where the exact value
  exceeds the dtype's largest float), and within the accuracy target against
  mpmath at 50 digits: relative error <= 1e-13 in float64, <= 1e-5 in float32;
* KL >= 0, and KL(P || P) = 0 exactly;
* KL = H(P, Q) - H(P), within the rounding of the larger of the two;
* the result's shape is the broadcast batch shape of every parameter.

Normal and multivariate normal parameters span the whole finite range,
subnormals included; Bernoulli and Categorical probabilities stop at the
smallest normal number (subnormal ones are refused with a clear error, below).

Examples are derandomised, so a run is reproducible and a failure is found again.
The default profile draws ``EXAMPLES`` (25) examples per test; the tests marked
``slow`` repeat the value properties with ``SLOW_EXAMPLES`` (400).
"""

import math

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from test_accuracy import bernoulli_ref, categorical_ref, mvn_ref, normal_ref

import verify

mpmath.mp.dps = 50
EXAMPLES, SLOW_EXAMPLES, SHAPE_EXAMPLES = 25, 400, 25
TOLERANCE = {np.float64: 1e-13, np.float32: 1e-5}
DTYPES = [np.float32, np.float64]
QUANTITIES = ["kl", "entropy", "cross_entropy"]


def _settings(examples):
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[hypothesis.HealthCheck.too_slow],
    )


# ------------------------------------------------------------------ strategies
def _reals(dtype, **bounds):
    return st.floats(
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=True,
        width=np.finfo(dtype).bits,
        **bounds,
    )


def _positive(dtype):
    return _reals(dtype, min_value=float(np.finfo(dtype).smallest_subnormal))


def _probability(dtype):
    # Subnormal probabilities are refused: see test_discrete_subnormal_probabilities_are_refused.
    return st.floats(0.0, 1.0, allow_subnormal=False, width=np.finfo(dtype).bits)


@st.composite
def _normal(draw, dtype):
    return (np.asarray(draw(_reals(dtype)), dtype), np.asarray(draw(_positive(dtype)), dtype))


@st.composite
def _mvn(draw, dtype, dim):
    """A factor ``scale * (unit lower-triangular pattern)``, ``scale`` anywhere in the range."""
    scale = draw(_positive(dtype))
    diagonal = [draw(st.floats(0.5, 2.0)) for _ in range(dim)]
    below = [draw(st.floats(-1.0, 1.0)) for _ in range(dim * (dim - 1) // 2)]
    pattern = np.diag(diagonal)
    pattern[np.tril_indices(dim, -1)] = below
    with np.errstate(over="ignore", under="ignore"):
        tril = np.asarray(np.asarray(pattern, np.float64) * scale, dtype)
        offsets = np.asarray([draw(st.floats(-4.0, 4.0)) for _ in range(dim)])
        loc = np.asarray(offsets * scale, dtype)
    # Below the normal range an entry loses digits to the subnormal grid: stay a valid factor.
    hypothesis.assume(np.all(np.isfinite(tril)) and np.all(np.diag(tril) > 0))
    hypothesis.assume(np.all(np.isfinite(loc)))
    return loc, tril


@st.composite
def _categorical(draw, dtype, num_classes=3):
    """Probabilities on the simplex within the dtype's tolerance, zeros and tiny ones included."""
    weights = [draw(st.one_of(st.just(0.0), st.floats(1e-300, 1.0))) for _ in range(num_classes)]
    hypothesis.assume(sum(weights) > 0)
    probs = np.asarray(np.asarray(weights, np.float64) / math.fsum(weights), dtype)
    # Subnormal probabilities are refused: see test_discrete_subnormal_probabilities_are_refused.
    return (np.where(probs < np.finfo(dtype).tiny, dtype(0), probs),)


STRATEGIES = {
    "normal": lambda dtype: _normal(dtype),
    "multivariate_normal": lambda dtype: _mvn(dtype, 2),
    "bernoulli": lambda dtype: _probability(dtype).map(lambda p: (np.asarray(p, dtype),)),
    "categorical": lambda dtype: _categorical(dtype),
}
MAKE = {
    "normal": lambda loc, scale: verify.Normal(loc, scale),
    "multivariate_normal": lambda loc, tril: verify.MultivariateNormal(loc, scale_tril=tril),
    "bernoulli": lambda p: verify.Bernoulli(probs=p),
    "categorical": lambda p: verify.Categorical(probs=p),
}
REFERENCE = {
    "normal": normal_ref,
    "multivariate_normal": mvn_ref,
    "bernoulli": bernoulli_ref,
    "categorical": categorical_ref,
}
FAMILIES = sorted(MAKE)


def _reference(family, quantity, p, q):
    """The exact value at 50 digits; again at 800 where those cancel to (nearly) nothing.

    A KL of 1e-86 between terms of order 1 (a scale factor entry of 3e-43) is 0 at
    50 digits; 800 cover every cancellation between float64 inputs.
    """
    args = [*p, *(q if quantity != "entropy" else ())]
    if family == "multivariate_normal" and quantity == "entropy":
        args += list(p)  # unused by the entropy
    exact = REFERENCE[family](quantity, *args)
    if mpmath.isfinite(exact) and abs(exact) < 1e-30:
        with mpmath.workdps(800):
            exact = REFERENCE[family](quantity, *args)
    return exact


def _evaluate(quantity, p, q):
    return getattr(verify, quantity)(*((p,) if quantity == "entropy" else (p, q)))


def _param(family, dtype):
    return pytest.param(family, dtype, id=f"{family}-{np.dtype(dtype).name}")


CASES = [(f, d) for f in FAMILIES for d in DTYPES]


# ------------------------------------------------------------------ properties
def _check_value(family, dtype, quantity, p_params, q_params):
    p, q = MAKE[family](*p_params), MAKE[family](*q_params)
    value = _evaluate(quantity, p, q)
    assert value.dtype == dtype
    exact = _reference(family, quantity, p_params, q_params)
    limit = mpmath.mpf(float(np.finfo(dtype).max))
    value = float(value)
    if mpmath.isinf(exact) or abs(exact) > limit:
        assert value == (math.inf if exact > 0 else -math.inf), (value, exact)
    elif exact == 0:
        assert value == 0.0, value
    else:
        assert math.isfinite(value), (value, exact)
        error = abs((mpmath.mpf(value) - exact) / exact)
        # Results below the normal range keep an absolute, not a relative, precision.
        floor = mpmath.mpf(float(np.finfo(dtype).tiny)) / abs(exact)
        assert error <= TOLERANCE[dtype] + floor, (value, exact, float(error))


def _value_test(examples):
    def run(family, dtype, data):
        quantity = data.draw(st.sampled_from(QUANTITIES), label="quantity")
        p_params = data.draw(STRATEGIES[family](dtype), label="p")
        q_params = data.draw(STRATEGIES[family](dtype), label="q")
        _check_value(family, dtype, quantity, p_params, q_params)

    return _settings(examples)(hypothesis.given(data=st.data())(run))


VALUE_CASES = [pytest.param(f, d, id=f"{f}-{np.dtype(d).name}") for f, d in CASES]


@pytest.mark.parametrize("family, dtype", VALUE_CASES)
def test_values_within_the_accuracy_target(family, dtype):
    _value_test(EXAMPLES)(family, dtype)


@pytest.mark.slow
@pytest.mark.parametrize("family, dtype", VALUE_CASES)
def test_values_within_the_accuracy_target_long(family, dtype):
    _value_test(SLOW_EXAMPLES)(family, dtype)


def _identity_test(examples):
    def run(family, dtype, data):
        p_params = data.draw(STRATEGIES[family](dtype), label="p")
        q_params = data.draw(STRATEGIES[family](dtype), label="q")
        p, q = MAKE[family](*p_params), MAKE[family](*q_params)
        kl = float(verify.kl(p, q))
        assert kl >= 0, kl
        assert float(verify.kl(p, p)) == 0.0
        assert float(verify.kl(q, q)) == 0.0
        cross, own = float(verify.cross_entropy(p, q)), float(verify.entropy(p))
        if math.isinf(cross) or math.isinf(kl):
            assert math.isinf(cross) and math.isinf(kl), (cross, kl)
            return
        scale = abs(cross) + abs(own)
        assert abs(kl - (cross - own)) <= 16 * np.finfo(dtype).eps * scale + 1e-300, (
            kl,
            cross,
            own,
        )

    return _settings(examples)(hypothesis.given(data=st.data())(run))


@pytest.mark.parametrize("family, dtype", [_param(f, d) for f, d in CASES])
def test_kl_is_nonnegative_zero_on_itself_and_cross_entropy_minus_entropy(family, dtype):
    _identity_test(EXAMPLES)(family, dtype)


# ---------------------------------------------------------------------- shapes
SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


def _broadcastable(draw, shape):
    """A shape that broadcasts to ``shape``: a suffix of it with some axes set to 1."""
    suffix = shape[len(shape) - draw(st.integers(0, len(shape))) :]
    return tuple(1 if draw(st.booleans()) else n for n in suffix)


@st.composite
def _batched(draw, family, batch):
    if family == "normal":
        return verify.Normal(
            jnp.zeros(_broadcastable(draw, batch)), jnp.ones(_broadcastable(draw, batch))
        )
    if family == "multivariate_normal":
        loc = jnp.zeros(_broadcastable(draw, batch) + (2,))
        tril = jnp.broadcast_to(jnp.eye(2), _broadcastable(draw, batch) + (2, 2))
        return verify.MultivariateNormal(loc, scale_tril=tril)
    if family == "bernoulli":
        return verify.Bernoulli(probs=jnp.full(_broadcastable(draw, batch), 0.3))
    return verify.Categorical(probs=jnp.full(_broadcastable(draw, batch) + (4,), 0.25))


@pytest.mark.parametrize("family", FAMILIES)
@_settings(SHAPE_EXAMPLES)
@hypothesis.given(data=st.data())
def test_shape_is_the_broadcast_batch_shape(family, data):
    """Each parameter of P and Q broadcasts to one batch shape; every result has the broadcast."""
    batch = data.draw(SHAPES, label="batch")
    p, q = data.draw(_batched(family, batch), label="p"), data.draw(_batched(family, batch), "q")
    both = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    # Traced, not compiled (eager and jit share this code; tests/test_api.py runs both).
    assert jax.eval_shape(verify.entropy, p).shape == p.batch_shape
    assert jax.eval_shape(verify.kl, p, q).shape == both
    assert jax.eval_shape(verify.cross_entropy, p, q).shape == both


# ------------------------------------------------- edges of the discrete families
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@_settings(EXAMPLES)
@hypothesis.given(data=st.data())
def test_categorical_kl_of_renormalised_near_equal_pairs_is_nonnegative(dtype, data):
    """Probabilities as users make them, ``w / w.sum()``, for Q 1e-12 away from P."""
    weights = np.asarray(data.draw(st.lists(st.floats(0.1, 1.0), min_size=4, max_size=4)))
    noise = np.asarray(data.draw(st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4)))
    p = (weights / weights.sum()).astype(dtype)
    other = weights * (1 + 1e-12 * noise)
    q = (other / other.sum()).astype(dtype)
    kl = float(verify.kl(verify.Categorical(probs=p), verify.Categorical(probs=q)))
    assert kl >= 0, kl


@pytest.mark.parametrize("family", ["bernoulli", "categorical"])
def test_negative_zero_probability_is_zero(family):
    if family == "bernoulli":
        p, q = verify.Bernoulli(probs=0.3), verify.Bernoulli(probs=-0.0)
    else:
        p = verify.Categorical(probs=[0.3, 0.7])
        q = verify.Categorical(probs=[-0.0, 1.0])
    assert float(verify.kl(p, q)) == math.inf


@pytest.mark.parametrize("dtype, tiny", [(np.float32, 1e-40), (np.float64, 1e-310)])
@pytest.mark.parametrize("family", ["bernoulli", "categorical"])
def test_discrete_subnormal_probabilities_are_refused(family, dtype, tiny):
    """XLA on CPU reads a subnormal probability as 0 (KL inf where the exact one is ~45):
    a concrete one is refused with the way out, never computed into a wrong number."""
    small = np.asarray([tiny, 1 - tiny], dtype)
    with pytest.raises(ValueError, match="smallest normal .*give the distribution by `logits`"):
        if family == "bernoulli":
            verify.Bernoulli(probs=small[0])
        else:
            verify.Categorical(probs=small)

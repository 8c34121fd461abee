"""Logits are first-class: exact values from logits, masks, gradients, low precision.

Every expected value is computed with mpmath at 50 digits from the given
floating-point inputs (the exact value for those inputs), never typed in.
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import verify

mpmath.mp.dps = 50


# ---------------------------------------------------------------- mpmath references
def _mp_log_softmax(logits):
    logits = [mpmath.mpf(float(x)) for x in np.ravel(logits)]
    finite = [x for x in logits if mpmath.isfinite(x)]
    top = max(finite)
    lse = top + mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in finite))
    return [x - lse if mpmath.isfinite(x) else -mpmath.inf for x in logits]


def _mp_log_probs(dist):
    """Exact log-probabilities of an unbatched Bernoulli or Categorical, from what it was given."""
    if isinstance(dist, verify.Bernoulli):
        if dist.parameterisation == "logits":
            return _mp_log_softmax([0.0, float(dist.logits)])
        p = mpmath.mpf(float(dist.probs))
        return [mpmath.log(1 - p) if p < 1 else -mpmath.inf, mpmath.log(p) if p > 0 else -mpmath.inf]
    if dist.parameterisation == "logits":
        return _mp_log_softmax(np.asarray(dist.logits, np.float64))
    return [mpmath.log(mpmath.mpf(float(x))) if x > 0 else -mpmath.inf for x in np.ravel(dist.probs)]


def mp_kl(p, q):
    total = mpmath.mpf(0)
    for lp, lq in zip(_mp_log_probs(p), _mp_log_probs(q)):
        if lp == -mpmath.inf:
            continue
        if lq == -mpmath.inf:
            return mpmath.inf
        total += mpmath.exp(lp) * (lp - lq)
    return total


def mp_cross_entropy(p, q):
    total = mpmath.mpf(0)
    for lp, lq in zip(_mp_log_probs(p), _mp_log_probs(q)):
        if lp == -mpmath.inf:
            continue
        if lq == -mpmath.inf:
            return mpmath.inf
        total -= mpmath.exp(lp) * lq
    return total


def mp_entropy(p):
    return mp_cross_entropy(p, p)


def rel_err(value, exact):
    value = float(value)
    if mpmath.isinf(exact) or exact == 0:
        return 0.0 if value == exact else np.inf
    return float(abs((mpmath.mpf(value) - exact) / exact))


def ulp_err(value, exact, dtype):
    """|value - exact| in units of the spacing of ``dtype`` at ``exact``."""
    exact_in_dtype = np.asarray(float(exact)).astype(dtype)
    spacing = np.spacing(np.abs(exact_in_dtype).astype(np.float32) if dtype != np.float64 else exact_in_dtype)
    if dtype in (jnp.bfloat16, np.float16):
        bits = {jnp.bfloat16: 8, np.float16: 11}[dtype]
        spacing = 2.0 ** (np.floor(np.log2(abs(float(exact)))) - bits + 1)
    return float(abs(mpmath.mpf(float(value)) - exact) / mpmath.mpf(float(spacing)))


F32, F64 = np.float32, np.float64


# -------------------------------------------------- issue 8: every row of the table
def test_bernoulli_log_prob_from_a_large_logit_is_finite():
    assert float(verify.Bernoulli(logits=F32(40.0)).log_prob(0)) == -40.0


def test_categorical_log_prob_from_wide_logits_is_finite():
    assert float(verify.Categorical(logits=np.array([0.0, 800.0], F32)).log_prob(0)) == -800.0


@pytest.mark.parametrize(
    "make, args_p, args_q, dtype, rtol",
    [
        (verify.Bernoulli, 30.0, 40.0, F32, 1e-5),  # verify gave inf
        (verify.Bernoulli, 20.0, 21.0, F32, 1e-5),  # gave 0.0
        (verify.Categorical, [0.0, -20.0], [-120.0, 0.0], F32, 1e-5),  # gave inf
        (verify.Bernoulli, 1.0, 1.0 + 2**-30, F64, 1e-13),  # logits differing by ~1e-9
        (verify.Categorical, [0.3, -1.2, 2.0], [0.3 + 2**-30, -1.2, 2.0 - 2**-31], F64, 1e-13),
        (verify.Bernoulli, 1000.0, -1000.0, F32, 1e-5),  # issue 9 item 3: exact 1000
    ],
)
def test_kl_from_logits_matches_mpmath(make, args_p, args_q, dtype, rtol):
    p = make(logits=np.asarray(args_p, dtype))
    q = make(logits=np.asarray(args_q, dtype))
    value = verify.kl(p, q)
    assert value.dtype == dtype
    assert rel_err(value, mp_kl(p, q)) <= rtol


def test_bernoulli_entropy_of_a_large_logit_float64():
    p = verify.Bernoulli(logits=F64(37.0))
    assert rel_err(verify.entropy(p), mp_entropy(p)) <= 1e-14


def test_student_teacher_rows_of_512_logits_float32():
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(8, 512)).astype(F32) * 3
    student = (teacher + rng.normal(size=(8, 512)).astype(F32) * 1e-3).astype(F32)
    values = verify.kl(verify.Categorical(logits=teacher), verify.Categorical(logits=student))
    for row, value in enumerate(np.asarray(values)):
        p = verify.Categorical(logits=teacher[row])
        q = verify.Categorical(logits=student[row])
        assert rel_err(value, mp_kl(p, q)) <= 1e-5

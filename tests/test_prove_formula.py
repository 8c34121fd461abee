"""Tests of verify.prove_formula: right formulas written differently are proved, wrong ones refuted.

The wrong formulas are of the kinds Monte Carlo misses: under 1 % off the derived value, or wrong
only on a branch that random parameters rarely reach (a Taylor expansion near P = Q, a special
case for tiny probabilities, a series near p = 1/2 like TFP's ContinuousBernoulli typo,
tensorflow/probability#1511). Each refutation must come with a counterexample inside the wrong
branch, confirmed in mpmath.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import verify
from verify.symbolic.from_jaxpr import UnsupportedPrimitiveError

# ----------------------------------------------------------------- right formulas
# Normal


def normal_kl_textbook(p, q):
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - jnp.log(r)


def normal_kl_torch(p, q):  # torch.distributions.kl._kl_normal_normal, ported to jnp
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - jnp.log(var_ratio))


def normal_kl_tfp(p, q):  # tfp.distributions.normal._kl_normal_normal, ported to jnp
    diff_log_scale = jnp.log(p.scale) - jnp.log(q.scale)
    return (
        0.5 * (p.loc / q.scale - q.loc / q.scale) ** 2
        + 0.5 * jnp.expm1(2.0 * diff_log_scale)
        - diff_log_scale
    )


def normal_kl_log_variance(loc_p, scale_p, loc_q, scale_q):  # a VAE's log-variance form
    logvar_p, logvar_q = 2 * jnp.log(scale_p), 2 * jnp.log(scale_q)
    return 0.5 * (
        logvar_q - logvar_p + (jnp.exp(logvar_p) + (loc_p - loc_q) ** 2) / jnp.exp(logvar_q) - 1
    )


def normal_entropy_torch(p):
    return 0.5 + 0.5 * jnp.log(2 * jnp.pi) + jnp.log(p.scale)


def normal_cross_entropy(p, q):
    return jnp.log(q.scale * jnp.sqrt(2 * jnp.pi)) + (p.scale**2 + (p.loc - q.loc) ** 2) / (
        2 * q.scale**2
    )


def normal_kl_series(p, q):
    """A right Taylor branch: r - 1 - log r to fifth order where it equals it in float64."""
    u = p.scale / q.scale - 1
    series = u**2 / 2 - u**3 / 3 + u**4 / 4 - u**5 / 5
    rest = jnp.where(jnp.abs(u) < 1e-4, series, u - jnp.log1p(u))
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - u + rest


# Bernoulli


def bernoulli_kl_probs(p, q):
    a, b = p.probs, q.probs
    return a * jnp.log(a / b) + (1 - a) * jnp.log1p(-a) - (1 - a) * jnp.log1p(-b)


def bernoulli_kl_tfp_logits(p, q):  # tfp.distributions.bernoulli._kl_bernoulli_bernoulli
    a, b = p.logits, q.logits
    return jax.nn.sigmoid(a) * (jax.nn.softplus(-b) - jax.nn.softplus(-a)) + jax.nn.sigmoid(-a) * (
        jax.nn.softplus(b) - jax.nn.softplus(a)
    )


def bernoulli_entropy(p):
    a = p.probs
    return -a * jnp.log(a) - (1 - a) * jnp.log1p(-a)


# Categorical


def categorical_kl_probs(p, q):
    return jnp.sum(p.probs * (jnp.log(p.probs) - jnp.log(q.probs)), axis=-1)


def categorical_kl_torch_logits(p, q):  # softmax(a) * (log_softmax(a) - log_softmax(b))
    a, b = p.logits, q.logits
    return jnp.sum(jax.nn.softmax(a) * (jax.nn.log_softmax(a) - jax.nn.log_softmax(b)), axis=-1)


def categorical_kl_logsumexp(p, q):
    a, b = p.logits, q.logits
    return jnp.sum(jax.nn.softmax(a) * (a - b)) - jax.nn.logsumexp(a) + jax.nn.logsumexp(b)


def categorical_entropy(p):
    return -jnp.sum(p.probs * jnp.log(p.probs))


# MultivariateNormal


def mvn_kl_cholesky(p, q):
    d = p.loc.shape[-1]
    m = jax.scipy.linalg.solve_triangular(q.scale_tril, p.scale_tril, lower=True)
    z = jax.scipy.linalg.solve_triangular(q.scale_tril, q.loc - p.loc, lower=True)
    log_det = jnp.sum(jnp.log(jnp.diag(q.scale_tril))) - jnp.sum(jnp.log(jnp.diag(p.scale_tril)))
    return 0.5 * (jnp.sum(m**2) + jnp.sum(z**2) - d) + log_det


def mvn_kl_covariance(p, q):  # from the covariances, refactored with jnp.linalg.cholesky
    d = p.loc.shape[-1]
    lp = jnp.linalg.cholesky(p.covariance_matrix)
    lq = jnp.linalg.cholesky(q.covariance_matrix)
    m = jax.scipy.linalg.solve_triangular(lq, lp, lower=True)
    z = jax.scipy.linalg.solve_triangular(lq, q.loc - p.loc, lower=True)
    log_det = 2 * jnp.sum(jnp.log(jnp.diag(lq))) - 2 * jnp.sum(jnp.log(jnp.diag(lp)))
    return 0.5 * (jnp.trace(m @ m.T) + z @ z - d + log_det)


RIGHT = [
    ("kl", normal_kl_textbook, (verify.Normal, verify.Normal), None),
    ("kl", normal_kl_torch, (verify.Normal, verify.Normal), None),
    ("kl", normal_kl_tfp, (verify.Normal, verify.Normal), None),
    ("kl", normal_kl_log_variance, (verify.Normal, verify.Normal), None),
    ("entropy", normal_entropy_torch, (verify.Normal,), None),
    ("cross_entropy", normal_cross_entropy, (verify.Normal, verify.Normal), None),
    ("kl", bernoulli_kl_probs, (verify.Bernoulli, verify.Bernoulli), None),
    ("kl", bernoulli_kl_tfp_logits, (verify.Bernoulli, verify.Bernoulli), ("logits", "logits")),
    ("entropy", bernoulli_entropy, (verify.Bernoulli,), None),
    ("kl", categorical_kl_probs, (verify.Categorical, verify.Categorical), None),
    ("kl", categorical_kl_torch_logits, (verify.Categorical,) * 2, ("logits", "logits")),
    ("kl", categorical_kl_logsumexp, (verify.Categorical,) * 2, ("logits", "logits")),
    ("entropy", categorical_entropy, (verify.Categorical,), None),
    ("kl", mvn_kl_cholesky, (verify.MultivariateNormal,) * 2, None),
    ("kl", mvn_kl_covariance, (verify.MultivariateNormal,) * 2, None),
]


@pytest.mark.parametrize(
    "quantity, function, families, parameterisations", RIGHT, ids=[r[1].__name__ for r in RIGHT]
)
def test_right_formulas_are_proved(quantity, function, families, parameterisations):
    evidence = verify.prove_formula(
        function, quantity, *families, parameterisations=parameterisations
    )
    assert evidence.verdict == "pass", evidence.statement
    assert evidence.kind == "symbolic" and evidence.name == "symbolic"


def test_sizes_are_proved_each():
    evidence = verify.prove_formula(categorical_kl_probs, "kl", *(verify.Categorical,) * 2)
    assert [s["num_classes"] for s in evidence.figures["sizes"]] == [2, 3, 4]
    evidence = verify.prove_formula(mvn_kl_cholesky, "kl", *(verify.MultivariateNormal,) * 2)
    assert [s["dim"] for s in evidence.figures["sizes"]] == [1, 2, 3]


def test_a_right_taylor_branch_is_not_refuted():
    """A truncated series is not *equal*, but agrees to float64 precision: not refuted."""
    evidence = verify.prove_formula(normal_kl_series, "kl", verify.Normal, verify.Normal)
    assert evidence.verdict == "inconclusive", evidence.statement
    assert evidence.figures["branches"] == [["unsettled", "proved"]]
    assert evidence.figures["points searched"][0][0] > 0  # the search reached the series


def verify_kl(p, q):
    return verify.kl(p, q)


@pytest.mark.parametrize(
    ("family", "sizes"),
    [
        (verify.Bernoulli, None),
        pytest.param(verify.Categorical, {"num_classes": 2}, marks=pytest.mark.slow),  # 8 s
    ],
)
def test_verify_s_own_stable_forms_are_never_refuted(family, sizes):
    """Were refuted: at probs 1e-300 (50 and 100 digits both round 1 - 1e-300 to 1), off the
    simplex by float rounding (the exact point is on it), and at probs = 1 where the reading
    is NaN in mpmath but the function gives the derived +inf. Their truncated series also
    once made SymPy expand ~180 000 terms for hours (the bound ``MAX_EXPANSION``)."""
    evidence = verify.prove_formula(verify_kl, "kl", family, family, sizes=sizes)
    assert evidence.verdict != "refuted", evidence.statement


# ----------------------------------------------------------------- wrong formulas
def normal_kl_half_percent(p, q):  # 0.499 for 1/2: at most 0.2 % off
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - 0.998 * jnp.log(r)


def normal_entropy_pi(p):  # 3.1416 for pi: 1e-6 relative
    return 0.5 + 0.5 * jnp.log(2 * 3.1416) + jnp.log(p.scale)


def normal_kl_taylor_typo(p, q):
    """Near equal scales, r - 1 - log r = u^2/2 - u^3/3 ...: typed u^3/2."""
    u = p.scale / q.scale - 1
    rest = jnp.where(jnp.abs(u) < 1e-3, u**2 / 2 - u**3 / 2, u - jnp.log1p(u))
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + u * (u + 2) / 2 - u + rest


def bernoulli_kl_tiny_typo(p, q):
    """A special case for tiny probabilities that drops the (1 - a) log term's -a + b."""
    a, b = p.probs, q.probs
    exact = a * jnp.log(a / b) + (1 - a) * jnp.log1p(-a) - (1 - a) * jnp.log1p(-b)
    return jnp.where(a < 1e-9, a * jnp.log(a / b) + b, exact)


def bernoulli_entropy_near_half(p):
    """TFP#1511's kind: a series near p = 1/2, x^4 / 3 * 4 typed x^4 * 3 / 4 (8e-9 at its edge)."""
    a = p.probs
    x = a - 0.5
    series = jnp.log(2.0) - 2 * x**2 - 3 * x**4 / 4
    exact = -a * jnp.log(a) - (1 - a) * jnp.log1p(-a)
    return jnp.where(jnp.abs(x) < 1e-2, series, exact)


def categorical_kl_eps(p, q):  # log(q + 1e-12): off only where q is tiny
    return jnp.sum(p.probs * (jnp.log(p.probs) - jnp.log(q.probs + 1e-12)))


def mvn_kl_trace_typo(p, q):  # the trace term 0.4 % too large
    d = p.loc.shape[-1]
    m = jax.scipy.linalg.solve_triangular(q.scale_tril, p.scale_tril, lower=True)
    z = jax.scipy.linalg.solve_triangular(q.scale_tril, q.loc - p.loc, lower=True)
    log_det = jnp.sum(jnp.log(jnp.diag(q.scale_tril))) - jnp.sum(jnp.log(jnp.diag(p.scale_tril)))
    return 0.5 * (1.004 * jnp.sum(m**2) + jnp.sum(z**2) - d) + log_det


WRONG = [
    ("kl", normal_kl_half_percent, (verify.Normal, verify.Normal), None, None),
    ("entropy", normal_entropy_pi, (verify.Normal,), None, None),
    ("kl", normal_kl_taylor_typo, (verify.Normal, verify.Normal), None, 0),
    ("kl", bernoulli_kl_tiny_typo, (verify.Bernoulli, verify.Bernoulli), None, 0),
    ("entropy", bernoulli_entropy_near_half, (verify.Bernoulli,), None, 0),
    ("kl", categorical_kl_eps, (verify.Categorical,) * 2, None, None),
    ("kl", mvn_kl_trace_typo, (verify.MultivariateNormal,) * 2, None, None),
]


@pytest.mark.parametrize(
    "quantity, function, families, parameterisations, branch",
    WRONG,
    ids=[w[1].__name__ for w in WRONG],
)
def test_wrong_formulas_are_refuted_with_a_counterexample(
    quantity, function, families, parameterisations, branch
):
    evidence = verify.prove_formula(
        function, quantity, *families, parameterisations=parameterisations
    )
    assert evidence.verdict == "fail", evidence.statement
    assert evidence.kind == "counterexample"
    found = evidence.figures["counterexample"]
    assert found["relative difference"] > 1e-9
    if branch is not None:  # the counterexample lies inside the wrong branch
        assert found["branch"] == branch
    # the parameters are valid and the user's float64 function differs from verify's there too
    values = list(found["parameters"].values())
    assert all(np.isfinite(values))
    candidate, reference = found["candidate float64"], found["verify float64"]
    assert not np.isclose(candidate, reference, rtol=1e-10, atol=0.0)


def test_counterexample_inside_the_tiny_probability_branch():
    evidence = verify.prove_formula(
        bernoulli_kl_tiny_typo, "kl", verify.Bernoulli, verify.Bernoulli
    )
    found = evidence.figures["counterexample"]
    assert found["parameters"]["probs_p"] < 1e-9
    assert "probs_p <" in found["condition"]


def test_wrong_formulas_pass_monte_carlo_at_the_default_budget():
    """The point of the symbolic line: these slip through the numeric checks."""
    p = verify.Normal(0.3, 1.2)
    q = verify.Normal(-0.1, 0.9)
    report = verify.check_kl(normal_kl_half_percent, p, q, gradients=False)
    assert report["monte_carlo"].verdict == "pass"


# ----------------------------------------------------------------- errors
def test_unsupported_operation_is_named():
    def sorted_kl(p, q):
        return jnp.sum(jnp.sort(p.probs) * jnp.log(jnp.sort(p.probs) / jnp.sort(q.probs)))

    with pytest.raises(UnsupportedPrimitiveError, match="`sort`"):
        verify.prove_formula(sorted_kl, "kl", verify.Categorical, verify.Categorical)


def test_bad_arguments():
    with pytest.raises(TypeError, match="`function` must be callable"):
        verify.prove_formula(3, "kl", verify.Normal, verify.Normal)
    with pytest.raises(TypeError, match="2 distributions or their 4 parameters"):
        verify.prove_formula(lambda a, b, c: a, "kl", verify.Normal, verify.Normal)
    with pytest.raises(ValueError, match="`quantity`"):
        verify.prove_formula(normal_kl_textbook, "entropyy", verify.Normal, verify.Normal)


def test_import_verify_does_not_import_sympy():
    import subprocess
    import sys

    code = "import sys, verify; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""Checking users' own formulas: check_kl, check_entropy, check_cross_entropy.

A correct candidate fails a report with probability at most the report's
alpha (1e-6 by default) through its statistical evidence; the closed-form and
gradient-closed-form evidence is deterministic.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import verify
from verify import montecarlo


def normal_kl(p, q):
    ratio = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (ratio**2 - 1) / 2 - jnp.log(ratio)


def normal_kl_missing_half(p, q):
    ratio = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 + (ratio**2 - 1) / 2 - jnp.log(ratio)


def normal_kl_wrong_gradient(p, q):
    """Right values, wrong derivative in q.scale (the log term is frozen)."""
    ratio = p.scale / q.scale
    frozen = jax.lax.stop_gradient(jnp.log(q.scale))
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (ratio**2 - 1) / 2 - jnp.log(p.scale) + frozen


def bernoulli_entropy(p):
    return -(p.probs * jnp.log(p.probs) + (1 - p.probs) * jnp.log1p(-p.probs))


def categorical_cross_entropy(p, q):
    return -jnp.sum(p.probs * jnp.log(q.probs), axis=-1)


FAST = dict(num_samples=2**16, gradient_samples=2**13)
P = montecarlo.random_distribution(verify.Normal, jax.random.key(1), (4,))
Q = montecarlo.random_distribution(verify.Normal, jax.random.key(2), (4,))


def test_a_correct_candidate_passes_every_line_of_attack():
    report = verify.check_kl(normal_kl, P, Q, **FAST)
    assert [e.name for e in report.evidence] == [
        "closed_form",
        "symbolic",
        "monte_carlo",
        "gradient_closed_form",
        "gradient_monte_carlo",
    ]
    assert report.passed and report.verdict == "pass", str(report)
    assert all(e.passed for e in report.evidence)


def test_a_wrong_candidate_fails_on_values():
    report = verify.check_kl(normal_kl_missing_half, P, Q, **FAST)
    assert not report.passed
    assert report["closed_form"].verdict == "fail"
    assert report["monte_carlo"].verdict == "fail"  # Monte Carlo alone sees it too
    assert "batch index" in report["closed_form"].statement


def test_right_values_with_a_wrong_gradient_are_caught_by_both_gradient_checks():
    report = verify.check_kl(normal_kl_wrong_gradient, P, Q, **FAST)
    assert report["closed_form"].passed and report["monte_carlo"].passed
    assert report["gradient_closed_form"].verdict == "fail"
    assert "q.scale" in report["gradient_closed_form"].statement
    assert report["gradient_monte_carlo"].verdict == "fail"  # without the closed form
    assert "q.scale" in report["gradient_monte_carlo"].statement
    assert not report.passed


def test_one_wrong_member_of_a_batch_is_located():
    def candidate(p, q):
        return normal_kl(p, q).at[2].multiply(1.05)

    report = verify.check_kl(candidate, P, Q, gradients=False, num_samples=2**18)
    assert report["closed_form"].verdict == "fail"
    assert "batch index (2,)" in report["closed_form"].statement
    assert report["monte_carlo"].figures["decision"] == "disagree"


@pytest.mark.parametrize(
    ("check", "candidate", "family", "args"),
    [
        (verify.check_entropy, bernoulli_entropy, verify.Bernoulli, 1),
        (verify.check_cross_entropy, categorical_cross_entropy, verify.Categorical, 2),
    ],
)
def test_entropy_and_cross_entropy_checks(check, candidate, family, args):
    p = montecarlo.random_distribution(family, jax.random.key(3), (3,))
    q = montecarlo.random_distribution(family, jax.random.key(4), (3,))
    report = check(candidate, *(p, q)[:args], **FAST)
    assert report.passed, str(report)
    wrong = check(lambda *d: candidate(*d) + 0.05, *(p, q)[:args], **FAST)
    assert wrong["closed_form"].verdict == "fail" and wrong["monte_carlo"].verdict == "fail"


def test_multivariate_normal_gradients_compare_the_lower_triangle_only():
    p = montecarlo.random_distribution(verify.MultivariateNormal, jax.random.key(5), dim=2)
    q = montecarlo.random_distribution(verify.MultivariateNormal, jax.random.key(6), dim=2)

    def via_covariance(p, q):  # a different route: full matrices, inverse and slogdet
        cov_p, cov_q = p.scale_tril @ p.scale_tril.T, q.scale_tril @ q.scale_tril.T
        inv = jnp.linalg.inv(cov_q)
        delta = q.loc - p.loc
        return (
            jnp.trace(inv @ cov_p)
            + delta @ inv @ delta
            - 2
            + jnp.linalg.slogdet(cov_q)[1]
            - jnp.linalg.slogdet(cov_p)[1]
        ) / 2

    report = verify.check_kl(via_covariance, p, q, **FAST)
    assert report.passed, str(report)
    names = report["gradient_closed_form"].figures["components"]
    assert "p.scale_tril[1, 0]" in names and "p.scale_tril[0, 1]" not in names


def test_a_candidate_that_jax_cannot_differentiate_gets_inconclusive_gradients():
    def numpy_kl(p, q):
        return np.asarray(normal_kl(p, q))

    report = verify.check_kl(numpy_kl, P, Q, **FAST)
    assert report["symbolic"].verdict == "inconclusive"
    assert "cannot be traced" in report["symbolic"].statement
    assert report["gradient_closed_form"].verdict == "inconclusive"
    assert "jax.grad of the candidate failed" in report["gradient_closed_form"].statement
    assert report.passed  # values are right; nothing failed


def test_the_symbolic_line_refutes_what_sampling_misses():
    def slightly_off(p, q):  # 0.499 for 1/2: 0.2 % off, below the Monte Carlo resolution
        r = p.scale / q.scale
        return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - 0.998 * jnp.log(r)

    report = verify.check_kl(slightly_off, P, Q, gradients=False, num_samples=2**16)
    assert report["monte_carlo"].verdict == "pass"
    assert report["symbolic"].verdict == "fail" and report["symbolic"].kind == "counterexample"
    assert "counterexample" in report["symbolic"].figures
    assert not report.passed
    proved = verify.check_kl(normal_kl, P, Q, gradients=False, monte_carlo=False)
    assert proved["symbolic"].verdict == "pass" and proved["symbolic"].kind == "symbolic"
    skipped = verify.check_kl(normal_kl, P, Q, gradients=False, monte_carlo=False, symbolic=False)
    assert [e.name for e in skipped.evidence] == ["closed_form"]


def test_report_is_readable_and_serialisable():
    report = verify.check_kl(normal_kl_missing_half, P, Q, **FAST)
    text = str(report)
    assert text.startswith("check of normal_kl_missing_half as kl: FAIL")
    assert "[FAIL] closed_form" in text and "monte_carlo" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False and data["verdict"] == "fail"
    names = [e["name"] for e in data["evidence"]]
    assert names[:3] == ["closed_form", "symbolic", "monte_carlo"]
    # The budget is shared: value and gradient, over the batch.
    assert data["evidence"][2]["figures"]["alpha"] < 1e-6
    with pytest.raises(KeyError, match="no evidence named 'montecarlo'"):
        report["montecarlo"]


# ------------------------------------------------- infinities and boundaries of the simplex
def smoothed_kl(p, q):  # a common wrong idiom: finite where the KL is infinite
    return jnp.sum(p.probs * jnp.log((p.probs + 1e-10) / (q.probs + 1e-10)), axis=-1)


def rel_entr_kl(p, q):  # SciPy's idiom
    return jnp.sum(jax.scipy.special.rel_entr(p.probs, q.probs), axis=-1)


def where_masked_kl(p, q):  # the where-masked idiom
    positive = p.probs > 0
    safe = jnp.where(positive, p.probs, 1.0)
    return jnp.sum(jnp.where(positive, p.probs * jnp.log(safe / q.probs), 0.0), axis=-1)


def test_a_finite_value_never_matches_an_infinite_derived_kl():
    p = verify.Categorical(probs=[[0.5, 0.5, 0.0]])
    q = verify.Categorical(probs=[[1.0, 0.0, 0.0]])  # KL(P || Q) = +inf
    report = verify.check_kl(smoothed_kl, p, q, gradients=False, num_samples=2**12)
    assert report["closed_form"].verdict == "fail", str(report)
    assert report["monte_carlo"].verdict != "pass"  # an infinite estimate confirms nothing
    assert not report.passed
    # the right infinity matches exactly
    report = verify.check_kl(rel_entr_kl, p, q, gradients=False, monte_carlo=False)
    assert report["closed_form"].passed, str(report)


def test_a_closed_form_that_declines_a_setting_says_so():
    """Beta(1e-220, 1e-260) || Beta(1e-180, 1e-280) (exact 46.0517...): the closed forms'
    terms cancel beyond their rounding bounds and they decline (NaN). The check says that,
    not that the families have no closed form (as it did)."""

    def candidate(p, q):
        return jnp.zeros(jnp.broadcast_shapes(p.batch_shape, q.batch_shape))

    p, q = verify.Beta(1e-220, 1e-260), verify.Beta(1e-180, 1e-280)
    report = verify.check_kl(candidate, p, q, monte_carlo=False, symbolic=False)
    assert report["closed_form"].verdict == "inconclusive", str(report)
    assert "none accurate in floating point" in report["closed_form"].statement, str(report)


def test_infinities_are_compared_exactly_in_every_evidence():
    p = verify.Bernoulli(probs=0.5)
    q = verify.Bernoulli(probs=0.0)  # KL = +inf
    report = verify.check_kl(lambda p, q: -jnp.inf, p, q, gradients=False, monte_carlo=False)
    assert report["closed_form"].verdict == "fail"  # -inf is not +inf


@pytest.mark.parametrize("candidate", [rel_entr_kl, where_masked_kl])
def test_correct_kls_pass_where_the_exact_derivative_is_infinite(candidate):
    # dKL/dp_0 = log(p_0 / q_0) + 1 = -inf at p_0 = 0: not a number to compare.
    p = verify.Categorical(probs=[[0.0, 0.3, 0.7], [0.2, 0.3, 0.5]])
    q = verify.Categorical(probs=[[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    report = verify.check_kl(candidate, p, q, num_samples=2**14, gradient_samples=2**13)
    assert report.passed, str(report)
    gradient = report["gradient_closed_form"]
    assert gradient.passed and "p.probs[0, 0]" in gradient.figures["not_compared"]
    assert "p.probs[1, 0]" not in gradient.figures["not_compared"]  # the other member is
    assert "infinite" in gradient.statement


def test_a_wrong_gradient_is_still_caught_next_to_an_infinite_one():
    p = verify.Categorical(probs=[[0.0, 0.3, 0.7], [0.2, 0.3, 0.5]])
    q = verify.Categorical(probs=[[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])

    def frozen_q(p, q):  # right values, no derivative in q
        return rel_entr_kl(p, jax.tree.map(jax.lax.stop_gradient, q))

    report = verify.check_kl(frozen_q, p, q, monte_carlo=False)
    assert report["gradient_closed_form"].verdict == "fail", str(report)
    assert "q.probs" in report["gradient_closed_form"].statement


def test_entropy_gradients_at_a_zero_probability_are_not_compared_as_numbers():
    p = verify.Bernoulli(probs=jnp.array([0.0, 0.3]))

    def entropy(p):  # xlogy idiom: d/dp at p = 0 is +inf exactly
        return -(
            jax.scipy.special.xlogy(p.probs, p.probs)
            + jax.scipy.special.xlog1py(1 - p.probs, -p.probs)
        )

    report = verify.check_entropy(entropy, p, num_samples=2**14, gradient_samples=2**13)
    assert report.passed, str(report)
    assert report["gradient_closed_form"].figures["not_compared"] == ["p.probs[0]"]


# -------------------------------------------------------------------- bad input
def test_a_non_callable_candidate_is_refused():
    with pytest.raises(TypeError, match="`candidate` must be callable, got 0.5"):
        verify.check_kl(0.5, P, Q)


def test_a_candidate_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"batch shape \(4,\).*got shape \(3,\)"):
        verify.check_kl(lambda p, q: jnp.zeros(3), P, Q)


def test_a_candidate_returning_nan_is_refused():
    def candidate(p, q):
        return normal_kl(p, q).at[1].set(jnp.nan)

    with pytest.raises(ValueError, match=r"`candidate` returned nan at batch index \(1,\)"):
        verify.check_kl(candidate, P, Q)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_samples": 0}, "`num_samples` must be >= 2, got 0"),
        ({"num_samples": -3}, "`num_samples` must be >= 2, got -3"),
        ({"gradient_samples": 1}, "`gradient_samples` must be >= 2, got 1"),
        ({"alpha": 0.0}, r"`alpha` must be in \(0, 1\), got 0.0"),
        ({"alpha": 1.0}, r"`alpha` must be in \(0, 1\), got 1.0"),
        ({"alpha": 2}, r"`alpha` must be in \(0, 1\), got 2"),
        ({"rtol": -1.0}, "`rtol` must be a finite number >= 0, got -1.0"),
        ({"rtol": True}, "`rtol` must be a finite number >= 0, got True"),
        ({"atol": "0"}, "`atol` must be a finite number >= 0, got '0'"),
        ({"gradients": "no"}, "`gradients` must be True or False, got 'no'"),
        ({"monte_carlo": None}, "`monte_carlo` must be True or False, got None"),
        ({"symbolic": 1}, "`symbolic` must be True or False, got 1"),
    ],
)
def test_bad_options_are_refused_before_any_work(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        verify.check_kl(normal_kl, P, Q, **options)


def test_random_distribution_refuses_unknown_families():
    with pytest.raises(ValueError, match="`family` must be one of"):
        montecarlo.random_distribution(int, jax.random.key(0))


def test_undefined_gradient_components_read_the_given_parameterisation():
    from verify.montecarlo import _gradient

    finite = verify.Categorical(logits=jnp.array([0.0, 0.5, 1.0]))
    masked = verify.Categorical(logits=jnp.array([-jnp.inf, 0.5, 1.0]))
    underflowing = verify.Categorical(logits=jnp.array([-800.0, 0.5, 1.0]))  # probs[0] == 0.0
    assert float(underflowing.probs[0]) == 0.0
    # Smooth in the logits, masked class included (its derivative is 0): all compared.
    assert not _gradient.undefined_components("kl", (masked, finite)).any()
    # P puts mass where Q is masked: the value is +inf and no component is a number.
    assert _gradient.undefined_components("kl", (finite, masked)).all()
    # A finite logit is an outcome of positive probability, even where its probability underflows.
    assert not _gradient.undefined_components("kl", (underflowing, finite)).any()
    assert not _gradient.undefined_components("kl", (finite, underflowing)).any()
    # The same masks given as probabilities are boundary points of the simplex.
    zero = verify.Categorical(probs=jnp.array([0.0, 0.5, 0.5]))
    undefined = _gradient.undefined_components("kl", (zero, finite)).tolist()
    assert undefined == [True] * 3 + [False] * 3  # P's components; Q's logits are fine


def test_covariance_built_normals_compare_gradients_whichever_leaf_a_formula_reads():
    """Sigma = L L^T: a formula reading `covariance_matrix` and one reading `scale_tril`
    are both right, and a wrong one is still caught (alpha 1e-6 per report)."""
    sigma_p = jnp.array([[2.0, 0.3], [0.3, 1.0]])
    sigma_q = jnp.array([[1.0, -0.2], [-0.2, 1.5]])
    p = verify.MultivariateNormal(jnp.zeros(2), covariance_matrix=sigma_p)
    q = verify.MultivariateNormal(jnp.ones(2), covariance_matrix=sigma_q)

    def via_covariance(p, q, scale=1.0):
        inv = jnp.linalg.inv(q.covariance_matrix)
        delta = q.loc - p.loc
        logdet_q = jnp.linalg.slogdet(q.covariance_matrix)[1]
        logdet_p = jnp.linalg.slogdet(p.covariance_matrix)[1]
        trace = jnp.trace(inv @ p.covariance_matrix)
        return (scale * trace + delta @ inv @ delta - 2 + logdet_q - logdet_p) / 2

    for candidate in (via_covariance, verify.kl):
        report = verify.check_kl(candidate, p, q, **FAST)
        assert report.passed, str(report)
        assert not any(
            "_covariance" in c for c in report["gradient_closed_form"].figures["components"]
        )
    wrong = verify.check_kl(lambda p, q: via_covariance(p, q, 1.001), p, q, **FAST)
    assert wrong["gradient_closed_form"].verdict == "fail"


@pytest.mark.parametrize(
    "build",
    [
        lambda: (verify.Normal(jnp.zeros(3), 1.0), verify.Normal(jnp.ones(3), 2.0)),
        lambda: (
            verify.MultivariateNormal(jnp.zeros((3, 2)), scale_tril=jnp.eye(2)),
            verify.MultivariateNormal(jnp.ones(2), scale_tril=2 * jnp.eye(2)),
        ),
    ],
)
def test_parameters_broadcast_over_the_batch_are_checked(build):
    """A parameter smaller than the batch (a scalar scale) once broke the gradient evidence."""
    p, q = build()
    assert verify.check_kl(verify.kl, p, q).passed


def categorical_kl(p, q):
    return jnp.sum(p.probs * jnp.log(p.probs / q.probs), axis=-1)


def test_the_symbolic_line_stays_within_the_sizes_it_can_prove():
    p = montecarlo.random_distribution(verify.Categorical, jax.random.key(7), num_classes=6)
    q = montecarlo.random_distribution(verify.Categorical, jax.random.key(8), num_classes=6)
    report = verify.check_kl(categorical_kl, p, q, gradients=False, monte_carlo=False)
    assert report["symbolic"].verdict == "inconclusive"
    assert "num_classes = 6" in report["symbolic"].statement
    small = [montecarlo.random_distribution(verify.Categorical, jax.random.key(k), num_classes=3)
             for k in (7, 8)]  # fmt: skip
    report = verify.check_kl(categorical_kl, *small, gradients=False, monte_carlo=False)
    assert report["symbolic"].verdict == "pass"
    assert report["symbolic"].figures["sizes"] == [{"num_classes": 3}]

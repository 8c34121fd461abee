"""What is specific to the Dirichlet family: SciPy and mpmath references, accuracy, validation."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.stats

import verify
from verify._ops import jax_ops
from verify.families.dirichlet import Dirichlet
from verify.formulas import beta as beta_forms
from verify.formulas import dirichlet as forms
from verify.symbolic import derive


def exact_kl(a, b):
    """The textbook KL (e.g. Penny, 2001), typed independently, at mpmath's precision."""
    a = [mpmath.mpf(float(v)) for v in a]
    b = [mpmath.mpf(float(v)) for v in b]

    def log_normaliser(v):
        return sum(mpmath.loggamma(x) for x in v) - mpmath.loggamma(sum(v))

    total = sum(a)
    return (
        log_normaliser(b)
        - log_normaliser(a)
        + sum((x - y) * (mpmath.digamma(x) - mpmath.digamma(total)) for x, y in zip(a, b))
    )


def rel_err(value, exact):
    exact = mpmath.mpf(exact)
    if exact == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - exact) / exact))


# ------------------------------------------------------------------- density
@pytest.mark.parametrize("a", [[2.0, 3.0, 4.0], [0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [30.0, 0.7, 2.0]])
def test_log_prob_matches_scipy_and_is_minus_inf_off_the_simplex(a):
    k = len(a)
    x = np.random.default_rng(0).dirichlet(np.ones(k), 5)
    np.testing.assert_allclose(
        Dirichlet(a).log_prob(x), [scipy.stats.dirichlet(a).logpdf(v) for v in x], rtol=1e-12
    )
    off = np.full((3, k), 1 / k)
    off[0, 0] += 0.1  # sums to 1.1
    off[1, :2] = [1.2, -0.2]  # a negative coordinate
    off[2, 0] = np.nan
    assert np.all(np.asarray(Dirichlet(a).log_prob(off)) == -np.inf)


def test_log_prob_on_a_face_takes_the_limit():
    # x_0 = 0: density 0 for a_0 > 1, finite for a_0 = 1, infinite for a_0 < 1
    x = np.array([0.0, 0.4, 0.6])
    assert float(Dirichlet([2.0, 2.0, 2.0]).log_prob(x)) == -np.inf
    np.testing.assert_allclose(
        Dirichlet([1.0, 2.0, 2.0]).log_prob(x),
        scipy.stats.dirichlet([1.0, 2.0, 2.0]).logpdf([1e-300, 0.4, 0.6 - 1e-300]),
    )
    assert float(Dirichlet([0.5, 2.0, 2.0]).log_prob(x)) == np.inf


# ---------------------------------------------------------- literature values
@pytest.mark.parametrize("a", [[2.0, 3.0, 4.0], [0.5, 0.5], [1.0, 1.0, 1.0], [7.5, 0.2, 40.0, 1.0]])
def test_entropy_matches_scipy(a):
    a = np.array(a)
    assert rel_err(forms.entropy(jax_ops, a), scipy.stats.dirichlet(a).entropy()) <= 1e-12


def test_two_categories_are_the_beta():
    rng = np.random.default_rng(1)
    a, b = np.exp(rng.uniform(-3, 4, (2, 20, 2)))
    np.testing.assert_allclose(
        forms.kl(jax_ops, a, b), beta_forms.kl(jax_ops, *a.T, *b.T), rtol=1e-13
    )
    np.testing.assert_allclose(
        forms.entropy(jax_ops, a), beta_forms.entropy(jax_ops, *a.T), rtol=1e-13
    )


@pytest.mark.slow  # 7 s; against mpmath in the quick run: the accuracy tests below
def test_kl_matches_the_textbook_form_at_random_points():
    rng = np.random.default_rng(2)
    for k in (2, 3, 5):
        a, b = np.exp(rng.uniform(-2, 3, (2, 10, k)))
        values = forms.kl(jax_ops, a, b)
        with mpmath.workdps(40):
            for v, x, y in zip(np.asarray(values), a, b):
                assert rel_err(v, exact_kl(x, y)) <= 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("dim", [2, 4])
def test_forms_are_proved_equal_to_the_derivation_at_other_sizes(dim):
    """The default size (3) is proved in tests/test_formulas.py; here the others."""
    for quantity, families in (("kl", 2), ("entropy", 1), ("cross_entropy", 2)):
        assert derive(quantity, *(verify.Dirichlet,) * families, dim=dim).proves_evaluation_form()


# ------------------------------------------------------------------ accuracy
def _adversarial(dim):
    ((a,), (b,)) = Dirichlet.adversarial_pairs(np.random.default_rng(0), dim=dim)
    return a, b


def _conditioned(a, b):
    """Pairs whose concentrations are within a factor 100 of each other's."""
    both = np.concatenate([a, b], axis=1)
    return both.min(1) / both.max(1) >= 1e-2


def _errors(values, a, b):
    with mpmath.workdps(100):  # the textbook reference cancels: 80 digits at most
        return np.array([rel_err(v, exact_kl(x, y)) for v, x, y in zip(values, a, b)])


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_kl_accuracy_on_adversarial_pairs_float64(dim):
    """All of them, <= 1e-13 relative: those within a factor 100 of each other's, and the
    rest (3e-8 at ``[2.5, 1e-8, 1e-8] || [2.4999975, 1e-8, 1e-8]`` before the shares' form,
    where the large class's divergence and the sum's cancel: lgamma_bregman_share pairs
    them)."""
    a, b = _adversarial(dim)
    assert 0 < _conditioned(a, b).sum() < len(a)  # both kinds are here
    values = np.asarray(jax.jit(lambda p, q: forms.kl(jax_ops, p, q))(a, b))
    errors = _errors(values, a, b)
    assert errors.max() <= 1e-13, (a[errors.argmax()], b[errors.argmax()])


def test_kl_takes_the_textbook_form_only_where_the_stable_one_is_nan():
    """Concentrations 1e300 apart make the stable terms inf - inf; the textbook form is
    finite there (1e292, against cancellations of lgamma's size, about 700). The other
    pair of the batch keeps its stable value, and a batch with no such pair skips the
    textbook form (the same values either way)."""
    a = jnp.array([[1e-300, 1e8], [1.0, 2.0]])
    b = jnp.array([[1e-8, 1e-300], [1.5, 2.5]])
    kl = jax.jit(lambda p, q: forms.kl(jax_ops, p, q))
    values = np.asarray(kl(a, b))
    with mpmath.workdps(800):
        errors = [rel_err(v, exact_kl(x, y)) for v, x, y in zip(values, a, b)]
    assert max(errors) <= 1e-13, errors
    assert np.asarray(kl(a[1:], b[1:]))[0] == values[1]


# Pairs of benchmarks/extremes.py's grid that the forms got wrong or NaN (before the gap of the
# means was taken from the means where the totals are far apart, and from the sums of the
# other concentrations for K > 2): Dirichlet's value at the time, then the exact one.
FAR_APART = [
    ([1e20, 2e20], [1e8, 2e8]),  # 18.34 (38 % off), exact 13.3155
    ([1e20, 1e20], [1e8, 1e8]),  # 13.72, exact 13.3155
    ([1e20, 1e-20], [1e-20, 1e-20]),  # 1.591e5, exact log 2
    ([1e20, 1e-8], [1e8, 1e-100]),  # 0, exact 210.84
    ([1e-20, 1e20], [1e-300, 1e-100]),  # NaN, exact 643.72
    ([1e8, 1e20], [1e-300, 1e-300]),  # NaN, exact 699.26
    ([1e20, 2e20, 3e20], [1e8, 2e8, 3e8]),  # K = 3: the sums of the others
    ([1e300, 1e100], [1e100, 1.0]),  # compiled: 6.4e66 (means 1 - 1e-200, 1 - 1e-100), 343.97
    # The shares' form (a class with nearly all of both totals), in its first versions:
    ([1.0, 1e8], [1e-300, 1e-100]),  # 690.198 for 689.198: its integrand's terms cancelled
    ([1e300, 1.0], [1e-8, 1e-20]),  # 45.47 for 44.47: XLA's polygamma(1, 1e300) is 0
    ([1e-8, 1e-300], [1e300, 1e-20]),  # inf for 1e280: a digamma divergence overflowed
]


@pytest.mark.parametrize("a, b", FAR_APART)
def test_kl_with_totals_far_apart(a, b):
    """Both families (Beta for K = 2) within 1e-13 of the exact value, compiled (where
    [1e300, 1e100] || [1e100, 1] was 6.4e66, eagerly right: the compiled difference of the
    means carried the rounding of 1 / 1e100, apparently a fused multiply-add)."""
    a, b = np.array(a), np.array(b)
    with mpmath.workdps(800):
        exact = exact_kl(a, b)
    dirichlet_kl = jax.jit(lambda p, q: forms.kl(jax_ops, p, q))
    assert rel_err(dirichlet_kl(jnp.asarray(a), jnp.asarray(b)), exact) <= 1e-13
    if len(a) == 2:
        beta_kl = jax.jit(lambda *args: beta_forms.kl(jax_ops, *args))
        assert rel_err(beta_kl(*jnp.asarray(a), *jnp.asarray(b)), exact) <= 1e-13


def test_kl_takes_each_means_own_difference_where_the_totals_are_far_apart():
    """Beta(0.5, 1) || Beta(1e12, 1e-8) from the family's adversarial pairs: the second mean
    less the first one's difference rounds below 0 (NaN); each mean's own is finite. Error
    2e-12 (the documented limit, eps max / min, allows far more)."""
    a, b = np.array([0.5, 1.0]), np.array([1e12, 1e-8])
    with mpmath.workdps(100):
        exact = exact_kl(a, b)
    assert rel_err(forms.kl(jax_ops, jnp.asarray(a), jnp.asarray(b)), exact) <= 1e-10
    assert rel_err(beta_forms.kl(jax_ops, *jnp.asarray(a), *jnp.asarray(b)), exact) <= 1e-10


def test_kl_float32_mean_and_its_difference_round_together():
    """float32 [11.9, 2.5, 2.5] || [1, 1e-3, 1e12] (the family's adversarial pairs): P's mean
    divided by a different rounding of the total than its difference was made NaN (mean +
    difference = -6e-8); with one mean for both, within float32 rounding of the exact value."""
    a = np.array([11.9, 2.5, 2.5], np.float32)
    b = np.array([1.0, 1e-3, 1e12], np.float32)
    value = jax.jit(lambda p, q: forms.kl(jax_ops, p, q))(jnp.asarray(a), jnp.asarray(b))
    with mpmath.workdps(60):
        assert rel_err(value, exact_kl(a, b)) <= 1e-6


def test_the_ops_of_the_means_agree_with_their_sympy_twins():
    """sum_others, mean_difference (both of its branches) and accurate_sum: the JAX values
    within a few ulp of the SymPy twins' exact values."""
    import sympy as sp

    from verify.symbolic.ops import sympy_ops

    a = np.array([3.0, 1e-3, 7.5, 2.0])
    others = np.asarray(jax_ops.sum_others(jnp.asarray(a)))
    exact = sympy_ops.sum_others(sp.Matrix([sp.Rational(float(x)) for x in a]))
    np.testing.assert_allclose(others, [float(v) for v in exact], rtol=4e-16)
    for x_p, r_p, x_q, r_q in [
        (1e300, 1e100, 1e100, 1.0),
        (2.0, 3.0, 5.0, 1.0),
        (1.0, 1e-3, 1e12, 1.0),
    ]:
        value = float(jax_ops.mean_difference(x_p, r_p, x_q, r_q))
        twin = sympy_ops.mean_difference(*(sp.Rational(v) for v in (x_p, r_p, x_q, r_q)))
        assert rel_err(value, mpmath.mpf(sp.N(twin, 50))) <= 4e-16
    total = jax_ops.accurate_sum([jnp.array(1.5)], [jnp.array([1.0, 2.0])])
    assert float(total) == float(sympy_ops.accurate_sum([sp.Rational(3, 2)], [sp.Matrix([1, 2])]))


@pytest.mark.parametrize("family", ["beta", "dirichlet"])
def test_kl_takes_the_textbook_form_within_its_rounding_bound(family):
    """[1e-300, 1e8] || [1e-100, 1e-20]: the stable terms are inf - inf (NaN); the textbook
    form's terms do not cancel there, and both families return it (the Beta had no fallback,
    and raised)."""
    a, b = np.array([1e-300, 1e8]), np.array([1e-100, 1e-20])
    with mpmath.workdps(800):
        exact = exact_kl(a, b)
    if family == "beta":
        value = jax.jit(lambda *x: beta_forms.kl(jax_ops, *x))(*jnp.asarray(a), *jnp.asarray(b))
    else:
        value = jax.jit(lambda p, q: forms.kl(jax_ops, p, q))(jnp.asarray(a), jnp.asarray(b))
    assert rel_err(value, exact) <= 1e-13


def test_kl_is_nan_not_a_wrong_number_where_no_form_holds():
    """Stable terms inf - inf, no class with nearly all of both totals (the shares' form),
    and a textbook form whose lgamma-sized terms cancel (exact value 5e291): the fallback
    is taken only within its own rounding bound, so the form is NaN and verify.kl raises.
    ``[1e-300, 1e8] || [1e-100, 1e300]`` was such a pair (0 before the bound, then NaN);
    its second class holds nearly all of both totals, and the shares give 1e200."""
    a, b = jnp.array([1e-300, 1e8, 1e8]), jnp.array([1e-100, 1e300, 1e300])
    assert np.isnan(forms.kl(jax_ops, a, b))
    with pytest.raises(NotImplementedError, match="no closed form"):
        verify.kl(Dirichlet(a), Dirichlet(b))
    a, b = np.array([1e-300, 1e8]), np.array([1e-100, 1e300])
    with mpmath.workdps(900):
        exact = exact_kl(a, b)
    assert rel_err(forms.kl(jax_ops, jnp.asarray(a), jnp.asarray(b)), exact) <= 1e-13


def _both_kls(a, b):
    """The Beta and the Dirichlet KL of rows of two-component concentrations, jitted."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    beta_kl = jax.jit(lambda *x: beta_forms.kl(jax_ops, *x))(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return {"beta": beta_kl, "dirichlet": jax.jit(lambda p, q: forms.kl(jax_ops, p, q))(a, b)}


def test_kl_is_right_where_the_stable_terms_cancel_and_a_class_holds_nearly_all():
    """Pairs whose stable terms cancel beyond their rounding: both families returned a
    finite wrong value (1e-12, 1e-60 and 1e-220 for 1.645e-12, 459.5 and 1e-120), then NaN
    (the stable form's rounding bound). In each, one concentration holds nearly all of
    both totals and the rest is at most 1: the shares' form (lgamma_bregman_share) gives
    them within 1e-13."""
    a = np.array([[1.0, 1e-20], [1e-20, 1e-100], [1e-300, 1e-100]])
    b = np.array([[1e8, 1e-20], [1e20, 1e-300], [1e-300, 1e-20]])
    with mpmath.workdps(900):
        exact = [exact_kl(x, y) for x, y in zip(a, b)]
    for family, values in _both_kls(a, b).items():
        errors = [rel_err(v, e) for v, e in zip(values, exact)]
        assert max(errors) <= 1e-13, (family, errors)


def test_kl_is_nan_where_the_means_differ_below_their_rounding():
    """Beta(3e100, 7e100) || Beta(4.5e100, 1.05e101): the rounded inputs' means differ by
    about 1e-17, times a total of 1.5e101: exact KL 4.85e67, which the two products that
    form the gap cannot resolve (both families gave 5.3e67); the means term's own error
    bound (kl_div_delta_error) makes it NaN. Totals of 1e21 with the same ratios keep their
    value (equal means: 0.0473), within the documented eps**2 s' (7e-11 here) of a rounded
    gap of equal means (the Beta: 1e-13; the Dirichlet: 6e-13)."""
    a, b = (
        np.array([[3e100, 7e100], [3e20, 7e20]]),
        np.array([[4.5e100, 1.05e101], [4.5e20, 1.05e21]]),
    )
    with mpmath.workdps(400):
        exact = exact_kl(a[1], b[1])
    for family, values in _both_kls(a, b).items():
        assert np.isnan(values[0]), family
        assert rel_err(values[1], exact) <= 1e-11, family


def test_kl_is_right_or_nan_for_large_totals_with_nearly_equal_means():
    """Totals 1 ... 1e300, means 0.05 ... 0.95 changed by relative 1e-17 ... 1e-1, Q's total
    within a factor 10 of P's or up to 1e5 apart (60 pairs, seeded). Before the means term's
    error bound 11 of these were more than 1e-2 off (up to 3.9) and 28 more than 1e-6, in
    both families: every value returned is now within the 1e-4 the stable form is taken at
    (2e-6 at most; 27 NaN), and most pairs keep one."""
    rng = np.random.default_rng(1)
    n = 60
    total, mean = 10 ** rng.uniform(0, 300, n), rng.uniform(0.05, 0.95, n)
    far = rng.uniform(size=n) < 0.5
    ratio = np.where(far, 10 ** rng.uniform(-5, 5, n), 10 ** rng.uniform(-1, 1, n))
    mean_q = mean * (1 + 10 ** rng.uniform(-17, -1, n) * rng.choice([-1, 1], n))
    a = np.stack([total * mean, total * (1 - mean)], 1)
    b = np.stack([total * ratio * mean_q, total * ratio * (1 - mean_q)], 1)
    with mpmath.workdps(720):
        exact = [exact_kl(x, y) for x, y in zip(a, b)]
    for family, values in _both_kls(a, b).items():
        kept = [(v, e) for v, e in zip(np.asarray(values), exact) if not np.isnan(v)]
        assert len(kept) >= n // 2, family
        assert max(rel_err(v, e) for v, e in kept) <= 1e-4, family


def test_the_rounding_bound_keeps_what_it_can_vouch_for():
    """within_rounding: a sum whose terms cancel by 1e10 is kept within 1e-4 in float64,
    not in float32; +inf is kept; the SymPy twin is the value itself."""
    from verify.symbolic.ops import sympy_ops

    for dtype, kept in ((jnp.float64, True), (jnp.float32, False)):
        x = jnp.asarray(1e10, dtype)
        value = jax_ops.within_rounding(x - x + 1, [x, -x, jnp.asarray(1, dtype)], [])
        assert bool(jnp.isnan(value)) is not kept
    inf = jnp.asarray(jnp.inf)
    assert float(jax_ops.within_rounding(inf, [inf, jnp.asarray(1.0)], [])) == np.inf
    assert sympy_ops.within_rounding(3, [1, 2], []) == 3


def test_kl_accuracy_on_adversarial_pairs_float32():
    """Total concentrations up to 1e6: the means' difference, rounded, enters squared and
    times the total (relative error about eps**2 * total: 2e-2 at 3e12 in float32)."""
    a, b = (x.astype(np.float32) for x in _adversarial(3))
    keep = _conditioned(a, b) & (a.sum(1) <= 1e6) & (b.sum(1) <= 1e6)
    values = np.asarray(forms.kl(jax_ops, jnp.asarray(a[keep]), jnp.asarray(b[keep])))
    assert values.dtype == np.float32
    with mpmath.workdps(100):
        exact = [exact_kl(x, y) for x, y in zip(a[keep], b[keep])]
    errors = [rel_err(v, e) for v, e in zip(values, exact) if e > 1e-30]  # normal float32 range
    assert max(errors) <= 1e-5


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "value, message",
    [
        ([1.0, -1.0, 2.0], "`concentration` must be > 0, got"),
        ([1.0, np.nan], "`concentration` must be finite"),
        ([1.0, 1e-310], "smallest normal float64"),
        ([3.0], "at least 2 categories, got shape \\(1,\\)"),
        (2.0, "at least 2 categories, got shape \\(\\)"),
    ],
)
def test_bad_parameters_are_refused_by_name(value, message):
    with pytest.raises(ValueError, match=message):
        Dirichlet(value)


def test_different_numbers_of_categories_are_refused():
    with pytest.raises(ValueError):
        verify.kl(Dirichlet([1.0, 2.0]), Dirichlet([1.0, 2.0, 3.0]))


# ------------------------------------------------------------------ sampling
def test_sample_shape_support_moments_and_reparameterised_gradient():
    """Means of 2**16 draws within 6 standard errors (false alarm < 1e-8 each)."""
    a = np.array([[0.5, 2.0, 3.0], [30.0, 1.0, 0.2]])
    x = Dirichlet(a).sample(jax.random.key(0), (2**16,))
    assert x.shape == (2**16, 2, 3)
    assert bool(np.all(Dirichlet(a).support.contains(x)))
    s = a.sum(-1, keepdims=True)
    mean, var = a / s, a * (s - a) / (s**2 * (s + 1))
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * np.sqrt(var / 2**16))
    grad = jax.grad(lambda c: Dirichlet(c).sample(jax.random.key(1), (64,))[:, 0].mean())(
        jnp.array([2.0, 3.0])
    )
    assert np.all(np.isfinite(grad)) and grad[0] > 0 > grad[1]
    f32 = Dirichlet(np.float32([2.0, 3.0]))
    assert f32.sample(jax.random.key(0)).dtype == jnp.float32
    assert verify.kl(f32, f32).dtype == jnp.float32

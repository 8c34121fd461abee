"""What every registered family and closed form must satisfy, read from the registry.

The per-family identities (KL >= 0, KL(P||P) = 0, KL = H(P,Q) - H(P), units,
jit/vmap/grad, float32) run over every family in ``tests/test_api.py``; the
proofs against the derivations over every form in ``tests/test_formulas.py``;
gradients against SymPy's in ``tests/test_derive.py``. Here: the family traits
themselves, Monte Carlo agreement, and every registered cross-family pair.
"""

import functools

import jax
import numpy as np
import pytest

import verify
from verify import _special, formulas, montecarlo
from verify.families import FAMILIES, supports

QUANTITY_FUNCTIONS = {
    "kl": verify.kl,
    "entropy": verify.entropy,
    "cross_entropy": verify.cross_entropy,
}


def _forms(same_family):
    for form in formulas.registered():
        if (len(set(form.families)) == 1) == same_family:
            names = ",".join(f.__name__ for f in form.families)
            yield pytest.param(
                form, id=f"{form.quantity}-{names}-{','.join(form.parameterisations)}"
            )


@pytest.mark.parametrize("family", sorted(FAMILIES.values(), key=lambda c: c.__name__), ids=str)
def test_traits_are_consistent(family):
    """Random parameters build valid members whose support, sizes and samples agree."""
    dims = {name: dim.default for name, dim in family.dims.items()}
    rng = np.random.default_rng(0)
    for spread in ("wide", "moderate"):
        params = family.random_params(rng, 5, spread=spread, **dims)
        dist = family.from_params(*params)
        assert dist.batch_shape == (5,)
        assert isinstance(dist.support, supports.Support)
        x = dist.sample(jax.random.key(0), (3,))
        assert x.shape == (3, 5) + dist.event_shape
        assert bool(np.all(dist.support.contains(x))), f"{family.__name__} samples off its support"
        assert bool(np.all(np.isfinite(dist.log_prob(x))))
    p, q = family.adversarial_pairs(rng, **dims)
    assert len(p) == len(q) == len(family._param_event_ranks)
    symbolic = family.symbolic("p", **dims)
    assert isinstance(symbolic.support, supports.Support)
    assert symbolic.support.discrete == dist.support.discrete


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_is_minus_inf_off_its_support(name):
    """Every family's log_prob is -inf at points off its support: below and above an
    interval or integer range, between integers, at an infinite count, at NaN."""
    from verify.proofs import _shared

    family = FAMILIES[name]
    params = _shared.random_params(family, np.random.default_rng(0), 1)
    p = _shared.make(family, [x[0] for x in params])
    support = p.support
    if not isinstance(support, (supports.Interval, supports.Integers)):
        pytest.skip(f"{support!r}: vectors (tested with the family)")
    points = [support.low - 1.0, support.high + 1.0, np.nan]
    points = [x for x in points if np.isfinite(x) or np.isnan(x)]
    if isinstance(support, supports.Integers):
        points += [support.low + 0.5, np.inf]
    got = np.asarray(p.log_prob(np.asarray(points)))
    assert np.all(got == -np.inf), dict(zip(points, got))


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES.values(), key=lambda c: c.__name__), ids=str)
def test_monte_carlo_agrees_with_every_closed_form(family):
    """check_kl / check_entropy / check_cross_entropy pass at moderate random parameters.

    Each check's Monte Carlo decisions have a false-disagree rate <= 1e-6 (the
    default alpha), so this test fails by chance with probability <= 3e-6.
    """
    p = montecarlo.random_distribution(family, jax.random.key(1), (3,))
    q = montecarlo.random_distribution(family, jax.random.key(2), (3,))
    for quantity, args in (("kl", (p, q)), ("entropy", (p,)), ("cross_entropy", (p, q))):
        try:
            formulas.lookup(quantity, *(type(d) for d in args))
        except NotImplementedError:
            continue
        check = getattr(verify, f"check_{quantity}")
        report = check(QUANTITY_FUNCTIONS[quantity], *args, gradients=False)
        assert report.passed is not False, report


@pytest.mark.parametrize("form", list(_forms(same_family=False)))
def test_cross_family_pairs_are_derived_proved_and_consistent(form):
    """A registered pair of two families: proved, >= 0 (KL), and KL = H(P,Q) - H(P)."""
    derivation = verify.derive(form.quantity, *form.families)
    assert derivation.proves_evaluation_form()
    p_cls, q_cls = form.families
    rng = np.random.default_rng(3)
    p = p_cls.from_params(*p_cls.random_params(rng, 50, spread="moderate"))
    q = q_cls.from_params(*q_cls.random_params(rng, 50, spread="moderate"))
    value = np.asarray(QUANTITY_FUNCTIONS[form.quantity](p, q))
    assert value.shape == (50,)
    if form.quantity != "kl":
        return
    assert np.all(value >= 0)
    try:
        difference = verify.cross_entropy(p, q) - verify.entropy(p)
    except NotImplementedError:
        return
    np.testing.assert_allclose(value, difference, rtol=1e-10, atol=1e-12)


def test_pairs_without_a_form_name_both_families():
    with pytest.raises(
        NotImplementedError, match=r"no closed form for kl of `p` \(Normal\) and `q` \(Bernoulli\)"
    ):
        verify.kl(verify.Normal(0.0, 1.0), verify.Bernoulli(probs=0.5))


def _canonical(form):
    return form.parameterisations == tuple(f.parameterisations[0] for f in form.families)


@pytest.mark.parametrize(
    "form",
    [p for same in (True, False) for p in _forms(same_family=same) if _canonical(p.values[0])],
)
def test_moderate_parameters_give_the_range_helpers_values(form, monkeypatch):
    """Where every parameter is moderate, a form runs with plain arithmetic in place of
    the range helpers (``verify.formulas.fast_when_moderate``): the same values, bit for bit
    through ``diff_ratio`` and ``log_mul`` (``tests/test_special.py``). ``log(x / y)`` and
    ``log(m_x / m_y) + (e_x - e_y) log 2`` round differently (each within 2 ulp of 1 and of
    the value), and a form may magnify that: ``a - 1 - log a`` takes ``log a`` where ``|1 - a|
    > 0.18``, a factor up to about 60 (measured for the Poisson KL: 6 ulp, each version
    within 3e-15 of mpmath). There the tolerance is 64 ulp."""
    from verify import _ops

    rng = np.random.default_rng(5)
    params = []
    for family in form.families:
        dims = {name: dim.default for name, dim in family.dims.items()}
        group = family.random_params(rng, 64, spread="moderate", **dims)
        assert bool(_special.moderate(*group)), "the test needs moderate parameters"
        params += family.from_params(*group).params()

    def traced(fast_when_moderate, evaluate=jax.jit):
        """The form traced afresh (not through verify.kl: its compiled form is cached), with
        ``fast_when_moderate`` in place of the backend's; and the forms it was called for."""
        calls = []

        def recorded(form, *params):
            calls.append(form)
            return fast_when_moderate(form, *params)

        monkeypatch.setattr(_ops._JaxOps, "fast_when_moderate", staticmethod(recorded))
        value = evaluate(lambda *params: form.function(_ops.jax_ops, *params))(*params)
        return value, calls

    logs = []
    log_ratio = _special.log_ratio_moderate
    monkeypatch.setattr(
        _ops._ModerateJaxOps, "log_ratio", staticmethod(lambda *a: logs.append(1) or log_ratio(*a))
    )
    fast_when_moderate = _ops._JaxOps.fast_when_moderate
    if not traced(fast_when_moderate, lambda f: functools.partial(jax.eval_shape, f))[1]:
        pytest.skip("no fast path: the form uses no range helper")
    fast, _ = traced(fast_when_moderate)
    exact, calls = traced(lambda form, *params: form(_ops.range_ops, *params))
    assert calls, "the range helpers' version was not traced"
    fast, exact = np.asarray(fast), np.asarray(exact)
    assert np.all(np.isfinite(exact))
    ulps = 64 if logs else 0
    np.testing.assert_allclose(fast, exact, rtol=ulps * np.finfo(exact.dtype).eps, atol=0)

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


def _branches(program):
    """The number of data-dependent branches (``cond``, ``switch``) in a traced program,
    nested ones included; not the platform's (``branches_platforms``), which ``vmap`` of
    ``jnp.diagonal`` adds."""
    from jax.extend import core

    count = 0
    for eqn in program.eqns:
        count += eqn.primitive.name == "cond" and not eqn.params.get("branches_platforms")
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(sub, (core.ClosedJaxpr, core.Jaxpr)):
                    count += _branches(getattr(sub, "jaxpr", sub))
    return count


def _form_params(form, rng, n):
    """Random parameters of ``form``'s families in its parameterisations, ``n`` members."""
    params = []
    for family, kind in zip(form.families, form.parameterisations):
        dims = {name: dim.default for name, dim in family.dims.items()}
        params += family.from_params(*family.random_params(rng, n, **dims)).params_as(kind)
    return params


def _value_and_gradient(form, n=4):
    """``form``'s function, its gradient in every floating parameter, and parameters."""
    from verify._ops import jax_ops

    params = _form_params(form, np.random.default_rng(3), n)
    floats = tuple(i for i, x in enumerate(params) if np.issubdtype(x.dtype, np.floating))

    def value(*params):
        return form.function(jax_ops, *params)

    return value, jax.grad(lambda *params: value(*params).sum(), argnums=floats), params


def _assert_vmap_keeps_the_branches(function, params):
    alone = _branches(jax.make_jaxpr(function)(*params).jaxpr)
    mapped = _branches(jax.make_jaxpr(jax.vmap(function))(*params).jaxpr)
    assert mapped == alone, f"{alone} branches, {mapped} under vmap"


_ALL_FORMS = [p for same in (True, False) for p in _forms(same_family=same)]
# Their gradients under vmap take 2-4 s each to trace (the quick run has the rest, and the
# branches of the rules they go through in tests/test_special.py).
_HEAVY_GRADIENTS = {"Beta", "Dirichlet", "Binomial"}


@pytest.mark.parametrize("form", _ALL_FORMS)
def test_vmap_keeps_every_branch_and_grad_traces(form):
    """Under ``vmap`` a form branches as it does under ``jit``: a branch that runs only where
    some element needs it tests the whole batch (``verify._special.some``). A per-member
    test would become a select of both branches (the Beta KL ran 13x slower under ``vmap``,
    the binomial entropy 35x). Gradients trace, also through integer constants (the Beta
    entropy's ``Beta(1, 1)``: a ``float0`` tangent raised ``TypeError``). Traced only,
    nothing compiled."""
    value, gradient, params = _value_and_gradient(form)
    _assert_vmap_keeps_the_branches(value, params)
    jax.make_jaxpr(gradient)(*params)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(
            *p.values,
            id=p.id,
            marks=[pytest.mark.slow]
            if {f.__name__ for f in p.values[0].families} & _HEAVY_GRADIENTS
            else [],
        )
        for p in _ALL_FORMS
    ],
)
def test_gradients_keep_every_branch_under_vmap(form):
    """As above for the gradients: the branches of the derivative rules test the whole
    batch too."""
    _, gradient, params = _value_and_gradient(form)
    _assert_vmap_keeps_the_branches(gradient, params)


@pytest.mark.parametrize(
    "form", [p for p in _forms(same_family=True) if p.values[0].quantity != "entropy"]
)
def test_a_batch_of_p_against_one_q_broadcasts(form):
    """P with a batch of 3 against a single Q (and the reverse) gives 3 values: the logits
    forms, whose row sums take arrays of one shape, raised ``TypeError``. Traced only;
    the values of broadcast logits are in ``tests/test_logits.py``."""
    from verify._ops import jax_ops

    (family, _), (kind_p, kind_q) = form.families, form.parameterisations
    rng = np.random.default_rng(4)
    dims = {name: dim.default for name, dim in family.dims.items()}
    batch = family.from_params(*family.random_params(rng, 3, **dims))
    p, q = batch.params_as(kind_p), [x[0] for x in batch.params_as(kind_q)]
    for args in ((*p, *q), (*[x[0] for x in p], *batch.params_as(kind_q))):
        shape = jax.eval_shape(lambda *params: form.function(jax_ops, *params), *args).shape
        assert shape == (3,)

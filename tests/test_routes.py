"""Derivation routes that scale: normalisers, exponential families, Mellin transforms, supports.

The families are built here from densities (``route_families``); the checks
against them are independent: SciPy's densities and entropies, numerical
quadrature of SciPy's log-densities, and textbook formulas typed in the test.
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
import sympy as sp
from route_families import (
    SCIPY,
    N,
    beta,
    binomial,
    continuous_bernoulli,
    dirichlet,
    exponential,
    gamma,
    geometric,
    half_normal,
    log_normal,
    poisson,
)

import verify
from verify.families import supports
from verify.families._distribution import SymbolicFamily
from verify.symbolic import derive, is_identically_zero
from verify.symbolic import exponential_family as ef
from verify.symbolic.derive import (
    EXPONENTIAL_FAMILY,
    INTEGRAL,
    OUTSIDE_SUPPORT,
    choose_route,
    derive_from,
    expected_log,
)

BINOMIAL_N = 7


def _draw(name, rng):
    """Random parameters (floats) for the family ``name``, in the ranges the tests use."""
    draws = {
        "exponential": lambda: (rng.uniform(0.2, 5),),
        "gamma": lambda: (rng.uniform(0.3, 6), rng.uniform(0.2, 4)),
        "beta": lambda: (rng.uniform(0.5, 6), rng.uniform(0.5, 6)),
        "log_normal": lambda: (rng.normal(0, 1), rng.uniform(0.3, 1.5)),
        "half_normal": lambda: (rng.uniform(0.2, 4),),
        "continuous_bernoulli": lambda: (
            rng.choice([rng.uniform(0.05, 0.45), rng.uniform(0.55, 0.95)]),
        ),
        "poisson": lambda: (rng.uniform(0.2, 8),),
        "geometric": lambda: (rng.uniform(0.1, 0.9),),
        "binomial": lambda: (rng.uniform(0.05, 0.95),),
        "dirichlet": lambda: (rng.uniform(0.5, 4, 3),),
    }
    return tuple(np.asarray(v, np.float64) for v in draws[name]())


def _bind(family, values):
    bound = {}
    for param, value in zip(family.params, values):
        entries = list(param) if hasattr(param, "shape") else [param]
        for symbol, v in zip(entries, np.ravel(value)):
            bound[symbol] = sp.Float(float(v), 30)
    if family.name == "Binomial":
        bound[N] = BINOMIAL_N
    return bound


def _evaluate(derivation, *values):
    bound = {}
    for family, v in zip(derivation.families, values):
        bound.update(_bind(family, v))
    return float(derivation.expr.subs(bound).doit().evalf(30))


# --------------------------------------------------------------- references
def _cb_log_pdf(lam):
    """Continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, eq. 6), typed independently."""
    log_c = math.log(2 * math.atanh(1 - 2 * lam) / (1 - 2 * lam))
    return lambda x: log_c + x * math.log(lam) + (1 - x) * math.log(1 - lam)


def _reference(name, values):
    """(log-density function, support (low, high), discrete?) from SciPy or typed formulas."""
    if name == "continuous_bernoulli":
        return _cb_log_pdf(float(values[0])), (0.0, 1.0), False
    dist = SCIPY[name][1](*(float(v) for v in values))
    if name in ("poisson", "geometric", "binomial"):
        return dist.logpmf, (0, int(dist.mean() + 60 * dist.std()) + 60), True
    low, high = dist.support()
    return dist.logpdf, (low, high), False


def _expect(name, p_values, function):
    """E_P[function(X)] by quadrature / summation of SciPy's density."""
    log_p, (low, high), discrete = _reference(name, p_values)
    if discrete:
        xs = np.arange(low, high + 1)
        if name == "binomial":
            xs = np.arange(0, BINOMIAL_N + 1)
        weights = np.exp(log_p(xs))
        return float(np.sum(weights * np.array([function(x) for x in xs])))

    # tanh-sinh quadrature: endpoint singularities (a Beta's log-density) are its strength
    def integrand(x):
        log_px = log_p(float(x))
        if not math.isfinite(log_px):  # an endpoint, rounded onto: measure zero
            return 0.0
        return math.exp(log_px) * function(float(x))

    value = mpmath.quad(integrand, [low, high] if math.isfinite(high) else [low, 1, mpmath.inf])
    return float(value)


def reference_quantity(quantity, names, values):
    p_name = names[0]
    log_p, _, _ = _reference(p_name, values[0])
    if quantity == "entropy":
        return _expect(p_name, values[0], lambda x: -log_p(x))
    log_q, _, _ = _reference(names[1], values[1])
    if quantity == "cross_entropy":
        return _expect(p_name, values[0], lambda x: -log_q(x))
    return _expect(p_name, values[0], lambda x: log_p(x) - log_q(x))


UNIVARIATE = [n for n in SCIPY if n != "dirichlet"]
QUANTITIES = ("entropy", "kl", "cross_entropy")


def _families(quantity, build):
    return (build(),) if quantity == "entropy" else (build("p"), build("q"))


@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_derivation_matches_quadrature_of_scipy_densities(name, quantity):
    """The route's closed form equals the expectation computed numerically from SciPy's density."""
    build = SCIPY[name][0]
    derivation = derive_from(quantity, *_families(quantity, build))
    assert derivation.route == EXPONENTIAL_FAMILY
    rng = np.random.default_rng(11)
    for _ in range(3):
        values = [_draw(name, rng) for _ in derivation.families]
        expected = reference_quantity(quantity, [name] * len(values), values)
        got = _evaluate(derivation, *values)
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


def test_literature_entropies_from_scipy():
    """Entropies against SciPy's own ``entropy()`` (closed forms / series SciPy implements)."""
    rng = np.random.default_rng(3)
    for name in [n for n in SCIPY if n != "continuous_bernoulli"]:
        derivation = derive_from("entropy", SCIPY[name][0]())
        for _ in range(2):
            values = _draw(name, rng)
            expected = float(SCIPY[name][1](*values).entropy())
            np.testing.assert_allclose(_evaluate(derivation, values), expected, rtol=1e-9)


def test_textbook_kl_gamma_poisson_dirichlet():
    """KL formulas typed from the literature (Penny 2001; Wikipedia's tables)."""
    rng = np.random.default_rng(5)
    dg, lg = scipy.special.digamma, scipy.special.gammaln
    for _ in range(3):
        (a, b), (c, d) = _draw("gamma", rng), _draw("gamma", rng)
        textbook = (a - c) * dg(a) - lg(a) + lg(c) + c * (np.log(b) - np.log(d)) + a * (d - b) / b
        got = _evaluate(derive_from("kl", gamma("p"), gamma("q")), (a, b), (c, d))
        np.testing.assert_allclose(got, textbook, rtol=1e-10)
        (lp,), (lq,) = _draw("poisson", rng), _draw("poisson", rng)
        got = _evaluate(derive_from("kl", poisson("p"), poisson("q")), (lp,), (lq,))
        np.testing.assert_allclose(got, lp * np.log(lp / lq) - lp + lq, rtol=1e-10)
        (ap,), (aq,) = _draw("dirichlet", rng), _draw("dirichlet", rng)
        textbook = (
            lg(ap.sum())
            - lg(ap).sum()
            - lg(aq.sum())
            + lg(aq).sum()
            + np.sum((ap - aq) * (dg(ap) - dg(ap.sum())))
        )
        got = _evaluate(derive_from("kl", dirichlet("p"), dirichlet("q")), (ap,), (aq,))
        np.testing.assert_allclose(got, textbook, rtol=1e-10)


def test_dirichlet_cross_entropy_and_kl_relation():
    """H(P, Q) = KL(P || Q) + H(P), proved symbolically on the simplex (K = 3)."""
    p, q = dirichlet("p"), dirichlet("q")
    kl = derive_from("kl", p, q).expr
    cross = derive_from("cross_entropy", p, q).expr
    entropy = derive_from("entropy", p).expr
    assert is_identically_zero(cross - kl - entropy)


# ------------------------------------------------------- two routes agree
@pytest.mark.parametrize(
    "build",
    [exponential, lambda s="": verify.Normal.symbolic(s), half_normal],
    ids=["exponential", "normal", "half_normal"],
)
def test_direct_integration_and_bregman_agree(build):
    """Where both routes finish, SymPy proves them equal: that agreement is a proof."""
    p, q = build("p"), build("q")
    for log_g in (p.log_density, lambda x: p.log_density(x) - q.log_density(x), q.log_density):
        direct = expected_log(p, log_g, route=INTEGRAL)
        bregman = expected_log(p, log_g, route=EXPONENTIAL_FAMILY)
        assert not direct.has(sp.Integral)
        assert is_identically_zero(direct - bregman)


def test_kl_is_the_bregman_divergence_of_the_log_partition():
    """KL(P||Q) = A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)> (Gamma, Beta, Poisson)."""
    for build in (gamma, beta, poisson, geometric):
        p, q = build("p"), build("q")
        etas, signs, a_of_eta = ef.natural_log_partition(p)
        eta_p = ef.split(p).naturals
        eta_q = [n.subs(dict(zip(p.params, q.params))) for n in eta_p]

        def at(naturals, etas=etas, signs=signs):
            return {e: s * n for e, s, n in zip(etas, signs, naturals)}

        gradient = [s * sp.diff(a_of_eta, e) for e, s in zip(etas, signs)]
        bregman = (
            a_of_eta.subs(at(eta_q))
            - a_of_eta.subs(at(eta_p))
            - sum((nq - np_) * g.subs(at(eta_p)) for nq, np_, g in zip(eta_q, eta_p, gradient))
        )
        assert is_identically_zero(derive_from("kl", p, q).expr - bregman), build.__name__


# ------------------------------------------------------------- normaliser
def test_normaliser_is_checked_not_assumed():
    """A Gamma density without its lgamma(concentration) does not integrate to 1: refused."""
    good = gamma("p")
    wrong = SymbolicFamily(
        "Gamma",
        good.params,
        good.variable,
        lambda xp, x, a, b: xp.xlogy(a - 1, x) - b * x + a * xp.log(b),
        good.support,
    )
    with pytest.raises(ArithmeticError, match="does not integrate to 1"):
        derive_from("entropy", wrong)
    with pytest.raises(ArithmeticError, match="does not integrate to 1"):
        derive_from("kl", good, wrong)  # Q's normaliser enters through log q too


@pytest.mark.parametrize(
    "build, expected",
    [
        (exponential, lambda r: -sp.log(r)),
        (gamma, lambda a, b: sp.loggamma(a) - a * sp.log(b)),
        (beta, lambda a, b: sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b)),
        (poisson, lambda r: r),
        (geometric, lambda p: -sp.log(p)),
        (binomial, lambda p: -N * sp.log(1 - p)),
        (half_normal, lambda s: sp.log(s)),  # the constant sqrt(2/pi) is in h(x)
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_log_partition_is_derived_from_the_support(build, expected):
    family = build()
    ef.check_normaliser(family)
    assert is_identically_zero(ef.log_partition(family) - expected(*family.params))


def test_continuous_bernoulli_normaliser_is_its_atanh_form():
    """int_0^1 l^x (1-l)^(1-x) dx = (1 - 2l) / (2 atanh(1 - 2l)): the 0/0 at l = 1/2 included."""
    family = continuous_bernoulli()
    ef.check_normaliser(family)
    (lam,) = family.params
    mass = sp.exp(ef.log_partition(family) + ef.split(family).log_normaliser)
    for value in ("0.1", "0.4999", "0.9"):
        assert abs(complex(mass.subs(lam, sp.Rational(value)).evalf(30)) - 1) < 1e-25


# ------------------------------------------------------------ Mellin route
def test_mellin_transform_gives_expected_logarithms():
    """E[log X] = d/ds E[X^s] at s = 0 where log x is not a statistic of P."""
    family = exponential()
    (rate,) = family.params
    assert is_identically_zero(
        ef.expectation(family, sp.log(family.variable)) + sp.EulerGamma + sp.log(rate)
    )
    family = half_normal()
    (scale,) = family.params
    value = ef.expectation(family, sp.log(family.variable)).subs(scale, 2)
    expected = mpmath.quad(
        lambda x: mpmath.log(x) * mpmath.sqrt(2 / mpmath.pi) / 2 * mpmath.exp(-(x**2) / 8),
        [0, mpmath.inf],
    )
    assert abs(float(value.evalf(30)) - float(expected)) < 1e-13


def test_cross_family_kl_exponential_gamma():
    """KL(Exponential || Gamma) goes through the same routes, statistic by statistic."""
    derivation = derive_from("kl", exponential("p"), gamma("q"))
    assert derivation.route == EXPONENTIAL_FAMILY
    rng = np.random.default_rng(9)
    for _ in range(3):
        values = [_draw("exponential", rng), _draw("gamma", rng)]
        expected = reference_quantity("kl", ["exponential", "gamma"], values)
        np.testing.assert_allclose(_evaluate(derivation, *values), expected, rtol=1e-9)


# ---------------------------------------------------------------- supports
def test_kl_is_infinite_where_p_leaves_the_support_of_q():
    normal = verify.Normal.symbolic("p")
    for quantity in ("kl", "cross_entropy"):
        derivation = derive_from(quantity, normal, exponential("q"))
        assert derivation.expr == sp.oo
        assert derivation.route == OUTSIDE_SUPPORT
    # the other way round P's support lies within Q's: a finite closed form
    derivation = derive_from("kl", exponential("p"), verify.Normal.symbolic("q"))
    assert derivation.expr.is_finite is not False and derivation.route == EXPONENTIAL_FAMILY
    assert derive_from("kl", poisson("p"), exponential("q")).expr == sp.oo


def test_unevaluated_series_where_no_closed_form_exists():
    """A Poisson's entropy holds E[log X!]: a series SymPy keeps unevaluated, never a guess."""
    derivation = derive_from("entropy", poisson())
    assert derivation.expr.has(sp.Sum)
    assert not derive_from("kl", poisson("p"), poisson("q")).expr.has(sp.Sum)  # log x! cancels


# ----------------------------------------------------------------- proofs
def test_stable_gamma_forms_are_proved_equal_to_their_derivations():
    """The forms the family files write (shifted lgamma, digamma recurrences) are provable."""
    p, q = gamma("p"), gamma("q")
    (a, b), (c, d) = p.params, q.params
    derivation = derive_from("kl", p, q).expr
    delta = c - a
    stable = (
        sp.loggamma(a + delta)
        - sp.loggamma(a)
        - delta * sp.digamma(a)
        + c * sp.log(b / d)
        + a * (d / b - 1)
    )
    assert is_identically_zero(stable - derivation)
    # lgamma(a + 1) - log(a) for lgamma(a); digamma(a + 1) - 1/a for digamma(a)
    shifted = stable.subs(sp.loggamma(a), sp.loggamma(a + 1) - sp.log(a)).subs(
        sp.digamma(a), sp.digamma(a + 1) - 1 / a
    )
    assert is_identically_zero(shifted - derivation)
    wrong = stable + (sp.digamma(a + 1) - sp.digamma(a))  # off by 1/a
    assert not is_identically_zero(wrong - derivation)


def test_existing_families_keep_their_routes():
    assert derive("kl", verify.Normal, verify.Normal).route == INTEGRAL
    assert "sum" in derive("entropy", verify.Bernoulli).route


def test_log_normal_entropy_literature():
    """H = mu + 1/2 + log(sigma sqrt(2 pi)) (Wikipedia), typed here."""
    derivation = derive_from("entropy", log_normal())
    mu, sigma = derivation.families[0].params
    assert is_identically_zero(
        derivation.expr - (mu + sp.Rational(1, 2) + sp.log(sigma * sp.sqrt(2 * sp.pi)))
    )


def test_binomial_symbolic_total_count():
    """KL(Bin(n, p) || Bin(n, q)) = n KL(Bern(p) || Bern(q)), n a symbol of the support."""
    p, q = binomial("p"), binomial("q")
    (pp,), (qq,) = p.params, q.params
    bernoulli = pp * sp.log(pp / qq) + (1 - pp) * sp.log((1 - pp) / (1 - qq))
    assert is_identically_zero(derive_from("kl", p, q).expr - N * bernoulli)
    assert isinstance(p.support, supports.Integers)


def test_a_density_without_a_derivable_normaliser_is_integrated_directly():
    """exp(-x^4 - a x) on (0, oo) splits, but SymPy has no closed normaliser: the direct route."""
    a = sp.Symbol("a", positive=True)
    family = SymbolicFamily(
        "Quartic",
        (a,),
        sp.Symbol("x", positive=True),
        lambda xp, x, a: -(x**4) - a * x,
        supports.positive,
    )
    assert ef.split(family) is not None
    assert choose_route(family) == INTEGRAL


def test_logarithms_of_factored_arguments_keep_their_sign():
    """log(-1/(p - 1)) is -log(1 - p) for 0 < p < 1: a caller's factored form is proved, not
    left with a log(-1) (the Geometric's mixed probs/logits pairs were unproved)."""
    p = sp.Symbol("p", positive=True)
    assert is_identically_zero(sp.log(1 - p) + sp.log(-1 / (p - 1)))
    assert is_identically_zero(sp.log(1 + p / (1 - p)) + sp.log(1 - p))
    assert not is_identically_zero(sp.log(1 - p) - sp.log(-1 / (p - 1)))


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_dirichlet_normaliser_is_the_multivariate_beta_for_each_k(dim):
    """Stick-breaking with its Jacobian |det J| (signs taken on the cube) for K = 2, 3, 4."""
    family = dirichlet("p", dim)
    (concentration,) = family.params
    expected = sum(sp.loggamma(c) for c in concentration) - sp.loggamma(sum(concentration))
    ef.check_normaliser(family)
    assert is_identically_zero(ef.log_partition(family) - expected)

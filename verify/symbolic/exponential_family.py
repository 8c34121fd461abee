"""Exponential families in SymPy: the split of a log-density, its normaliser, its moments.

A family whose expanded log-density groups, by how each term depends on ``x``, as

    log p(x) = sum_j eta_j(theta) T_j(x) + c(theta) + log h(x)

is an exponential family with natural parameters ``eta``, sufficient statistics
``T`` and base measure ``h`` (:func:`split` finds the grouping mechanically;
symbols of the support, such as a Binomial's ``n``, belong to ``h``). Then:

* the log-partition ``A(eta) = log int h(x) exp(<eta, T(x)>) dx`` comes from
  integrating (or summing) over the support (:mod:`verify.symbolic.kernels`),
  and the density is normalised exactly when ``A = -c(theta)``: a proof
  obligation, :func:`check_normaliser`;
* ``E[T_j(X)] = dA/d eta_j`` (:func:`expectation`; the derivative is taken in a
  fresh symbol standing for ``eta_j``), so that ``E_P[log p - log q]`` for two
  members is the Bregman divergence ``A(eta_q) - A(eta_p) - <eta_q - eta_p,
  grad A(eta_p)>``;
* a function ``u`` that is not a statistic: ``E[log f(X)] = d/ds E[f(X)^s]`` at
  ``s = 0`` (the Mellin transform when ``f(x) = x``), ``E[X^k]`` as the ``k``-th
  moment ``int x^k h(x) exp(<eta, T(x)>) dx / e^A``, and otherwise the integral
  or sum of ``u p`` itself (left unevaluated where it has no closed form, such
  as ``E[log X!]`` for a Poisson ``X``).
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from verify.families import supports
from verify.symbolic import kernels
from verify.symbolic.functions import to_elementary
from verify.symbolic.kernels import expand, separate, total_mass

__all__ = [
    "Split",
    "check_normaliser",
    "expectation",
    "log_partition",
    "natural_log_partition",
    "split",
]


@dataclasses.dataclass(frozen=True)
class Split:
    """``log p(x) = sum_j naturals[j] * statistics[j] + log_normaliser + log_base``.

    Attributes:
        variables: the scalar variables of ``x`` (one, or the entries of a vector).
        statistics: the sufficient statistics ``T_j(x)``.
        naturals: the natural parameters ``eta_j(theta)``.
        log_base: ``log h(x)`` (with the constants the parameters do not enter).
        log_normaliser: the terms in the parameters alone, as the density writes
            them (``-A(theta)`` once :func:`check_normaliser` holds).
    """

    variables: tuple
    statistics: tuple
    naturals: tuple
    log_base: sp.Expr
    log_normaliser: sp.Expr

    @property
    def log_kernel(self):
        """``<eta, T(x)> + log h(x)``: the log of the unnormalised density."""
        return sp.Add(*(e * t for e, t in zip(self.naturals, self.statistics))) + self.log_base


def _key(family):
    """What a family's symbolic results depend on (a SymbolicFamily holds a dict: no hash)."""
    params = tuple(tuple(p) if hasattr(p, "shape") else p for p in family.params)
    variable = tuple(family.variable) if hasattr(family.variable, "shape") else family.variable
    return family.name, params, variable, family.density_code, family.support


def _variables(family):
    x = family.variable
    return tuple(x) if hasattr(x, "shape") else (x,)


def _support_symbols(family):
    bounds = getattr(family.support, "bounds", None)
    if bounds is None:
        return set()
    return set().union(*(sp.sympify(b).free_symbols for b in bounds()))


_SPLITS: dict = {}


def split(family) -> Split | None:
    """The exponential-family split of ``family``'s log-density, or None if it has none.

    Example:
        >>> import sympy as sp
        >>> from verify.families import supports
        >>> from verify.families._distribution import SymbolicFamily
        >>> a, b = sp.symbols("a b", positive=True)
        >>> x = sp.Symbol("x", positive=True)
        >>> gamma = SymbolicFamily(
        ...     "Gamma", (a, b), x,
        ...     lambda xp, x, a, b: xp.xlogy(a - 1, x) - b * x + a * xp.log(b) - xp.lgamma(a),
        ...     supports.positive)
        >>> s = split(gamma)
        >>> sorted(zip(s.statistics, s.naturals), key=str), s.log_normaliser
        ([(log(x), a - 1), (x, -b)], a*log(b) - loggamma(a))
    """
    key = _key(family)
    if key not in _SPLITS:
        _SPLITS[key] = _split(family)
    return _SPLITS[key]


def _split(family):
    xs = _variables(family)
    params = set(family.symbols()) - _support_symbols(family)
    constant, groups = separate(family.log_density(), xs)
    statistics, naturals, log_base = [], [], sp.S.Zero
    for part, coefficient in groups.items():
        if part.free_symbols & params:
            return None  # x and the parameters do not separate, e.g. log(x - loc)
        if coefficient.free_symbols & params:
            statistics.append(part)
            naturals.append(coefficient)
        else:
            log_base += coefficient * part
    log_normaliser = sp.S.Zero
    for term in sp.Add.make_args(constant):
        if term.free_symbols & params:
            log_normaliser += term
        else:
            log_base += term
    if not statistics:
        return None
    return Split(xs, tuple(statistics), tuple(naturals), log_base, log_normaliser)


def _mass(family, log_kernel):
    variable = family.variable
    return total_mass(family.support, variable, log_kernel)


_PARTITIONS: dict = {}


def natural_log_partition(family):
    """``A(eta)`` in fresh symbols for the natural parameters, by one integral over the support.

    Returns:
        ``(etas, signs, A)``: the symbols (each ``eta_j = signs[j] * etas[j]``:
        a parameter known to be negative, such as a Gamma's ``-rate``, gets a
        positive symbol and the sign -1, so that SymPy knows the integral
        converges) and the log-partition in them.
    """
    key = _key(family)
    if key not in _PARTITIONS:
        the_split = split(family)
        etas, signs = zip(*(_symbol_like(n) for n in the_split.naturals))
        kernel = sp.Add(*(s * e * t for s, e, t in zip(signs, etas, the_split.statistics)))
        mass = _mass(family, expand(kernel + the_split.log_base))
        _PARTITIONS[key] = etas, signs, tidy(sp.log(mass))
    return _PARTITIONS[key]


def _at_parameters(family, expr):
    """``expr`` in the natural-parameter symbols, at the family's ``eta(theta)``."""
    etas, signs, _ = natural_log_partition(family)
    naturals = split(family).naturals
    return expr.subs({e: s * n for e, s, n in zip(etas, signs, naturals)})


def log_partition(family):
    """``A(eta(theta)) = log int h(x) exp(<eta(theta), T(x)>) dx``, derived by SymPy."""
    return _at_parameters(family, natural_log_partition(family)[2])


def check_normaliser(family) -> None:
    """Proves ``log_partition(family) == -log_normaliser`` (the density integrates to 1).

    Raises:
        ArithmeticError: SymPy does not prove it (the density as written is
            not normalised, or the identity is beyond SymPy).
    """
    from verify.symbolic.derive import is_identically_zero

    key = _key(family)
    if key in _CHECKED:
        return
    written = split(family).log_normaliser
    derived = log_partition(family)
    # the ratio form has no branch of the logarithm to choose (ContinuousBernoulli's atanh)
    if is_identically_zero(derived + written) or is_identically_zero(
        sp.exp(derived) * sp.exp(written) - 1
    ):
        _CHECKED.add(key)
        return
    raise ArithmeticError(
        f"{family.name}: the density does not integrate to 1 over {type(family.support).__name__}"
        f": derived log-normaliser {derived}, written {-written}"
    )


_EXPECTATIONS: dict = {}
_CHECKED: set = set()


def clear_caches() -> None:
    """Forgets every split, log-partition, proof and expectation (benchmarks time cold runs)."""
    for cache in (_SPLITS, _PARTITIONS, _EXPECTATIONS, _CHECKED):
        cache.clear()
    kernels.clear_caches()


def expectation(family, u):
    """``E_P[u(X)]`` for ``P = family`` (an exponential family), derived from the normaliser.

    Example:
        >>> import sympy as sp
        >>> from verify.families import supports
        >>> from verify.families._distribution import SymbolicFamily
        >>> rate = sp.Symbol("rate", positive=True)
        >>> x = sp.Symbol("x", positive=True)
        >>> exponential = SymbolicFamily(
        ...     "Exponential", (rate,), x, lambda xp, x, r: xp.log(r) - r * x, supports.positive)
        >>> expectation(exponential, x), expectation(exponential, sp.log(x))
        (1/rate, -log(rate) - EulerGamma)
    """
    key = (_key(family), u)
    if key not in _EXPECTATIONS:
        value = tidy(_expectation(family, u))
        shorter = sp.cancel(sp.together(value))  # n p/(1 - p + p) is n p
        _EXPECTATIONS[key] = min(value, shorter, key=sp.count_ops)
    return _EXPECTATIONS[key]


def _expectation(family, u):
    the_split = split(family)
    kernel = the_split.log_kernel
    if u in the_split.statistics:  # dA / d eta_j
        etas, signs, log_partition_eta = natural_log_partition(family)
        j = the_split.statistics.index(u)
        return _at_parameters(family, signs[j] * sp.diff(log_partition_eta, etas[j]))
    if isinstance(u, sp.log) or (isinstance(u, sp.Pow) and isinstance(u.base, sp.log)):
        # d/ds E[f(X)^s] at s = 0 (u = log f), or E[(log f)^k] likewise in order k
        inner = u if isinstance(u, sp.log) else u.base
        order = sp.S.One if isinstance(u, sp.log) else u.exp
        if order.is_Integer and order > 0:
            s = sp.Dummy("s", real=True)
            try:
                moments = _mass(family, expand(kernel + s * inner))
            except NotImplementedError:  # E[f(X)^s] has no closed form (f = x!)
                return _direct(family, u)
            return sp.diff(moments, s, int(order)).subs(s, 0) / moments.subs(s, 0)
    (x,) = the_split.variables if len(the_split.variables) == 1 else (None,)
    if x is not None and u.is_polynomial(x) and not family.discrete:
        # moments: int x^k h(x) exp(<eta, T(x)>) dx / e^A
        total = sp.S.Zero
        for (power,), coefficient in sp.Poly(u, x).terms():
            moment = _mass(family, expand(kernel + power * sp.log(x)))
            total += coefficient * moment
        return total / sp.exp(log_partition(family))
    return _direct(family, u)


def _direct(family, u):
    """``int u p`` or ``sum u p`` itself; unevaluated where SymPy finds no closed form."""
    (x,) = _variables(family)
    low, high = family.support.bounds()
    integrand = tidy(u.rewrite(sp.gamma)) * sp.exp(to_elementary(family.log_density()))
    if isinstance(family.support, supports.Integers):
        return sp.Sum(integrand, (x, low, high))
    return sp.integrate(integrand, (x, low, high), conds="none")


def _symbol_like(value):
    """A fresh symbol ``eta`` and the sign with which it stands for ``value``.

    With the sign known, SymPy's integral needs no polar numbers
    (``int x^(a-1) e^(-eta x) dx = gamma(a) eta^(-a)`` for ``eta > 0``).
    """
    if value.is_positive:
        return sp.Dummy("eta", positive=True), 1
    if value.is_negative:
        return sp.Dummy("eta", positive=True), -1
    return sp.Dummy("eta", real=True), 1


def tidy(expr):
    """Expanded, with Gamma functions as the evaluation forms write them (:func:`gamma_names`)."""
    return gamma_names(expand(expr))


def gamma_names(expr):
    """``log(gamma(z))`` as ``loggamma(z)`` (equal for ``z > 0``, as the families' parameters
    are), ``polygamma(0, z)`` as ``digamma(z)``.
    """
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
        lambda e: sp.loggamma(e.args[0].args[0]),
    )
    return expr.replace(
        lambda e: isinstance(e, sp.polygamma) and e.args[0] == 0,
        lambda e: sp.digamma(e.args[1]),
    )

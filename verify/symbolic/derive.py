"""Closed forms derived by SymPy from the densities, and proofs of their rewrites.

Every quantity is an expectation of a logarithm under P:

* ``entropy(P)         = -E_P[log p(X)]``
* ``cross_entropy(P, Q) = -E_P[log q(X)]``
* ``kl(P, Q)            =  E_P[log p(X) - log q(X)]``

and :func:`expected_log` computes such an expectation from the density alone:

* discrete support: the sum ``sum_x P(x) log g(x)``, with ``xlogy`` carrying the
  convention ``0 log(.) = 0``;
* the real line: the integral ``int p(x) log g(x) dx``, after expanding the
  logarithm (``expand_log(force=True)``: a polynomial in ``x``, integrated term
  by term);
* ``R^d``: the change of variables ``x = loc + L z``. Its Jacobian is computed,
  and ``p(x(z)) |det J|`` is *checked* to equal the standard normal density
  ``prod_i phi(z_i)`` before the expectation is computed as iterated integrals
  of polynomial moments ``int z^k phi(z) dz``.

:func:`derive` then checks the registered evaluation form (the code that runs,
:mod:`verify.formulas`, executed on the SymPy backend) against the derivation.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers

import sympy as sp

from verify import formulas
from verify.families import SymbolicFamily, by_name, supports
from verify.symbolic import exponential_family
from verify.symbolic.functions import to_elementary, xlogy
from verify.symbolic.jaxify import to_jax
from verify.symbolic.kernels import separate
from verify.symbolic.ops import sympy_ops

__all__ = [
    "Derivation",
    "choose_route",
    "derive",
    "derive_from",
    "expected_log",
    "is_identically_zero",
]


# ------------------------------------------------------------------ expectations
@functools.cache
def _standard_normal_moment(k: int):
    """int z^k phi(z) dz over the real line, by SymPy integration."""
    z = sp.Symbol("z", real=True)
    return sp.integrate(z**k * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo))


def _expand(expr):
    return sp.expand(sp.expand_log(expr, force=True))


def _check_standardisation(family: SymbolicFamily, z, x_of_z):
    """Proves p(x(z)) |det dx/dz| = prod_i phi(z_i), or raises."""
    jacobian = x_of_z.jacobian(z).det()
    log_jacobian = sp.log(jacobian)
    log_phi = sp.Add(*(-(zi**2) / 2 - sp.log(2 * sp.pi) / 2 for zi in z))
    difference = family.log_density(x_of_z) + log_jacobian - log_phi
    if not is_identically_zero(difference):
        raise ArithmeticError(f"{family.name}: x = loc + L z does not standardise the density")


#: The routes, in the words :attr:`Derivation.route` reports.
SUM = "sum over the support with 0 log(.) = 0"
INTEGRAL = "integral over the support of p(x) times the expanded logarithm"
STANDARDISED = (
    "integral over R^d after the change of variables x = loc + L z (checked to standardise "
    "the density), as moments of the standard normal"
)
EXPONENTIAL_FAMILY = (
    "exponential family: log-partition A by integrating h(x) exp(<eta, T(x)>) over the support "
    "(proved equal to the density's normaliser), E[T(X)] = grad A (KL: the Bregman divergence "
    "of A), other terms by the Mellin transform d/ds E[X^s] at s = 0 or by moments"
)
OUTSIDE_SUPPORT = "support of P not within that of Q"


def choose_route(family: SymbolicFamily) -> str:
    """The route :func:`expected_log` takes for ``family``, from its support and density.

    Finite numeric ranges are summed point by point, ``R^d`` standardised, the
    real line integrated directly (fast for polynomial log-densities); every
    other support goes through the exponential-family split when the density
    has one and SymPy derives its normaliser, else direct integration.
    """
    support = family.support
    if isinstance(support, supports.RealVector):
        return STANDARDISED
    if isinstance(support, supports.Integers) and isinstance(support.high, numbers.Real):
        if support.finite:  # numeric ends: point by point (a symbolic end needs a series)
            return SUM
    if support == supports.real:
        return INTEGRAL
    if exponential_family.split(family) is not None:
        try:
            exponential_family.log_partition(family)  # cached: the route's first step
            return EXPONENTIAL_FAMILY
        except NotImplementedError:  # SymPy finds no normaliser: integrate p log g directly
            pass
    if isinstance(support, supports.Interval):
        return INTEGRAL
    raise NotImplementedError(
        f"{family.name}: no derivation route for a density that is not an exponential family "
        f"on {type(support).__name__}"
    )


def expected_log(family: SymbolicFamily, log_g, route: str | None = None):
    """E_P[log g(X)] for X ~ ``family``, derived from its density.

    Args:
        family: the distribution P, as :meth:`Distribution.symbolic` gives it.
        log_g: a function of the variable returning ``log g(x)``; for discrete
            families it is called at each support point.
        route: one of the routes (default: :func:`choose_route`); a test
            derives one quantity by two routes to prove them equal.

    Returns:
        A SymPy expression in the parameters.
    """
    route = route or choose_route(family)
    if route == SUM:
        terms = []
        for point in family.support:
            mass = sp.exp(family.log_density(point))
            terms.append(xlogy(mass, sp.exp(log_g(point))))
        return sp.Add(*terms)
    x = family.variable
    if route == EXPONENTIAL_FAMILY:
        exponential_family.check_normaliser(family)
        variables = list(x) if isinstance(x, sp.MatrixBase) else [x]
        constant, groups = separate(log_g(x), variables)
        return exponential_family.gamma_names(constant) + sp.Add(
            *(c * exponential_family.expectation(family, u) for u, c in groups.items())
        )
    if route == INTEGRAL:
        density = sp.exp(family.log_density())
        integrand = _expand(log_g(x))
        return sp.Add(
            *(
                sp.integrate(density * term, (x, *family.support.bounds()))
                for term in sp.Add.make_args(integrand)
            )
        )
    loc, scale_tril = family.params
    z = sp.Matrix([sp.Symbol(f"z_{i}", real=True) for i in range(x.shape[0])])
    x_of_z = loc + scale_tril * z
    _check_standardisation(family, z, x_of_z)
    polynomial = sp.Poly(_expand(log_g(x_of_z)), *z)
    total = sp.S.Zero
    for powers, coefficient in polynomial.terms():
        moment = sp.Mul(*(_standard_normal_moment(k) for k in powers))
        total += coefficient * moment
    return total


def _within(support, other) -> bool:
    """``support.within(other)``; True where it is undecided (a symbolic bound: ``n_p <= n_q``)."""
    try:
        return bool(support.within(other))
    except TypeError:
        return True


# -------------------------------------------------------------------- proofs
def is_identically_zero(expr, relations=()) -> bool:
    """True if SymPy proves ``expr == 0`` for all parameter values.

    Special functions are rewritten into elementary ones, logarithms expanded
    (parameters carry positivity assumptions), then the rational remainder is
    simplified. ``relations`` are expressions known to be zero (e.g.
    ``sum(probs) - 1``), used to eliminate a symbol each. Where that is not
    enough, Gamma functions are brought to one argument per family of shifts
    (:func:`_unshift_gamma`: ``loggamma(a + 1) = loggamma(a) + log(a)``,
    ``digamma(a + 1) = digamma(a) + 1/a``) and logarithms of sums to
    logarithms of factors, and the test is repeated. False means "not
    proved": no numerical check stands in for a proof. A piecewise
    expression (a stable form's branches, ``xp.where``) is proved zero
    branch by branch, each for all parameter values: stronger than needed
    (a branch need only hold where it is taken), and sound.

    Example:
        >>> import sympy as sp
        >>> a = sp.Symbol("a", positive=True)
        >>> is_identically_zero(sp.loggamma(a + 1) - sp.loggamma(a) - sp.log(a))
        True
        >>> is_identically_zero(sp.digamma(a + 2) - sp.digamma(a) - 1 / a - 1 / (a + 1))
        True
        >>> is_identically_zero(sp.loggamma(a + 1) - sp.loggamma(a))
        False
        >>> is_identically_zero(sp.Piecewise((a - a, a < 1), (2 * a - a - a, True)))
        True
    """
    if expr.has(sp.Piecewise):
        folded = sp.piecewise_fold(expr)
        if isinstance(folded, sp.Piecewise):
            return all(is_identically_zero(branch.expr, relations) for branch in folded.args)
    expr = to_elementary(expr)
    if _is_zero(expr, relations):
        return True
    if not expr.has(sp.loggamma, sp.polygamma, sp.gamma, sp.log):
        return False
    return _is_zero(_factor_logarithms(_unshift_gamma(expr)), relations)


#: Above this many terms (estimated by :func:`expansion_size`), expanding is not tried:
#: the identity is left unproved rather than let SymPy run for hours.
MAX_EXPANSION = 20_000


def expansion_size(expr) -> int:
    """An upper estimate of how many terms ``sp.expand(expr)`` produces, without expanding.

    A sum adds its terms' counts, a product multiplies them, an integer power
    ``b**n`` raises ``b``'s count to ``|n|`` (``expand`` expands denominators too),
    and a function counts its arguments' terms once.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b")
        >>> expansion_size((a + b) ** 3), len(sp.expand((a + b) ** 3).args)
        (8, 4)
        >>> expansion_size(((a + b) ** 2 + 1) ** 8) > MAX_EXPANSION
        True
    """
    if expr.is_Atom:
        return 1
    sizes = [expansion_size(arg) for arg in expr.args]
    if expr.is_Add:
        return sum(sizes)
    if expr.is_Mul:
        return min(MAX_EXPANSION + 1, _product(sizes))
    if expr.is_Pow and expr.exp.is_Integer:
        return min(MAX_EXPANSION + 1, sizes[0] ** min(abs(int(expr.exp)), 64))
    return sum(sizes)


def _product(sizes):
    out = 1
    for size in sizes:
        out = min(MAX_EXPANSION + 1, out * size)
    return out


def _is_zero(expr, relations):
    if expansion_size(expr) > MAX_EXPANSION:
        return False
    expr = _expand(expr)
    for relation in relations:
        symbol = sorted(relation.free_symbols, key=str)[-1]
        (solution,) = sp.solve(relation, symbol)
        expr = _expand(expr.subs(symbol, solution))
    if expr == 0:
        return True
    return sp.simplify(sp.cancel(sp.together(expr))) == 0


def _unshift_gamma(expr):
    """Gamma functions of ``z + n`` (``n`` an integer) as functions of ``z``.

    ``log(gamma(z))`` becomes ``loggamma(z)`` (the parameters are positive),
    ``loggamma(z + n) = loggamma(z) + sum_{k<n} log(z + k)``, and ``polygamma``
    shifts by :func:`sympy.expand_func` (``digamma(z + 1) = digamma(z) + 1/z``).
    """
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
        lambda e: sp.loggamma(e.args[0].args[0]),
    )

    def unshift(e):
        shift, z = e.args[0].as_coeff_Add()
        if not shift.is_Integer or shift == 0 or z == 0:
            return e
        n = int(shift)
        if n > 0:
            return sp.loggamma(z) + sp.Add(*(sp.log(z + k) for k in range(n)))
        return sp.loggamma(z) - sp.Add(*(sp.log(z - k) for k in range(1, -n + 1)))

    expr = expr.replace(lambda e: isinstance(e, sp.loggamma), unshift)
    return expr.replace(lambda e: isinstance(e, sp.polygamma), sp.expand_func)


def _factor_logarithms(expr):
    """``log(1 + p/(1 - p))`` as ``log(1/(1 - p))``: one fraction, which ``expand_log`` splits.

    A logarithm's argument is positive; where factoring leaves a negative
    coefficient (``-1/(p - 1)``, also as written by a caller), the sign goes
    into a factor of odd power (``1/(1 - p)``), so that no ``log(-1)`` appears.
    """

    def factored(e):
        numerator, denominator = sp.fraction(sp.together(e.args[0]))
        try:
            c_num, top = sp.factor_list(numerator)
            c_den, bottom = sp.factor_list(denominator)
        except sp.PolynomialError:
            return e
        coefficient = c_num / c_den
        factors = top + [(base, -power) for base, power in bottom]
        if coefficient.is_negative:
            for i, (base, power) in enumerate(factors):
                if power % 2:
                    factors[i] = (-base, power)
                    coefficient = -coefficient
                    break
        return sp.log(coefficient * sp.Mul(*(base**power for base, power in factors)))

    return expr.replace(lambda e: isinstance(e, sp.log) and e.args[0].has(sp.Add), factored)


# ------------------------------------------------------------------ derive
@dataclasses.dataclass(frozen=True)
class Derivation:
    """A closed form derived from densities, with its proof obligations.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        families: the symbolic families, P first.
        expr: the derived closed form (nats), a SymPy expression.
        route: how it was derived, in words.
    """

    quantity: str
    families: tuple[SymbolicFamily, ...]
    expr: sp.Expr
    route: str
    dims: tuple = ()

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The parameters, P's then Q's, as the arguments of :attr:`jax_function`."""
        return [s for family in self.families for s in family.symbols()]

    def bind(self, *distributions) -> dict:
        """Maps :attr:`symbols` to the parameters of concrete, unbatched distributions.

        Example:
            >>> import verify
            >>> d = verify.derive("entropy", verify.Normal)
            >>> float(d.expr.subs(d.bind(verify.Normal(0.0, 1.0))))
            1.418938...
        """
        if len(distributions) != len(self.families):
            raise TypeError(
                f"expected {len(self.families)} distributions, got {len(distributions)}"
            )
        values = {}
        for family, distribution in zip(self.families, distributions):
            if distribution.batch_shape != ():
                raise ValueError(f"expected an unbatched distribution, got {distribution!r}")
            values.update(family.bind(distribution))
        return values

    @property
    def latex(self) -> str:
        names = {}
        for family in self.families:
            names.update(family.latex_names)
        return sp.latex(self.expr, symbol_names=names)

    @functools.cached_property
    def jax_function(self):
        """The derived expression compiled to JAX, a function of :attr:`symbols`."""
        name = "_".join([self.quantity] + [f.name.lower() for f in self.families])
        return to_jax(self.expr, self.symbols, name=name)

    @functools.cached_property
    def evaluation_form(self) -> sp.Expr:
        """The registered formula (the code ``verify.kl`` etc. run), on the SymPy backend."""
        classes = [_family_class(f.name) for f in self.families]
        form = formulas.lookup(
            self.quantity,
            *classes,
            parameterisations=tuple(f.parameterisation for f in self.families),
        )
        params = [p for family in self.families for p in family.params]
        return form.function(sympy_ops, *params)

    def proves_evaluation_form(self) -> bool:
        """True if SymPy proves the evaluation form equal to the derived form.

        A mixed pair (one distribution from probs, one from logits) runs the
        logits form with the probs side converted (``Family.convert``; see
        :mod:`verify.formulas`). Its proof: the logits form equals the
        logits-logits derivation (proved), and that derivation, at those
        logits, equals the mixed derivation (proved here).
        """
        relations = [r for family in self.families for r in family.assumptions]
        kinds = {f.parameterisation for f in self.families}
        if kinds != {"probs", "logits"}:
            return is_identically_zero(self.evaluation_form - self.expr, relations)
        classes = [_family_class(f.name) for f in self.families]
        all_logits = derive(
            self.quantity,
            *classes,
            parameterisations=("logits",) * len(classes),
            **dict(self.dims),
        )
        if not all_logits.proves_evaluation_form():
            return False
        values = {}
        for mine, theirs, cls in zip(self.families, all_logits.families, classes):
            converted = cls.convert(sympy_ops, mine.params, mine.parameterisation, "logits")
            for symbol, value in zip(theirs.params, converted):  # (total_count, logits), ...
                pairs = zip(symbol, value) if hasattr(symbol, "shape") else [(symbol, value)]
                values.update(dict(pairs))
        at_logits = to_elementary(all_logits.expr.subs(values))
        # exp(-log p + log(1 - p)) and log(1 + p / (1 - p)): one fraction inside, so
        # that expand_log splits them into logarithms of the parameters.
        at_logits = at_logits.replace(
            lambda e: isinstance(e, (sp.log, sp.exp)),
            lambda e: e.func(sp.factor(sp.together(e.args[0]))),
        )
        return is_identically_zero(at_logits - self.expr, relations)


def _family_class(name):
    return by_name(name)


def _check_arguments(families, dims):
    """Raises unless ``families`` are family classes and ``dims`` sizes one of them takes."""
    from verify.families import Distribution

    for family in families:
        if not (isinstance(family, type) and issubclass(family, Distribution)):
            raise TypeError(
                f"`families` must be family classes such as verify.Normal, got {family!r}"
            )
    takes = {name: dim for family in families for name, dim in family.dims.items()}
    for name, value in dims.items():
        if name not in takes:
            names = " and ".join(f.__name__ for f in families)
            verb = "takes" if len(families) == 1 else "take"
            raise TypeError(f"{names} {verb} no size `{name}`; sizes: {sorted(takes) or 'none'}")
        least = takes[name].least
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"`{name}` must be an integer >= {least}, got {value!r}")


def _symbolic(cls, suffix, parameterisation, dims):
    """``cls.symbolic`` with the sizes it takes (each family reads its own from ``dims``)."""
    own = {name: dims[name] for name in cls.dims if name in dims}
    return cls.symbolic(suffix, parameterisation=parameterisation, **own)


@functools.cache
def derive(quantity: str, *families: type, parameterisations=None, **dims) -> Derivation:
    """Derives ``quantity`` between ``families`` from their densities.

    The density is the one written in each family's parameterisation: for
    ``parameterisations=("logits", "logits")`` the Categorical log-density is
    ``l_x - log(sum_k exp(l_k))`` and the derived KL is a function of the
    logits, which the logits forms are proved equal to.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        *families: family classes, e.g. ``verify.Normal, verify.Normal``.
        parameterisations: one name per family, e.g. ``("probs", "logits")``
            (default: each family's first, ``"probs"`` for the discrete ones).
        **dims: sizes for families that need one: ``dim`` for
            MultivariateNormal (default 2), ``num_classes`` for Categorical
            (default 3).

    Returns:
        A :class:`Derivation`.

    Example:
        >>> import verify
        >>> d = verify.derive("entropy", verify.Normal)
        >>> d.expr.has(d.symbols[1]), d.expr.has(d.symbols[0])  # depends on scale, not loc
        (True, False)
        >>> d.proves_evaluation_form()
        True
    """
    expected = formulas.QUANTITIES.get(quantity)
    if expected is None:
        raise ValueError(
            f"`quantity` must be one of {sorted(formulas.QUANTITIES)}, got {quantity!r}"
        )
    if len(families) != expected:
        raise TypeError(f"{quantity} takes {expected} families, got {len(families)}")
    _check_arguments(families, dims)
    # NotImplementedError for pairs without a closed form, ValueError for a bad parameterisation
    form = formulas.lookup(quantity, *families, parameterisations=parameterisations)
    suffixes = ("p", "q") if expected == 2 else ("",)
    symbolic = tuple(
        _symbolic(cls, s, kind, dims)
        for cls, s, kind in zip(families, suffixes, form.parameterisations)
    )
    return derive_from(quantity, *symbolic, dims=tuple(sorted(dims.items())))


def derive_from(quantity: str, *families: SymbolicFamily, dims: tuple = ()) -> Derivation:
    """Derives ``quantity`` between symbolic families (what :func:`derive` does after lookup).

    Example:
        >>> import verify
        >>> from verify.symbolic.derive import derive_from
        >>> p, q = verify.Normal.symbolic("p"), verify.Normal.symbolic("q")
        >>> derive_from("kl", p, q).route
        'integral over the support of p(x) times the expanded logarithm'
    """
    p = families[0]
    if quantity != "entropy" and not _within(p.support, families[1].support):
        # P puts mass where q = 0: E_P[-log q(X)] = +inf
        return Derivation(quantity, families, sp.oo, OUTSIDE_SUPPORT, dims)
    route = choose_route(p)
    for family in families[1:]:  # Q's normaliser enters through log q
        if choose_route(family) == EXPONENTIAL_FAMILY:
            exponential_family.check_normaliser(family)
    if quantity == "entropy":
        expr = -expected_log(p, p.log_density)
    elif quantity == "cross_entropy":
        expr = -expected_log(p, families[1].log_density)
    else:
        q = families[1]
        if route == SUM:
            # sum_x P(x) log(P(x)/Q(x)) with 0 log(0/q) = 0 and p log(p/0) = +inf
            expr = expected_log(p, p.log_density) - expected_log(p, q.log_density)
        else:  # one expectation: what p and q share (log h, log x!) cancels inside it
            expr = expected_log(p, lambda x: p.log_density(x) - q.log_density(x))
    return Derivation(quantity, families, expr, route, dims)

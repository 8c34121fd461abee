"""Integrals and sums of ``exp(log_kernel(x))`` over a support, in a form SymPy does quickly.

Every route of :mod:`verify.symbolic.derive` that is not the direct integral of
``p(x) log g(x)`` comes down to one operation: the total mass of an
unnormalised density ``exp(k(x))`` over the support (the normaliser of a
family, the same tilted by ``exp(s u(x))`` for a moment or a Mellin transform).
SymPy's speed on such an integral depends on how it is written, so
:func:`total_mass` writes it as SymPy's tables expect:

* a half-line or an interval: ``log f(x)`` terms become powers ``f(x)**c``, the
  others one exponential (``x**(a-1) exp(-b x)`` is a Gamma integral, 0.1 s; the
  same written ``exp((a-1) log x - b x)`` is not done). On a bounded interval
  the Meijer-G method and ``hyperexpand`` give ``x**c (1-x)**d`` as a Beta
  function in 0.4 s (the default method: 19 s and an unevaluated ``hyper``).
  Where ``x`` enters only through ``log x`` on ``(0, oo)`` (the log-normal), the
  substitution ``x = e^y`` makes it an integral over the real line;
* integers: terms linear in ``x`` become a power ``w**x`` of a fresh positive
  symbol ``w`` (a power series in ``w``, which SymPy sums: ``exp(w)``,
  ``1/(1 - w)``, ``(1 + w)**n``), the rest a product of Gamma functions
  (``combsimp`` turns ``n!/(x!(n-x)!)`` into ``binomial(n, x)``);
* the simplex: stick-breaking, ``x_i = t_i prod_{j<i} (1 - t_j)``, with its
  Jacobian computed, makes the integrand a product of one-variable Beta
  integrands over the cube ``[0, 1]^(K-1)``, integrated factor by factor.

A series is summed where it converges: of SymPy's ``Piecewise`` answer the
first branch (its convergence condition) is taken; the callers check the
result against the normaliser written in the density, which the condition
cannot spoil.
"""

from __future__ import annotations

import sympy as sp

from verify.families import supports
from verify.symbolic.functions import to_elementary

__all__ = ["separate", "total_mass"]


def expand(expr):
    """Logarithms split (``force``: the parameters are positive) and products expanded."""
    return sp.expand(sp.expand_log(expr, force=True))


def separate(expr, variables) -> tuple[sp.Expr, dict]:
    """Splits ``expr`` into ``constant + sum_u coefficient_u * u(x)``.

    The terms that hold ``variables`` are rewritten into elementary functions
    and expanded; each expanded term is factored into a part free of
    ``variables`` and a part that holds them, and terms with the same ``x``
    part are collected. Terms free of ``variables`` stay as written (a
    normaliser such as ``log(2 atanh(1 - 2p) / (1 - 2p))`` is real for every
    ``p``; its expanded logarithms are not).

    Returns:
        ``(constant, {u(x): coefficient})``.

    Example:
        >>> import sympy as sp
        >>> x, a, b = sp.symbols("x a b", positive=True)
        >>> separate((a - 1) * sp.log(x) - b * x + a * sp.log(b), [x])
        (a*log(b), {log(x): a - 1, x: -b})
    """
    constant = sp.S.Zero
    groups: dict = {}
    for top in sp.Add.make_args(sp.sympify(expr)):
        if not top.has(*variables):
            constant += top
            continue
        for term in sp.Add.make_args(expand(to_elementary(top))):
            coefficient, part = term.as_independent(*variables, as_Add=False)
            if part == 1:
                constant += coefficient
            else:
                groups[part] = groups.get(part, sp.S.Zero) + coefficient
    return constant, {u: sp.factor_terms(c) for u, c in groups.items() if c != 0}


def total_mass(support, variable, log_kernel):
    """``int exp(log_kernel) dx`` (or the sum) over ``support``, a SymPy expression.

    Raises:
        NotImplementedError: SymPy leaves the integral or sum unevaluated.

    Example:
        >>> import sympy as sp
        >>> from verify.families import supports
        >>> x, a, b = sp.symbols("x a b", positive=True)
        >>> sp.powsimp(total_mass(supports.positive, x, (a - 1) * sp.log(x) - b * x))
        gamma(a)/b**a
        >>> k = sp.Symbol("k", integer=True, nonnegative=True)
        >>> total_mass(supports.nonnegative_integers, k, k * sp.log(a) - sp.loggamma(k + 1))
        exp(a)
    """
    if isinstance(support, supports.Interval):
        mass = _integrate_interval(variable, log_kernel, *support.bounds())
    elif isinstance(support, supports.Integers):
        mass = _sum_integers(variable, log_kernel, *support.bounds())
    elif isinstance(support, supports.Simplex):
        mass = _integrate_simplex(list(variable), log_kernel)
    else:
        raise NotImplementedError(f"no normaliser route for the support {support!r}")
    if mass.has(sp.Integral, sp.Sum, sp.hyper):
        raise NotImplementedError(f"SymPy leaves the total mass as {mass}")
    return mass


def _as_product(variable, log_kernel):
    """``exp(log_kernel)`` as ``exp(rest) * prod f(x)**c`` for the ``c log f(x)`` terms."""
    constant, groups = separate(log_kernel, [variable])
    powers, rest = [], constant
    for part, coefficient in groups.items():
        if isinstance(part, sp.log):
            powers.append(part.args[0] ** coefficient)
        else:
            rest += coefficient * part
    return sp.exp(rest) * sp.Mul(*powers)


def _integrate_interval(x, log_kernel, low, high):
    y = sp.Dummy("y", real=True)
    in_log_x = log_kernel.subs(sp.log(x), y)
    if (low, high) == (0, sp.oo) and not in_log_x.has(x) and in_log_x.has(y):
        # x = e^y, dx = e^y dy: an integral over the real line
        return _integrate_interval(y, expand(in_log_x + y), -sp.oo, sp.oo)
    integrand = _as_product(x, log_kernel)
    powers = integrand.atoms(sp.Pow)
    beta_like = any(p.base.has(x) and not p.exp.is_number for p in powers)
    meijerg = True if low.is_finite and high.is_finite and beta_like else None
    mass = sp.integrate(integrand, (x, low, high), conds="none", meijerg=meijerg)
    if mass.has(sp.hyper):
        mass = sp.hyperexpand(mass)
    if mass.has(sp.erf, sp.erfc):  # the real line: erf(z) + erfc(z) and erf(z) - erf(z) left
        mass = sp.expand(mass.rewrite(sp.erf))
    return mass


def _convergent(expr):
    """The first branch of a ``Piecewise`` (SymPy's convergent case), else ``expr``."""
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)


def _sum_integers(k, log_kernel, low, high):
    constant, groups = separate(log_kernel, [k])
    w = sp.Dummy("w", positive=True)
    linear = groups.pop(k, sp.S.Zero)
    rest = sp.Add(*(c * u for u, c in groups.items()))
    # Gamma functions of points of the support (positive arguments): exp(loggamma) is
    # gamma; with the constant inside, n!/(k!(n-k)!) becomes binomial(n, k)
    log_weight = (constant + rest).replace(sp.loggamma, lambda z: sp.log(sp.gamma(z)))
    weight = sp.combsimp(sp.exp(log_weight))
    series = sp.Sum(weight * w**k, (k, low, high)).doit()
    return _convergent(series).subs(w, sp.exp(linear))


def _integrate_simplex(xs, log_kernel):
    """Over ``{x_i >= 0, sum x_i = 1}``, in the first ``K - 1`` coordinates."""
    ts = [sp.Dummy(f"t_{i}", positive=True) for i in range(len(xs) - 1)]
    left, sticks = sp.S.One, []
    for t in ts:
        sticks.append(t * left)
        left = left * (1 - t)
    sticks.append(left)
    jacobian = sp.Matrix(sticks[:-1]).jacobian(ts).det()
    log_integrand = log_kernel.subs(dict(zip(xs, sticks))) + sp.log(sp.factor(jacobian))
    mass = sp.exp(separate(log_integrand, ts)[0])
    for t in ts:  # the integrand is a product of one factor per t_i over the cube
        _, groups = separate(log_integrand, [t])
        mine = sp.Add(*(c * u for u, c in groups.items()))
        mass *= _integrate_interval(t, mine, sp.S.Zero, sp.S.One)
    return sp.gammasimp(mass) if mass.has(sp.gamma) else mass

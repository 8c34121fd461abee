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

__all__ = ["clear_caches", "separate", "total_mass"]


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
        NotImplementedError: SymPy leaves the integral or sum unevaluated (or as a
            hypergeometric or Meijer G function).

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
    if mass.has(sp.Integral, sp.Sum, sp.hyper, sp.meijerg):  # no form the backends evaluate
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
    constant, groups = separate(log_kernel, [x])
    if (low, high) == (-sp.oo, sp.oo) and set(groups) == {x, x**2} and groups[x**2].is_negative:
        # completing the square: x = z - b / (2 a) (Jacobian 1) leaves exp(a z^2)
        a, b = groups[x**2], groups[x]
        z = sp.Dummy("z", real=True)
        shifted = expand(a * (z - b / (2 * a)) ** 2 + b * (z - b / (2 * a)))
        return sp.exp(constant) * _integrate_interval(z, shifted, low, high)
    return sp.exp(constant) * _generic_integral(x, groups, low, high)


_INTEGRALS: dict = {}
_T = sp.Dummy("t", real=True)  # the variable of the shapes (one symbol: shapes compare equal)


def _generic_integral(x, groups, low, high):
    """``int exp(sum_u c_u u(x)) dx``, integrated once per shape and reused.

    The shape is the functions ``u`` and the sign SymPy knows of each
    coefficient: the integral is derived with fresh symbols of those signs in
    place of the coefficients (a Beta integral once for every Beta and every
    stick of a Dirichlet), then the coefficients are substituted.
    """
    parts = sorted(((u.subs(x, _T), c) for u, c in groups.items()), key=lambda uc: sp.srepr(uc[0]))
    signs = tuple(_sign(c) for _, c in parts)
    key = (low, high, tuple(u for u, _ in parts), signs)
    if key not in _INTEGRALS:
        X = sp.Dummy("x", positive=low >= 0 or None, real=True)  # noqa: N806 - the generic x
        # a negative coefficient is -k for a positive k: no polar numbers in SymPy's answer
        ks = [sp.Dummy("k", positive=True) if sign else sp.Dummy("k", real=True) for sign in signs]
        log_integrand = sp.Add(
            *((sign or 1) * k * u.subs(_T, X) for k, sign, (u, _) in zip(ks, signs, parts))
        )
        integrand = _as_product(X, log_integrand)
        powers = integrand.atoms(sp.Pow)
        beta_like = any(p.base.has(X) and not p.exp.is_number for p in powers)
        meijerg = True if low.is_finite and high.is_finite and beta_like else None
        mass = sp.integrate(integrand, (X, low, high), conds="none", meijerg=meijerg)
        if mass.has(sp.hyper):
            mass = sp.hyperexpand(mass)
        if mass.has(sp.erf, sp.erfc):  # erf(z) + erfc(z) and erf(z) - erf(z) left unsimplified
            mass = sp.expand(mass.rewrite(sp.erf))
        _INTEGRALS[key] = ks, mass
    ks, mass = _INTEGRALS[key]
    return mass.subs({k: (sign or 1) * c for k, sign, (_, c) in zip(ks, signs, parts)})


def _sign(value):
    return 1 if value.is_positive else -1 if value.is_negative else 0


def clear_caches() -> None:
    """Forgets the integrals derived per shape (benchmarks time cold runs)."""
    _INTEGRALS.clear()


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

"""SymPy functions that mirror the JAX special functions used by the formulas.

Each is a :class:`sympy.Function` with a derivative (so ``sympy.diff`` works), a
rewrite to elementary functions (``expr.rewrite(sympy.log)``, which proofs use
to compare expressions), and arbitrary-precision numeric evaluation.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "kl_div_delta",
    "kl_div_log",
    "kl_div_unit",
    "log1pmx",
    "log_mul",
    "to_elementary",
    "xlog1py",
    "xlogx",
    "xlogy",
]


class xlogy(sp.Function):  # noqa: N801 - named as jax.scipy.special.xlogy
    """``x * log(y)``, with the convention ``0 * log(y) = 0`` even for ``y = 0``.

    This is the convention of the discrete KL divergence, ``0 log(0/q) = 0``.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import xlogy
        >>> xlogy(0, 0), xlogy(1, sp.Symbol("q"))
        (0, log(q))
    """

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.S.Zero
        if x == 1:
            return sp.log(y)
        if y == 1:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return sp.log(y)
        if argindex == 2:
            return x / y
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        x, y = (sp.sympify(a)._eval_evalf(prec) for a in self.args)
        if x is None or y is None:
            return None
        if x.is_zero:
            return sp.S.Zero
        return sp.Mul(x, sp.log(y))._eval_evalf(prec)

    def _latex(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return rf"\operatorname{{xlogy}}\left({x}, {y}\right)"


class xlogx(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``x * log(x)``, ``0`` at ``x = 0``; see :func:`verify._special.xlogx`.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import xlogx
        >>> x = sp.Symbol("x", positive=True)
        >>> xlogx(0), xlogx(x).rewrite(sp.log), xlogx(x).diff(x)
        (0, x*log(x), log(x) + 1)
    """

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero or x == 1:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.log(self.args[0]) + 1

    def _eval_rewrite_as_log(self, x, **kwargs):
        return x * sp.log(x)

    def _eval_evalf(self, prec):
        x = sp.sympify(self.args[0])._eval_evalf(prec)
        if x is None:
            return None
        if x.is_zero:
            return sp.S.Zero
        return (x * sp.log(x))._eval_evalf(prec)


class xlog1py(sp.Function):  # noqa: N801 - named as jax.scipy.special.xlog1py
    """``x * log(1 + y)``, with the convention ``0 * log(1 + y) = 0`` even for ``y = -1``.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import xlog1py
        >>> xlog1py(0, -1), xlog1py(2, sp.Symbol("y")).rewrite(sp.log)
        (0, 2*log(y + 1))
    """

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero or y.is_zero:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return sp.log(1 + y)
        if argindex == 2:
            return x / (1 + y)
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(1 + y)

    def _eval_evalf(self, prec):
        x, y = (sp.sympify(a)._eval_evalf(prec) for a in self.args)
        if x is None or y is None:
            return None
        if x.is_zero:
            return sp.S.Zero
        return sp.Mul(x, sp.log(1 + y))._eval_evalf(prec)


class log1pmx(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``log(1 + x) - x``; see :func:`verify._special.log1pmx`.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import log1pmx
        >>> x = sp.Symbol("x")
        >>> log1pmx(x).rewrite(sp.log), log1pmx(x).diff(x)
        (-x + log(x + 1), -x/(x + 1))
    """

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        (x,) = self.args
        return -x / (1 + x)

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + x) - x

    def _eval_evalf(self, prec):
        x = sp.sympify(self.args[0])._eval_evalf(prec)
        if x is None:
            return None
        return (sp.log(1 + x) - x)._eval_evalf(prec)


class kl_div_delta(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``x log(x / y) - x + y`` at ``x = y + delta``; see :func:`verify._special.kl_div_delta`.

    The rewrite to elementary functions simplifies ``y + delta`` first (it is
    often ``1`` or a parameter in disguise, e.g. ``q + (p - q)``), so that the
    logarithm expands into logarithms of parameters.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import kl_div_delta
        >>> p, q = sp.symbols("p q", positive=True)
        >>> kl_div_delta(q, p - q).rewrite(sp.log)
        p*log(p/q) - p + q
        >>> kl_div_delta(q, p - q).diff(p)
        log(p/q)
    """

    nargs = 2

    @classmethod
    def eval(cls, y, delta):
        if delta.is_zero:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        y, delta = self.args
        if argindex == 1:
            return log1pmx(delta / y)
        if argindex == 2:
            return sp.log(sp.cancel(y + delta) / y)
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, y, delta, **kwargs):
        x = sp.cancel(y + delta)
        return x * sp.log(x / y) - delta

    def _eval_evalf(self, prec):
        y, delta = (sp.sympify(a)._eval_evalf(prec) for a in self.args)
        if y is None or delta is None:
            return None
        x = y + delta
        if x.is_zero:
            return (-delta)._eval_evalf(prec)
        return (x * sp.log(x / y) - delta)._eval_evalf(prec)


class kl_div_unit(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``a - 1 - log(a)``; ``b = 1 - a`` is a numerical hint (:func:`verify._special.kl_div_unit`).

    The value depends on ``a`` only, so the derivative in ``b`` is 0.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import kl_div_unit
        >>> a = sp.Symbol("a", positive=True)
        >>> kl_div_unit(a, 1 - a).rewrite(sp.log), kl_div_unit(a, 1 - a).diff(a)
        (a - log(a) - 1, 1 - 1/a)
    """

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == 1:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        a, _ = self.args
        if argindex == 1:
            return 1 - 1 / a
        if argindex == 2:
            return sp.S.Zero
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return a - 1 - sp.log(a)

    def _eval_evalf(self, prec):
        a = sp.sympify(self.args[0])._eval_evalf(prec)
        if a is None:
            return None
        return (a - 1 - sp.log(a))._eval_evalf(prec)


class kl_div_log(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``a - 1 - log(a)`` at ``a = exp(log_a)``; ``b = 1 - a`` is a hint.

    See :func:`verify._special.kl_div_log`.

    The value depends on ``log_a`` only, so the derivative in ``b`` is 0.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import kl_div_log
        >>> a = sp.Symbol("a", positive=True)
        >>> kl_div_log(sp.log(a), 1 - a).rewrite(sp.log), kl_div_log(sp.log(a), 1 - a).diff(a)
        (a - log(a) - 1, (a - 1)/a)
    """

    nargs = 2

    @classmethod
    def eval(cls, log_a, b):
        if log_a.is_zero:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        log_a, _ = self.args
        if argindex == 1:
            return sp.exp(log_a) - 1
        if argindex == 2:
            return sp.S.Zero
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, log_a, b, **kwargs):
        return sp.exp(log_a) - 1 - log_a

    def _eval_evalf(self, prec):
        log_a = sp.sympify(self.args[0])._eval_evalf(prec)
        if log_a is None:
            return None
        return (sp.exp(log_a) - 1 - log_a)._eval_evalf(prec)


class log_mul(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``log(x * c)`` for a constant ``c``; see :func:`verify._special.log_mul`.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import log_mul
        >>> log_mul(sp.Symbol("s", positive=True), sp.sqrt(2 * sp.pi)).rewrite(sp.log)
        log(sqrt(2)*sqrt(pi)*s)
    """

    nargs = 2

    def fdiff(self, argindex=1):
        x, c = self.args
        if argindex == 1:
            return 1 / x
        if argindex == 2:
            return 1 / c
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, x, c, **kwargs):
        return sp.log(x * c)

    def _eval_evalf(self, prec):
        x, c = (sp.sympify(a)._eval_evalf(prec) for a in self.args)
        if x is None or c is None:
            return None
        return sp.log(x * c)._eval_evalf(prec)


def to_elementary(expr):
    """Rewrites every function of this module into elementary functions.

    Example:
        >>> import sympy as sp
        >>> p, q = sp.symbols("p q", positive=True)
        >>> to_elementary(xlogy(p, q))
        p*log(q)
    """
    return sp.sympify(expr).rewrite(sp.log)


# --- cont: Stirling's remainder of lgamma and the Bregman divergence built on it
__all__ += ["digamma_stirling", "lgamma_stirling", "stirling_bregman"]  # noqa: PLE0605


class lgamma_stirling(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``loggamma(x) - (x - 1/2) log(x) + x - log(2 pi) / 2``; see
    :func:`verify._special.lgamma_stirling`.

    Example:
        >>> import sympy as sp
        >>> from verify.symbolic.functions import lgamma_stirling
        >>> x = sp.Symbol("x", positive=True)
        >>> lgamma_stirling(x).diff(x)
        digamma_stirling(x)
        >>> float(lgamma_stirling(1).rewrite(sp.log))  # 1 - log(2 pi) / 2
        0.0810614667...
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return digamma_stirling(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.loggamma(x) - (x - sp.S.Half) * sp.log(x) + x - sp.log(2 * sp.pi) / 2

    def _eval_evalf(self, prec):
        x = sp.sympify(self.args[0])._eval_evalf(prec)
        if x is None:
            return None
        return self._eval_rewrite_as_log(x)._eval_evalf(prec)


class digamma_stirling(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``digamma(x) - log(x) + 1 / (2 x)``, the derivative of :class:`lgamma_stirling`.

    Example:
        >>> import sympy as sp
        >>> x = sp.Symbol("x", positive=True)
        >>> digamma_stirling(x).rewrite(sp.log)
        -log(x) + polygamma(0, x) + 1/(2*x)
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        (x,) = self.args
        return sp.polygamma(1, x) - 1 / x - 1 / (2 * x**2)

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.digamma(x) - sp.log(x) + 1 / (2 * x)

    def _eval_evalf(self, prec):
        x = sp.sympify(self.args[0])._eval_evalf(prec)
        if x is None:
            return None
        return self._eval_rewrite_as_log(x)._eval_evalf(prec)


class stirling_bregman(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``loggamma(b) - loggamma(a) - (b - a) digamma(a) - (b log(b / a) - b + a)``; see
    :func:`verify._special.stirling_bregman`.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", positive=True)
        >>> stirling_bregman(a, a)
        0
        >>> h = stirling_bregman(a, b)
        >>> sp.simplify(h.diff(a) - h.rewrite(sp.log).diff(a))
        0
    """

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        if argindex == 1:
            return b / a - 1 - (b - a) * sp.polygamma(1, a)
        if argindex == 2:
            return sp.digamma(b) - sp.digamma(a) - sp.log(b / a)
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return sp.loggamma(b) - sp.loggamma(a) - (b - a) * sp.digamma(a) - b * sp.log(b / a) + b - a

    def _eval_evalf(self, prec):
        a, b = (sp.sympify(v)._eval_evalf(prec) for v in self.args)
        if a is None or b is None:
            return None
        return self._eval_rewrite_as_log(a, b)._eval_evalf(prec)


# --- unit: Beta, Dirichlet, ContinuousBernoulli
def _derivative_of_rewrite(function, argindex):
    """d/d(argument) of ``function``'s elementary form, at its own arguments."""
    dummies = [sp.Dummy(f"a{i}") for i in range(len(function.args))]
    expr = type(function)(*dummies).rewrite(sp.log)
    derivative = sp.diff(expr, dummies[argindex - 1])
    return derivative.subs(dict(zip(dummies, function.args)))


class _Twin(sp.Function):
    """A JAX special function's twin: its value is :meth:`elementary`, evaluated
    and differentiated through it; a hint argument (``delta`` = a difference the
    caller computes accurately) has derivative 0."""

    _hints: tuple[int, ...] = ()

    @classmethod
    def elementary(cls, *args):
        raise NotImplementedError

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return self.elementary(*args)

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise sp.ArgumentIndexError(self, argindex)
        if argindex in self._hints:
            return sp.S.Zero
        return _derivative_of_rewrite(self, argindex)

    def _eval_evalf(self, prec):
        args = [sp.sympify(a)._eval_evalf(prec) for a in self.args]
        if any(a is None for a in args):
            return None
        return sp.sympify(self.elementary(*args))._eval_evalf(prec)


class lgamma_bregman(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``loggamma(b) - loggamma(a) - (b - a) digamma(a)``; ``delta = b - a`` is a hint.

    See :func:`verify._special.lgamma_bregman`.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", positive=True)
        >>> lgamma_bregman(a, b, b - a).rewrite(sp.log)
        -(-a + b)*polygamma(0, a) - loggamma(a) + loggamma(b)
    """

    nargs = 3
    _hints = (3,)

    @classmethod
    def eval(cls, a, b, delta):
        if delta.is_zero or a == b:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, a, b, delta):
        return sp.loggamma(b) - sp.loggamma(a) - (b - a) * sp.polygamma(0, a)


class ratio_kl(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``x / y - 1 - log(x / y)``; ``delta = x - y`` is a hint (:func:`verify._special.ratio_kl`).

    Example:
        >>> import sympy as sp
        >>> x, y = sp.symbols("x y", positive=True)
        >>> ratio_kl(x, y, x - y).rewrite(sp.log)
        x/y - log(x) + log(y) - 1
    """

    nargs = 3
    _hints = (3,)

    @classmethod
    def eval(cls, x, y, delta):
        if delta.is_zero or x == y:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, x, y, delta):
        return x / y - 1 - sp.log(x) + sp.log(y)


class digamma_diff(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``digamma(x + h) - digamma(x)`` (:func:`verify._special.digamma_diff`).

    Example:
        >>> import sympy as sp
        >>> x, h = sp.symbols("x h", positive=True)
        >>> digamma_diff(x, h).rewrite(sp.log)
        -polygamma(0, x) + polygamma(0, h + x)
    """

    nargs = 2

    @classmethod
    def eval(cls, x, h):
        if h.is_zero:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, x, h):
        return sp.polygamma(0, x + h) - sp.polygamma(0, x)


class binet_bregman(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """The Bregman divergence of Binet's function; see :func:`verify._special.binet_bregman`.

    ``lgamma_bregman(a, b) - (b log(b/a) - b + a) - ratio_kl(b, a) / 2``.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", positive=True)
        >>> w = binet_bregman(a, b, b - a)
        >>> sp.simplify(w.rewrite(sp.log).subs({a: 2, b: 3}) - w.subs({a: 2, b: 3}).rewrite(sp.log))
        0
    """

    nargs = 3
    _hints = (3,)

    @classmethod
    def eval(cls, a, b, delta):
        if delta.is_zero or a == b:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, a, b, delta):
        return (
            lgamma_bregman.elementary(a, b, delta)
            - (b * (sp.log(b) - sp.log(a)) - b + a)
            - ratio_kl.elementary(b, a, delta) / 2
        )


class lgamma_bregman_share(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``R(x, x') - x / (x + r) R(x + r, x' + r')`` with ``R`` = :class:`lgamma_bregman`;
    ``delta = x' - x`` and ``change = r' - r`` are hints
    (:func:`verify._special.lgamma_bregman_share`).

    Example:
        >>> import sympy as sp
        >>> a, b, c, d = sp.symbols("a b c d", positive=True)
        >>> shares = lgamma_bregman_share(a, b, c, d, c - a, d - b) + lgamma_bregman_share(
        ...     b, a, d, c, d - b, c - a)
        >>> kl = lgamma_bregman(a, c, c - a) + lgamma_bregman(b, d, d - b) - lgamma_bregman(
        ...     a + b, c + d, c + d - a - b)
        >>> sp.simplify((shares - kl).rewrite(sp.log))
        0
    """

    nargs = 6
    _hints = (5, 6)

    @classmethod
    def elementary(cls, x, r, x_q, r_q, delta, change):
        whole = lgamma_bregman.elementary(x + r, x_q + r_q, delta + change)
        return lgamma_bregman.elementary(x, x_q, delta) - x / (x + r) * whole


class log_sinhc(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``log(sinh(t) / t)``, written ``log(exp(2 t) - 1) - t - log(2 t)``.

    See :func:`verify._special.log_sinhc`.

    Example:
        >>> import sympy as sp
        >>> t = sp.Symbol("t", real=True)
        >>> log_sinhc(t).rewrite(sp.log)
        -t - log(2*t) + log(exp(2*t) - 1)
        >>> sp.series(log_sinhc(t).rewrite(sp.log), t, 0, 4)
        t**2/6 + O(t**4)
    """

    nargs = 1

    @classmethod
    def eval(cls, t):
        if t.is_zero:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, t):
        argument = sp.exp(2 * t) - 1
        if not argument.has(sp.exp):
            # At t = logit(p) / 2 one factored fraction, -(2p - 1)/(p - 1), as the mixed-pair
            # proof writes the logits derivation at converted parameters (exponentials are
            # left alone: factoring them can exhaust memory).
            argument = sp.factor(sp.together(argument))
        return sp.log(argument) - t - sp.log(2 * t)


class langevin(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``coth(t) - 1/t``, the derivative of :class:`log_sinhc`.

    Example:
        >>> import sympy as sp
        >>> t = sp.Symbol("t", real=True)
        >>> sp.simplify(langevin(t).rewrite(sp.log) - sp.diff(log_sinhc(t).rewrite(sp.log), t))
        0
    """

    nargs = 1

    @classmethod
    def eval(cls, t):
        if t.is_zero:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, t):
        return 2 * sp.exp(2 * t) / (sp.exp(2 * t) - 1) - 1 - 1 / t


class log_sinhc_bregman(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``log_sinhc(t + d) - log_sinhc(t) - d langevin(t)``.

    See :func:`verify._special.log_sinhc_bregman`.

    Example:
        >>> import sympy as sp
        >>> t, d = sp.symbols("t d", real=True)
        >>> sp.series(log_sinhc_bregman(0, d).rewrite(sp.log), d, 0, 4)
        d**2/6 + O(d**4)
    """

    nargs = 2

    @classmethod
    def eval(cls, t, d):
        if d.is_zero:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, t, d):
        # Through the functions, which are 0 at t = 0 (their elementary forms are 0/0 there).
        return (log_sinhc(t + d) - log_sinhc(t) - d * langevin(t)).rewrite(sp.log)


__all__ += [
    "binet_bregman",
    "digamma_diff",
    "langevin",
    "lgamma_bregman",
    "lgamma_bregman_share",
    "log_sinhc",
    "log_sinhc_bregman",
    "ratio_kl",
]


class logit(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``log(p) - log(1 - p)``; see :func:`verify._special.logit`.

    Example:
        >>> import sympy as sp
        >>> logit(sp.Symbol("p", positive=True)).rewrite(sp.log)
        log(p) - log(1 - p)
    """

    nargs = 1

    @classmethod
    def eval(cls, p):
        if p == sp.Rational(1, 2):
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, p):
        return sp.log(p) - sp.log(1 - p)


class logit_gap(_Twin):  # noqa: N801 - the name of the JAX function it mirrors
    """``logit(q) - logit(p)``; see :func:`verify._special.logit_gap`.

    Example:
        >>> import sympy as sp
        >>> p, q = sp.symbols("p q", positive=True)
        >>> logit_gap(p, q).rewrite(sp.log)
        -log(p) + log(q) + log(1 - p) - log(1 - q)
    """

    nargs = 2

    @classmethod
    def eval(cls, p, q):
        if p == q:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, p, q):
        return logit.elementary(q) - logit.elementary(p)


__all__ += ["logit", "logit_gap"]


# --- discrete
def _sigmoid(x):
    return 1 / (1 + sp.exp(-x))


class sigmoid_diff(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``sigmoid(b) - sigmoid(a)``; see :func:`verify._special.sigmoid_diff`.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", real=True)
        >>> sigmoid_diff(a, b).rewrite(sp.log)
        1/(1 + exp(-b)) - 1/(1 + exp(-a))
    """

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        if argindex == 1:
            return -_sigmoid(a) * _sigmoid(-a)
        if argindex == 2:
            return _sigmoid(b) * _sigmoid(-b)
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return _sigmoid(b) - _sigmoid(a)

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)


class log_sigmoid_diff(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """``log(sigmoid(b)) - log(sigmoid(a))``; see :func:`verify._special.log_sigmoid_diff`.

    Example:
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", real=True)
        >>> log_sigmoid_diff(a, b).rewrite(sp.log)
        log(1 + exp(-a)) - log(1 + exp(-b))
    """

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        if argindex == 1:
            return -_sigmoid(-a)
        if argindex == 2:
            return _sigmoid(-b)
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return sp.log(1 + sp.exp(-a)) - sp.log(1 + sp.exp(-b))

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)


def _poisson_series(rate, summand):
    """``sum_x e^-rate rate^x / x! summand(x)`` over ``x >= 0``, as a SymPy ``Sum``.

    Written as the derivations write an expectation over a Poisson family's
    support (the variable ``x``, ``exp(x log(rate)) / gamma(x + 1)``), so that a
    proof sees the same sum on both sides.
    """
    x = sp.Symbol("x", integer=True, nonnegative=True)
    mass = sp.exp(-rate) * sp.exp(x * sp.log(rate)) / sp.gamma(x + 1)
    return sp.Sum(mass * summand(x), (x, 0, sp.oo))


class poisson_entropy(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """Entropy of Poisson(rate); see :func:`verify._special.poisson_entropy`.

    Its definition, ``-sum_k p_k log p_k``, expanded:
    ``rate - rate log(rate) + E[log K!]`` (no closed form).

    Example:
        >>> import sympy as sp
        >>> rate = sp.Symbol("rate", positive=True)
        >>> series = poisson_entropy(rate).rewrite(sp.log)  # E[log K!] as a Sum over x
        >>> series - series.atoms(sp.Sum).pop()
        -rate*log(rate) + rate
        >>> round(float(poisson_entropy(1).evalf(30)), 12)
        1.304842242256
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        (rate,) = self.args
        # d/dl E[f(K)] = E[f(K + 1) - f(K)]: d/dl E[log K!] = E[log(K + 1)]
        return -sp.log(rate) + _poisson_series(rate, lambda k: sp.log(k + 1))

    def _eval_rewrite_as_log(self, rate, **kwargs):
        return rate - rate * sp.log(rate) + _poisson_series(rate, lambda k: sp.loggamma(k + 1))

    def _eval_evalf(self, prec):
        import mpmath

        rate = sp.sympify(self.args[0])._eval_evalf(prec)
        if rate is None or not rate.is_number:
            return None
        with mpmath.workprec(prec + 64):
            lam = mpmath.mpf(rate._to_mpmath(prec + 64))
            mode, width = int(lam), int(40 * mpmath.sqrt(lam + 1)) + 60
            total = mpmath.mpf(0)
            for k in range(max(0, mode - width), mode + width):
                log_p = k * mpmath.log(lam) - lam - mpmath.loggamma(k + 1)
                total -= mpmath.exp(log_p) * log_p
            return sp.Float(total, precision=prec)


class binomial_entropy(sp.Function):  # noqa: N801 - the name of the JAX function it mirrors
    """Entropy of Binomial(n, p); ``q = 1 - p`` and an optional fourth argument,
    ``log min(p, q)``, are numerical hints (value and derivative are those of ``p``).
    See :func:`verify._special.binomial_entropy`.

    The rewrite is the definition ``-sum_x P(x) log P(x)`` over {0, ..., n} with
    ``P`` the family's density, as the derivations write it: explicit terms for
    a number ``n``, a ``Sum`` for a symbol.

    Example:
        >>> import sympy as sp
        >>> p = sp.Symbol("p", positive=True)
        >>> sp.expand(binomial_entropy(1, p, 1 - p).rewrite(sp.log))
        -p*log(p) + p*log(1 - p) - log(1 - p)
    """

    nargs = (3, 4)

    def fdiff(self, argindex=1):
        n, p = self.args[:2]
        if argindex == 1:
            raise sp.ArgumentIndexError(self, argindex)  # n is an integer
        if argindex >= 3:
            return sp.S.Zero
        x = sp.Symbol("x", integer=True, nonnegative=True)
        log_p = _binomial_log_density(x, n, p)
        # d/dp of -sum P log P = -sum P' log P, with P' = P (x / p - (n - x) / (1 - p))
        return -_binomial_sum(n, x, sp.exp(log_p) * (x / p - (n - x) / (1 - p)) * log_p)

    def _eval_rewrite_as_log(self, n, p, *hints, **kwargs):
        x = sp.Symbol("x", integer=True, nonnegative=True)
        log_p = _binomial_log_density(x, n, p)
        return (-_binomial_sum(n, x, xlogy(sp.exp(log_p), sp.exp(log_p)))).rewrite(sp.log)

    def _eval_evalf(self, prec):
        n = sp.sympify(self.args[0])
        if not n.is_Integer:
            return None
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)


def _binomial_log_density(x, n, p):
    from verify.families.binomial import Binomial
    from verify.symbolic.ops import sympy_ops

    return Binomial.log_density(sympy_ops, x, n, p)


def _binomial_sum(n, x, summand):
    """``sum_{x=0}^{n}``: the terms for a number ``n``, a ``Sum`` for a symbol."""
    if sp.sympify(n).is_Integer:
        return sp.Add(*(summand.subs(x, k) for k in range(int(n) + 1)))
    return sp.Sum(summand, (x, 0, n))

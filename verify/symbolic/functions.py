"""SymPy functions that mirror the JAX special functions used by the formulas.

Each is a :class:`sympy.Function` with a derivative (so ``sympy.diff`` works), a
rewrite to elementary functions (``expr.rewrite(sympy.log)``, which proofs use
to compare expressions), and arbitrary-precision numeric evaluation.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["xlogy", "to_elementary"]


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


def to_elementary(expr):
    """Rewrites every function of this module into elementary functions.

    Example:
        >>> import sympy as sp
        >>> p, q = sp.symbols("p q", positive=True)
        >>> to_elementary(xlogy(p, q))
        p*log(q)
    """
    return sp.sympify(expr).rewrite(sp.log)

"""SymPy expression -> JAX function, through an explicit table of functions.

SymPy's own JAX printer falls back to Python's ``math`` module for some
functions (``erf``, ``loggamma``) and cannot print others (``digamma``); a
function that reaches ``math`` fails on tracers. Here every function the
expression uses must be in :data:`JAX_FUNCTIONS`, or compilation stops with an
error naming it; the generated source is kept on the function (``__source__``).
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import jax.scipy.special as jss
import sympy as sp
from sympy.printing.str import StrPrinter

from verify import _special

__all__ = ["JAX_FUNCTIONS", "to_jax"]

#: Every name a compiled expression may call, and its JAX implementation.
JAX_FUNCTIONS = {
    "log": jnp.log,
    "exp": jnp.exp,
    "sqrt": jnp.sqrt,
    "Abs": jnp.abs,
    "xlogy": jss.xlogy,
    "xlog1py": _special.xlog1py,
    "xlogx": _special.xlogx,
    "log1pmx": _special.log1pmx,
    "kl_div_delta": _special.kl_div_delta,
    "kl_div_unit": _special.kl_div_unit,
    "kl_div_log": _special.kl_div_log,
    "erf": jss.erf,
    "erfc": jss.erfc,
    "loggamma": jss.gammaln,
    "digamma": _special.digamma,
    "polygamma": _special.polygamma,
    "pi": jnp.pi,
    "E": jnp.e,
}

_counter = itertools.count()


class _Printer(StrPrinter):
    """Prints Python source with bare function names, resolved in JAX_FUNCTIONS."""

    def _print_Exp1(self, expr):
        return "E"

    def _print_Pi(self, expr):
        return "pi"

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"


def to_jax(expr, args, name="derived"):
    """Compiles ``expr`` into a JAX function of the symbols ``args``.

    Args:
        expr: a SymPy expression.
        args: the symbols, in the order of the function's arguments.
        name: the function's name.

    Returns:
        A function of arrays; its source is ``fn.__source__``.

    Example:
        >>> import sympy as sp
        >>> x = sp.Symbol("x")
        >>> f = to_jax(sp.log(x) / 2, [x])
        >>> float(f(4.0))
        0.693147...
    """
    expr = sp.sympify(expr)
    used = {type(f).__name__ for f in expr.atoms(sp.Function)}
    missing = sorted(used - JAX_FUNCTIONS.keys())
    if missing:
        raise NotImplementedError(f"no JAX implementation for SymPy function(s) {missing}")
    names = [str(a) for a in args]
    body = _Printer().doprint(expr)
    source = f"def {name}({', '.join(names)}):\n    return {body}\n"
    namespace = dict(JAX_FUNCTIONS)
    exec(compile(source, f"<verify.derived.{name}.{next(_counter)}>", "exec"), namespace)  # noqa: S102
    function = namespace[name]
    function.__source__ = source
    return function

"""A JAX program read as SymPy expressions: one jaxpr equation at a time.

:func:`jaxpr_to_sympy` translates a closed jaxpr (``jax.make_jaxpr(f)(*args)``)
given SymPy values for its inputs; :func:`function_to_sympy` traces a
function first. Every value is a NumPy array of SymPy objects with the shape
JAX gives it (a scalar is a 0-d array), so reductions, broadcasts and matrix
products act entry by entry.

* Arithmetic and the elementary and special functions map to their SymPy
  twins (``log1p(x)`` to ``log(1 + x)``, ``logistic(x)`` to
  ``1 / (1 + exp(-x))``, ``lgamma`` to ``loggamma``, ...);
* comparisons become relations and ``select_n`` (``jnp.where``) a
  :class:`sympy.Piecewise`, so each branch is kept with the condition under
  which it runs;
* ``dot_general``, ``triangular_solve`` and ``cholesky`` act on the small
  matrices of symbols (``cholesky`` up to 3 x 3);
* calls (``jit``/``pjit``, ``custom_jvp_call``, ``custom_vjp_call``, remat)
  are inlined: their primal computation is what the value is;
* moving entries around (``broadcast_in_dim``, ``reshape``, ``slice``,
  ``gather``, ``transpose``, ``concatenate``, ...) is done by running the
  primitive itself on an array of entry numbers, so every such primitive
  means exactly what JAX makes of it;
* an equation whose inputs are all numbers (``iota``, an integer
  comparison) is evaluated by JAX.

A float literal is read as the exact number it rounds: a rational with a
small denominator, or a small rational multiple of ``pi``, ``sqrt(2 pi)``,
``log 2``, ... plus a small rational, when the float is within 4 units in the
last place of that number (``0.9189385332046727``, which ``np.log(2 * np.pi) /
2`` gives, is ``log(2 pi) / 2``); any other float
is kept as the exact binary fraction it is. A formula is thus read as the
formula its author wrote, up to the rounding of its constants, and a constant
that is off by more than that (``3.14159`` for ``pi``) stays off.

Anything else stops the translation with :class:`UnsupportedPrimitiveError`,
which names the primitive: nothing is skipped.
"""

from __future__ import annotations

import fractions
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jax.extend import core as jex_core

__all__ = ["UnsupportedPrimitiveError", "exact_constant", "function_to_sympy", "jaxpr_to_sympy"]


class UnsupportedPrimitiveError(NotImplementedError):
    """A jaxpr equation this module cannot translate; the message names the primitive."""


#: The most entries an equation may compute from the parameters symbolically. A
#: closed form over a handful of classes or dimensions stays far below it; a
#: series or quadrature over hundreds of terms (a binomial entropy's window)
#: would take SymPy hours, and is refused at once instead.
MAX_SYMBOLIC_ENTRIES = 256


def _check_size(eqn, operands):
    entries = sum(int(np.prod(v.aval.shape, dtype=np.int64)) for v in eqn.outvars)
    if entries > MAX_SYMBOLIC_ENTRIES and not all(_is_numeric(op) for op in operands):
        raise UnsupportedPrimitiveError(
            f"the equation `{eqn.primitive.name}` computes {entries} entries from the "
            f"parameters, more than the {MAX_SYMBOLIC_ENTRIES} read symbolically "
            "(a sum over hundreds of terms is evaluated, not read)"
        )


# ----------------------------------------------------------------- constants
def _constant_bases():
    two_pi = 2 * sp.pi
    bases = [
        sp.pi,
        sp.sqrt(sp.pi),
        sp.sqrt(2),
        sp.sqrt(two_pi),
        sp.sqrt(two_pi * sp.E),
        sp.pi * sp.E,
        sp.pi**2,
        sp.E,
        sp.log(2),
        sp.log(sp.pi),
        sp.log(two_pi),
        sp.log(10),
        sp.EulerGamma,
    ]
    return [(b, float(b)) for b in bases] + [(1 / b, float(1 / b)) for b in bases]


_BASES = _constant_bases()
_OFFSETS = [fractions.Fraction(k, 2) for k in range(-4, 5)]


#: How far a literal may lie from the constant it is read as: 4 units in the last place,
#: the rounding of a constant computed in a few float64 operations (np.log(2 * np.pi) / 2).
_ROUNDING = 2.0**-50


def _is_rounding_of(value: float, exact) -> bool:
    """True if ``value`` is ``exact`` (a SymPy number) up to a few roundings."""
    return abs(sp.N(exact - sp.Rational(*value.as_integer_ratio()), 30)) <= _ROUNDING * abs(value)


def _small_fraction(value: float, limit: int = 10**6):
    guess = fractions.Fraction(value).limit_denominator(limit)
    return guess if float(guess) == value else None


@functools.lru_cache(maxsize=4096)
def exact_constant(value: float):
    """The exact number a float literal stands for (see the module docstring).

    Example:
        >>> exact_constant(0.5), exact_constant(6.283185307179586), exact_constant(1e-12)
        (1/2, 2*pi, 1/1000000000000)
        >>> exact_constant(0.9189385332046727)
        log(2*pi)/2
        >>> exact_constant(3.14159)
        314159/100000
    """
    value = float(value)
    if not math.isfinite(value):
        return {math.inf: sp.oo, -math.inf: -sp.oo}.get(value, sp.nan)
    if value == 0:
        return sp.S.Zero
    fraction = _small_fraction(value)
    if fraction is not None:
        return sp.Rational(fraction.numerator, fraction.denominator)
    exponent = round(math.log10(abs(value)))
    if float(f"1e{exponent}") == abs(value):
        return sp.sign(value) * sp.Rational(10) ** exponent
    for offset in _OFFSETS:
        rest = value - float(offset)
        for base, approx in _BASES:
            ratio = fractions.Fraction(rest / approx).limit_denominator(1000)
            if ratio == 0 or abs(float(ratio) - rest / approx) > 1e-12 * abs(rest / approx):
                continue
            exact = (
                sp.Rational(offset.numerator, offset.denominator)
                + sp.Rational(ratio.numerator, ratio.denominator) * base
            )
            if _is_rounding_of(value, exact):
                return exact
    numerator, denominator = value.as_integer_ratio()
    return sp.Rational(numerator, denominator)


def _literal(value, shape=()):
    array = np.asarray(value)
    if array.dtype == bool:
        out = np.array([sp.true if v else sp.false for v in array.ravel()], dtype=object)
    elif np.issubdtype(array.dtype, np.integer):
        out = np.array([sp.Integer(int(v)) for v in array.ravel()], dtype=object)
    else:
        out = np.array([exact_constant(float(v)) for v in array.ravel()], dtype=object)
    return np.broadcast_to(out.reshape(array.shape), shape or array.shape)


# ----------------------------------------------------------------- elementwise
def _log1p(x):
    return sp.log(1 + x)


def _select(which, *cases):
    if len(cases) != 2:
        choices = [(cases[k], sp.Eq(which, k)) for k in range(len(cases) - 1)]
        return sp.Piecewise(*choices, (cases[-1], True))
    if which is sp.true or which is sp.false:
        return cases[1] if which is sp.true else cases[0]
    return sp.Piecewise((cases[1], which), (cases[0], True))


def _is_finite(x):
    # Parameters are finite reals and the expressions of them finite where defined.
    if x in (sp.oo, -sp.oo, sp.zoo, sp.nan):
        return sp.false
    return sp.true


_PREDICATES = (
    sp.logic.boolalg.BooleanAtom,
    sp.logic.boolalg.BooleanFunction,
    sp.core.relational.Relational,
)


def _is_predicate(x) -> bool:
    """True for a truth value, a relation or a logical combination (symbols are not)."""
    return isinstance(x, _PREDICATES)


def _converter(dtype):
    """``convert_element_type`` to ``dtype``: booleans to 0 / 1 and back, floats truncated."""

    def convert(x):
        is_boolean = _is_predicate(x)
        if dtype == np.bool_:
            return x if is_boolean else sp.Ne(x, 0)
        if is_boolean:
            return sp.Piecewise((sp.S.One, x), (sp.S.Zero, True))
        if np.issubdtype(dtype, np.integer) and not x.is_integer:
            return sp.sign(x) * sp.floor(sp.Abs(x))
        return x

    return convert


def _relation(function):
    def relate(x, y):
        if _is_predicate(x) or _is_predicate(y):  # eq / ne of predicates
            both = sp.Equivalent(x, y)
            return both if function is sp.Eq else sp.Not(both)
        return function(x, y)

    return relate


#: Elementwise primitives: name -> SymPy function of the operands' entries.
ELEMENTWISE = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "neg": lambda x: -x,
    "max": sp.Max,
    "min": sp.Min,
    "pow": lambda x, y: x**y,
    "square": lambda x: x**2,
    "exp": sp.exp,
    "exp2": lambda x: 2**x,
    "log": sp.log,
    "log1p": _log1p,
    "expm1": lambda x: sp.exp(x) - 1,
    "sqrt": sp.sqrt,
    "rsqrt": lambda x: 1 / sp.sqrt(x),
    "cbrt": lambda x: sp.root(x, 3),
    "logistic": lambda x: 1 / (1 + sp.exp(-x)),
    "tanh": sp.tanh,
    "atanh": sp.atanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "sin": sp.sin,
    "cos": sp.cos,
    "lgamma": sp.loggamma,
    "digamma": sp.digamma,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "abs": sp.Abs,
    "sign": sp.sign,
    "lt": _relation(sp.Lt),
    "le": _relation(sp.Le),
    "gt": _relation(sp.Gt),
    "ge": _relation(sp.Ge),
    "eq": _relation(sp.Eq),
    "ne": _relation(sp.Ne),
    "and": sp.And,
    "or": sp.Or,
    "not": sp.Not,
    "select_n": _select,
    "is_finite": _is_finite,
    "stop_gradient": lambda x: x,
    "copy": lambda x: x,
    "copy_p": lambda x: x,
    "reduce_precision": lambda x: x,
    "optimization_barrier": lambda x: x,
}

#: Primitives that only move entries around; the operands of each that hold data.
STRUCTURAL = {
    "broadcast_in_dim": 1,
    "reshape": 1,
    "squeeze": 1,
    "expand_dims": 1,
    "transpose": 1,
    "slice": 1,
    "rev": 1,
    "gather": 1,
    "dynamic_slice": 1,
    "concatenate": None,  # all
    "stack": None,
    "pad": 2,
    "dynamic_update_slice": 2,
}

#: Primitives that call a jaxpr: the parameter holding it (the primal computation).
CALLS = {
    "pjit": "jaxpr",
    "jit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vjp_call_jaxpr": "fun_jaxpr",
    "custom_vmap_call": "call",  # verify._special.some: a reduction, batch-wide under vmap
    "remat": "jaxpr",
    "checkpoint": "jaxpr",
}


def _elementwise(function, operands):
    arrays = np.broadcast_arrays(*operands)
    shape = arrays[0].shape
    flat = [a.ravel() for a in arrays]
    out = np.empty(len(flat[0]), dtype=object)
    for i in range(len(out)):
        out[i] = function(*(f[i] for f in flat))
    return out.reshape(shape)


# ----------------------------------------------------------------- structure
def _structural(primitive, operands, avals, params):
    """Runs ``primitive`` on arrays of entry numbers, then gathers the entries."""
    count = STRUCTURAL[primitive.name]
    data = operands if count is None else operands[:count]
    pool, numbered, offset = [], [], 0
    for array in data:
        pool.extend(array.ravel())
        numbered.append(np.arange(offset, offset + array.size, dtype=np.int64).reshape(array.shape))
        offset += array.size
    rest = [_numbers(array, aval) for array, aval in zip(operands[len(data) :], avals[len(data) :])]
    with jax.enable_x64(True):
        index = primitive.bind(*(jnp.asarray(n) for n in numbered), *rest, **params)
    pool = np.array(pool + [sp.nan], dtype=object)  # out-of-range gathers read nan
    index = np.asarray(index)
    return pool[np.where((index >= 0) & (index < offset), index, offset)]


def _numbers(array, aval):
    """A numeric array from entries that are all numbers (raises otherwise)."""
    values = [_number(entry) for entry in array.ravel()]
    return jnp.asarray(np.array(values, dtype=aval.dtype).reshape(array.shape))


def _number(entry):
    if entry is sp.true or entry is sp.false:
        return bool(entry)
    if not getattr(entry, "is_number", False):
        raise UnsupportedPrimitiveError(f"an index computed from the parameters: {entry}")
    if entry.is_Integer:
        return int(entry)
    return float(entry)


def _is_numeric(array):
    return all(
        entry is sp.true or entry is sp.false or getattr(entry, "is_Number", False)
        for entry in array.ravel()
    )


# ----------------------------------------------------------------- linear algebra
def _dot_general(lhs, rhs, dimension_numbers, **_):
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [a for a in range(lhs.ndim) if a not in lc and a not in lb]
    rf = [a for a in range(rhs.ndim) if a not in rc and a not in rb]
    batch = [lhs.shape[a] for a in lb]

    def size(array, axes):
        return math.prod(array.shape[a] for a in axes)

    left = lhs.transpose([*lb, *lf, *lc]).reshape(math.prod(batch), size(lhs, lf), size(lhs, lc))
    right = rhs.transpose([*rb, *rc, *rf]).reshape(math.prod(batch), size(rhs, rc), size(rhs, rf))
    out = np.empty((left.shape[0], left.shape[1], right.shape[2]), dtype=object)
    for b in range(out.shape[0]):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[b, i, j] = sp.Add(
                    *(left[b, i, k] * right[b, k, j] for k in range(left.shape[2]))
                )
    shape = batch + [lhs.shape[a] for a in lf] + [rhs.shape[a] for a in rf]
    return out.reshape(shape)


def _batched(function, *arrays, core=2):
    """Applies ``function`` to each trailing ``core``-dimensional block of the arrays."""
    batch = arrays[0].shape[: arrays[0].ndim - core]
    results = {}
    for index in np.ndindex(*batch):
        results[index] = function(*(a[index] for a in arrays))
    first = next(iter(results.values()))
    out = np.empty(batch + first.shape, dtype=object)
    for index, value in results.items():
        out[index] = value
    return out


def _cholesky(a, **_):
    if a.shape[-1] > 3:
        n = a.shape[-1]
        raise UnsupportedPrimitiveError(f"cholesky of a {n} x {n} matrix (d <= 3)")

    def factor(m):
        n = m.shape[0]
        low = np.full((n, n), sp.S.Zero, dtype=object)
        for j in range(n):
            pivot = sp.expand(m[j, j] - sp.Add(*(low[j, k] ** 2 for k in range(j))))
            low[j, j] = sp.sqrt(pivot)
            for i in range(j + 1, n):
                total = m[i, j] - sp.Add(*(low[i, k] * low[j, k] for k in range(j)))
                low[i, j] = sp.cancel(total / low[j, j])
        return low

    return _batched(factor, a)


def _triangular_solve(a, b, *, left_side, lower, transpose_a, unit_diagonal, **_):
    def solve(m, rhs):
        m = m.T if transpose_a else m
        is_lower = lower != transpose_a
        if not left_side:  # x op(a) = b  <=>  op(a)^T x^T = b^T
            return solve_left(m.T, rhs.T, not is_lower).T
        return solve_left(m, rhs, is_lower)

    def solve_left(m, rhs, is_lower):
        n = m.shape[0]
        x = np.empty(rhs.shape, dtype=object)
        order = range(n) if is_lower else range(n - 1, -1, -1)
        for col in range(rhs.shape[1]):
            for i in order:
                others = range(i) if is_lower else range(i + 1, n)
                total = rhs[i, col] - sp.Add(*(m[i, k] * x[k, col] for k in others))
                x[i, col] = total if unit_diagonal else total / m[i, i]
        return x

    return _batched(solve, a, b)


def _reduce(function):
    def reduce(x, *, axes, **_):
        axes = tuple(axes)
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = x.transpose(kept + list(axes)).reshape(
            [x.shape[a] for a in kept] + [math.prod(x.shape[a] for a in axes)]
        )
        out = np.empty(moved.shape[:-1], dtype=object)
        for index in np.ndindex(*out.shape):
            out[index] = function(*moved[index])
        return out

    return reduce


#: Primitives on whole arrays: name -> function(*operands, **params) -> array.
ARRAY_FUNCTIONS = {
    "reduce_sum": _reduce(sp.Add),
    "reduce_max": _reduce(sp.Max),
    "reduce_min": _reduce(sp.Min),
    "reduce_prod": _reduce(sp.Mul),
    "reduce_and": _reduce(sp.And),
    "reduce_or": _reduce(sp.Or),
    "dot_general": _dot_general,
    "cholesky": _cholesky,
    "triangular_solve": _triangular_solve,
}


# ----------------------------------------------------------------- the walk
def _read(env, atom):
    if isinstance(atom, jex_core.Literal):
        return _literal(atom.val, tuple(atom.aval.shape))
    return env[atom]


def _closed(jaxpr):
    """(jaxpr, consts) of a ClosedJaxpr or an open Jaxpr."""
    if hasattr(jaxpr, "consts"):
        return jaxpr.jaxpr, jaxpr.consts
    return jaxpr, ()


def _run(jaxpr, consts, args):
    env = {}
    for var, value in zip(jaxpr.constvars, consts):
        env[var] = _literal(value)
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        operands = [_read(env, atom) for atom in eqn.invars]
        _check_size(eqn, operands)
        outputs = _equation(eqn, operands)
        for var, value in zip(eqn.outvars, outputs):
            env[var] = value
    return [_read(env, atom) for atom in jaxpr.outvars]


def _equation(eqn, operands):
    name = eqn.primitive.name
    params = dict(eqn.params)
    avals = [atom.aval for atom in eqn.invars]
    if name in CALLS:
        key = CALLS[name] if CALLS[name] in params else "call_jaxpr"
        inner, consts = _closed(params[key])
        skip = params.get("num_consts", 0) if name == "custom_vjp_call_jaxpr" else 0
        return _run(inner, consts, operands[skip:])
    if name == "cond":
        return _cond(operands, params)
    if name == "platform_index":  # cond over platforms: _cond takes the generic branch
        return [_literal(np.int32(-1))]
    if name in STRUCTURAL:
        return [_structural(eqn.primitive, operands, avals, params)]
    if name == "convert_element_type":
        return [_elementwise(_converter(np.dtype(params["new_dtype"])), operands)]
    if name == "integer_pow":
        return [_elementwise(lambda x: x ** params["y"], operands)]
    if name in ELEMENTWISE:
        return [_elementwise(ELEMENTWISE[name], operands)]
    if name in ARRAY_FUNCTIONS:
        return [ARRAY_FUNCTIONS[name](*operands, **params)]
    if all(_is_numeric(op) for op in operands):  # iota, integer arithmetic: JAX computes it
        with jax.enable_x64(True):
            values = [_numbers(op, aval) for op, aval in zip(operands, avals)]
            result = eqn.primitive.bind(*values, **params)
        results = result if eqn.primitive.multiple_results else [result]
        return [_literal(np.asarray(r)) for r in results]
    raise UnsupportedPrimitiveError(
        f"the primitive `{name}` has no SymPy translation (in the equation `{eqn}`); "
        "write the formula with the supported operations (see verify.symbolic.from_jaxpr)"
    )


def _cond(operands, params):
    """A ``lax.cond`` / ``lax.switch`` on a known index (or a generic platform branch)."""
    branches = params["branches"]
    platforms = params.get("branches_platforms")
    if platforms:
        index = next(i for i, names in enumerate(platforms) if names is None)
    elif _is_numeric(operands[0]):
        index = min(max(int(_number(operands[0][()])), 0), len(branches) - 1)
    else:
        raise UnsupportedPrimitiveError(
            "the primitive `cond` on a value computed from the parameters "
            "(write the branches with jnp.where instead)"
        )
    inner, consts = _closed(branches[index])
    return _run(inner, consts, operands[1:])


def jaxpr_to_sympy(closed_jaxpr, *args) -> list[np.ndarray]:
    """Translates a closed jaxpr into SymPy, given a value for each input.

    Args:
        closed_jaxpr: from ``jax.make_jaxpr(f)(...)``.
        *args: one value per jaxpr input: a SymPy expression, a number, or an
            array of them (object arrays), of the input's shape.

    Returns:
        One object array of SymPy expressions per output.

    Raises:
        UnsupportedPrimitiveError: an equation has no translation (the message names it).

    Example:
        >>> import jax, jax.numpy as jnp, sympy as sp
        >>> x = sp.Symbol("x", positive=True)
        >>> jaxpr = jax.make_jaxpr(lambda v: jnp.log1p(v) / 2)(1.0)
        >>> jaxpr_to_sympy(jaxpr, x)[0][()]
        log(x + 1)/2
    """
    jaxpr, consts = _closed(closed_jaxpr)
    values = []
    for var, arg in zip(jaxpr.invars, args):
        values.append(np.broadcast_to(_as_objects(arg), tuple(var.aval.shape)))
    return _run(jaxpr, consts, values)


def _as_objects(value):
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.array(value, dtype=object)
    array = np.empty((), dtype=object)
    array[()] = sp.sympify(value)
    return array


def function_to_sympy(function, examples, symbols):
    """Traces ``function`` at arrays like ``examples`` and translates it into SymPy.

    Args:
        function: a JAX function of arrays, returning one array.
        examples: one array per argument (their shapes and dtypes are traced).
        symbols: the SymPy value of each argument, an object array of its shape.

    Returns:
        An object array of SymPy expressions, the function's value.

    Example:
        >>> import jax.numpy as jnp, numpy as np, sympy as sp
        >>> a, b = sp.symbols("a b", positive=True)
        >>> out = function_to_sympy(lambda v: jnp.sum(jnp.log(v)), [np.ones(2)], [np.array([a, b])])
        >>> out[()]
        log(a) + log(b)
    """
    with jax.enable_x64(True):
        closed_jaxpr = jax.make_jaxpr(function)(*examples)
    (out,) = jaxpr_to_sympy(closed_jaxpr, *symbols)
    return out

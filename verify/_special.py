"""Accurate elementary special functions for the stable closed forms (JAX).

The textbook closed forms of KL divergence lose every digit when P and Q are
close: the result is a difference of nearly equal terms (``p log(p/q)`` and
``p - q``; ``(r**2 - 1) / 2`` and ``log r``). The stable forms in
:mod:`verify.formulas` are written with the functions of this module instead,
each of which evaluates a small-when-close quantity *without* forming the
difference:

* :func:`log1pmx` -- ``log1p(x) - x``;
* :func:`kl_div_delta` -- ``x log(x / y) - x + y`` with ``x = y + delta``, the
  summand of a KL divergence (SciPy's ``kl_div``, Loader's ``bd0``) written in
  terms of the *difference* ``delta``, which callers can usually compute
  exactly (Sterbenz) when ``x`` and ``y`` are close;
* :func:`kl_div_unit` -- ``a - 1 - log(a)``, the special case ``x = 1`` of
  ``kl_div_delta``, with one division fewer;
* :func:`log_mul` -- ``log(x * c)`` with the product formed exactly, so that the
  result keeps its relative accuracy where it crosses zero;
* :func:`log1p` and :func:`xlog1py` -- ``log1p(x)`` and ``x log1p(y)``,
  accurate where XLA's own ``log1p`` is not;
* :func:`xlogx` -- ``x log x`` with the definition's derivative ``-inf`` at 0;
* :func:`softmax_kl`, :func:`softmax_entropy`, :func:`softmax_cross_entropy`
  -- the categorical quantities from logits over the last axis (near-equal,
  underflowing, ``-inf`` masked, 16-bit inputs), with custom gradients.

Near zero :func:`log1pmx` and :func:`kl_div_delta` sum the series of
``atanh``: with ``s = x / (2 + x)``, ``log1p(x) = 2 atanh(s) = 2 s (1 + s**2/3 +
s**4/5 + ...)``. The series is used for ``|s| <= 1/10``, where eight terms
(three in float32) reach the working precision; outside, the direct formula
loses at most a factor ten to cancellation. Both branches are computed and
selected with ``where`` (the only way to branch on traced values); each has its
argument replaced by a harmless value where it is not selected, so neither
produces NaN that could leak into gradients, and all derivatives are given as
custom JVPs written with the same accurate pieces.

Every function keeps the dtype of its arguments; the SymPy counterparts are in
:mod:`verify.symbolic.functions`, and ``tests/test_special.py`` compares both the
values and the derivatives with mpmath at 50 digits.

References:
    C. Loader, *Fast and accurate computation of binomial probabilities* (2000).
"""

from __future__ import annotations

import dataclasses
import fractions
import functools
import itertools
import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from verify import _underflow, _validate

__all__ = [
    "SQRT_2PI",
    "SQRT_2PIE",
    "ExactConstant",
    "diff_ratio",
    "diff_ratio_moderate",
    "frexp",
    "kl_div_delta",
    "kl_div_log",
    "kl_div_unit",
    "ldexp",
    "log_ratio",
    "log_ratio_moderate",
    "log1p",
    "log1pmx",
    "log_mul",
    "log_mul_moderate",
    "moderate",
    "softmax_cross_entropy",
    "softmax_entropy",
    "softmax_kl",
    "xlog1py",
    "xlogx",
]

#: |s| below which the atanh series is summed, s = x / (2 + x).
_SERIES_RADIUS = fractions.Fraction(1, 10)


@functools.cache
def _series_terms(dtype, radius=_SERIES_RADIUS) -> int:
    """Terms of the atanh series for ``|s| <= radius``: the truncation error relative
    to the sum, about ``s**(2 n + 1) / (2 n + 3)``, below ``eps / 4`` (8 in float64
    and 3 in float32 at ``1/10``)."""
    eps = fractions.Fraction(float(jnp.finfo(dtype).eps))
    return next(n for n in itertools.count(1) if radius ** (2 * n + 1) / (2 * n + 3) <= eps / 4)


def _atanh_tail(z, radius=_SERIES_RADIUS):
    """``(atanh(s) / s - 1) / s**2 = 1/3 + z/5 + z**2/7 + ...`` at ``z = s**2`` (Horner),
    for ``|s| <= radius``."""
    n = _series_terms(z.dtype, radius)
    total = jnp.full_like(z, 1 / (2 * n + 1))
    for k in range(n - 2, -1, -1):
        total = total * z + jnp.asarray(1 / (2 * k + 3), z.dtype)
    return total


def _log1pmx_series(x, radius):
    """``log1p(x) - x`` by the atanh series alone (no logarithm, no branch), for ``x``
    with ``|x / (2 + x)| <= radius < 1``, with as many terms as ``radius`` needs."""
    s = x * (1 / (2 + x))
    return s * (2 * s * s * _atanh_tail(s * s, radius) - x)


def _batch_wide(reduction):
    """``reduction`` (arrays to one scalar, over all their elements) that under ``vmap``
    reduces over the mapped axis too, and gives an unmapped scalar.

    A ``lax.cond`` on a per-member answer is not a branch under ``vmap``: it runs both
    branches for the whole batch and selects (the Beta KL under ``vmap`` ran every
    regime, 13x its time on the same pairs without ``vmap``). On the batch-wide answer
    it stays a branch. A branch taken for the batch must then be right for every member
    (as every caller's is: it computes the general form, or a regime's values that a
    ``where`` keeps only where they apply).
    """
    reduced = jax.custom_batching.custom_vmap(reduction)

    @reduced.def_vmap
    def _batched(axis_size, in_batched, *xs):
        del axis_size, in_batched  # the mapped axis is one more axis of every element
        return reduced(*xs), False

    return reduced


@_batch_wide
def some(mask):
    """Whether some element of ``mask`` is true: ``jnp.any``, over the whole batch under
    ``vmap`` (:func:`_batch_wide`), for a branch that runs only where some element needs it.

    Example:
        >>> import jax
        >>> masks = jnp.array([[False, False], [False, True]])
        >>> bool(some(masks[0])), jax.vmap(some)(masks).tolist()  # the batch's answer
        (False, [True, True])
    """
    return jnp.any(mask)


@_batch_wide
def largest(x):
    """``jnp.max(x, initial=0)``, over the whole batch under ``vmap`` (:func:`_batch_wide`)."""
    return jnp.max(x, initial=0)


def _branch(pred, true_fn, false_fn):
    """``lax.cond(pred, true_fn, false_fn)``, evaluating only the branch taken where
    ``pred`` is concrete (:func:`_switch`). A predicate that says whether some element
    needs ``true_fn`` comes from :func:`some`.

    Example:
        >>> float(_branch(jnp.array(True), lambda: jnp.array(1.0), lambda: jnp.array(2.0)))
        1.0
    """
    return _switch(jnp.asarray(pred, jnp.int32), [false_fn, true_fn])


def _switch(index, branches):
    """``lax.switch(index, branches)``; for a concrete ``index`` (an eager call, not under
    ``jit`` or ``vmap``), a Python choice: only the branch taken is evaluated and nothing
    is compiled for the others (``lax.cond`` compiled both on every eager call: 2 s for a
    Dirichlet KL of 20 pairs, its values already cached).
    """
    try:
        taken = int(index)
    except jax.errors.ConcretizationTypeError:  # a tracer: jit, vmap
        return jax.lax.switch(index, branches)
    return branches[taken]()


def _traced_once(function):
    """``jax.jit``: a form that calls ``function`` several times (the Beta cross-entropy
    calls Binet's divergence six times) traces it once per shape and dtype, and XLA
    compiles a smaller program (half the time for the Beta cross-entropy); the code
    that runs is the same."""
    return jax.jit(function)


def _float_dtype(*args):
    dtype = jnp.result_type(*args)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def _as_float(x, dtype):
    """``x`` if it is a float; a Python int as a weakly typed float (it takes the dtype of
    the floats it meets, as a Python float does: ``lgamma(2)`` in a float32 form stays
    float32); another integer as ``dtype``."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.floating):
        return x
    weak = jnp.result_type(x, jnp.int8) == jnp.int8  # a weakly typed integer
    return x + 0.0 if weak else x.astype(dtype)


def _custom_jvp(function):
    """``jax.custom_jvp(function)`` called on its arguments converted to their common
    floating dtype (:func:`_float_dtype`); register the rule with ``.defjvp`` as usual.

    An integer argument (the ``1, 1`` of the Beta entropy, ``-KL(P || Beta(1, 1))``; the
    concentration 1 of an Exponential taken as a Gamma) would reach the rule with a
    tangent of dtype ``float0``, on which no arithmetic is defined: ``grad`` raised
    ``TypeError`` for those forms.

    Example:
        >>> slope = jax.jit(jax.grad(lambda y: xlog1py(1, y)))  # x an integer: TypeError before
        >>> round(float(slope(0.5)), 6)  # 1 / (1 + y)
        0.666667
    """
    custom = jax.custom_jvp(function)

    @functools.wraps(function)
    def converted(*args):
        args = [jnp.asarray(x) for x in args]
        dtype = _float_dtype(*args)
        return custom(*(_as_float(x, dtype) for x in args))

    converted.defjvp = custom.defjvp
    return converted


def _near_zero(s):
    radius = jnp.asarray(float(_SERIES_RADIUS), s.dtype)
    return jnp.abs(s) <= radius


# -------------------------------------------------------------------- log1p
def log1p(x):
    """``log(1 + x)`` to about an ulp, for ``x >= -1``.

    :func:`jax.numpy.log1p` as XLA compiles it on CPU loses two digits for ``x``
    in about ``[-0.414, -0.369]`` (float64 relative errors up to 2.6e-14). Here
    ``u = fl(1 + x)`` and ``log(1 + x) = log(u) + log1p((1 + x - u) / u)``, where
    ``1 + x - u = x - (u - 1)`` is the rounding error of the sum, recovered
    exactly, and ``log1p(e) = e`` to working precision (Goldberg's method).

    Example:
        >>> from verify._special import log1p
        >>> round(float(log1p(-0.4130970679450451)), 6)
        -0.532896
    """
    x = jnp.asarray(x, _float_dtype(x))
    # XLA's algebraic simplifier folds (1 + x) - 1 into x, which would erase the
    # rounding error this function recovers; a 1 it cannot see through keeps it.
    one = jax.lax.optimization_barrier(jnp.ones((), x.dtype))
    u = one + x
    # At x = -1, u = 0 and the correction is 0/0: the answer is -inf from log(u).
    correction = jnp.where(u > 0, ((u - one) - x) * (1 / jnp.where(u > 0, u, one)), 0)
    return jnp.log(u) - correction


# ------------------------------------------------------------------ log1pmx
@_custom_jvp
def log1pmx(x):
    """``log1p(x) - x``, accurate to a few ulp for every ``x > -1``.

    Args:
        x: a floating-point array, ``x >= -1`` (``-inf`` at ``-1``).

    Returns:
        An array of the same shape and dtype; ``<= 0``.

    Example:
        >>> from verify._special import log1pmx
        >>> float(log1pmx(2**-20))  # -x**2/2 + x**3/3: no digit lost
        -4.5474...e-13
    """
    x = jnp.asarray(x, _float_dtype(x))
    # Lean value (derivatives come from the JVP rule); see kl_div_delta on a * (1 / b).
    s = x * (1 / (2 + x))
    series = s * (2 * s * s * _atanh_tail(s * s) - x)
    return jnp.where(_near_zero(s), series, log1p(x) - x)


@log1pmx.defjvp
def _log1pmx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = jnp.asarray(x, _float_dtype(x))
    return log1pmx(x), -x / (1 + x) * dx


# ------------------------------------------------------------- kl_div_delta
def _kl_div_delta_parts(y, delta):
    """Value, d/dy and d/d(delta) of kl_div_delta, each computed accurately."""
    zero, one, two = jnp.zeros_like(y), jnp.ones_like(y), jnp.asarray(2, y.dtype)
    x = y + delta
    s_all = delta / (x + y)
    near = _near_zero(s_all) & (y > 0)
    # Series branch: with s = delta / (2 y + delta), log(x / y) = 2 atanh(s) and
    # x log(x/y) - delta = delta s (1 + s (1 + s) tail(s^2)), a sum without cancellation.
    y_n, d_n = jnp.where(near, y, one), jnp.where(near, delta, zero)
    s = d_n / (two * y_n + d_n)
    tail = _atanh_tail(s * s)
    series = d_n * s * (1 + s * (1 + s) * tail)
    series_log_ratio = two * s * (1 + s * s * tail)  # log(x / y) = log1p(delta / y)
    ratio_n = d_n / y_n
    # log1pmx(delta / y) = 2 s - ratio + 2 s^3 tail, with 2 s - ratio = -ratio s.
    series_dy = s * (two * s * s * tail - ratio_n)
    # Direct branch, written with the conventions 0 log(0 / y) = 0, x log(x / 0) = +inf.
    x_f, y_f = jnp.where(near, one, x), jnp.where(near, two, y)
    both_zero = (x_f == 0) & (y_f == 0)
    y_safe = jnp.where(both_zero, one, y_f)
    log_ratio = jnp.log(x_f / y_safe)
    direct = jss.xlogy(x_f, x_f / y_safe) - (x_f - y_f)
    # At x = 0 the derivative in delta is -inf (one-sided) and that in y at fixed
    # delta +inf; their sum, the derivative in y at fixed x (= 1), is finite. Report
    # that one, with 0 for delta, so derivatives along x = 0 (a class that P never
    # takes, as Q varies) stay finite instead of inf - inf = NaN.
    x_zero = x_f == 0
    direct_dy = jnp.where(both_zero, zero, jnp.where(x_zero, one, log_ratio - (x_f - y_f) / y_safe))
    direct_dd = jnp.where(x_zero, zero, log_ratio)
    value = jnp.where(near, series, direct)
    d_dy = jnp.where(near, series_dy, direct_dy)
    d_ddelta = jnp.where(near, series_log_ratio, direct_dd)
    return value, d_dy, d_ddelta


@_custom_jvp
def kl_div_delta(y, delta):
    """``x log(x / y) - x + y`` at ``x = y + delta``, accurate when ``x`` is close to ``y``.

    This is the summand of a KL divergence, ``p log(p / q) - p + q`` (SciPy's
    ``kl_div``, Loader's ``bd0``), parameterised by the difference ``delta = p -
    q``: when ``p`` and ``q`` are close the difference is usually exact
    (Sterbenz) while ``p`` itself may be rounded (``1 - p``), so the result keeps
    its relative accuracy where forming ``x - y`` again would lose it. It is
    ``>= 0``, ``0`` only at ``delta = 0``, about ``delta**2 / (2 y)`` near it.
    Conventions of the definition: ``x = 0`` gives ``y``, ``y = 0 < x`` gives
    ``+inf``. At ``x = 0`` the derivative in ``delta`` is ``-inf``; it is
    reported as ``0``, with ``1`` in ``y`` (the derivative at fixed ``x``), so
    that derivatives along ``x = 0`` stay finite.

    Args:
        y: the reference value, ``y >= 0``.
        delta: ``x - y`` with ``x >= 0``.

    Returns:
        The broadcast of the arguments, in their dtype.

    Example:
        >>> from verify._special import kl_div_delta
        >>> float(kl_div_delta(0.25, 2**-20))  # about delta**2 / (2 y) = 1.82e-12
        1.8189...e-12
    """
    dtype = _float_dtype(y, delta)
    y, delta = jnp.asarray(y, dtype), jnp.asarray(delta, dtype)
    # The value alone, lean: no branch needs masking because derivatives come from
    # the JVP rule below, never from differentiating this code. Divisions are
    # written a * (1 / b): XLA on CPU does not fuse a division that has several
    # users, and every unfused intermediate is a round trip to memory.
    y = jnp.abs(y)  # y >= 0: maps -0.0 to +0.0, so that x / y is +inf, not -inf
    x = y + delta
    s = delta * (1 / (x + y))  # NaN at x = y = 0, where the direct branch is taken
    series = delta * s * (1 + s * (1 + s) * _atanh_tail(s * s))
    direct = jnp.where(x == 0, -delta, x * jnp.log(x * (1 / y)) - delta)
    return jnp.where(_near_zero(s), series, direct)


@kl_div_delta.defjvp
def _kl_div_delta_jvp(primals, tangents):
    (y, delta), (dy, ddelta) = primals, tangents
    dtype = _float_dtype(y, delta)
    y, delta = jnp.broadcast_arrays(jnp.abs(jnp.asarray(y, dtype)), jnp.asarray(delta, dtype))
    value, d_dy, d_ddelta = _kl_div_delta_parts(y, delta)
    return value, d_dy * dy + d_ddelta * ddelta


# ------------------------------------------------------------- kl_div_unit
@_custom_jvp
def kl_div_unit(a, b):
    """``a - 1 - log(a)``, given ``b = 1 - a`` computed accurately, e.g. ``(s - t) / s``.

    This is ``kl_div(1, a)`` (the KL summand at ``x = 1``), the part of a normal
    KL divergence that depends on the ratio ``a`` of two scales: about ``b**2 /
    2`` near ``a = 1``, where ``a - 1`` and ``log a`` cancel. ``b`` carries the
    digits that ``a`` has lost to rounding; the value is a function of ``a``
    alone (its derivative in ``b`` is 0), computed from ``b`` near ``a = 1``
    (the atanh series in ``s = b / (1 + a)``) and as ``-log(a) - b`` elsewhere.
    Cheaper than :func:`kl_div_delta` (one division), which it equals at
    ``y = a, delta = b``.

    Args:
        a: positive ratios.
        b: ``1 - a``, as accurately as the caller can compute it.

    Returns:
        The broadcast of the arguments, in their dtype; ``>= 0``.

    Example:
        >>> from verify._special import kl_div_unit
        >>> h = 2**-20  # a = 1 - h: about h**2 / 2 = 4.5e-13
        >>> float(kl_div_unit(1 - h, h))
        4.5474...e-13
    """
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    s = b * (1 / (1 + a))
    series = b * s * (1 + s * (1 + s) * _atanh_tail(s * s))
    return jnp.where(_near_zero(s), series, -jnp.log(a) - b)


@kl_div_unit.defjvp
def _kl_div_unit_jvp(primals, tangents):
    (a, b), (da, _) = primals, tangents
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    # d/da (a - 1 - log a) = 1 - 1/a = -b / a, without the cancellation of 1 - 1/a.
    return kl_div_unit(a, b), -b * (1 / a) * da


# ------------------------------------------------------------------ log_mul
@dataclasses.dataclass(frozen=True)
class ExactConstant:
    """A real constant known to more digits than a float holds.

    :func:`log_mul` forms ``x * c`` as the unevaluated sum of two floats
    (Dekker's product), so ``log(x * c)`` is accurate to a few ulp *relative to
    its own size*, also near its zero ``x = 1 / c``.

    Attributes:
        name: what the constant is, e.g. ``"sqrt(2*pi*e)"``.
        value: its value as a Python ``fractions.Fraction`` accurate to well
            beyond double precision.
    """

    name: str
    value: fractions.Fraction

    def split(self, dtype):
        """``(hi, lo)`` in ``dtype`` with ``hi + lo`` the constant to twice the precision."""
        np_dtype = np.dtype(dtype)
        hi = np_dtype.type(float(self.value))
        lo = np_dtype.type(float(self.value - fractions.Fraction(float(hi))))
        return hi, lo

    def __float__(self):
        return float(self.value)


#: sqrt(2 pi), the normalising constant of the normal density.
SQRT_2PI = ExactConstant(
    "sqrt(2*pi)", fractions.Fraction("2.5066282746310005024157652848110452530069867406099")
)
#: sqrt(2 pi e): the differential entropy of N(0, s**2) is log(s * sqrt(2 pi e)).
SQRT_2PIE = ExactConstant(
    "sqrt(2*pi*e)", fractions.Fraction("4.1327313541224929384693918842998526494455219169913")
)


def _veltkamp_split(a):
    """(hi, lo) with hi + lo = a exactly and hi of half the significand (Veltkamp)."""
    bits = jnp.finfo(a.dtype).nmant + 1
    factor = jnp.asarray(2.0 ** ((bits + 1) // 2) + 1, a.dtype)
    t = factor * a
    hi = t - (t - a)
    return hi, a - hi


def _constant_parts(constant, dtype):
    if isinstance(constant, ExactConstant):
        return tuple(jnp.asarray(v, dtype) for v in constant.split(dtype))
    return jnp.asarray(constant, dtype), jnp.zeros((), dtype)


def _log_mul_correction(x, c_hi, c_lo, product):
    """``log1p(err / product) ~ err / product``, ``err = x (c_hi + c_lo) - product`` from
    exact products (Dekker), for moderate ``x`` (the split does not overflow)."""
    x_hi, x_lo = _veltkamp_split(x)
    c_hi_hi, c_hi_lo = _veltkamp_split(c_hi)
    error = ((x_hi * c_hi_hi - product) + x_hi * c_hi_lo + x_lo * c_hi_hi) + x_lo * c_hi_lo
    return (error + x * c_lo) * (1 / product)


def _log_mul(x, constant):
    dtype = x.dtype
    c_hi, c_lo = _constant_parts(constant, dtype)
    product = x * c_hi
    # The correction matters only where log(product) is small, so |x| is moderate;
    # elsewhere (0, inf, huge, tiny) a dummy argument keeps the split finite.
    finfo = jnp.finfo(dtype)
    bound = jnp.asarray(2.0 ** (finfo.maxexp // 4), dtype)
    moderate = (jnp.abs(x) < bound) & (jnp.abs(x) > 1 / bound)
    x_m = jnp.where(moderate, x, jnp.ones_like(x))
    correction = _log_mul_correction(x_m, c_hi, c_lo, x_m * c_hi)
    correction = jnp.where(moderate, correction, jnp.zeros_like(x))
    # Far from 1/c the product may overflow, or x be subnormal (read as 0 by XLA on
    # CPU): there log(m c) + e log 2 from the exact split x = m 2**e, with no
    # cancellation to fear since |result| > 20.
    finite = jnp.isfinite(x)
    m, e = frexp(jnp.where(finite, x, jnp.ones_like(x)))
    split = ~(moderate | ~finite | (m == 0))  # m == 0: x is 0 bitwise
    # One logarithm: of the product, or of m c with e log 2 added.
    offset = jnp.where(split, e.astype(dtype) * jnp.asarray(np.log(2), dtype), correction)
    return jnp.log(jnp.where(split, m * c_hi, product)) + offset


def _log_mul_moderate(x, constant):
    """:func:`_log_mul` for moderate ``x`` (:func:`moderate`): the same value, bit for bit,
    without the split into significand and exponent that the range beyond needs."""
    c_hi, c_lo = _constant_parts(constant, x.dtype)
    product = x * c_hi
    return jnp.log(product) + _log_mul_correction(x, c_hi, c_lo, product)


def log_mul(x, constant):
    """``log(x * constant)``, with ``x * constant`` formed without rounding.

    ``log(x) + log(c)`` loses its relative accuracy where the sum is small
    (near ``x = 1/c``), and so does ``log(fl(x * c))``; here the rounding error
    of the product is recovered (Dekker) and added as ``log1p(err / prod) ~
    err / prod``. This is how the differential entropy ``log(scale *
    sqrt(2 pi e))`` of a normal distribution stays accurate where it changes
    sign.

    Args:
        x: a positive floating-point array.
        constant: an :class:`ExactConstant`, or a float (taken as exact).

    Returns:
        An array of the shape and dtype of ``x``.

    Example:
        >>> import fractions
        >>> from verify._special import ExactConstant, log_mul
        >>> three = ExactConstant("3", fractions.Fraction(3))
        >>> round(float(log_mul(2.0, three)), 6)  # log 6
        1.791759
    """
    if not isinstance(constant, ExactConstant):
        # A concrete number (e.g. from a compiled SymPy expression): hashable, static.
        constant = float(constant)
    return _log_mul_exact(x, constant)


def _with_log_mul_jvp(value):
    """``value(x, constant)`` as a differentiable function of ``x``, derivative ``1 / x``."""

    @functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
    def function(x, constant):
        return value(x, constant)

    @function.defjvp
    def _jvp(constant, primals, tangents):
        (x,), (dx,) = primals, tangents
        return value(x, constant), dx / x

    # x as a float on entry: an integer x would reach the rule with a float0 tangent.
    return lambda x, constant: function(jnp.asarray(x, _float_dtype(x)), constant)


_log_mul_exact = _with_log_mul_jvp(_log_mul)
_log_mul_moderate_exact = _with_log_mul_jvp(_log_mul_moderate)


def log_mul_moderate(x, constant):
    """:func:`log_mul` where ``x`` is moderate (:func:`moderate`): the same value, cheaper.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.float32(0.24)  # near the zero of log(x sqrt(2 pi e))
        >>> bool(log_mul_moderate(x, SQRT_2PIE) == log_mul(x, SQRT_2PIE))
        True
    """
    if not isinstance(constant, ExactConstant):
        constant = float(constant)
    return _log_mul_moderate_exact(x, constant)


@_custom_jvp
def xlog1py(x, y):
    """``x * log1p(y)`` with the accurate :func:`log1p`; ``0`` where ``x = 0`` (also at ``y = -1``).

    Example:
        >>> from verify._special import xlog1py
        >>> float(xlog1py(0.0, -1.0))
        0.0
    """
    dtype = _float_dtype(x, y)
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    return jnp.where(x == 0, jnp.zeros((), dtype), x * log1p(y))


@xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (dx, dy) = primals, tangents
    dtype = _float_dtype(x, y)
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    # Derivatives as jax.scipy.special.xlog1py: log1p(y) in x, x / (1 + y) in y.
    return xlog1py(x, y), dx * log1p(y) + dy * jnp.where(x == 0, 0, x / (1 + y))


# ------------------------------------------------- exact powers of two, full range
# XLA on CPU flushes subnormal inputs and results to zero (FTZ/DAZ), and its own
# frexp/ldexp compute through that arithmetic: `jnp.frexp(1e-40)` in float32 is
# (0.5, -149). These read and write the bits instead, so every finite value,
# subnormals included, splits exactly into a normal significand and an exponent.
def _bit_layout(dtype):
    info = jnp.finfo(dtype)
    int_dtype = {16: jnp.int16, 32: jnp.int32, 64: jnp.int64}[info.bits]
    exponent_mask = (1 << (info.bits - 1 - info.nmant)) - 1
    return info.nmant, info.maxexp - 1, exponent_mask, int_dtype


def frexp(x):
    """``(m, e)`` with ``x = m * 2**e`` exactly and ``1 <= |m| < 2``; ``(x, 0)`` at 0, inf, nan.

    Unlike :func:`jax.numpy.frexp` on CPU, subnormal ``x`` are split exactly.

    Example:
        >>> import jax.numpy as jnp
        >>> m, e = frexp(jnp.float32(3e-40))  # subnormal: 3e-40 = 1.63335... * 2**-132
        >>> float(m), int(e)
        (1.63335..., -132)
    """
    x = jnp.asarray(x, _float_dtype(x))
    nmant, bias, exponent_mask, int_dtype = _bit_layout(x.dtype)
    bits = jax.lax.bitcast_convert_type(x, int_dtype)
    field = (bits >> nmant) & exponent_mask
    fraction = bits & ((1 << nmant) - 1)
    # A subnormal is fraction * 2**(1 - bias - nmant); the integer fraction is a normal float.
    subnormal = (field == 0) & (fraction != 0)
    as_float = jnp.where(subnormal, fraction, 1).astype(x.dtype)
    sub_bits = jax.lax.bitcast_convert_type(as_float, int_dtype)
    sub_field = (sub_bits >> nmant) & exponent_mask
    exponent = jnp.where(subnormal, sub_field - bias + 1 - bias - nmant, field - bias)
    fraction = jnp.where(subnormal, sub_bits, bits) & ((1 << nmant) - 1)
    magnitude = jax.lax.bitcast_convert_type(fraction | (bias << nmant), x.dtype)
    m = jnp.where(bits < 0, -magnitude, magnitude)
    # 0 (either sign), inf and nan are returned as they are, with exponent 0.
    special = ((field == 0) & ~subnormal) | ~jnp.isfinite(x)
    return jnp.where(special, x, m), jnp.where(special, 0, exponent).astype(jnp.int32)


def ldexp(m, e):
    """``m * 2**e`` for normal (or zero) ``m``: exact when the result is normal, ``±inf``
    above the range, ``±0`` below the normal range (XLA on CPU would flush a subnormal).

    Example:
        >>> import jax.numpy as jnp
        >>> float(ldexp(jnp.float32(1.5), 130)), float(ldexp(jnp.float32(1.5), -20))
        (inf, 1.430511474609375e-06)
    """
    m = jnp.asarray(m, _float_dtype(m))
    nmant, bias, exponent_mask, int_dtype = _bit_layout(m.dtype)
    bits = jax.lax.bitcast_convert_type(m, int_dtype)
    field = ((bits >> nmant) & exponent_mask).astype(jnp.int32) + jnp.asarray(e, jnp.int32)
    inside = (field >= 1) & (field <= 2 * bias)
    safe_field = jnp.clip(field, 1, 2 * bias).astype(int_dtype)
    scaled = jax.lax.bitcast_convert_type(
        (bits & ~(exponent_mask << nmant)) | (safe_field << nmant), m.dtype
    )
    beyond = jnp.where(field > 2 * bias, jnp.inf, 0).astype(m.dtype)
    keep = (m == 0) | ~jnp.isfinite(m)  # 0, inf and nan scale to themselves
    return jnp.where(keep, m, jnp.where(inside, scaled, jnp.copysign(beyond, m)))


def _scaled(x, exponent):
    """``x * 2**-exponent`` for any finite ``x`` (subnormal too): exact, or ±inf / ±0 outside."""
    m, e = frexp(x)
    return ldexp(m, e - exponent)


# ----------------------------------------------------------------- moderate
# The range helpers (log_mul above, diff_ratio and log_ratio below) read significands and
# exponents as integers, so that nothing overflows or is flushed to zero anywhere in
# the float range. That costs more than the closed form itself: a normal KL in float32
# ran at 0.33x the naive expression. For moderate arguments the plain arithmetic gives
# the same values (bit for bit for diff_ratio and log_mul), and a closed form whose
# arguments are all moderate runs with it (`verify.formulas.fast_when_moderate`).
def _moderate_exponent(dtype) -> int:
    """``B`` with ``2**-B <= |x| < 2**B`` moderate: 31 in float32 and bfloat16, 255 in
    float64, 2 in float16.

    For moderate ``x, y, s``: ``x - y`` is 0 or at least ``2**(-B - nmant)``, and ``(x -
    y) / s`` lies within ``[2**(-2 B - nmant), 2**(2 B + 1)]``; both are normal where
    ``2 B <= -minexp - nmant`` and ``2 B + 1 < maxexp``. :func:`log_mul` takes its Dekker
    product for ``|x|`` within ``2**(maxexp // 4)`` of 1.
    """
    info = jnp.finfo(dtype)
    return min(info.maxexp // 4 - 1, (-info.minexp - info.nmant) // 2)


def moderate(*xs):
    """Whether every element of every floating-point argument is 0 or has ``2**-B <= |x| <
    2**B`` (:func:`_moderate_exponent`): a scalar boolean. Subnormal numbers are not
    moderate (XLA on CPU reads them as 0). Other arguments (integers, the
    constants of a form) count as moderate; NaN and infinities do not.

    Under ``vmap`` the answer is for the whole batch, not per member (:func:`_batch_wide`).

    Example:
        >>> import jax.numpy as jnp
        >>> bool(moderate(jnp.array([0.0, 1e-3, -4e30]), 2))
        True
        >>> bool(moderate(jnp.array([1.0, 1e-300])))  # below 2**-255
        False
    """
    floats = [jnp.asarray(x) for x in xs]
    floats = [x for x in floats if jnp.issubdtype(x.dtype, jnp.floating)]
    return _all_moderate(*floats) if floats else jnp.asarray(True)


@_batch_wide
def _all_moderate(*xs):
    inside = {}  # by shape: one reduction over the parameters of one shape
    for x in xs:
        # Read from the bits: XLA on CPU compares a subnormal as 0.
        nmant, bias, exponent_mask, int_dtype = _bit_layout(x.dtype)
        bits = jax.lax.bitcast_convert_type(x, int_dtype)
        magnitude = bits & ((exponent_mask << nmant) | ((1 << nmant) - 1))
        exponent = (magnitude >> nmant) - bias  # 2**exponent <= |x| < 2**(exponent + 1)
        b = _moderate_exponent(x.dtype)
        mask = ((exponent >= -b) & (exponent < b)) | (magnitude == 0)
        inside[x.shape] = inside.get(x.shape, True) & mask
    return functools.reduce(jnp.logical_and, map(jnp.all, inside.values()))


def diff_ratio_moderate(x, y, s):
    """:func:`diff_ratio` for moderate arguments (:func:`moderate`), where ``(x - y) / s``
    is the same value, bit for bit: scaling by a power of two commutes with the roundings
    when nothing leaves the normal range.

    Example:
        >>> import jax.numpy as jnp
        >>> x, y, s = jnp.float32(1.1), jnp.float32(1.3), jnp.float32(3e-7)
        >>> bool(diff_ratio_moderate(x, y, s) == diff_ratio(x, y, s))
        True
    """
    dtype = _float_dtype(x, y, s)
    x, y, s = (jnp.asarray(v, dtype) for v in (x, y, s))
    return (x - y) / s


def log_ratio_moderate(x, y):
    """:func:`log_ratio` for moderate arguments: ``log(x / y)``, as accurate (an absolute
    error of a few ulp of 1 plus a few ulp of the value); ``x / y`` is normal there.

    Example:
        >>> round(float(log_ratio_moderate(1e-30, 1e30)), 3)
        -138.155
    """
    dtype = _float_dtype(x, y)
    return jnp.log(jnp.asarray(x, dtype) / jnp.asarray(y, dtype))


# --------------------------------------------------------------- diff_ratio
def diff_ratio(x, y, s):
    """``(x - y) / s`` for ``s > 0``, with no intermediate overflow or flush to zero.

    ``x`` and ``y`` are rescaled exactly by the power of two of ``s`` before they
    are subtracted, so ``x - y`` never overflows where the ratio is finite, the
    difference of close values stays exact (Sterbenz), and subnormal arguments
    (which XLA on CPU reads as 0) count. Equal arguments give exactly ``0``; a
    ratio beyond the range gives ``±inf``. The error is a few ulp plus, where a
    rescaled operand falls below the normal range (and is read as 0), less than
    twice the smallest normal number in absolute terms.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.float32(3e38)
        >>> float(diff_ratio(x, -x, x))  # x - (-x) overflows float32
        2.0
        >>> tiny = jnp.float32(2.0**-140)  # subnormal
        >>> float(diff_ratio(jnp.float32(3 * 2.0**-140), tiny, tiny))
        2.0
    """
    dtype = _float_dtype(x, y, s)
    return _diff_ratio(*(jnp.asarray(v, dtype) for v in (x, y, s)))


@_custom_jvp
def _diff_ratio(x, y, s):
    dtype = x.dtype
    m_s, e_s = frexp(s)
    # s = (m_s / 2) 2**(e_s + 1) with m_s / 2 in [0.5, 1): the rescaled operands are
    # at most |x / s|, so they overflow only where the ratio itself does.
    m_s, e_s = m_s / 2, e_s + 1
    x_s, y_s = _scaled(x, e_s), _scaled(y, e_s)
    m_x, e_x = frexp(x)
    m_y, e_y = frexp(y)
    equal = (m_x == m_y) & ((e_x == e_y) | (m_x == 0))  # bitwise, not through DAZ
    finite = jnp.isfinite(x_s) & jnp.isfinite(y_s)
    beyond = jnp.where(x > y, jnp.inf, -jnp.inf).astype(dtype)
    difference = jnp.where(finite | jnp.isnan(x) | jnp.isnan(y), x_s - y_s, beyond)
    return jnp.where(equal, jnp.zeros((), dtype), difference) / m_s


@_diff_ratio.defjvp
def _diff_ratio_jvp(primals, tangents):
    (x, y, s), (dx, dy, ds) = primals, tangents
    value = _diff_ratio(x, y, s)
    return value, (dx - dy - value * ds) / s


# ---------------------------------------------------------------- log_ratio
@_custom_jvp
def log_ratio(x, y):
    """``log(x / y)`` for ``x, y > 0`` over the whole finite range, subnormals included.

    ``x / y`` itself may overflow or underflow (``1e-30 / 1e30`` in float32);
    here the exponents are subtracted as integers: ``log(m_x / m_y) + (e_x -
    e_y) log 2``. Where the result is near 0 this has an absolute error of a
    few ulp of 1, not a relative one: callers use it where ``|log(x / y)|`` is
    not small (:func:`kl_div_log` takes the small case from ``1 - x / y``).

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(log_ratio(jnp.float32(1e-30), jnp.float32(1e30))), 3)
        -138.155
    """
    dtype = _float_dtype(x, y)
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    m_x, e_x = frexp(x)
    m_y, e_y = frexp(y)
    ln2 = jnp.asarray(np.log(2), dtype)
    return jnp.log(m_x / m_y) + (e_x - e_y).astype(dtype) * ln2


@log_ratio.defjvp
def _log_ratio_jvp(primals, tangents):
    (x, y), (dx, dy) = primals, tangents
    return log_ratio(x, y), dx / x - dy / y


# ------------------------------------------------------------------ kl_div_log
@_custom_jvp
def kl_div_log(log_a, b):
    """``a - 1 - log(a)`` from ``log a`` and ``b = 1 - a``: :func:`kl_div_unit` for any ``a > 0``.

    :func:`kl_div_unit` needs ``a`` itself, which a ratio of scales can overflow
    or flush to zero (``1e-30 / 1e30`` in float32) though the value, about
    ``-log a`` or ``a``, is finite or plainly ``+inf``. Here ``log a`` comes
    from :func:`log_ratio` and ``b`` from :func:`diff_ratio`: the value is
    ``-b - log a``, summed as the atanh series in ``s = b / (2 - b)`` where the
    two cancel (``|s| <= 1/10``). ``b`` is a hint (``1 - exp(log a)``): the
    derivative is ``-b`` in ``log a`` and 0 in ``b``.

    Example:
        >>> h = 2**-20  # a = 1 - h
        >>> float(kl_div_log(log1p(-h), h))
        4.5474...e-13
        >>> import jax.numpy as jnp
        >>> float(kl_div_log(jnp.float32(-200.0), jnp.float32(1.0)))  # a = e**-200
        199.0
    """
    dtype = _float_dtype(log_a, b)
    log_a, b = jnp.asarray(log_a, dtype), jnp.asarray(b, dtype)
    s = b * (1 / (2 - b))  # NaN at b = -inf, where the direct branch is taken
    series = b * s * (1 + s * (1 + s) * _atanh_tail(s * s))
    return jnp.where(_near_zero(s), series, -b - log_a)


@kl_div_log.defjvp
def _kl_div_log_jvp(primals, tangents):
    (log_a, b), (d_log_a, _) = primals, tangents
    dtype = _float_dtype(log_a, b)
    log_a, b = jnp.asarray(log_a, dtype), jnp.asarray(b, dtype)
    return kl_div_log(log_a, b), -b * d_log_a


# -------------------------------------------------------------------- xlogx
@_custom_jvp
def xlogx(x):
    """``x * log(x)``, ``0`` at ``x = 0``; its derivative ``log(x) + 1`` is ``-inf`` there.

    :func:`jax.scipy.special.xlogy` at ``(0, 0)`` differentiates to ``log(0) +
    0/0 = NaN``; the entropy ``-sum(xlogx(p))`` of a distribution with a zero
    probability then has a NaN gradient. Here the one-sided derivative at 0 is
    the definition's ``-inf`` (so the entropy's is ``+inf``).

    Example:
        >>> import jax
        >>> from verify._special import xlogx
        >>> float(xlogx(0.0)), float(jax.grad(xlogx)(0.0))
        (0.0, -inf)
    """
    x = jnp.asarray(x, _float_dtype(x))
    return jss.xlogy(x, x)


@xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = jnp.asarray(x, _float_dtype(x))
    return xlogx(x), (jnp.log(x) + 1) * dx


# ------------------------------------------------------------ softmax forms
# KL divergence, entropy and cross-entropy of categorical distributions given by
# logits, over the last axis. Shared notation: p = softmax(a), q = softmax(b),
# delta = b - a (exact: see _centred), mu = E_p[delta], t = delta - mu.
# Then KL(p || q) = log E_p[exp(t)] - E_p[t], and with mu = E_p[b - a] (so
# that B = E_p[t] = 0 up to rounding), A = E_p[expm1(t)], F = E_p[expm1(t) - t]
# = A - B >= 0 term by term:
#
#     KL = F + log1pmx(A)                   (near: |A| <= 1/2; no cancellation)
#        = (max b - max a - mu) + log(N_b / N_a)   (far: KL >= log(3/2) - |B|)
#
# with N_a = sum exp(a - max a), N_b = sum exp(b - max b) (LSE(b) - LSE(a) - mu,
# without subtracting two logarithms of size log V).
#
# Two passes over the [..., V] inputs give the far value (the maxima; both
# normalisers and mu: two exponentials per logit, as a log_softmax form); a
# third, the sums E_p[t] and F, runs on the CPU only when some row of the call
# is near (lax.cond, on the whole batch under vmap: some), on other platforms always
# (_cond). On an NVIDIA GPU one pass instead: a kernel takes each chunk of a row's
# statistics about the chunk's own mean, and joins them exactly (verify._softmax_chunks).
# On the CPU, in calls whose near rows have |t| <= 1 in every class (the row
# maxima and minima of b - a tell), the near pass takes e^t - 1 - t from its
# Taylor series alone: one exponential, no select, a loop XLA:CPU vectorises.
# No pass writes a [..., V] array: XLA:CPU maps a call's temporaries of 32 MiB
# or more afresh in each call (glibc's largest heap block), and each first
# write of a page faults (measured at [16, 262144] float32: 9734 faults per
# call with two exp arrays of 16 MiB, which took 2.5 ms each alone and 15-19 ms
# in the call).
# Every row sum is accurate to a few ulp whatever V
# (_rowsums): XLA:CPU adds a fused reduction's terms in order, XLA:GPU as a tree.
# The gradient is a custom VJP that recomputes p and t in one more pass from
# the inputs and per-row statistics: autodiff would keep [..., V]
# intermediates for the backward pass.
# Classes with p = 0 (a logit of -inf, or an underflowed one) enter E_p[exp(t)]
# through p_k e^t_k = exp(b_k - max b) exp(max b - max a - mu) / N_a, never
# through 0 * inf. A class with a > -inf = b makes the divergence +inf (and its
# gradient 0), also where its probability underflows to 0. The masks this takes
# (jnp.where in the terms of a sum) are applied on the CPU only in calls that
# have a -inf logit (_live): XLA:CPU does not vectorise a reduction whose terms
# select.
# Inputs of 16 bits are computed in float32, results returned in their dtype.


def _working(x):
    """``x`` in the working dtype: float32 for 16-bit floats, else its own."""
    return x.astype(jnp.float32) if jnp.finfo(x.dtype).bits < 32 else x


def _tops(*xs):
    """The row maxima, in the working dtype.

    They are taken before the conversion (exact in any dtype), so that XLA:CPU's
    library reduction reads the 16-bit inputs and no float32 copy of them is
    written out.
    """
    return tuple(_working(_rowmax(x)) for x in xs)


def _rowmax(x):
    return jnp.max(x, axis=-1, keepdims=True)


def _max_min(x):
    """The row maxima and minima of ``x`` over the last axis, in one reduction (16-bit
    inputs: two, which XLA:CPU runs in its library; it converts a variadic reduction of
    them to float32 element by element: 11 ms against 2.5 at [16, 262144] bfloat16)."""
    if jnp.finfo(x.dtype).bits < 32:
        return jnp.max(x, axis=-1), jnp.min(x, axis=-1)
    return _row_extremes((x, x), (True, False))


def _row_extremes(operands, largest):
    """The row maxima (``largest[i]``) or minima of each operand over the last axis, in one
    variadic reduction: one pass over inputs they share."""
    inits = tuple(
        jnp.array(-jnp.inf if up else jnp.inf, x.dtype) for x, up in zip(operands, largest)
    )
    return jax.lax.reduce(
        operands,
        inits,
        lambda u, v: tuple(
            (jnp.maximum if up else jnp.minimum)(x, y) for up, x, y in zip(largest, u, v)
        ),
        (operands[0].ndim - 1,),
    )


def _extremes(x):
    """The row maxima and the row minima over the finite entries, in the working dtype (as
    :func:`_tops`): one reduction for both (:func:`_max_min`: on the CPU as fast as the
    maxima alone, which a separate minimum is not; 16-bit inputs: two library reductions);
    a second, over the finite entries, only in calls with a
    ``-inf`` (a row of ``-inf`` only has the minimum ``+inf``).

    Example:
        >>> x = jnp.array([[1.0, -2.0, 3.0], [0.0, -jnp.inf, -1.0]])
        >>> [v.tolist() for v in _extremes(x)]
        [[[3.0], [0.0]], [[-2.0], [-1.0]]]
    """
    top, bottom = _max_min(x)

    def lowest_finite(u, v):  # the select inside the reduction: no [..., V] array is written
        return jnp.minimum(*(jnp.where(w > -jnp.inf, w, jnp.inf) for w in (u, v)))

    def finite_bottom():
        return jax.lax.reduce(x, jnp.array(jnp.inf, x.dtype), lowest_finite, (x.ndim - 1,))

    bottom = _branch(some(bottom == -jnp.inf), finite_bottom, lambda: bottom)
    return _working(top[..., None]), _working(bottom[..., None])


#: Terms added in order before the block sums are added with TwoSum (see _rowsums).
_ROWSUM_BLOCK = 8


def _sum_in_order(xs, axis):
    zeros = tuple(jnp.zeros((), x.dtype) for x in xs)
    return jax.lax.reduce(xs, zeros, lambda u, v: tuple(x + y for x, y in zip(u, v)), (axis,))


def _two_sums(xs):
    """Row sums over the last axis, each carrying its rounding error (TwoSum, Knuth)."""
    count = len(xs)

    def add(u, v):  # u, v: (sums..., errors...)
        sums, errors = [], []
        for i in range(count):
            total = u[i] + v[i]
            v_part = total - u[i]
            error = (u[i] - (total - v_part)) + (v[i] - v_part)  # u + v - total, exactly
            sums.append(total)
            errors.append(u[count + i] + v[count + i] + error)
        return (*sums, *errors)

    zeros = tuple(jnp.zeros((), x.dtype) for x in xs)
    operands = (*xs, *(jnp.zeros_like(x) for x in xs))
    out = jax.lax.reduce(operands, zeros + zeros, add, (xs[0].ndim - 1,))
    # An infinite sum (a -inf term: see _kl_statistics) has a NaN error term.
    return tuple(jnp.where(jnp.isfinite(t), t + e, t) for t, e in zip(out[:count], out[count:]))


def _rowsums(terms, *rows):
    """The row sums of the arrays ``terms(*rows)``, accurate to a few ulp whatever V.

    ``terms`` takes the per-row statistics ``rows`` (the arrays it reads are its
    own: compute them inside, from the inputs, so that no ``[..., V]`` array is
    written out). On the CPU the sums are one variadic reduction (one pass):
    separate ``jnp.sum`` calls over terms that share their inputs can make
    XLA:CPU write those terms to memory. XLA:CPU accumulates such a reduction in
    order, whose rounding error grows with V (``sqrt(V)`` ulp typically, up to
    ``V``: 140-340 ulp at V = 32768 in float32), so blocks of up to 8 terms are
    added in order (at most 7 roundings) and the block sums with TwoSum (Knuth),
    which carries each rounding error along: a few ulp of the sum of magnitudes
    whatever the order or V. The block sums are written to memory (``V / 8`` per
    row and operand). Not differentiable by JAX: for the forward passes of
    custom gradients.

    On other platforms (the GPU: bound by memory) plain row sums: XLA:GPU adds
    a row as a tree, which keeps the error at a few ulp (measured on an H100:
    within 1.4 float32 eps of float64 at V = 262144, as TwoSum gave), and fuses
    sibling sums into one pass.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(3.0)
        >>> [float(s[0]) for s in _rowsums(lambda top: (x - top, x), x.max())]
        [-3.0, 3.0]
    """
    sums = jax.lax.platform_dependent(
        *rows,
        cpu=functools.partial(_rowsums_in_blocks, terms),
        default=functools.partial(_rowsums_plain, terms),
    )
    return tuple(total[..., None] for total in sums)


def _rowsums_in_blocks(terms, *rows):
    """:func:`_rowsums` on the CPU: blocks of 8 terms in order, then TwoSum."""
    xs = terms(*rows)
    size = xs[0].shape[-1]
    block = max(k for k in range(1, _ROWSUM_BLOCK + 1) if size % k == 0)
    if block > 1:
        lead = xs[0].shape[:-1]
        blocks = tuple(x.reshape(*lead, size // block, block) for x in xs)
        xs = _sum_in_order(blocks, len(lead) + 1)
    return _two_sums(xs)


def _rowsums_plain(terms, *rows):
    """:func:`_rowsums` elsewhere: a plain sum of each operand (a tree on the GPU)."""
    return tuple(jnp.sum(x, axis=-1) for x in terms(*rows))


#: Logits per chunk of rows in :func:`_by_row_chunks` (2 MiB per float32 operand), and the
#: largest input (bytes) a batch takes whole: 2**23 float32 logits, 2**22 float64.
_CHUNK_LOGITS, _WHOLE_BYTES = 2**19, 2**25


def _rows_per_chunk(rows, size, itemsize=4):
    """The most rows, at least 2 (a row alone is not shared between XLA:CPU's threads:
    2.5x slower), that divide ``rows`` in chunks of at most :data:`_CHUNK_LOGITS` logits
    of ``size``; ``rows`` (no chunks) where none does, or where an input of ``itemsize``
    bytes per logit has at most :data:`_WHOLE_BYTES`.

    Example:
        >>> _rows_per_chunk(128, 131072), _rows_per_chunk(127, 131072), _rows_per_chunk(16, 2**18)
        (4, 127, 16)
        >>> _rows_per_chunk(2**24, 2), _rows_per_chunk(2**22 * 3, 4)
        (262144, 131072)
    """
    if rows * size * itemsize <= _WHOLE_BYTES:
        return rows
    most = min(rows - 1, _CHUNK_LOGITS // max(size, 1))  # not range(rows): 2**24 rows of 2
    return max((r for r in range(2, most + 1) if rows % r == 0), default=rows)


def _by_row_chunks(forward, *inputs):
    """``forward(*inputs)`` for inputs of one shape ``(..., V)``, on the CPU one chunk of
    rows after another (``lax.map``), each chunk with its own branches, where an input
    of 32 or 64 bits per logit has more than :data:`_WHOLE_BYTES`.

    Over the whole batch, :func:`_rowsums` writes ``V / 8`` block sums per row and
    operand: 40 MiB of temporaries at 2**24 float32 logits (the KL), 81 MiB at 2**25. By
    chunks they are one chunk's, with XLA:CPU's copy of its inputs: 3-5 MiB (float64:
    6-10) whatever the batch, and the forward 3-16 % faster at 2**24-2**25 float32 logits
    (the entropy 13-31 %), measured on a 2-core x86_64 CPU; float64 took 0.72x-1.01x the
    time at 2**23 logits and 0.74x-1.07x at 2**24. At 2**22-2**23 float32 logits the
    copies and the loop cost more than the block sums (up to 1.3x the time): those batches
    run whole. The outputs of ``forward`` are arrays of the rows ``(..., k)`` and flags of
    a whole call (boolean scalars: whether a general form ran), true where some chunk's is.
    16-bit inputs run whole: XLA:CPU converts a loop's 16-bit inputs whole to float32 (131
    MiB at 2**24 bfloat16; passed as integers, it copies them). Eager calls (concrete
    inputs) run whole: they write every array anyway, and take only the branches they need
    (:func:`_branch`), which a traced chunk would compile all of. Only the values' forward
    runs by chunks, not the one a gradient follows (:func:`_row_chunked`).

    Example:
        >>> x = jax.ShapeDtypeStruct((64, 2**18), jnp.float32)  # 2**24 logits: 32 chunks
        >>> jax.eval_shape(lambda x: _by_row_chunks(lambda x: (x.sum(-1), jnp.any(x > 0)), x), x)
        (ShapeDtypeStruct(shape=(64,), dtype=float32), ShapeDtypeStruct(shape=(), dtype=bool))
    """
    lead, size = inputs[0].shape[:-1], inputs[0].shape[-1]
    rows = math.prod(lead)
    itemsize = min(x.dtype.itemsize for x in inputs)
    per_chunk = _rows_per_chunk(rows, size, itemsize)
    if per_chunk == rows or _validate.is_concrete(*inputs) or itemsize < 4:
        return forward(*inputs)
    flat = tuple(x.reshape(rows, size) for x in inputs)

    def chunk(i):
        return forward(*(jax.lax.dynamic_slice_in_dim(x, i * per_chunk, per_chunk) for x in flat))

    def joined(x):  # one output per chunk: rows back to the inputs' shape; flags of a call
        if x.ndim == 1:
            assert x.dtype == bool, "a scalar output of a chunk must be a flag"
            return jnp.any(x)
        return x.reshape(*lead, *x.shape[2:])

    return jax.tree.map(joined, jax.lax.map(chunk, jnp.arange(rows // per_chunk)))


def _row_chunked(forward, row_chunks):
    """``forward``, by chunks of rows (:func:`_by_row_chunks`) where ``row_chunks``: the
    values' forward (the functions' primal). Before a backward pass the forward runs
    whole: with the chunks there XLA:CPU reserved one more ``[B, V]`` array (264 against
    200 MiB at 2**24 float32 logits), and the backward writes two anyway."""
    return functools.partial(_by_row_chunks, forward) if row_chunks else forward


def _cond(branches, pred, general, special):
    """``lax.cond(pred, general, special)`` where ``branches``, else ``general()``.

    ``general`` is right for every row (the masked forms, the near pass), and
    ``special`` a cheaper form for calls that do not need it. The CPU takes the
    branch. The GPU computes the general form in every call: XLA:GPU reads each
    predicate on the host, which stalls the calls queued behind it. Measured on
    an H100 at 2**22 logits, together with plain row sums (not apart): 0.42x the
    fastest peer with TwoSum sums and the branches, 0.88x with neither.
    """
    return _branch(pred, general, special) if branches else general()


def _log_normaliser(x, top, more=lambda weights, top: ()):
    """``sum(weights)`` and its log with ``weights = exp(x - top)``, via log1p: exact where ~0.

    The entries equal to the maximum contribute exactly 1 each; the rest is
    summed apart, so a normaliser of ``1 + 1e-17`` is not rounded to 1. The
    entries are told apart by a 0/1 factor, not a select (see :func:`_live`).
    The row sums of ``more(weights, top)`` come in the same reduction, after
    the two. ``x`` is converted to the working dtype here (no float32 copy of
    16-bit logits is written out).
    """

    def terms(top):
        x_w = _working(x)
        weights = jnp.exp(x_w - top)
        below = (x_w < top).astype(x_w.dtype)
        return (weights, weights * below, 1 - below, *more(weights, top))

    normaliser, rest, ties, *sums = _rowsums(terms, top)
    return normaliser, log1p((ties - 1) + rest), *sums


def _infinite(a, b):
    """Rows where some class has p > 0 = q (``a > -inf = b``)."""
    return jnp.any((a > -jnp.inf) & (b == -jnp.inf), axis=-1, keepdims=True)


def _expm1mx_terms(dtype) -> int:
    """Terms of ``(e^t - 1 - t) / t**2 = sum_k t**k / (k + 2)!`` for ``|t| <= 1`` to eps / 8.

    The tail after n terms is at most ``1 / (n + 2)!`` (times 1.1), against a sum
    of at least ``e**-1`` (at ``t = -1``): 10 terms in float32, 17 in float64.
    """
    eps = float(jnp.finfo(dtype).eps)
    n = 1
    while 1.1 / math.factorial(n + 2) > eps / 8 * math.exp(-1):
        n += 1
    return n


def _expm1mx_series(t, dtype=None):
    """``(e^t - 1 - t) / t**2`` for ``|t| <= 1`` (Horner), to the precision of ``dtype`` (by
    default ``t``'s): that of a 16-bit result computed in float32 needs 5 terms, not 10
    (and XLA:CPU vectorises the CPU's series pass over 16-bit inputs only with 5: 4.7 ms
    against 21 ms at [16, 262144] bfloat16)."""
    series = jnp.zeros_like(t)
    for k in range(_expm1mx_terms(dtype or t.dtype) - 1, -1, -1):
        series = series * t + jnp.asarray(1 / math.factorial(k + 2), t.dtype)
    return series


def _expm1mx(t):
    """``exp(t) - 1 - t`` to a few ulp: Taylor series for ``|t| <= 1``, else ``expm1(t) - t``.

    ``expm1(t) - t`` alone loses ``log10(2 / |t|)`` digits (all of them at
    ``|t| = 1e-9``: an error ``eps |t|`` against a value ``t**2 / 2``); beyond
    ``|t| = 1`` it loses at most a factor 4.4 (at ``t = -1``).

    Example:
        >>> import jax.numpy as jnp
        >>> float(_expm1mx(jnp.float32(1e-3)))  # t**2 / 2 + t**3 / 6 + ...
        5.00166...e-07
    """
    near = jnp.abs(t) <= 1
    u = jnp.where(near, t, 0)
    return jnp.where(near, u * u * _expm1mx_series(u), jnp.expm1(t) - t)


def _centred(b, a, mu, rounded):
    """``t = (b - a) - mu``, with ``b - a`` taken exactly as ``hi + lo`` (TwoSum, Knuth).

    ``b - a`` is exact where ``a`` and ``b`` are close (Sterbenz), but logits that
    differ by an offset are near-equal distributions too (softmax ignores it): there
    ``hi = fl(b - a)`` is off by up to ``eps |b| / 2``, against differences ``t`` that
    may be far smaller (float32, an offset of 100 and noise 1e-6: every digit lost).
    ``lo`` keeps them. ``rounded``: whether ``b - a`` may be rounded at all (False for
    16-bit inputs, computed in float32: their difference is exact).

    Example:
        >>> import jax.numpy as jnp
        >>> b, a = jnp.float32(100.0), jnp.float32(1e-6)  # b - a rounds to 100
        >>> float(_centred(b, a, jnp.float32(100.0), rounded=True))
        -9.99...e-07
    """
    if not rounded:
        return (b - a) - mu
    hi, lo = _two_difference(b, a)
    return (hi - mu) + lo


def _two_difference(b, a):
    """``(hi, lo)`` with ``hi = fl(b - a)`` and ``hi + lo = b - a`` exactly (TwoSum, Knuth)."""
    hi = b - a
    b_part = hi + a
    minus_a_part = hi - b_part
    return hi, (b - b_part) - (a + minus_a_part)


def _tilt(top_b, top_a, mu, mu_lo):
    """``max b - max a - (mu + mu_lo)`` without the rounding of ``max b - max a``, which
    is of the size of an offset between the logits, not of the tilt (see :func:`_centred`)."""
    hi, lo = _two_difference(top_b, top_a)
    return ((hi - mu) + lo) - mu_lo


def _rounded(dtype):
    """Whether ``b - a`` of two logits of ``dtype`` may be rounded in the working dtype."""
    return jnp.finfo(dtype).bits >= 32


def _log_softmax(x, log_normaliser):
    """``x - LSE(x)`` from ``log_normaliser = (max x, log sum exp(x - max x))``: ``LSE(x)`` as
    one number carries a rounding of the size of ``|max x|`` (logits with a large offset),
    ``x - max x`` does not."""
    top, log_sum = log_normaliser
    return (x - top) - log_sum


def _live(masked, weights, x):
    """``x`` where ``p > 0``, else 0; with no masks (every logit finite), ``x`` itself.

    XLA:CPU does not vectorise a reduction whose terms select, so the masked
    forms (``0 * inf`` would be NaN) are taken only by calls with ``-inf`` logits.
    """
    return jnp.where(weights > 0, x, 0) if masked else x


def _kl_statistics(a, b, tops, branches, bottom_a=None):
    """Per-row statistics of KL(softmax(a) || softmax(b)) in two passes over the inputs.

    The maxima; then both normalisers and ``mu = E_p[b - a]``, through ``tilt = max b -
    max a - mu`` (see the comment there). Returns ``LSE(a)`` and ``LSE(b)`` as ``(max,
    log N)`` (:func:`_log_softmax`), ``mu`` as two numbers ``(hi, lo)``, and
    ``log E_p[e^t] = LSE(b) - LSE(a) - mu``, which is
    ``+inf`` exactly where a class has ``a > -inf = b``, its weight ``e**a``
    underflowed or not; for the near pass, the maxima, the normaliser ``N`` of
    ``a``; and whether the masked forms are needed: whether some logit is
    ``-inf`` (then the unmasked ``mu`` is not finite: ``0 * inf`` or ``-inf``),
    which recomputes the sums, masked, in one more pass (see :func:`_cond`).

    Each pass computes ``exp(a - max a)`` and ``exp(b - max b)`` from the inputs (see
    :func:`_softmax_kl_forward`). ``bottom_a``: the minima of ``a``, with ``branches`` (the
    CPU).
    """
    top_a, top_b = tops

    def sums(with_masks, direct=True, below=False):  # one variadic reduction each
        def terms(top_a, top_b):
            a_w, b_w = _working(a), _working(b)  # converted here: no float32 copy is written
            below_a, below_b = a_w - top_a, b_w - top_b
            weights, weights_b = jnp.exp(below_a), jnp.exp(below_b)

            def weighted(x):  # the CPU's general form: also weights below the normal range
                if with_masks and branches:
                    term = _underflow.product(below_a, x, weights)
                    return jnp.where(below_a > -jnp.inf, term, 0)
                return _live(with_masks, weights, weights * x)

            out = (weights, weighted(b_w - a_w), weights_b) if direct else ()
            if below:  # E_p[(a - max a) - (b - max b)] and E_p[a - max a]
                out += (weighted(below_a - below_b), weighted(below_a))
            return out

        return _rowsums(terms, top_a, top_b)

    def masked_sums():  # a class of p > 0 = q, also where its weight underflowed: +inf
        return (*sums(True, below=not branches), _infinite(a, b))

    if branches:
        unmasked = sums(False)
        # The masked forms also where a weight of p is below the normal range (XLA:CPU
        # flushes it to 0), whose term times b - a (unbounded) need not be: _underflow.
        masked = some(~jnp.isfinite(unmasked[1])) | some(_underflow.underflows(top_a, bottom_a))
        normaliser, weighted, normaliser_b, infinite = _branch(
            masked, masked_sums, lambda: (*unmasked, jnp.zeros(unmasked[0].shape, bool))
        )
    else:
        masked = jnp.array(True)
        normaliser, weighted, normaliser_b, weighted_below, spread, infinite = masked_sums()
    # tilt = max b - max a - mu, from mu = E_p[b - a] (terms exact where a and b are close)
    # or from E_p[(a - max a) - (b - max b)] (terms of the size of the logits' spread, not
    # of an offset between a and b), whichever rounds less: the second where |mu| > 1 and
    # |mu| exceeds |tilt| + 2 E_p[max a - a] (spread is the sum of w (a - max a) <= 0).
    # mu then as two numbers. The CPU sums the second only in calls with a row of
    # |mu| > 1 (one more pass).
    mu = weighted / normaliser
    if branches:
        weighted_below, spread = _branch(
            some(jnp.abs(mu) > 1),
            lambda: _branch(
                masked, lambda: sums(True, False, True), lambda: sums(False, False, True)
            ),
            lambda: (jnp.zeros_like(mu), jnp.zeros_like(mu)),
        )
    tilt_below = weighted_below / normaliser
    below = (jnp.abs(mu) > 1) & (jnp.abs(mu) > jnp.abs(tilt_below) - 2 * spread / normaliser)
    tilt = jnp.where(below, tilt_below, _tilt(top_b, top_a, mu, 0))
    hi, lo = _two_difference(top_b, top_a)
    mu_below, mu_lo = _two_difference(hi, tilt_below)
    mu = (jnp.where(below, mu_below, mu), jnp.where(below, mu_lo + lo, 0))
    log_normaliser = (top_a, jnp.log(normaliser))  # LSE as two numbers: see _log_softmax
    log_normaliser_b = (top_b, jnp.log(normaliser_b))
    # One rounding in the log, not two logs of size log V cancelling:
    log_mean = tilt + jnp.log(normaliser_b / normaliser)
    log_mean = jnp.where(infinite, jnp.inf, log_mean)
    return (log_normaliser, mu, log_normaliser_b, log_mean), normaliser, masked


def _kl_terms(a, b, log_normaliser, mu, log_mean, masked, rounded, products=False):
    """p, t and live (p > 0; with ``products``, the masked form's terms of p below the normal
    range: a > -inf); t = 0 where not live and in rows of KL = +inf (gradient 0)."""
    p = jnp.exp(_log_softmax(a, log_normaliser))
    live = a > -jnp.inf if masked and products else p > 0
    t = (_centred(b, a, mu[0], rounded) - mu[1]) - mu[2]  # mu: the centre as three numbers
    if masked:  # mu is -inf or t is -inf in rows of +inf: t would be NaN or -inf there
        live = live & (log_mean < jnp.inf)
    return p, jnp.where(live, t, 0) if masked else t, live


def _near_sums(a, b, rows, normaliser, masked, exact, products=False, series=False):
    """``A = E_p[e^t - 1]`` and ``F = E_p[e^t - 1 - t]`` (terms >= 0): one more pass.

    ``rows`` are ``max a``, ``max b``, ``tilt``, ``mu`` and ``mu_lo``: t = b - a - (mu +
    mu_lo), the centre as two numbers (see :func:`_kl_forward`). ``p = weights / N`` and
    ``p e^t = tilted / N`` with ``weights = exp(a - max a)`` and ``tilted =
    exp(b - max b + tilt)``, ``tilt = max b - max a - (mu + mu_lo)``, so a class with
    ``p_k = 0`` (a ``-inf`` or underflowed logit) or an overflowing ``e^t_k``
    still enters ``F`` through ``p_k e^t_k``. For ``|t| <= 1`` the term is
    ``w t**2 (e^t - 1 - t) / t**2`` from the Taylor series (no cancellation);
    beyond, ``tilted - w - w t`` loses at most a factor 6.6 (at ``|t| = 1``).
    ``A = E_p[t] + F``. ``exact``: take ``b - a`` exactly (:func:`_centred`), else rounded
    (exact where ``a`` and ``b`` are close). ``products``: terms of weights below the
    normal range (:mod:`verify._underflow`), for the CPU's masked form. ``series``: the
    CPU's form for calls whose candidate rows have ``|t| <= 1`` in every class
    (:func:`_within_series`); ``rows`` then end with a factor, 1 on those rows and 0 on
    the others (whose sums are 0), and the terms take the series alone: XLA:CPU
    vectorises that loop, not one with a second exponential or a select beside the
    series (4-5x slower, measured at [16, 262144] float32).
    """

    def terms(top_a, top_b, tilt, mu, mu_lo, *gate):
        a_w, b_w = _working(a), _working(b)  # converted here: no float32 copy is written
        weights = jnp.exp(a_w - top_a)
        if series:
            u = (_centred(b_w, a_w, mu, exact and _rounded(a.dtype)) - mu_lo) * gate[0]
            return weights * u, weights * (u * u * _expm1mx_series(u, a.dtype))
        tilted = jnp.exp((b_w - top_b) + tilt)
        # Masked by the logits (a -inf logit: t is not a number), not by weights > 0: the
        # statistics' mask, read again here, was a [..., V] array written between the
        # passes in bfloat16 on the GPU. A finite logit whose weight underflowed has a
        # finite t (rows with b = -inf there are +inf: not near) and enters as 0.
        live = a_w > -jnp.inf
        t = _centred(b_w, a_w, mu, exact and _rounded(a.dtype)) - mu_lo
        t = jnp.where(live, t, 0) if masked else t
        small = (jnp.abs(t) <= 1) & live if masked else jnp.abs(t) <= 1
        u = jnp.where(small, t, 0) if masked else t  # unmasked, large |t| is selected away
        near = weights * (u * u * _expm1mx_series(u))
        if products:  # weights below the normal range, times a large |t|: _underflow
            below = a_w - top_a
            mean_t, far = (_underflow.product(below, x, weights) for x in (t, -1 - t))
            return jnp.where(live, mean_t, 0), jnp.where(small, near, tilted + far)
        return weights * t, jnp.where(small, near, tilted - weights - weights * t)

    mean_t, gap = _rowsums(terms, *rows)
    gap = gap / normaliser
    return mean_t / normaliser + gap, gap


def _near_rows(log_mean):
    """Rows that may take the near branch: ``|E_p[e^t] - 1| <= 1/2``, with a margin."""
    return (log_mean >= -0.8) & (log_mean <= 0.5)


def _broadcasting(function):
    """``function(a, b)``, a ``jax.custom_vjp`` of two arrays of one shape, on arrays of
    broadcastable shapes (register the rules with ``.defvjp`` as usual). ``KL(P ||
    Q)`` with a batch of P against one Q (logits ``[B, V]`` and ``[V]``) raised
    ``TypeError`` in the row sums; the gradient of an input broadcast here is summed back
    to its shape by the transpose of ``broadcast_to``."""

    @functools.wraps(function)
    def broadcast(a, b):
        return function(*jnp.broadcast_arrays(a, b))

    broadcast.defvjp = function.defvjp
    return broadcast


def _softmax_kl_forward(a, b, row_chunks=False):
    """The KL and the residuals of its gradient, in the platform's way.

    Each pass computes ``exp(a - max a)`` and ``exp(b - max b)`` from the inputs: no
    ``[..., V]`` array is written (see the comment above). On the CPU the masked forms,
    the near pass and its general form (beyond the series) run only in calls that need
    them. On an NVIDIA GPU one pass over the inputs, a kernel of its own
    (:func:`_kl_forward_in_chunks`). Elsewhere (bound by memory) every call takes the
    general forms with no branch (see :func:`_cond`).
    """
    from verify import _softmax_chunks

    forms = {"cpu": _row_chunked(functools.partial(_kl_forward, on_cpu=True), row_chunks)}
    if _softmax_chunks.available():
        forms["cuda"] = _kl_forward_in_chunks
    return jax.lax.platform_dependent(
        a, b, **forms, default=functools.partial(_kl_forward, on_cpu=False)
    )


def _kl_forward(a, b, on_cpu):
    dtype = a.dtype
    if on_cpu:
        top_a, bottom_a, top_b, *spread = _cpu_extremes(a, b)
        tops = top_a, top_b
    else:
        top_a, top_b = tops = _tops(a, b)
        bottom_a = None
    (log_normaliser, (mu, mu_lo), log_normaliser_b, log_mean), normaliser, masked = _kl_statistics(
        a, b, tops, branches=on_cpu, bottom_a=bottom_a
    )
    candidates = _near_rows(log_mean)
    zeros = jnp.zeros_like(log_mean)
    if on_cpu:
        within = candidates & _within_series(*spread, mu)

    def near_sums(mu_lo, exact):
        """A, F about mu + mu_lo, and E_p[t] about it (0 on rows that are not candidates)."""
        # exp(max b - max a - mu) = E_p[e^t] N / N_b <= 1.65 V on candidate rows.
        rows = (top_a, top_b, jnp.where(candidates, _tilt(top_b, top_a, mu, mu_lo), 0), mu, mu_lo)

        def unmasked():
            general = functools.partial(_near_sums, a, b, rows, normaliser, False, exact)
            if not on_cpu:
                return general()
            gate = within.astype(mu.dtype)
            return _branch(
                some(candidates & ~within),
                general,
                lambda: _near_sums(a, b, (*rows, gate), normaliser, False, exact, series=True),
            )

        big_a, gap = _cond(
            on_cpu,
            masked,
            lambda: _near_sums(a, b, rows, normaliser, True, exact, products=on_cpu),
            unmasked,
        )
        return big_a, gap, jnp.where(candidates, big_a - gap, 0)

    # The third pass only when some row is near (of the whole batch under vmap).
    big_a, gap, residual = _cond(
        on_cpu,
        some(candidates),
        lambda: near_sums(mu_lo, exact=not on_cpu),
        lambda: (zeros, zeros, zeros),
    )
    if on_cpu:
        # Logits that differ by an offset (see _centred) lose digits of F to b - a rounded
        # where |mu| is not small against sqrt(F) (about sqrt(2) eps |mu| / sqrt(F): at most
        # 6 eps below |mu| = 4 sqrt(F), typically less, the roundings' signs differing), and to
        # an off centre, whose square F carries and log1pmx(A) takes away again. The CPU
        # sums once more there, b - a exact: about the centre refined by the first pass's
        # E_p[t], except in rows of an offset, whose E_p[t] carries the roundings of b - a
        # (2.4 % at an offset of 1e4 over 4096 float32 logits, noise 1e-4): about the
        # statistics' centre.
        offset = mu * mu > 16 * gap
        refine = candidates & (offset | (residual * residual > gap))
        centre = jnp.where(offset, mu_lo, mu_lo + residual)
        exact = some(refine)
        mu_lo, big_a, gap, residual = _branch(
            exact,
            lambda: (centre, *near_sums(centre, exact=True)),
            lambda: (mu_lo, big_a, gap, residual),
        )
        masked = masked | exact  # the gradient's general form: masks, b - a exact
    # The centre as three numbers: the gradient's t = b - a - E_p[b - a] is about 1e-8 for a
    # class of nearly all the mass at an offset of 1e4, below the rounding of a second float32
    # (1e-11 there): 5300 eps of the largest component with two.
    mu = (mu, mu_lo, residual)
    series = within if on_cpu else False
    return _kl_value(
        dtype, masked, log_normaliser, mu, log_normaliser_b, log_mean, big_a, gap, series
    )


def _cpu_extremes(a, b):
    """The CPU's row extremes, in the working dtype: ``max a`` and ``min a`` (for the weights
    below the normal range, :mod:`verify._underflow`), ``max b``, and the maximum and minimum
    of ``b - a`` (:func:`_within_series`). Two reductions (``b``'s three in one: 3.0 ms
    against 4.7 for three at [16, 262144] float32; 16-bit inputs: library reductions for
    ``a`` and ``b``, see :func:`_max_min`). Over all entries, not the finite ones
    (:func:`_extremes`): a ``-inf`` logit takes the masked forms anyway (its term is NaN),
    and that second reduction would make XLA:CPU reserve a float32 copy of 16-bit inputs."""
    top_a, bottom_a = _max_min(a)
    if jnp.finfo(a.dtype).bits < 32:
        rest = (jnp.max(b, axis=-1), *_max_min(_working(b) - _working(a)))
    else:
        rest = _row_extremes((b, b - a, b - a), (True, True, False))
    return tuple(_working(x[..., None]) for x in (top_a, bottom_a, *rest))


def _within_series(top, bottom, mu):
    """Rows whose ``t = b - a - mu`` has ``|t| <= 1`` in every class, from the row maximum
    and minimum of ``b - a`` (:func:`_cpu_extremes`), where :func:`_near_sums` may take the
    series alone: the usual case of near-equal logits. ``fl(b_k - a_k) - mu`` is at most
    ``fl(max(b - a) - mu)`` (rounding is monotone); the near pass's ``mu_lo`` and exact
    ``b - a`` move ``t`` by a rounding of ``mu``, which the series' margin beyond 1 absorbs."""
    return (top - mu <= 1) & (bottom - mu >= -1)


def _kl_forward_in_chunks(a, b, **options):
    """The forward on an NVIDIA GPU: one pass over the inputs (:mod:`verify._softmax_chunks`).

    The same statistics as :func:`_kl_forward`, joined from per-chunk ones, and the same
    choice of value; the masked forms in every call (as the general forms). ``options``:
    those of :func:`verify._softmax_chunks.chunk_statistics` (chunk, warps, interpreter).
    """
    from verify import _softmax_chunks

    rows = _softmax_chunks.combine(_softmax_chunks.chunk_statistics(a, b, **options))
    return _kl_value(a.dtype, jnp.array(True), *rows)


def _kl_value(
    dtype, general, log_normaliser, mu, log_normaliser_b, log_mean, big_a, gap, series=False
):
    """The KL and its gradient's residuals: the near value ``F + log1pmx(A)`` on candidate
    rows with ``|A| <= 1/2``, else the far ``log E_p[e^t]``. ``mu``: the centre
    ``E_p[b - a]`` as three numbers (the statistics' two and the near pass's ``E_p[t]`` about
    them: see :func:`_kl_forward`). ``general``: whether the gradient takes
    its general form (masks, ``b - a`` exact) or the one for finite logits that are close.
    ``series``: rows whose ``|t| <= 1`` in every class (the CPU's, :func:`_within_series`),
    where the gradient in ``b`` may take the series alone."""
    near = _near_rows(log_mean) & (jnp.abs(big_a) <= 0.5)
    # A <= 1/2 keeps the log1pmx argument finite in the branch not taken.
    value = jnp.where(near, gap + log1pmx(jnp.where(near, big_a, 0)), log_mean)
    # The gradient takes A about its centre mu (three numbers), where E_p[t] = 0: A = e^KL - 1.
    big_a = jnp.where(near, jnp.expm1(value), big_a)
    value = value[..., 0].astype(dtype)
    rows = (log_normaliser, mu, log_normaliser_b, log_mean, big_a, near, near & series)
    return value, (general, *rows)


@_broadcasting
@jax.custom_vjp
def softmax_kl(a, b):
    """KL(softmax(a) || softmax(b)) over the last axis, accurate for every pair of logits.

    Near-equal logits (the textbook ``sum p (log p - log q)`` loses every digit),
    one softmax underflowing (``q`` rounds to 0 where ``p`` has mass: the exact
    divergence is finite and so is this), very wide logits and ``-inf`` logits
    (classes of probability 0) are all computed to a few ulp of the exact value
    for the given inputs; see the comment above for the method. Two passes
    over the inputs forward (three where some row is near-equal; one on an
    NVIDIA GPU), one backward; a call with ``-inf`` logits takes the masked
    forms, one pass more.

    Args:
        a, b: logits of broadcastable shapes ``(..., V)``, finite or ``-inf``
            (not all ``-inf`` in a row); float64, float32, bfloat16 or float16.

    Returns:
        An array of the broadcast shape ``(...)`` in the inputs' dtype; ``+inf`` where a class
        has ``a > -inf = b``.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._special import softmax_kl
        >>> a = jnp.array([0.0, -20.0], jnp.float32)
        >>> float(softmax_kl(a, jnp.array([-120.0, 0.0], jnp.float32)))  # q[0] underflows
        120.0
    """
    return _softmax_kl_forward(a, b, row_chunks=True)[0]


def _softmax_kl_fwd(a, b):
    value, stats = _softmax_kl_forward(a, b)
    return value, (a, b, stats)


def _softmax_kl_gradients(a_in, b_in, rows, cotangent, masked, branches, centred):
    """``(d KL / d a, d KL / d b)`` times the cotangent, in the inputs' dtypes. Every
    ``[..., V]`` array is computed inside the branch that returns it, from the inputs
    (converted there): an array captured by a ``lax.cond`` is written out. ``centred``:
    the forward's centre keeps the digits below its rounding on every row (the kernel's,
    :func:`_kl_forward_in_chunks`: the chunks' centres joined about a first mean, as two
    numbers; the XLA forms' centre has its second number only on some rows: near ones, some
    of ``|mu| > 1``), so that d/da needs no re-centring where p is nearly a point mass
    (:func:`_centred_on_p`)."""
    rounded = masked and _rounded(a_in.dtype)  # the general form: masks and b - a exact
    log_normaliser, mu, log_normaliser_b, log_mean, big_a, near, series = rows
    g = jnp.where(log_mean == jnp.inf, 0, _working(cotangent[..., None]))

    def kl_terms():
        a, b = _working(a_in), _working(b_in)
        return _kl_terms(a, b, log_normaliser, mu, log_mean, masked, rounded, branches)

    def terms():
        p, t, live = kl_terms()

        def times_p(x):
            if masked and branches:  # the CPU's general form: also p below the normal range
                log_p = _log_softmax(_working(a_in), log_normaliser)
                return jnp.where(live, _underflow.product(log_p, x, p), 0)
            return p * x

        return times_p, t

    # d KL / d a_k = -p_k t_k, t about E_p[b - a] (see _centred_on_p)
    def finish_a(x):
        return (-g * x).astype(a_in.dtype)

    if centred:
        times_p, t = terms()
        grad_a = finish_a(times_p(t))
    else:
        grad_a = _centred_on_p(terms, log_normaliser, branches and not masked, finish_a)

    # d KL / d b_k = q_k - p_k: far, from q = exp(b - LSE(b)); near, q_k = p_k e^t_k / (1 + A)
    # and the difference p_k (expm1(t_k) - A) / (1 + A) has no cancellation.
    def far(p):
        return jnp.exp(_log_softmax(_working(b_in), log_normaliser_b)) - p

    def near_or_far():
        p, t, live = kl_terms()
        a_near = jnp.where(near, big_a, 0)
        small = near & live & (jnp.abs(t) <= 1)
        u = jnp.where(small, t, 0)
        expm1_t = u + u * u * _expm1mx_series(u)
        return jnp.where(small, p * ((expm1_t - a_near) / (1 + a_near)), far(p))

    def series_only():  # every row near with |t| <= 1: a loop without a select (see _near_sums)
        p, t, _ = kl_terms()
        return p * (((t + t * t * _expm1mx_series(t, b_in.dtype)) - big_a) / (1 + big_a))

    def finish(form):  # inside each branch: its result is the gradient, not an array to be scaled
        return lambda: (g * form()).astype(b_in.dtype)

    def near_forms():
        if masked or not branches:
            return finish(near_or_far)()
        return _branch(some(~series), finish(near_or_far), finish(series_only))

    grad_b = _cond(branches, some(near), near_forms, finish(lambda: far(kl_terms()[0])))
    return grad_a, grad_b


def _point_mass_rows(log_normaliser):
    """Rows of logits whose softmax has a class of ``p >= 1/2`` (``log N <= log 2``)."""
    return log_normaliser[1] <= math.log(2)


def _centred_on_p(terms, log_normaliser, branch, finish):
    """``p * (factor - E_p[factor])``, for a ``factor`` (``[..., V]``) whose mean under p is
    0 exactly (the gradients' ``t = b - a - E_p[b - a]``, ``b - E_p[b]``) but was formed
    from a centre rounded at the size of the terms: where p is nearly a point mass whose
    class is not the other row's maximum, that class's factor is far below that rounding
    (float32, a class of p = 1 - 1e-8: every digit of the KL's and the cross-entropy's
    d/da lost). Its mean, summed, is that rounding, and subtracted (one more pass) on the
    rows of :func:`_point_mass_rows`; ``terms()`` gives ``times_p`` (``x -> p * x``) and the
    factor, computed inside each branch: an array computed outside a ``lax.cond`` is written
    out (the cross-entropy's d/da took 30 % longer). ``branch``: only in calls
    with such a row (a ``lax.cond``: the CPU's fast forms), else in every call (the general
    forms, and every form elsewhere: :func:`_cond`; not the KL's after the NVIDIA kernel,
    whose centre needs none: :func:`_softmax_kl_gradients`). Only d/da takes it (measured on this
    CPU at [16, 262144] float32, such rows: d/da 25-30 % longer; d/db alone, which XLA
    prunes it from, as before for the cross-entropy and 10 % longer for the KL). ``finish``:
    applied inside each branch (the cotangent, the output dtype), whose result is then the
    gradient itself, not a ``[..., V]`` array written out to be scaled and converted."""
    rows = _point_mass_rows(log_normaliser)

    def refined():
        times_p, factor = terms()
        (mean,) = _rowsums(lambda: (times_p(factor),))
        return finish(times_p(factor - jnp.where(rows, mean, 0)))

    def plain():
        times_p, factor = terms()
        return finish(times_p(factor))

    return _cond(branch, some(rows), refined, plain)


def _softmax_kl_bwd(residuals, cotangent):
    return _softmax_kl_backward(residuals, cotangent)


def _softmax_kl_backward(residuals, cotangent):
    """The gradients, in the platform's way (branches on the CPU only: see :func:`_cond`),
    after the forward of :func:`_softmax_kl_forward` on the same platform."""
    from verify import _softmax_chunks

    forms = {"cpu": functools.partial(_kl_backward, branches=True)}
    if _softmax_chunks.available():  # after the kernel's forward (see _softmax_kl_gradients)
        forms["cuda"] = functools.partial(_kl_backward, branches=False, centred=True)
    return jax.lax.platform_dependent(
        residuals, cotangent, **forms, default=functools.partial(_kl_backward, branches=False)
    )


def _kl_backward(residuals, cotangent, branches, centred=False):
    a_in, b_in, (masked, *rows) = residuals

    def form(masked):
        return lambda: _softmax_kl_gradients(a_in, b_in, rows, cotangent, masked, branches, centred)

    return _cond(branches, masked, form(True), form(False))


softmax_kl.defvjp(_softmax_kl_fwd, _softmax_kl_bwd)


def _cross_entropy_statistics(a, b, on_cpu):
    """``H(p, q) = E_p[max b - b] + log N_b``, two non-negative terms (``LSE(b)`` as one
    number would carry a rounding of the size of ``|max b|``), and the first of them, the
    gradient's (``log N_b`` cancels there); the normalisers as ``(max, log N)``; whether some
    weight of p is below the normal range (on the CPU, inputs of 32 or 64 bits; else False),
    which then takes the masked form with the terms of :func:`_underflow.product`."""
    if on_cpu:  # the minima for the weights below the normal range (_underflow)
        (top_a, bottom_a), (top_b,) = _extremes(a), _tops(b)
    else:
        top_a, top_b = _tops(a, b)
    _, log_sum_b = _log_normaliser(b, top_b)

    # A -inf logit of q makes the unmasked sum inf or NaN (0 * inf): only then the masks.
    # On the CPU also in calls where a weight of p is below the normal range, which XLA:CPU
    # flushes to 0, while its term (times max b - b, unbounded) need not be.
    def sums(general):
        def terms(top_a, top_b):  # exp computed here: no [..., V] array is written
            below = _working(a) - top_a
            weights_a = jnp.exp(below)
            spread = top_b - _working(b)
            if general and on_cpu:
                term = _underflow.product(below, spread, weights_a)
                return weights_a, jnp.where(below > -jnp.inf, term, 0)
            return weights_a, _live(general, weights_a, weights_a * spread)

        return _rowsums(terms, top_a, top_b)

    def masked():
        normaliser_a, total = sums(True)
        return normaliser_a, jnp.where(_infinite(a, b), jnp.inf, total)

    unmasked = sums(False)
    wide = a.dtype.itemsize >= 4 and b.dtype.itemsize >= 4  # see _in_tiny_rows
    underflows = (
        some(_underflow.underflows(top_a, bottom_a)) if on_cpu and wide else jnp.array(False)
    )
    normaliser_a, spread = _branch(
        some(~jnp.isfinite(unmasked[1])) | underflows, masked, lambda: unmasked
    )
    spread = spread / normaliser_a
    value, spread = _in_tiny_rows(
        spread + log_sum_b,
        spread,
        rescue=lambda: _tiny_cross_entropy(a, b, top_a, top_b),
        wide=wide,
    )
    return value, spread, (top_a, jnp.log(normaliser_a)), (top_b, log_sum_b), underflows


def _tiny_cross_entropy(a, b, top_a, top_b):
    """``H(p, q)`` and ``E_p[max b - b]`` of rows of a tiny cross-entropy (see
    :func:`_tiny_entropy`): p and q nearly a point mass on one class, ``N_a`` 1 to
    ``2**-54``, and ``log N_b = rest_b``: sums scaled by ``e**c``."""

    def terms(a, b, top_a, top_b):
        below_a, below_b = _working(a) - top_a, _working(b) - top_b
        spread = _underflow.product(below_a, -below_b, scaled=True)
        rest_b = jnp.where(below_b < 0, _underflow.scaled_exp(below_b), 0)
        return jnp.where(below_a > -jnp.inf, spread, 0), rest_b

    spread, rest_b = _row_by_row(terms, a, b, top_a, top_b)
    c = math.exp(-_underflow.shift(spread.dtype))
    return (spread + rest_b) * c, spread * c


def _softmax_cross_entropy_forward(a, b, row_chunks=False):
    return jax.lax.platform_dependent(
        a,
        b,
        cpu=_row_chunked(functools.partial(_cross_entropy_forward, on_cpu=True), row_chunks),
        default=functools.partial(_cross_entropy_forward, on_cpu=False),
    )


def _cross_entropy_forward(a, b, on_cpu):
    value, *rows = _cross_entropy_statistics(a, b, on_cpu)
    return value[..., 0].astype(a.dtype), (value, *rows)


@_broadcasting
@jax.custom_vjp
def softmax_cross_entropy(a, b):
    """Cross-entropy H(softmax(a), softmax(b)) = -sum p log q over the last axis.

    Computed as ``sum p_k (LSE(b) - b_k)``, a sum of non-negative terms, with
    ``LSE(b)`` through ``log1p`` where it is close to its maximum (no rounding of
    a normaliser ``1 + 1e-17`` to 1). ``-inf`` logits are classes of probability
    0; a class with ``a > -inf = b`` gives ``+inf``.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._special import softmax_cross_entropy
        >>> round(float(softmax_cross_entropy(jnp.zeros(2), jnp.zeros(2))), 6)  # log 2
        0.693147
    """
    return _softmax_cross_entropy_forward(a, b, row_chunks=True)[0]


def _softmax_cross_entropy_fwd(a, b):
    value, stats = _softmax_cross_entropy_forward(a, b)
    return value, (a, b, stats)


def _softmax_cross_entropy_bwd(residuals, cotangent):
    a_in, b_in, (value, spread, log_normaliser_a, log_normaliser_b, underflows) = residuals
    finite = jnp.isfinite(value)
    g = jnp.where(finite, cotangent[..., None].astype(value.dtype), 0)

    # d/da_k = -p_k (log q_k + H) = -p_k ((b_k - max b) + E_p[max b - b]): log N_b cancels;
    # the factor b_k - E_p[b] centred again where p is nearly a point mass (_centred_on_p).
    # Computed inside each branch: an array computed outside a lax.cond is written out.
    def gradient_a(products, branch):
        def terms():
            a, b = _working(a_in), _working(b_in)
            log_p = _log_softmax(a, log_normaliser_a)
            factor = (b - log_normaliser_b[0]) + jnp.where(finite, spread, 0)
            p = jnp.exp(log_p)

            def times_p(x):
                if products:  # weights below the normal range, times factors that are not (CPU)
                    return jnp.where(a > -jnp.inf, _underflow.product(log_p, x, p), 0)
                return jnp.where(p > 0, p * x, 0)

            return times_p, factor

        return _centred_on_p(terms, log_normaliser_a, branch, lambda x: (-g * x).astype(a_in.dtype))

    grad_a = jax.lax.platform_dependent(
        underflows,
        value,
        cpu=lambda underflows, value: _branch(
            underflows | some(_underflow.tiny(value)),
            lambda: gradient_a(True, False),
            lambda: gradient_a(False, True),
        ),
        default=lambda underflows, value: gradient_a(False, False),
    )

    # d/db_k = q_k - p_k, computed from the inputs where it is used (by a reduction, or inside
    # the branch that returns it): p, q and q - p written out took 17 of 49 ms at [16, 262144].
    def q_and_p():
        a, b = _working(a_in), _working(b_in)
        return (
            jnp.exp(_log_softmax(b, log_normaliser_b)),
            jnp.exp(_log_softmax(a, log_normaliser_a)),
        )

    def plain_b():
        q, p = q_and_p()
        return (g * (q - p)).astype(b_in.dtype)

    # q - p from q and p apart loses every digit where they nearly agree (an error of eps
    # max(p + q) against entries of max|q - p|). It is also the KL's gradient in b, whose
    # near form keeps them: taken on the rows where max|q - p| <= max(p + q) / 16 (its forward
    # and backward passes; on the CPU in calls with such a row, elsewhere in every call).
    q, p = q_and_p()  # one variadic reduction: XLA:CPU's library reductions read arrays written
    largest_change, largest = _row_extremes((jnp.abs(q - p), p + q), (True, True))
    near = largest_change * 16 <= largest

    # on the near rows only: a row's gradient is the same in any batch
    def from_kl(near, cotangent):
        _, stats = _softmax_kl_forward(a_in, b_in)
        cotangent = jnp.where(finite[..., 0], cotangent, 0)
        grad_b = _softmax_kl_backward((a_in, b_in, stats), cotangent)[1]
        return jnp.where(near[..., None], grad_b, plain_b())

    grad_b = jax.lax.platform_dependent(
        near,
        cotangent,
        cpu=lambda near, cotangent: _branch(some(near), lambda: from_kl(near, cotangent), plain_b),
        default=from_kl,
    )
    return grad_a, grad_b


softmax_cross_entropy.defvjp(_softmax_cross_entropy_fwd, _softmax_cross_entropy_bwd)


def _entropy_statistics(a):
    (top,) = _tops(a)

    # H = log Z + E_p[top - a]: two non-negative terms. A -inf logit makes the
    # unmasked E_p[top - a] NaN (0 * inf): only then the masks.
    def sums(with_masks):
        def spread(weights, top):  # exp computed in _log_normaliser: no [..., V] array written
            return (_live(with_masks, weights, weights * (top - _working(a))),)

        return _log_normaliser(a, top, spread)

    unmasked = sums(False)
    normaliser, log_normaliser, spread = _branch(
        some(~jnp.isfinite(unmasked[2])), lambda: sums(True), lambda: unmasked
    )
    spread = spread / normaliser
    value, spread = _in_tiny_rows(
        log_normaliser + spread,
        spread,
        rescue=lambda: _tiny_entropy(a, top),
        wide=a.dtype.itemsize >= 4,
    )
    return value, (top, log_normaliser, spread)


def _in_tiny_rows(value, *others, rescue, wide=True):
    """``(value, *others)``, on the CPU with the rows of a tiny value (:func:`_underflow.tiny`)
    taken from ``rescue()`` (a ``lax.cond``: only in calls with such a row). XLA:CPU
    flushes subnormal numbers to 0, so the terms of probabilities below the normal
    range were lost there; the GPU keeps them (not measured here). ``wide``: whether the
    inputs are of 32 or 64 bits (16-bit ones are not rescued: XLA:CPU would write a
    converted copy of them for the branch, which every call reserves)."""

    def cpu(value, *others):
        if not wide:
            return (value, *others)
        rows = _underflow.tiny(value)

        def rescued():
            return tuple(jnp.where(rows, r, v) for r, v in zip(rescue(), (value, *others)))

        return _branch(some(rows), rescued, lambda: (value, *others))

    return jax.lax.platform_dependent(value, *others, cpu=cpu, default=lambda *values: values)


def _tiny_entropy(a, top):
    """``H`` and ``E_p[max a - a]`` of rows of a tiny entropy, whose probabilities
    below the maximum are below ``2**-55`` (float32): ``H = sum p (1 - log p)`` over
    them (``log Z = log1p(rest)`` is ``rest`` to ``rest``), in sums scaled by ``e**c``
    (:func:`_underflow.scaled_exp`), so that no weight of the normal range's bottom is
    flushed (``[0, -88]`` in float32: ``5.4e-37``, not 0)."""

    def terms(a, top):
        d = _working(a) - top
        weights = jnp.where(d > -jnp.inf, _underflow.scaled_exp(d), 0)
        spread = jnp.where(d > -jnp.inf, -d, 0)
        return jnp.where(d < 0, weights * (1 + spread), 0), weights * spread

    value, spread = _row_by_row(terms, a, top)
    c = math.exp(-_underflow.shift(value.dtype))
    return value * c, spread * c


def _row_by_row(terms, *rows):
    """:func:`_rowsums` of ``terms(*rows)`` one row at a time (``lax.map``), for the
    rare branches: their many uses of ``x - top`` made XLA:CPU write it out, a
    ``[..., V]`` array that every call would reserve. ``terms`` takes the rows
    themselves, inputs included."""
    shapes = [x.shape[-1] for x in rows]
    lead = jnp.broadcast_shapes(*(x.shape[:-1] for x in rows))
    flat = tuple(jnp.broadcast_to(x, (*lead, n)).reshape(-1, n) for x, n in zip(rows, shapes))
    # 16-bit floats travel as integers: XLA:CPU would convert them whole to float32 first.
    dtypes = [x.dtype for x in flat]
    flat = tuple(_as_bits(x) for x in flat)

    def row(xs):
        xs = (jax.lax.bitcast_convert_type(x, d) for x, d in zip(xs, dtypes))
        return _rowsums(terms, *xs)

    sums = jax.lax.map(row, flat)
    return tuple(total.reshape(*lead, 1) for total in sums)


def _as_bits(x):
    return jax.lax.bitcast_convert_type(x, jnp.uint16) if x.dtype.itemsize == 2 else x


@jax.custom_vjp
def softmax_entropy(a):
    """Entropy of softmax(a) over the last axis, ``-sum p log p``, from the logits.

    ``log Z + E_p[max(a) - a]``: non-negative terms, the normaliser through
    ``log1p`` (a logit of 37 has entropy 3.2e-15, not 0). ``-inf`` logits are
    classes of probability 0, with gradient 0.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._special import softmax_entropy
        >>> float(softmax_entropy(jnp.array([0.0, 37.0])))
        3.2...e-15
    """
    dtype = a.dtype
    return _softmax_entropy_forward(a, row_chunks=True)[0][..., 0].astype(dtype)


def _softmax_entropy_forward(a, row_chunks=False):
    """:func:`_entropy_statistics`, on the CPU by chunks of rows with ``row_chunks``
    (:func:`_row_chunked`)."""
    return jax.lax.platform_dependent(
        a, cpu=_row_chunked(_entropy_statistics, row_chunks), default=_entropy_statistics
    )


def _softmax_entropy_fwd(a):
    value, rows = _softmax_entropy_forward(a)
    return value[..., 0].astype(a.dtype), (a, value, rows)


def _softmax_entropy_bwd(residuals, cotangent):
    a_in, value, (top, log_normaliser, spread) = residuals
    g = -cotangent[..., None].astype(top.dtype)

    # dH/da_k = -p_k (log p_k + H) = -p_k ((a_k - max a) + E_p[max a - a]): log Z cancels.
    # Computed inside each branch: an array computed outside a lax.cond is written out.
    def gradient(products):
        a = _working(a_in)
        below = a - top
        log_p, factor = below - log_normaliser, below + spread
        if products:  # rows of a tiny entropy: their p below the normal range count (CPU)
            return g * jnp.where(a > -jnp.inf, _underflow.product(log_p, factor), 0)
        p = jnp.exp(log_p)
        return g * jnp.where(p > 0, p * factor, 0)

    grad = jax.lax.platform_dependent(
        value,
        cpu=lambda value: _branch(
            some(_underflow.tiny(value)), lambda: gradient(True), lambda: gradient(False)
        ),
        default=lambda value: gradient(False),
    )
    return (grad.astype(a_in.dtype),)


softmax_entropy.defvjp(_softmax_entropy_fwd, _softmax_entropy_bwd)


# --- cont: Gamma-family helpers (Stirling's remainder and Bregman divergences of lgamma)
# lgamma(x) = (x - 1/2) log x - x + log(2 pi) / 2 + mu(x), where mu (Binet's function)
# is convex and small: mu(x) ~ sum_k B_2k / (2k (2k - 1) x**(2k - 1)) for large x.
# The stable Gamma forms split lgamma into its x log x - x part and mu, so that the
# huge, nearly equal terms of lgamma never meet in a subtraction.
__all__ += [  # noqa: PLE0605 - appended per branch; the lead merges the lists
    "E_INV",
    "SQRT_PI_2",
    "SQRT_PIE_2",
    "digamma_bregman",
    "digamma_diff",
    "digamma_stirling",
    "lgamma",
    "lgamma_bregman_share",
    "lgamma_stirling",
    "ratio_gap",
    "stirling_bregman",
]

#: 1/e: the entropy of an exponential distribution is 1 - log(rate) = -log(rate / e).
E_INV = ExactConstant(
    "exp(-1)", fractions.Fraction("0.36787944117144232159552377016146086744581113103176")
)
#: sqrt(pi / 2): the half-normal cross-entropy is log(scale_q sqrt(pi / 2)) + ...
SQRT_PI_2 = ExactConstant(
    "sqrt(pi/2)", fractions.Fraction("1.2533141373155002512078826424055226265034933703050")
)
#: sqrt(pi e / 2): the entropy of a half-normal distribution is log(scale sqrt(pi e / 2)).
SQRT_PIE_2 = ExactConstant(
    "sqrt(pi*e/2)", fractions.Fraction("2.0663656770612464692346959421499263247227609584957")
)

#: Where the asymptotic series of mu is summed (x >= 12); below, the recurrence
#: lgamma(x + 1) = lgamma(x) + log(x) shifts the argument up to it. (The Beta and
#: Dirichlet helpers below use the same point.)
_STIRLING_FROM = 12


def _bernoulli(n):
    """The Bernoulli numbers B_0 .. B_n as fractions (B_1 = -1/2), by the usual recurrence."""
    b = [fractions.Fraction(1)]
    for m in range(1, n + 1):
        b.append(-sum(math.comb(m + 1, k) * b[k] for k in range(m)) / fractions.Fraction(m + 1))
    return b


_B = _bernoulli(54)
#: Stirling's coefficients c_j = B_2j / (2j (2j - 1)): mu(x) ~ sum_j c_j x**-(2j - 1).
_STIRLING = tuple(_B[2 * j] / (2 * j * (2 * j - 1)) for j in range(1, 21))


@functools.cache
def _stirling_count(dtype, start=_STIRLING_FROM) -> int:
    """How many terms of Stirling's series to sum at ``x >= start``.

    The fewest ``J`` for which the first omitted term, times ``m (m + 1) / 2`` (``m = 2J +
    1``: the most it gains over the first term in a second derivative or a Bregman
    divergence), is below ``eps / 16`` of the first term at ``start``: 10 terms in
    float64 and 4 in float32 at 12.
    """
    eps = float(jnp.finfo(dtype).eps)
    for count in range(1, len(_STIRLING)):
        m = 2 * count + 1
        ratio = abs(float(_STIRLING[count] / _STIRLING[0])) * float(start) ** (1 - m)
        if ratio * m * (m + 1) / 2 <= eps / 16:
            return count
    raise ValueError(f"Stirling's series does not reach {dtype} precision from {start}")


def _stirling_series(x, order, start=_STIRLING_FROM):
    """``mu`` (order 0) or its derivative of ``order`` 1 or 2, by the series; ``x >= start``.

    Horner's scheme in ``1 / x**2``: term ``j`` is ``c_j (-1)**order (m)_order x**-(m +
    order)``, ``m = 2j - 1`` (``(m)_order`` the rising factorial).
    """
    inverse = 1 / x
    square = inverse * inverse
    total = jnp.zeros_like(x)
    for j in reversed(range(_stirling_count(x.dtype, start))):
        m = 2 * j + 1
        factor = (1, -m, m * (m + 1))[order]
        total = total * square + jnp.asarray(float(_STIRLING[j] * factor), x.dtype)
    return total * inverse ** (order + 1)


def _stirling_direct(x, order):
    """The same from lgamma/digamma/polygamma: accurate to a few ulp of ``lgamma(x)``."""
    half_log_2pi = jnp.asarray(np.log(2 * np.pi) / 2, x.dtype)
    if order == 0:
        return jss.gammaln(x) - (x - 0.5) * jnp.log(x) + x - half_log_2pi
    if order == 1:
        return jss.digamma(x) - jnp.log(x) + 0.5 / x
    return jss.polygamma(1, x) - 1 / x - 0.5 / (x * x)


def _stirling(x, order):
    big = x >= _STIRLING_FROM
    series = _stirling_series(jnp.where(big, x, _STIRLING_FROM), order)
    return jnp.where(big, series, _stirling_direct(jnp.where(big, 1, x), order))


@functools.cache
def _lgamma_series(dtype):
    """Taylor coefficients of ``lgamma(2 + t)``.

    ``lgamma(2 + t) = (1 - gamma) t + sum_k (-1)**k (zeta(k) - 1) t**k / k``.

    From mpmath (SymPy's own dependency) at 30 digits, ``k >= 2`` up to where
    ``(zeta(k) - 1) / k`` times ``1/2**k`` (the largest ``|t|`` taken) is below
    eps / 8: 11 terms in float32, 25 in float64.
    """
    import mpmath

    eps = float(jnp.finfo(dtype).eps)
    with mpmath.workdps(30):
        coefficients = [float(1 - mpmath.euler)]
        k = 2
        while True:
            c = (mpmath.zeta(k) - 1) / k
            if float(c) * 0.5**k < eps / 8:
                return tuple(coefficients)
            coefficients.append(float((-1) ** k * c))
            k += 1


def _lgamma_near_two(t):
    """``lgamma(2 + t)`` for ``|t| <= 1/2`` (Horner): relative to a few ulp, also at ``t = 0``."""
    total = jnp.zeros_like(t)
    for c in reversed(_lgamma_series(t.dtype)):
        total = (total + c) * t  # Python floats: a weakly typed t stays so
    return total


@_custom_jvp
def lgamma(x):
    """``log |Gamma(x)|``, to a few ulp relative also near its zeros at 1 and 2.

    XLA's ``lgamma`` is accurate in absolute terms only: ``lgamma(1)`` is 4.8e-7
    in float32, and near 1 its relative error reaches 13 (float32) and 1.3e-3
    (float64, at ``1 - 1e-12``). Here ``x`` in ``(0, 7/2]`` goes through the
    Taylor series of ``lgamma(2 + t)`` (coefficients ``zeta(k) - 1``, no
    cancellation at ``t = 0``), shifted by ``lgamma(x) = lgamma(x + 1) - log x``
    (once below 3/2, twice below 1/2) or ``lgamma(x - 1) + log(x - 1)`` (beyond
    5/2); elsewhere XLA's (negative arguments keep its values). Measured against
    mpmath on ``(0, 1e30]``: at most 10 ulp in float64 and 16 in float32, both
    beyond 7/2 (XLA's), where XLA's alone was 6e12 and 1e8 ulp off near 1.

    Example:
        >>> import jax.numpy as jnp
        >>> float(lgamma(jnp.float32(1.0))), float(lgamma(jnp.float32(2.0)))
        (0.0, 0.0)
    """
    near = (x > 0) & (x <= 3.5)
    y = jnp.where(near, x, 2)
    # lgamma(y) = lgamma(2 + t) - shift, t in [-1/2, 1/2] and exact (Sterbenz; y - 2 may
    # round where y < 1): lgamma(y) = lgamma(y + 1) - log y, lgamma(y) = lgamma(y - 1) + log(y - 1)
    t = jnp.where(y < 0.5, y, jnp.where(y < 1.5, y - 1, jnp.where(y <= 2.5, y - 2, y - 3)))
    # log(y (1 + y)) below 1/2 (log1p of a positive argument), log y below 3/2, both exact inputs
    below = jnp.log(jnp.where(y < 1.5, y, 1)) + jnp.log1p(jnp.where(y < 0.5, y, 0))
    shift = jnp.where(y <= 2.5, below, -jnp.log(jnp.where(y > 2.5, y - 1, 1)))
    return jnp.where(near, _lgamma_near_two(t) - shift, jss.gammaln(x))


@lgamma.defjvp
def _lgamma_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return lgamma(x), digamma(x) * dx


@_custom_jvp
def digamma(x):
    """XLA's ``digamma``, whose derivative is :func:`_trigamma` rather than XLA's
    ``polygamma(1, x)``, which is 0 beyond about 1e154 (where it is ``1 / x``).

    Example:
        >>> float(jax.grad(digamma)(1e200))
        1e-200
    """
    return jss.digamma(x)


@digamma.defjvp
def _digamma_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return digamma(x), _trigamma(x) * dx


def polygamma(n, x):
    """``polygamma(n, x)`` for an integer ``n``: :func:`digamma` and :func:`_trigamma` for
    ``n = 0, 1`` (XLA's ``polygamma(1, x)`` is 0 beyond about 1e154, also as the derivative
    of ``polygamma(0, x)``), XLA's otherwise.

    Example:
        >>> float(polygamma(1, 1e200)), float(jax.grad(lambda x: polygamma(0, x))(1e200))
        (1e-200, 1e-200)
    """
    if n == 0:
        return digamma(x)
    return _trigamma(x) if n == 1 else jss.polygamma(n, x)


@_custom_jvp
def digamma_diff(x, h):
    """``digamma(x + h) - digamma(x)`` for ``x > 0`` and ``x + h > 0``, to a few ulp of itself.

    The difference of two digammas loses every digit where ``|h| << x`` (it is
    about ``h / x`` against digammas of size ``log x``). Here: unit steps take
    ``x`` to ``X = x + n`` with ``X`` and ``X + h >= 12`` (``sum_{j < n} h / ((x +
    j)(x + j + h))``), then
    Stirling's series, ``log1p(u) + h / (2 X (X + h)) + sum_j (2j + 1) S_j
    X**-(2j + 2) (1 - (1 + u)**-(2j + 2))`` with ``u = h / X`` and ``S_j`` the
    coefficients of Binet's function. Each term but the last sum's (below
    1/864 of the rest) has the sign of ``h``: nothing cancels.

    Example:
        >>> round(float(digamma_diff(11.9, 1e-8)) / 1e-8, 6)  # trigamma(11.9)
        0.087663
    """
    x, h = jnp.asarray(x), jnp.asarray(h)
    dtype = _float_dtype(x, h)
    x, h = jnp.broadcast_arrays(x.astype(dtype), h.astype(dtype))
    return _digamma_diff(x, x + h, h)


@digamma_diff.defjvp
def _digamma_diff_jvp(primals, tangents):
    (x, h), (dx, dh) = primals, tangents
    at_sum = _trigamma(x + h)  # not XLA's polygamma(1): 0 beyond about 1e154
    return digamma_diff(x, h), _trigamma_diff(x, x + h, h) * dx + at_sum * dh


def _digamma_diff(x, y, h):
    """:func:`digamma_diff` from both ends, ``y = x + h`` and ``h`` as accurate as the
    caller has them (``y`` may carry digits that ``x + h`` would round away)."""
    steps = _shift_count(jnp.minimum(x, y))  # both X and X + h >= 12
    total = jnp.zeros_like(x)
    for j in range(_STIRLING_FROM):
        total = total + jnp.where(j < steps, h / ((x + j) * (y + j)), 0)
    big, big_y = x + steps, y + steps
    u = h / big  # log(1 + u) from 1 + u = (X + h) / X where u is near -1 (1 + u would cancel)
    near = jnp.abs(u) <= 0.5
    log1p_u = jnp.where(near, log1p(jnp.where(near, u, 0)), jnp.log(big_y / big))
    # Term j: X**-m ((1 + u)**-m - 1) near u = 0; far, Y**-m - X**-m (the first form's
    # (1 + u)**-m overflows where Y << X: 1e12 and 12 in float32 gave 0 * inf).
    near_log = jnp.where(near, log1p_u, 0)
    square, square_y = 1 / (big * big), 1 / (big_y * big_y)
    power, power_y = square, square_y
    for j in range(_stirling_count(x.dtype)):
        m = 2 * j + 2
        term = jnp.where(near, power * jnp.expm1(-m * near_log), power_y - power)
        total = total - (m - 1) * float(_STIRLING[j]) * term
        power, power_y = power * square, power_y * square_y
    return total + log1p_u + h / (2 * big * big_y)


def _trigamma_diff(x, y, h):
    """``trigamma(y) - trigamma(x)`` for ``y = x + h``, to a few ulp of itself (the
    difference of trigammas keeps about ``eps x / |h|`` of it: 1e-7 at ``x = 1e6, h =
    1e-3``).

    As :func:`_digamma_diff`: unit steps take ``x`` and ``y`` to ``X, Y >= 12``
    (``1 / (y + j)**2 - 1 / (x + j)**2 = -h (x + y + 2j) / ((x + j)(y + j))**2``), then
    the derivative of Stirling's series, ``-h / (X Y) (1 + (1 / X + 1 / Y) / 2) + sum_j
    (m - 1) m S_j (Y**-(m + 1) - X**-(m + 1))`` (``m = 2j + 2``), the powers' difference
    from ``expm1`` near ``u = h / X = 0``. Each term but the last sum's has the sign of
    ``-h``.
    """
    steps = _shift_count(jnp.minimum(x, y))
    total = jnp.zeros_like(x)
    for j in range(_STIRLING_FROM):
        step = -h / (x + j) / (y + j) * (1 / (x + j) + 1 / (y + j))
        total = total + jnp.where(j < steps, step, 0)
    big, big_y = x + steps, y + steps
    u = h / big
    near = jnp.abs(u) <= 0.5
    near_log = jnp.where(near, log1p(jnp.where(near, u, 0)), 0)
    total = total - h / big / big_y * (1 + (1 / big + 1 / big_y) / 2)
    square, square_y = 1 / (big * big), 1 / (big_y * big_y)
    power, power_y = square / big, square_y / big_y
    for j in range(_stirling_count(x.dtype)):
        m = 2 * j + 2
        term = jnp.where(near, power * jnp.expm1(-(m + 1) * near_log), power_y - power)
        total = total + (m - 1) * m * float(_STIRLING[j]) * term
        power, power_y = power * square, power_y * square_y
    return jnp.where(h == 0, 0, total)  # also where trigamma overflows (x below 1e-154)


@_custom_jvp
def digamma_bregman(x, y, h):
    """``digamma(y) - digamma(x) - h polygamma(1, x)`` for ``x, y > 0``, to a few ulp.

    ``h = y - x``, as accurately as the caller has it (``y`` and ``h`` may carry
    digits that ``x + h`` and ``y - x`` would round away). The Bregman divergence
    of digamma (concave: the value is ``<= 0``), about ``h**2 polygamma(2, x) / 2``
    for small ``h``, where the textbook form loses every digit. As
    :func:`digamma_diff`: unit steps take ``x`` to ``X = x + n`` with ``X, Y = y +
    n >= 12``, each adding ``-h**2 / (x_j**2 y_j)`` (``x_j = x + j``, ``y_j = y +
    j``; from ``digamma(z) = digamma(z + 1) - 1 / z``), then the divergences of the
    terms of Stirling's series for digamma: ``log(X)`` (``log1pmx(h / X)``), ``-1 /
    (2 X)`` (``-h**2 / (2 X**2 Y)``) and ``-(2j + 1) S_j X**-(2j + 2)``
    (:func:`_power_bregmans`). Every term but the last's (below 1/864 of the rest)
    is ``<= 0``: nothing cancels.

    Example:
        >>> h = 2.0**-17  # about h**2 polygamma(2, 3) / 2 = -4.48530e-12
        >>> float(digamma_bregman(3.0, 3.0 + h, h))  # exact: -4.4852932868906e-12
        -4.48529328689...e-12
    """
    dtype = _float_dtype(x, y, h)
    x, y, h = jnp.broadcast_arrays(*(jnp.asarray(v, dtype) for v in (x, y, h)))
    steps = _shift_count(jnp.minimum(x, y))  # both X and Y >= 12
    total = jnp.zeros_like(x)
    for j in range(_STIRLING_FROM):
        x_j, y_j = jnp.where(j < steps, x + j, 1), jnp.where(j < steps, y + j, 1)
        total = total - jnp.where(j < steps, (h / x_j) * (h / y_j / x_j), 0)
    big, big_y = x + steps, y + steps
    u = h / big  # > -1; near -1, log(1 + u) from the ratio (u lost its digits)

    def log1p_u(far):
        return jnp.log(jnp.where(far, big_y, 1) / jnp.where(far, big, 1))

    total = total + _log1pmx_near_far(u, log1p_u) - u * (h / big_y) / (2 * big)
    powers = [(2 * j + 2, -(2 * j + 1) * _STIRLING[j]) for j in range(_stirling_count(dtype))]
    return total + _power_bregmans(big, big_y, u, powers)


@digamma_bregman.defjvp
def _digamma_bregman_jvp(primals, tangents):
    (x, y, h), (dx, dy, _) = primals, tangents  # h is a hint: the value depends on x and y
    return digamma_bregman(x, y, h), -h * jss.polygamma(2, x) * dx + _trigamma_diff(x, y, h) * dy


def _trigamma(x):
    """``polygamma(1, x)`` for ``x > 0``: XLA's is 0 beyond about 1e154 (1e19 in float32),
    where it is ``1 / x``; from 12 on, ``1 / x + 1 / (2 x**2) + mu''(x)`` (Stirling)."""
    big = x >= _STIRLING_FROM
    safe = jnp.where(big, x, _STIRLING_FROM)
    series = 1 / safe + 0.5 / safe / safe + _stirling_series(safe, 2)
    return jnp.where(big, series, jss.polygamma(1, jnp.where(big, 1, x)))


#: Gauss-Legendre nodes and weights on [0, 1], 4 points: exact for degree 7.
_GAUSS_LEGENDRE_4 = (
    ((1 - 0.8611363115940526) / 2, 0.3478548451374538 / 2),
    ((1 - 0.3399810435848563) / 2, 0.6521451548625461 / 2),
    ((1 + 0.3399810435848563) / 2, 0.6521451548625461 / 2),
    ((1 + 0.8611363115940526) / 2, 0.3478548451374538 / 2),
)

#: A class holds "nearly all" of a total where the rest is at most this fraction of it.
DOMINANT = 100


def _slide(x, r, x_q, r_q, delta, change):
    """``R(x + r, x' + r') - R(x, x')`` (``R`` = :func:`lgamma_bregman`) for ``r <= x / 100``
    and ``r' <= x' / 100``, and the sum of its terms' sizes: ``int_0^1 d/dt R(x_t, x'_t)
    dt`` along ``x_t = x + t r``, ``x'_t = x' + t r'``.

    ``d/dt R = r' (digamma(x'_t) - digamma(x_t)) - r delta_t polygamma(1, x_t)``; where
    ``r'`` is within ``r / 2`` of ``r`` that is ``change (digamma(x'_t) - digamma(x_t)) +
    r digamma_bregman(x_t, x'_t)``, whose terms do not cancel to a second-order
    difference (near-equal ends). The integrand is analytic in ``t`` but for the poles
    of digamma at ``t <= -100``, so 4 Gauss-Legendre points (a Bernstein ellipse of
    radius about 400) leave about ``400**-8 = 2e-21`` of it. Each end moves along its own
    side (``x'_t`` from ``x'``, not ``x_t + delta_t``, which rounds ``t r'`` away where
    ``x >> x'``).
    """
    near = jnp.abs(change) <= r / 2
    # The nodes along a new leading axis: one trace of the integrand, not four.
    nodes, weights = (
        jnp.asarray(v, x.dtype).reshape((-1,) + (1,) * x.ndim) for v in zip(*_GAUSS_LEGENDRE_4)
    )
    x_t, y_t, delta_t = x + nodes * r, x_q + nodes * r_q, delta + nodes * change
    diff = _digamma_diff(*jnp.broadcast_arrays(x_t, y_t, delta_t))
    first = jnp.where(near, change, r_q) * diff
    second = jnp.where(near, r * digamma_bregman(x_t, y_t, delta_t), -r * delta_t * _trigamma(x_t))
    # Stacked, not summed per node: XLA compiled first + second and |first| + |second|,
    # each reduced over the nodes, in 1 s, against 0.25 s for this.
    parts = jnp.stack([first, second])
    integrals, sizes = jnp.sum(weights * parts, axis=1), jnp.sum(weights * jnp.abs(parts), axis=1)
    return integrals[0] + integrals[1], sizes[0] + sizes[1]


@_traced_once
def lgamma_bregman_share(x, r, x_q, r_q, delta, change):
    """``R(x, x') - x / (x + r) R(x + r, x' + r')``, ``R`` = :func:`lgamma_bregman`: a
    class's share of the Bregman divergence of ``sum_k lgamma(a_k) - lgamma(sum_k a_k)``,
    and a bound on its rounding error (for :meth:`jax_ops.accurate_sum`).

    ``x`` is a concentration and ``r`` the sum of the others, in P; ``x', r'`` in Q;
    ``delta = x' - x`` and ``change = r' - r``, as accurately as the caller has them.
    The shares of all classes sum to the Dirichlet's (the Beta's) KL.

    Where the class holds nearly all of both totals (``r <= x / 100``, ``r' <= x' /
    100``) its divergence and the total's nearly cancel: there the share is ``r / (x +
    r) R(x + r, x' + r') - (R(x + r, x' + r') - R(x, x'))``, the difference taken as the
    integral of its derivative along the segment from ``(x, x')`` to ``(x + r, x' +
    r')`` (:func:`_slide`), of the size of ``r`` and ``r'``, not of ``R``. Elsewhere the
    two divergences are subtracted. The bound is 16 ulp of the sizes of the terms
    subtracted, the integral's included (a caller sums the shares and compares).

    Example:
        >>> a, b, h = 1e-8, 11.9, 1.19e-5  # the Beta KL's share of b: R(b) - R(a + b) ...
        >>> share_b, _ = lgamma_bregman_share(b, a, b + h, a, h, 0.0)
        >>> share_a, _ = lgamma_bregman_share(a, b, a, b + h, 0.0, h)  # ... and of a
        >>> float(share_a + share_b)  # KL(Beta(a, b) || Beta(a, b + h)): 5.4377771400466e-21
        5.437777140046...e-21
    """
    dtype = _float_dtype(x, r, x_q, r_q, delta, change)
    args = jnp.broadcast_arrays(*(jnp.asarray(v, dtype) for v in (x, r, x_q, r_q, delta, change)))
    value, error, _ = _share(*args)
    return value, error


def _dominant(x, r, x_q, r_q, delta, change):
    """Where the class holds nearly all of both totals, and the arguments there, harmless
    ones (``1, 0, 1, 0, 0, 0``) elsewhere: for the integral, computed only for a batch
    with such a class."""
    dominant = (r * DOMINANT <= x) & (r_q * DOMINANT <= x_q)
    args = (x, r, x_q, r_q, delta, change)
    return dominant, [jnp.where(dominant, a, h) for a, h in zip(args, (1, 0, 1, 0, 0, 0))]


@_custom_jvp
def _share(x, r, x_q, r_q, delta, change):
    """:func:`lgamma_bregman_share` of broadcast arrays of one dtype, and ``R(x + r, x' + r')``
    (for the derivative)."""
    dominant, safe = _dominant(x, r, x_q, r_q, delta, change)
    zero = jnp.zeros_like(x)
    slide, slide_size = _branch(some(dominant), lambda: _slide(*safe), lambda: (zero, zero))
    # R(x + r, x' + r') and R(x, x') in one call (stacked: XLA compiles one copy); the
    # second as R(1, 1) = 0 where it is not needed.
    whole, own = lgamma_bregman(
        jnp.stack([x + r, jnp.where(dominant, 1, x)]),
        jnp.stack([x_q + r_q, jnp.where(dominant, 1, x_q)]),
        jnp.stack([delta + change, jnp.where(dominant, 0, delta)]),
    )
    kept, taken = r / (x + r) * whole, x / (x + r) * whole
    terms = jnp.stack([jnp.where(dominant, kept, own), jnp.where(dominant, -slide, -taken)])
    # Each special function within a few ulp of itself, as tested: 16 ulp of each size.
    sizes = jnp.abs(terms[0]) + jnp.where(dominant, slide_size, jnp.abs(terms[1]))
    return terms[0] + terms[1], 16 * jnp.finfo(x.dtype).eps * sizes, whole


@_share.defjvp
def _share_jvp(primals, tangents):
    """From ``dR(a, b) = digamma_diff(a, b - a) db - (b - a) polygamma(1, a) da``; ``delta``
    and ``change`` are hints (the value depends on ``x, r, x', r'``). Where the class holds
    nearly all, ``x / (x + r) R(x + r, x' + r')`` as a weight's and ``R``'s derivatives,
    and the integral's from :func:`_slide_derivatives`."""
    x, r, x_q, r_q, delta, change = primals
    dx, dr, dx_q, dr_q, _, _ = tangents
    value, error, whole = _share(*primals)
    dominant, safe = _dominant(*primals)
    total, d_total = x + r, delta + change

    def d_bregman(a, h, da, db):
        return digamma_diff(a, h) * db - h * _trigamma(a) * da

    d_weight = (r * dx - x * dr) / (total * total)  # of x / (x + r); r / (x + r)'s is -this
    d_whole = d_bregman(total, d_total, dx + dr, dx_q + dr_q)
    zero = jnp.zeros_like(x)
    slopes = _branch(
        some(dominant), lambda: _slide_derivatives(*safe), lambda: (zero, zero, zero, zero)
    )
    d_slide = sum(slope * d for slope, d in zip(slopes, (dx, dr, dx_q, dr_q)))
    d_value = jnp.where(
        dominant,
        r / total * d_whole - d_weight * whole - d_slide,
        d_bregman(x, delta, dx, dx_q) - d_weight * whole - x / total * d_whole,
    )
    return (value, error, whole), (d_value, jnp.zeros_like(error), d_whole)


def _slide_derivatives(x, r, x_q, r_q, delta, change):
    """The derivatives of :func:`_slide`'s integral, ``R(x + r, x' + r') - R(x, x')``, in
    ``x, r, x', r'`` (``r <= x / 100``, ``r' <= x' / 100``).

    In ``x``, ``-delta (polygamma(1, x + r) - polygamma(1, x)) - change polygamma(1, x +
    r)``, the difference (which cancels to ``r / x`` of each) as ``r`` times the integral
    of ``polygamma(2)`` along ``x_t = x + t r``; in ``x'``, ``Dpsi(x + r, x' + r') -
    Dpsi(x, x')`` as the integral of ``r' polygamma(1, x'_t) - r polygamma(1, x_t)`` (its
    terms cancel to about ``delta / x`` of each where ``r'`` is near ``r``). The nodes are
    :func:`_slide`'s.
    """
    nodes, weights = (
        jnp.asarray(v, x.dtype).reshape((-1,) + (1,) * x.ndim) for v in zip(*_GAUSS_LEGENDRE_4)
    )
    x_t, y_t = x + nodes * r, x_q + nodes * r_q
    parts = jnp.stack([r * jss.polygamma(2, x_t), r_q * _trigamma(y_t) - r * _trigamma(x_t)])
    trigamma_step, digamma_step = jnp.sum(weights * parts, axis=1)
    at_total = _trigamma(x + r)
    d_x = -delta * trigamma_step - change * at_total
    d_r = -(delta + change) * at_total
    return d_x, d_r, digamma_step, digamma_diff(x + r, delta + change)


@_custom_jvp
def lgamma_stirling(x):
    """Stirling's remainder ``mu(x) = lgamma(x) - (x - 1/2) log(x) + x - log(2 pi) / 2``.

    Small (``1 / (12 x)`` for large ``x``), where the terms it is the difference
    of are huge: summed as its asymptotic series for ``x >= 12``, and from
    ``lgamma`` below (absolute error a few ulp of ``lgamma(x)``).

    Example:
        >>> from verify._special import lgamma_stirling
        >>> float(lgamma_stirling(1e8))  # 1 / (12 x)
        8.333...e-10
    """
    x = jnp.asarray(x, _float_dtype(x))
    return _stirling(x, 0)


@lgamma_stirling.defjvp
def _lgamma_stirling_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return lgamma_stirling(x), digamma_stirling(x) * dx


@_custom_jvp
def digamma_stirling(x):
    """``mu'(x) = digamma(x) - log(x) + 1 / (2 x)``, the derivative of :func:`lgamma_stirling`.

    Example:
        >>> from verify._special import digamma_stirling
        >>> float(digamma_stirling(1e4))  # -1 / (12 x**2)
        -8.333...e-10
    """
    x = jnp.asarray(x, _float_dtype(x))
    return _stirling(x, 1)


@digamma_stirling.defjvp
def _digamma_stirling_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = jnp.asarray(x, _float_dtype(x))
    return digamma_stirling(x), _stirling(x, 2) * dx


def _log1pmx_near_far(w, log1p_w):
    """``log1pmx(w)``: from ``w`` near 0, else from ``log1p_w`` (accurate where ``w`` has
    lost the digits of ``1 + w``, near ``-1``). ``log1p_w`` is called on safe arguments."""
    near = jnp.abs(w) <= 0.5
    return jnp.where(near, log1pmx(jnp.where(near, w, 0)), log1p_w(~near) - w)


@_traced_once
def stirling_bregman(a, b):
    """``lgamma(b) - lgamma(a) - (b - a) digamma(a) - (b log(b / a) - b + a)``, ``>= 0``.

    The Bregman divergence of ``lgamma`` between ``a`` and ``b``, less that of
    ``x log x - x`` (``kl_div(b, a)``): the part of a Gamma KL divergence that
    depends on the shapes beyond their means. Both are about ``d**2 / (2 a)``
    (``d = b - a``) for large ``a``, so their difference (about ``d**2 / (4
    a**2)``) cannot be taken from them. It is a sum of non-negative terms:

    * for ``a, b >= 12``, the Bregman divergence of ``-log(x) / 2 + mu(x)``
      (:func:`lgamma_stirling`): ``-log1pmx(u) / 2`` plus, term by term of the
      series of ``mu``, ``c_k a**-m ((1 + u)**-m - 1 + m u)`` with ``u = d / a``;
    * below, both arguments are shifted up by ``n`` steps of ``lgamma(x + 1) =
      lgamma(x) + log(x)``; step ``j`` (``y = a + j``, ``x = b + j``) adds
      ``-(x + 1) log1pmx(d / (y (x + 1)))``, the exact difference of the two
      divergences at ``y`` and ``y + 1``.

    Args:
        a, b: positive arrays; ``b - a`` is taken as exact (as it is for close values).

    Example:
        >>> from verify._special import stirling_bregman
        >>> float(stirling_bregman(1e6, 1e6 + 1))  # about d**2 / (4 a**2)
        2.49999...e-13
    """
    dtype = _float_dtype(a, b)
    a, b = jnp.broadcast_arrays(jnp.asarray(a, dtype), jnp.asarray(b, dtype))
    d = b - a
    steps = jnp.clip(jnp.ceil(_STIRLING_FROM - jnp.minimum(a, b)), 0, _STIRLING_FROM)
    one = jnp.ones((), dtype)

    total = jnp.zeros_like(a)
    for j in range(_STIRLING_FROM):  # unrolled: one fused elementwise loop
        # Steps not taken get harmless arguments: no inf or nan to leak into gradients.
        taken = j < steps
        y, x = jnp.where(taken, a + j, one), jnp.where(taken, b + j, one)
        w = jnp.where(taken, d, 0) / (y * (x + 1))  # 1 + w = x (y + 1) / (y (x + 1))
        if j == 0:  # 1 + w may be tiny (x near 0): taken from the logarithms

            def log1p_w(far, x=x, y=y):
                x_f, y_f = jnp.where(far, x, one), jnp.where(far, y, one)
                return jnp.log(x_f) + log1p(1 / y_f) - log1p(x_f)

            total = total - (x + 1) * _log1pmx_near_far(w, log1p_w)
        else:  # x, y >= j: -1 / (j + 1) < w < 1 / j, so |w / (2 + w)| < 1 / (2 j + 1)
            total = total - (x + 1) * _log1pmx_series(w, fractions.Fraction(1, 2 * j + 1))
    a, b = a + steps, b + steps  # both >= 12

    def log1p_u(far):  # a, b >= 12: b / a neither overflows nor underflows
        return jnp.log(jnp.where(far, b, one) / jnp.where(far, a, one))

    t = d / a
    return total - _log1pmx_near_far(t, log1p_u) / 2 + _stirling_bregman(a, b, t)


@_custom_jvp
def ratio_gap(a_p, b_p, a_q, b_q):
    """``1 - (a_p b_q) / (a_q b_p)`` for positive arguments, accurate where it is near 0.

    Each argument is split exactly into a significand in ``[1, 2)`` and a power
    of two (:func:`frexp`, subnormals included). Where the powers of two nearly
    cancel (the ratio within a factor of about 32 of 1) the numerator ``m_q m_b
    - 2**e m_p m_b'`` is formed from exact products (Dekker) and rounded once:
    the ratio of two Gamma means (``a`` shapes, ``b`` rates) close to 1 keeps
    its digits, also when shapes and rates are both far apart. Elsewhere the
    ratio is formed from the significands and ``1 -`` it loses nothing.

    Example:
        >>> from verify._special import ratio_gap
        >>> float(ratio_gap(1.0, 1.0, 1.0 + 2**-20, 1.0 + 2**-20))  # equal means
        0.0
    """
    dtype = _float_dtype(a_p, b_p, a_q, b_q)
    (m_ap, e_ap), (m_bp, e_bp), (m_aq, e_aq), (m_bq, e_bq) = (
        frexp(jnp.asarray(v, dtype)) for v in (a_p, b_p, a_q, b_q)
    )
    e = e_ap - e_aq + e_bq - e_bp
    near = jnp.abs(e) <= 2
    scale = ldexp(jnp.ones_like(m_ap), jnp.where(near, e, 0))
    hi_1, lo_1 = _two_product(m_aq, m_bp)
    hi_2, lo_2 = _two_product(m_ap * scale, m_bq)  # scale is a power of two: exact
    denominator = m_aq * m_bp
    exact = ((hi_1 - hi_2) + (lo_1 - lo_2)) / denominator
    ratio = ldexp((m_ap * m_bq) / denominator, jnp.where(near, 0, e))
    return jnp.where(near, exact, 1 - ratio)


@ratio_gap.defjvp
def _ratio_gap_jvp(primals, tangents):
    # The value goes through bit manipulations (frexp) that autodiff cannot see through:
    # d(1 - t) = -t (da_p / a_p + db_q / b_q - da_q / a_q - db_p / b_p).
    a_p, b_p, a_q, b_q = primals
    da_p, db_p, da_q, db_q = tangents
    gap = ratio_gap(a_p, b_p, a_q, b_q)
    t = 1 - gap
    return gap, -t * (da_p / a_p + db_q / b_q - da_q / a_q - db_p / b_p)


def _two_product(x, y):
    """``(p, e)`` with ``p = fl(x y)`` and ``p + e = x y`` exactly (Dekker, via Veltkamp)."""
    p = x * y
    x_hi, x_lo = _veltkamp_split(x)
    y_hi, y_lo = _veltkamp_split(y)
    e = ((x_hi * y_hi - p) + x_hi * y_lo + x_lo * y_hi) + x_lo * y_lo
    return p, e


@_custom_jvp
def log_full_range(x):
    """``log(x)`` for every positive ``x``: subnormals included, accurate near 1.

    ``x = m 2**e`` exactly (:func:`frexp`), with ``m`` moved into ``[sqrt(1/2),
    sqrt(2))``, so that ``x`` near 1 has ``e = 0`` and ``log(m)`` keeps its
    relative accuracy; a subnormal ``x``, which XLA on CPU reads as 0 (``log = -inf``),
    counts at its value.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(log_full_range(jnp.float32(1e-40))), 3)  # subnormal
        -92.103
    """
    x = jnp.asarray(x, _float_dtype(x))
    m, e = frexp(x)
    high = m > float(np.sqrt(2))  # a weak Python float: keeps float32 float32
    m, e = jnp.where(high, m / 2, m), jnp.where(high, e + 1, e)
    return jnp.log(m) + e.astype(x.dtype) * jnp.asarray(np.log(2), x.dtype)


@log_full_range.defjvp
def _log_full_range_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = jnp.asarray(x, _float_dtype(x))
    return log_full_range(x), dx / x


__all__ += ["log_full_range"]  # noqa: PLE0605


# --- unit: Beta, Dirichlet, ContinuousBernoulli
# Bregman divergences of log-gamma and of log(sinh(t) / t): the log-partition
# functions of the Beta and Dirichlet (lgamma) and of the continuous Bernoulli
# (log_sinhc). A KL divergence of an exponential family is the Bregman divergence
# of its log-partition, ``F(b) - F(a) - (b - a) F'(a)``: a difference of nearly
# equal terms when the distributions are close, evaluated here without forming it.


#: Taylor coefficients of log_sinhc, 2**2n B_2n / (2n (2n)!), n = 1..27 (radius pi).
_LOG_SINHC = tuple(2 ** (2 * n) * _B[2 * n] / (2 * n * math.factorial(2 * n)) for n in range(1, 28))


def ratio_kl(x, y, delta):
    """``x / y - 1 - log(x / y)`` (``-log1pmx(delta / y)``) for ``x, y > 0``, ``delta = x - y``.

    :func:`kl_div_unit` of the ratio, with ``delta / y`` as its hint near 1 and
    ``log(x) - log(y)`` far from it, so that a ratio outside the float range
    (``1e-300 / 1e12``) still gives the finite value.

    Example:
        >>> from verify._special import ratio_kl
        >>> round(float(ratio_kl(1e-30, 1e12, -1e12)), 3)  # 1e-42 - 1 + log(1e42)
        95.709
    """
    dtype = _float_dtype(x, y, delta)
    x, y, delta = (jnp.asarray(v, dtype) for v in (x, y, delta))
    hint = -delta / y
    near = jnp.abs(hint) <= 0.5
    near_value = kl_div_unit(jnp.where(near, x / y, 1), jnp.where(near, hint, 0))
    x_f, y_f = jnp.where(near, 2, x), jnp.where(near, 1, y)
    # log_ratio, not log(x) - log(y): logs of 655 that differ by 1.1 (1e-284 and 3e-284) kept
    # 6e-14 of it; the ratio itself may leave the float range (1e-300 / 1e12).
    far_value = x_f / y_f - 1 - log_ratio(x_f, y_f)
    return jnp.where(near, near_value, far_value)


def _bregman_numerator(m):
    """Coefficients ``m C(m, k - 1) - C(m, k)``, ``k = 2 .. m + 1`` (all ``> 0``), of
    ``(1 + t)**m ((1 + t)**-m - 1 + m t) / t**2``, lowest degree first."""
    return [m * math.comb(m, k - 1) - math.comb(m, k) for k in range(2, m + 2)]


def _stirling_bregman(a, b, t):
    """``sum_j c_j D_j`` with ``D_j`` the Bregman divergence of ``x**-m`` (``m = 2j + 1``)
    from ``a`` to ``b`` (``t = (b - a) / a``, ``a, b >= 12``): that of Stirling's series."""
    powers = [(2 * j + 1, _STIRLING[j]) for j in range(_stirling_count(a.dtype))]
    return _power_bregmans(a, b, t, powers)


def _power_bregmans(a, b, t, powers):
    """``sum c D_m`` over ``powers`` ``(m, c)``, ``D_m`` the Bregman divergence of ``x**-m``
    from ``a`` to ``b`` (``t = (b - a) / a``, ``a, b >= 12``).

    Near ``t = 0`` (``|t| <= 1/2``) each is ``(a (1 + t))**-m t**2 N_m(t)``, whose
    polynomial (:func:`_bregman_numerator`) has positive coefficients: no cancellation.
    Elsewhere ``b**-m - a**-m (1 - m t)``, which cancels by at most a factor 4 (at ``t =
    -1/2``). The terms are unrolled (no trailing axis: XLA:CPU vectorises the batch).
    """
    dtype = a.dtype
    near = jnp.abs(t) <= 0.5
    u = jnp.where(near, t, 0)
    inverse_a, inverse_b = 1 / a, 1 / b
    inverse_near = inverse_a / (1 + u)
    first = powers[0][0]  # exponents step by 2: each power is the last times a square
    squares = [x * x for x in (inverse_near, inverse_a, inverse_b)]
    power_near, power_a, power_b = (x**first for x in (inverse_near, inverse_a, inverse_b))
    series, direct = jnp.zeros_like(a), jnp.zeros_like(a)
    for k, (m, c) in enumerate(powers):
        assert m == first + 2 * k, powers
        c = jnp.asarray(float(c), dtype)
        poly = jnp.zeros_like(u)
        for coefficient in reversed(_bregman_numerator(m)):
            poly = poly * u + jnp.asarray(float(coefficient), dtype)
        series = series + c * (power_near * poly)
        direct = direct + c * (power_b - power_a * (1 - m * t))
        power_near, power_a, power_b = (
            p * q for p, q in zip((power_near, power_a, power_b), squares)
        )
    return jnp.where(near, u * u * series, direct)


def _shift_count(x):
    """``n``, the number of unit steps that takes ``x`` to ``>= 12`` (0 if it is)."""
    top = _STIRLING_FROM
    return jax.lax.stop_gradient(jnp.clip(jnp.ceil(top - x), 0, top))


def _lgamma_parts(a, b, delta, *, close=False):
    """(shifted, big, main, binet) with ``lgamma_bregman(a, b) = shifted + main + binet``.

    ``n`` is the integer that takes ``a`` and ``b`` to ``>= 12`` (0 if they are);
    from ``lgamma(x + 1) = lgamma(x) + log(x)`` the shift adds the terms
    ``-log1pmx(delta / (a + k))``, ``k < n``: non-negative, so nothing cancels.
    At ``a + n``: Stirling's main part (a KL summand and a ``-log1pmx``, both
    non-negative) and ``binet`` (Binet's function's divergence, from the
    asymptotic series, also non-negative). ``close`` promises ``|delta| <= a / 2``,
    where the steps need no logarithm: a step ``k`` is taken only where ``a / 2 + k <
    12``, so ``|delta / (a + k)| <= (12 - k) / (24 - k)`` and the atanh series of
    ``log1pmx`` converges.
    """
    n = _shift_count(jnp.minimum(a, b))
    shifted = jnp.zeros_like(a)
    for k in range(_STIRLING_FROM):  # unrolled: one fused elementwise loop
        if close:  # |delta / (a + k)| <= (12 - k) / (24 - k) where the step is taken
            bound = fractions.Fraction(12 - k, 24 - k)  # radius in s below: at -bound
            term = -_log1pmx_series(delta / (a + k), bound / (2 - bound))
        else:
            term = ratio_kl(b + k, a + k, delta)
        shifted = shifted + jnp.where(k < n, term, 0)
    big_a, big_b = a + n, b + n
    t = delta / big_a
    binet = _stirling_bregman(big_a, big_b, t)
    # kl_div_unit of b / a (both >= 12: in range; times 1 / a, which the series shares: a
    # division here cost lgamma_bregman 35%), not of 1 + t, which loses b where b << a
    # (lgamma_bregman(1e20, 1e-100) was inf: 1 + t rounded to 0).
    main = kl_div_delta(big_a, delta) + kl_div_unit(big_b * (1 / big_a), -t) / 2
    return shifted, big_a, main, binet


@_traced_once
def lgamma_bregman(a, b, delta):
    """``lgamma(b) - lgamma(a) - (b - a) digamma(a)``, accurate for all ``a, b > 0``.

    The Bregman divergence of ``lgamma`` (convex), ``>= 0``, about
    ``delta**2 polygamma(1, a) / 2`` when ``b`` is close to ``a``, where the
    three terms of the textbook form cancel. Written as a sum of non-negative
    terms (see :func:`binet_bregman`), it keeps a few ulp of relative accuracy.

    Args:
        a, b: positive arrays.
        delta: ``b - a``, as accurately as the caller can compute it (exact for
            close ``a`` and ``b``; a sum of exact differences for sums of
            parameters). The value depends on ``a`` and ``b``; ``delta`` carries
            the digits their difference would lose.

    Example:
        >>> from verify._special import lgamma_bregman
        >>> h = 2**-20  # about h**2 polygamma(1, 3) / 2 = 1.8e-13
        >>> float(lgamma_bregman(3.0, 3.0 + h, h))
        1.795...e-13
    """
    dtype = _float_dtype(a, b, delta)
    a, b, delta = (jnp.asarray(v, dtype) for v in (a, b, delta))
    a, b, delta = jnp.broadcast_arrays(a, b, delta)
    shifted, _, main, binet = _lgamma_parts(a, b, delta)
    return shifted + main + binet


@_custom_jvp
def binet_bregman(a, b, delta):
    """The Bregman divergence of Binet's function ``omega``, from ``a`` to ``b``.

    ``omega(x) = lgamma(x) - (x - 1/2) log(x) + x - log(2 pi) / 2`` is the remainder
    of Stirling's formula; it is convex, so the value is ``>= 0``. With it,
    ``lgamma_bregman(a, b) = kl_div(b, a) - log1pmx(delta / a) / 2 +
    binet_bregman(a, b)``: the Beta and Dirichlet KL forms collect the first two
    parts of each parameter into a KL of the means and a Jensen gap (no
    cancellation between the parameters' divergences), and this is the rest.

    For ``a, b >= 12`` it is the sum of the divergences of the terms of Stirling's
    series, each without cancellation. Below, for ``|b - a| <= a / 2``,
    ``lgamma_bregman`` (shifted to ``>= 12``) minus the two Stirling parts at
    ``a``, which loses at most a few ulp of ``lgamma_bregman``; farther apart,
    ``omega(b) - omega(a) - (b - a) omega'(a)`` from ``omega`` and ``omega'``
    summed as series of one sign (no cancellation of ``lgamma``'s size).

    Args:
        a, b: positive arrays.
        delta: ``b - a``, as accurately as the caller can compute it.

    Example:
        >>> from verify._special import binet_bregman
        >>> float(binet_bregman(1e6, 2e6, 1e6))  # about (1/(12 b) - 1/(12 a) + delta/(12 a**2))
        4.1666...e-08
    """
    dtype = _float_dtype(a, b, delta)
    a, b, delta = (jnp.asarray(v, dtype) for v in (a, b, delta))
    a, b, delta = jnp.broadcast_arrays(a, b, delta)
    big = jnp.minimum(a, b) >= _STIRLING_FROM
    near = ~big & (jnp.abs(delta) <= a / 2)
    # Each regime runs only where some element of the batch is in it, its arguments
    # replaced elsewhere by harmless ones of the regime.
    one, zero = jnp.ones_like(a), jnp.zeros_like(a)
    args = (a, b, delta)
    value = in_regime(big, _binet_bregman_big, args, (12 * one, 12 * one, zero), zero)
    value = in_regime(near, _binet_bregman_near, args, (one, one, zero), value)
    return in_regime(~big & ~near, _binet_bregman_far, args, (one, 2 * one, one), value)


@binet_bregman.defjvp
def _binet_bregman_jvp(primals, tangents):
    """``d/da = -delta omega''(a)``, ``d/db = omega'(b) - omega'(a)`` (``delta`` a hint)."""
    (a, b, delta), (da, db, _) = primals, tangents
    near = jnp.abs(delta) <= a / 2
    one, zero = jnp.ones_like(a), jnp.zeros_like(a)
    close = [jnp.where(near, x, h) for x, h in zip((a, b, delta), (one, one, zero))]
    apart = [jnp.where(near, h, x) for x, h in zip((a, b), (one, 2 * one))]
    slopes = jnp.where(near, _binet_slope_diff(*close), _binet(apart[1])[1] - _binet(apart[0])[1])
    # Both are 0 at delta = 0, also where omega'' overflows (a below about 1e-154; XLA may
    # compute delta / z / z as delta / (z z), 0 / 0 there).
    same = delta == 0
    slope_a = jnp.where(same, 0, -_binet_curvature(a, delta))
    return binet_bregman(a, b, delta), slope_a * da + jnp.where(same, 0, slopes) * db


binet_bregman = _traced_once(binet_bregman)


def _binet_curvature(x, scale):
    """``scale omega''(x)`` (``omega'' > 0``) as a sum of terms of one sign: ``omega''(x + n)``
    (Stirling's series from 12) plus ``h''(x + k) = 1 / (2 (x + k)**2 (x + k + 1)**2)`` for
    ``k < n``, from ``omega(z) = omega(z + 1) + h(z)`` (:func:`_binet_step`), each term
    scaled (``omega''`` itself overflows below about 1e-154)."""
    n = _shift_count(x)
    total = jnp.zeros_like(x)
    for k in range(_STIRLING_FROM):
        z = x + k
        total = total + jnp.where(k < n, scale / z / z / (2 * (z + 1) * (z + 1)), 0)
    return total + scale * _stirling_series(x + n, 2)


def _binet_slope_diff(x, y, delta):
    """``omega'(y) - omega'(x)`` for ``|delta| = |y - x| <= x / 2``, to a few ulp of itself
    (it is about ``delta omega''(x)``, ``delta / (6 x**3)`` for large ``x``: digammas,
    logarithms and ``1 / 2x`` cancel to it).

    Unit steps take both to ``>= 12``, each adding ``h'(y + k) - h'(x + k) = log1pmx(-v)
    + delta (delta + 1) / (2 x y (x + 1)(y + 1))`` (at ``x + k, y + k``; ``v = delta / (y (x
    + 1))``), then Stirling's series, ``-sum_j c_j m (Y**-(m + 1) - X**-(m + 1))`` (``m =
    2j + 1``), the powers' difference from ``expm1`` of ``log1p(delta / X)``.
    """
    n = _shift_count(jnp.minimum(x, y))
    total = jnp.zeros_like(x)
    for k in range(_STIRLING_FROM):
        xk, yk = x + k, y + k
        step = log1pmx(-delta / (yk * (xk + 1))) + delta / xk / yk * (delta + 1) / (
            2 * (xk + 1) * (yk + 1)
        )
        total = total + jnp.where(k < n, step, 0)
    big = x + n
    log_ratio = log1p(delta / big)
    square = 1 / (big * big)
    power = square  # X**-(m + 1), m = 1
    for j in range(_stirling_count(x.dtype)):
        m = 2 * j + 1
        total = total - float(_STIRLING[j]) * m * power * jnp.expm1(-(m + 1) * log_ratio)
        power = power * square
    return total


def _binet_bregman_big(a, b, delta):
    """``binet_bregman`` for ``a, b >= 12``: the divergences of Stirling's series' terms."""
    return _stirling_bregman(a, b, delta / a)


def _binet_bregman_near(a, b, delta):
    """``binet_bregman`` for ``|b - a| <= a / 2``: ``lgamma_bregman`` less its Stirling parts."""
    shifted, _, main, binet = _lgamma_parts(a, b, delta, close=True)
    main_here = kl_div_delta(a, delta) + ratio_kl(b, a, delta) / 2
    return shifted + main + binet - main_here


def _binet_bregman_far(a, b, delta):
    """``binet_bregman`` from ``omega`` and ``omega'`` (no cancellation of ``lgamma``'s size)."""
    omega_b, _ = _binet(b)
    omega_a, slope_a = _binet(a)
    return omega_b - omega_a - delta * slope_a


@functools.cache
def _binet_step_terms(dtype, low) -> int:
    """Terms of the series of :func:`_binet_step` for ``y >= low >= 1``: the fewest ``J``
    with ``z**(2J) <= eps / 4`` at ``z = 1 / (2 low + 1)``, which bounds the omitted
    part of either series below ``eps / 2`` of its first term."""
    eps = float(jnp.finfo(dtype).eps)
    z = 1 / (2 * low + 1)
    return next(count for count in itertools.count(1) if z ** (2 * count) <= eps / 4)


def _binet_step(y, low):
    """``h(y) = omega(y) - omega(y + 1) = (y + 1/2) log1p(1/y) - 1 > 0`` and ``h'(y)``
    for ``y >= low >= 1``.

    With ``z = 1 / (2y + 1)``, ``h = atanh(z) / z - 1 = sum_k z**2k / (2k + 1)`` and
    ``h' = -2 sum_k 2k z**(2k+1) / (2k + 1)`` (k >= 1): series of one sign, of fewer
    terms the larger ``low``.
    """
    z = 1 / (2 * y + 1)
    zz = z * z
    value, slope = jnp.zeros_like(y), jnp.zeros_like(y)
    for k in range(_binet_step_terms(y.dtype, low), 0, -1):
        value = value * zz + 1 / (2 * k + 1)
        slope = slope * zz + 2 * k / (2 * k + 1)
    return value * zz, -2 * slope * zz * z


def _binet_step_below_one(y):
    """:func:`_binet_step` for ``0 < y < 1``, where the series converges slowly: the direct
    form, whose terms (about 1.04 at ``y = 1``, against ``h(1) = 0.04``) cancel by at most
    a few ulp of ``omega(y) >= omega(1) = 0.08``."""
    return (y + 0.5) * log1p(1 / y) - 1, log1p(1 / y) - (y + 0.5) / (y * (y + 1))


def _binet(x):
    """Binet's function ``omega(x)`` and ``omega'(x)`` for ``x > 0``, as sums of one sign.

    ``omega(x) = omega(x + n) + sum_k h(x + k)`` takes ``x`` to ``>= 12``, where
    Stirling's series (decreasing terms) gives ``omega`` and ``omega'``. Step ``k >= 1``
    has ``y = x + k > k``: its series needs fewer terms than the first (18, 12, 10, ...,
    6 in float64).
    """
    n = _shift_count(x)
    one = jnp.ones_like(x)
    below_one = x < 1
    value, slope = _binet_step_below_one(jnp.where(below_one, x, one))
    first = _binet_step(jnp.where(below_one, one, x), 1)
    value = jnp.where(below_one, value, first[0])
    slope = jnp.where(below_one, slope, first[1])
    value, slope = jnp.where(n > 0, value, 0), jnp.where(n > 0, slope, 0)
    for k in range(1, _STIRLING_FROM):  # unrolled: one fused elementwise loop
        taken = k < n
        h, dh = _binet_step(jnp.where(taken, x + k, k), k)
        value, slope = value + jnp.where(taken, h, 0), slope + jnp.where(taken, dh, 0)
    top = x + n
    return value + _stirling_series(top, 0), slope + _stirling_series(top, 1)


_LOG_SINHC_SERIES_TO = 2.0


def _sinhc_m1(u):
    """``sinh(u) / u - 1 = sum_k u**2k / (2k + 1)!`` for ``|u| <= 2`` (positive terms)."""
    terms = 14 if jnp.finfo(u.dtype).bits > 32 else 8
    z = u * u
    total = jnp.zeros_like(u)
    for k in range(terms, 0, -1):
        total = (total + 1 / math.factorial(2 * k + 1)) * z
    return total


def _langevin_series(u):
    """``(cosh(u) - sinh(u)/u) / u = sum_k 2k u**(2k-1) / (2k + 1)!`` for ``|u| <= 2``."""
    terms = 14 if jnp.finfo(u.dtype).bits > 32 else 8
    z = u * u
    total = jnp.zeros_like(u)
    for k in range(terms, 0, -1):
        total = total * z + 2 * k / math.factorial(2 * k + 1)
    return u * total


def log_sinhc(t):
    """``log(sinh(t) / t)`` (0 at ``t = 0``), accurate to a few ulp for every real ``t``.

    ``A(l) = l / 2 + log_sinhc(l / 2)`` is the log-partition of the continuous
    Bernoulli with logit ``l``; the textbook normaliser ``2 atanh(1 - 2p) / (1 -
    2p)`` is ``0 / 0`` at ``p = 1/2``. Near 0: ``log1p`` of the series of
    ``sinh(u) / u - 1`` (positive terms); beyond ``|t| = 2``: ``|t| - log(2|t|) +
    log1p(-exp(-2|t|))``, which cannot overflow.

    Example:
        >>> from verify._special import log_sinhc
        >>> float(log_sinhc(1e-5))  # t**2 / 6
        1.6666...e-11
    """
    t = jnp.asarray(t, _float_dtype(t))
    u = jnp.abs(t)
    near = u <= _LOG_SINHC_SERIES_TO
    u_near, u_far = jnp.where(near, u, 0), jnp.where(near, 1, u)
    series = log1p(_sinhc_m1(u_near))
    direct = u_far - jnp.log(2 * u_far) + log1p(-jnp.exp(-2 * u_far))
    return jnp.where(near, series, direct)


def langevin(t):
    """The Langevin function ``coth(t) - 1/t`` (0 at ``t = 0``), the derivative of ``log_sinhc``.

    The mean of the continuous Bernoulli with logit ``l`` is ``(1 + langevin(l / 2)) /
    2``. Near 0 (where ``coth(t)`` and ``1/t`` cancel) it is ``(cosh(t) -
    sinh(t)/t) / sinh(t)``, numerator and denominator divided by ``t`` and summed
    as series of positive terms.

    Example:
        >>> from verify._special import langevin
        >>> round(float(langevin(3e-6)) * 1e6, 6)  # t / 3
        1.0
    """
    t = jnp.asarray(t, _float_dtype(t))
    u = jnp.abs(t)
    near = u <= _LOG_SINHC_SERIES_TO
    u_near, u_far = jnp.where(near, u, 0), jnp.where(near, 1, u)
    series = _langevin_series(u_near) / (1 + _sinhc_m1(u_near))
    direct = 1 + 2 * jnp.exp(-2 * u_far) / -jnp.expm1(-2 * u_far) - 1 / u_far
    return jnp.sign(t) * jnp.where(near, series, direct)


def _log_sinhc_series_bregman(x, y, d):
    """``sum_n c_n (y**2n - x**2n - 2n d x**(2n-1))`` for ``|x|, |y| <= 3/2``.

    Each bracket is ``d**2 P_2n`` with ``P_m = sum_j (j + 1) x**j y**(m-2-j)``,
    built by ``P_(m+1) = y P_m + m x**(m-1)``; the first term, ``d**2 / 6``,
    dominates the alternating rest, so nothing cancels. Terms fall by about
    ``(3 / (2 pi))**2`` each: 27 reach float64 precision.
    """
    terms = 27 if jnp.finfo(x.dtype).bits > 32 else 12
    p = jnp.ones_like(x)  # P_2
    x_power = x  # x**(m - 1) at m = 2
    total = jnp.zeros_like(x)
    for m in range(2, 2 * terms + 1):
        if m % 2 == 0:
            total = total + float(_LOG_SINHC[m // 2 - 1]) * p
        p = y * p + m * x_power
        x_power = x_power * x
    return d * d * total


def _log_sinhc_far_bregman(x, y, d):
    """The divergence for ``x, y`` of one sign with ``|x|, |y| >= 1``, for ``x > 0``.

    ``log_sinhc(t) = t - log(2t) + g(t)`` with ``g(t) = log1p(-exp(-2t))``: the
    linear part has no divergence, ``-log(t)`` gives ``kl_div_unit(y / x)``
    (``>= 0``), and ``g`` (concave, at most about half of it in size) is
    computed from ``expm1`` of the exact ``d`` when ``|d| <= 1``. The two cancel by
    at most a factor 4 (at ``x = y = 1``).
    """
    main = ratio_kl(y, x, d)
    small = jnp.abs(d) <= 1
    d_s = jnp.where(small, d, 0)
    inverse = jnp.exp(-2 * x) / -jnp.expm1(-2 * x)  # 1 / expm1(2 x), without overflow
    w = -jnp.expm1(-2 * d_s) * inverse
    near_g = log1pmx(w) - _expm1mx(-2 * d_s) * inverse
    far_g = log1p(-jnp.exp(-2 * y)) - log1p(-jnp.exp(-2 * x)) - 2 * d * inverse
    return main + jnp.where(small, near_g, far_g)


def _log_sinhc_tangent_gap(t):
    """``t langevin(t) - log_sinhc(t) >= 0``, the divergence from ``t`` to 0.

    Beyond ``|t| = 2`` written ``log(2|t|) - 1 + 2|t| / expm1(2|t|) -
    log1p(-exp(-2|t|))``, where the textbook form cancels two terms of size ``|t|``.
    """
    u = jnp.abs(t)
    near = u <= _LOG_SINHC_SERIES_TO
    u_near, u_far = jnp.where(near, u, 0), jnp.where(near, 1, u)
    series = u_near * langevin(u_near) - log_sinhc(u_near)
    inverse = jnp.exp(-2 * u_far) / -jnp.expm1(-2 * u_far)
    direct = jnp.log(2 * u_far) - 1 + 2 * u_far * inverse - log1p(-jnp.exp(-2 * u_far))
    return jnp.where(near, series, direct)


@_traced_once
def log_sinhc_bregman(t, d):
    """``log_sinhc(t + d) - log_sinhc(t) - d langevin(t)``, the Bregman divergence of ``log_sinhc``.

    The KL divergence between continuous Bernoullis with logits ``2 t`` and
    ``2 (t + d)`` (their log-partition is ``l / 2 + log_sinhc(l / 2)``). It is
    ``>= 0``, about ``d**2 (1/t**2 - 1/sinh(t)**2) / 2`` for small ``d``, where the
    three terms cancel; near ``t = 0`` (probabilities near 1/2) the textbook
    normaliser is also ``0 / 0``. Three regions, each free of cancellation:

    * ``|t|, |t + d| <= 3/2``: the Taylor series of ``log_sinhc`` (radius ``pi``),
      each power's divergence as ``d**2`` times a polynomial (27 terms);
    * ``t, t + d`` of one sign, both at least 1 in size: ``log_sinhc(t) = |t|
      - log(2|t|) + log1p(-exp(-2|t|))``, each part's divergence from ``d``;
    * otherwise ``|d| >= 1/2``: ``log_sinhc(t + d) - (t + d) langevin(t)`` plus
      ``t langevin(t) - log_sinhc(t) >= 0`` (whose two terms of size ``|t|``
      cancel: it is computed from ``log(2|t|)`` for large ``t``).

    Args:
        t: half the logit of P.
        d: half the difference of the logits, ``(l_q - l_p) / 2``, as accurately
            as the caller can compute it.

    Example:
        >>> from verify._special import log_sinhc_bregman
        >>> float(log_sinhc_bregman(0.0, 1e-6))  # d**2 / 6 at t = 0
        1.6666...e-13
    """
    dtype = _float_dtype(t, d)
    t, d = (jnp.asarray(v, dtype) for v in (t, d))
    t, d = jnp.broadcast_arrays(t, d)
    y = t + d
    series = (jnp.abs(t) <= 1.5) & (jnp.abs(y) <= 1.5)
    far = ~series & (t * y > 0) & (jnp.abs(t) >= 1) & (jnp.abs(y) >= 1)
    zero = jnp.zeros_like(t)
    x_s, y_s, d_s = (jnp.where(series, v, zero) for v in (t, y, d))
    sign = jnp.where(t < 0, -1, 1).astype(dtype)
    x_f = jnp.where(far, sign * t, 1)
    y_f = jnp.where(far, sign * y, 1)
    d_f = jnp.where(far, sign * d, 0)
    direct = log_sinhc(y) - y * langevin(t) + _log_sinhc_tangent_gap(t)
    return jnp.where(
        series,
        _log_sinhc_series_bregman(x_s, y_s, d_s),
        jnp.where(far, _log_sinhc_far_bregman(x_f, y_f, d_f), direct),
    )


__all__ += [
    "binet_bregman",
    "langevin",
    "lgamma_bregman",
    "log_sinhc",
    "log_sinhc_bregman",
    "ratio_kl",
]


def logit(p):
    """``log(p / (1 - p))`` to a few ulp for ``0 <= p <= 1``, also near ``p = 1/2``.

    ``log(p) - log1p(-p)`` subtracts two numbers near ``-log 2`` there (4e-5 relative
    error at ``p = 1/2 + 1e-12``); from ``p = 1/4`` on, ``2 atanh(2p - 1) =
    log1p(2p - 1) - log1p(1 - 2p)``, where ``2p - 1`` is exact (Sterbenz).

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._special import logit
        >>> float(logit(jnp.float32(0.5 + 2**-20))) * 2**20  # 4 * 2**-20: every digit right
        4.0
    """
    p = jnp.asarray(p, _float_dtype(p))
    upper = p >= 0.25
    z = 2 * jnp.where(upper, p, 0.5) - 1
    p_low = jnp.where(upper, 0.125, p)
    return jnp.where(upper, log1p(z) - log1p(-z), jnp.log(p_low) - log1p(-p_low))


def logit_gap(p, q):
    """``logit(q) - logit(p)``, accurate when ``q`` is close to ``p`` (also near 1/2).

    Near: ``2 atanh(r)`` with ``r = (q - p) / (p (1 - q) + q (1 - p))`` from the
    difference ``q - p`` (exact for close arguments); ``|r| > 1/2``:
    ``log(q / p) - log((1 - q) / (1 - p))``, which cannot cancel by much.

    Example:
        >>> from verify._special import logit_gap
        >>> round(float(logit_gap(0.25, 0.25 + 2**-20)) * 2**20, 4)  # 1 / (0.25 * 0.75)
        5.3333
    """
    dtype = _float_dtype(p, q)
    p, q = jnp.asarray(p, dtype), jnp.asarray(q, dtype)
    r = (q - p) / (p * (1 - q) + q * (1 - p))
    near = jnp.abs(r) <= 0.5
    r_n = jnp.where(near, r, 0)
    p_f, q_f = jnp.where(near, 0.25, p), jnp.where(near, 0.75, q)
    far = jnp.log(q_f / p_f) - jnp.log((1 - q_f) / (1 - p_f))
    return jnp.where(near, log1p(r_n) - log1p(-r_n), far)


__all__ += ["logit", "logit_gap"]


# --- discrete: differences of sigmoids and of log-sigmoids, from logits
# Geometric and Binomial forms from logits need q - p and log(q / p) for
# p = sigmoid(a), q = sigmoid(b) without forming p and q (which round to 1, or
# cancel, where a and b are close). With lo = min(a, b), hi = max(a, b) and
# d = hi - lo >= 0 (exact where a and b are close):
#
#     sigmoid(hi) - sigmoid(lo)         = sigmoid(-lo) sigmoid(hi) (-expm1(-d))
#     log sigmoid(hi) - log sigmoid(lo) = log1p(exp(-lo) sigmoid(hi) (-expm1(-d)))
#
# products of factors that are each accurate to an ulp, no subtraction, no
# overflow for exp(-lo) <= 1 / tiny (lo >= log(tiny): a probability that is at
# least the smallest normal number). The sign is that of b - a.


@_custom_jvp
def sigmoid(x):
    """``1 / (1 + exp(-x))``, accurate to an ulp relative to its value (also where tiny),
    and so is its derivative ``sigmoid(x) sigmoid(-x)`` (autodiff's ``e^-x / (1 + e^-x)^2``
    overflows: 0 below -44.4 and NaN below -88.7 in float32, -355 and -709.8 in float64).

    Example:
        >>> float(sigmoid(-80.0))  # exp(-80) / (1 + exp(-80)), float32
        1.80485...e-35
        >>> float(jax.grad(sigmoid)(-80.0))
        1.80485...e-35
    """
    return 1 / (1 + jnp.exp(-x))


@sigmoid.defjvp
def _sigmoid_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    value = sigmoid(x)
    return value, value * sigmoid(-x) * dx


def _sigmoid_gap(a, b):
    """(sign of b - a, exp(-lo), sigmoid(-lo) sigmoid(hi), -expm1(-d)) as described above."""
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    d = jnp.where(lo == hi, jnp.zeros_like(lo), hi - lo)  # 0, not inf - inf, at a = b = inf
    sign = jnp.where(b >= a, jnp.ones_like(lo), -jnp.ones_like(lo))
    return sign, jnp.exp(-lo), sigmoid(-lo) * sigmoid(hi), -jnp.expm1(-d)


@_custom_jvp
def sigmoid_diff(a, b):
    """``sigmoid(b) - sigmoid(a)``, accurate relative to its value (see the block comment).

    Example:
        >>> h = 2**-18  # about h sigmoid'(10) = 1.7317e-10 (float32: 1 - sigmoid(10) rounds)
        >>> float(sigmoid_diff(10.0, 10.0 + h))
        1.73170...e-10
    """
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    sign, _, product, gap = _sigmoid_gap(a, b)
    return sign * product * gap


@sigmoid_diff.defjvp
def _sigmoid_diff_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    slope_a, slope_b = sigmoid(a) * sigmoid(-a), sigmoid(b) * sigmoid(-b)
    return sigmoid_diff(a, b), slope_b * db - slope_a * da


@_custom_jvp
def log_sigmoid_diff(a, b):
    """``log(sigmoid(b)) - log(sigmoid(a))``, accurate where ``a`` and ``b`` are close.

    Finite for ``a, b >= log(tiny)`` (and ``+inf``); see the block comment.

    Example:
        >>> h = 2**-18  # about h sigmoid(-10) = 1.7318e-10
        >>> float(log_sigmoid_diff(10.0, 10.0 + h))
        1.73178...e-10
    """
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    sign, exp_lo, _, gap = _sigmoid_gap(a, b)
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    # exp(-lo) sigmoid(hi) = 0 at lo = +inf (then hi = +inf too, d = 0).
    ratio = jnp.where(exp_lo == 0, jnp.zeros_like(lo), exp_lo * sigmoid(hi))
    return sign * log1p(ratio * gap)


@log_sigmoid_diff.defjvp
def _log_sigmoid_diff_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    dtype = _float_dtype(a, b)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    return log_sigmoid_diff(a, b), sigmoid(-b) * db - sigmoid(-a) * da


# --- discrete: the entropy of a Poisson distribution
# H(l) = -sum_k p_k log p_k has no closed form (it contains E[log K!]); every term
# is >= 0. Three regimes:
# * l < 1: the first 40 terms (the rest is below 1e-48 of the sum), with
#   p_k = e^-l l^k / k! as a running product: exact to a few ulps even where
#   log p_k is -690 (l = 1e-300), where exp(log p_k) would lose 1e-13;
# * 1 <= l < 1000: a window of k around l, 13 standard deviations on each side
#   (tail masses below e^-78), with Loader's log p_k = -kl_div(k, l) -
#   log(2 pi k) / 2 - stirlerr(k): no cancellation between k log l and log k!
#   (both about l log l); the window is the smallest of 32, 128 or 832 terms that
#   holds every element of the batch (26 sd + 2 terms at most);
# * l >= 1000: the asymptotic series 1/2 log(2 pi e l) - 1/(12 l) - 1/(24 l^2)
#   - 19/(360 l^3), whose next term is about 0.11 / l^4 (relative error below
#   2.5e-14 at l = 1000).
_POISSON_ASYMPTOTIC = 1000.0
_POISSON_SMALL_TERMS = 40
_HALF_LOG_2PIE = 1.4189385332046727418  # log(2 pi e) / 2


_STIRLING_SERIES_FROM = 16


@functools.cache
def _stirlerr_table():
    """``stirlerr(k)`` for k = 0, ..., 15, by mpmath at 40 digits (0 at k = 0: unused)."""
    import mpmath  # noqa: PLC0415 (a SymPy dependency; needed only here, once)

    with mpmath.workdps(40):
        return np.array(
            [0.0]
            + [
                float(
                    mpmath.loggamma(k + 1)
                    - (k * mpmath.log(k) - k + mpmath.log(2 * mpmath.pi * k) / 2)
                )
                for k in range(1, _STIRLING_SERIES_FROM)
            ]
        )


def _stirlerr(k):
    """``log k! - (k log k - k + log(2 pi k) / 2)`` for integers ``k >= 1`` (and reals from 16).

    Below 16 a table (a gather: ``gammaln`` there was most of a Poisson entropy's time).
    """
    big = k >= _STIRLING_SERIES_FROM
    kb = jnp.where(big, k, jnp.full_like(k, _STIRLING_SERIES_FROM))
    series = _stirling_series(kb, 0, _STIRLING_SERIES_FROM)
    index = jnp.clip(k, 0, _STIRLING_SERIES_FROM - 1).astype(jnp.int32)
    direct = jnp.asarray(_stirlerr_table(), k.dtype)[index]
    return jnp.where(big, series, direct)


def _minus_p_log_p(p, log_p):
    return jnp.where(p > 0, p * -log_p, jnp.zeros_like(p))


def _running_products(first, factor, size=_POISSON_SMALL_TERMS):
    """``[first, first * factor(1), ..., first * factor(1) ... factor(size - 1)]`` on a new
    last axis.

    A loop of multiplications (each term to a few ulps); ``jnp.cumprod``'s
    gradient compiles an associative scan several times slower.
    """

    def step(term, j):
        term = term * factor(j)
        return term, term

    j = jnp.arange(1, size, dtype=first.dtype)
    _, rest = jax.lax.scan(step, first, j)
    return jnp.concatenate([first[..., None], jnp.moveaxis(rest, 0, -1)], axis=-1)


def in_regime(condition, form, args, harmless, otherwise, event=False):
    """``form(*args)`` where ``condition`` holds, else ``otherwise``; computed only if some
    element needs it.

    Elsewhere each argument is replaced by its ``harmless`` value (no NaN from a form
    not taken reaches a gradient). ``event``: the arguments have an event axis that
    ``condition`` has not. Under ``jit`` the test is a ``lax.cond`` on the data, so a batch
    that has no element in the regime skips its work; under ``vmap`` too, on the whole
    batch (:func:`some`); called eagerly, a Python ``if`` (:func:`_branch`).

    Example:
        >>> x = jnp.array([4.0, -1.0])
        >>> in_regime(x > 0, jnp.sqrt, (x,), (1.0,), jnp.zeros(2)).tolist()
        [2.0, 0.0]
    """
    condition = jnp.asarray(condition)
    mask = condition[..., None] if event else condition
    otherwise = jnp.asarray(otherwise)

    def taken():  # the safe arguments inside the branch: nothing to do in the other
        safe = [jnp.where(mask, a, h) for a, h in zip(args, harmless)]
        return jnp.where(condition, form(*safe), otherwise).astype(otherwise.dtype)

    return _branch(some(condition), taken, lambda: otherwise)


_WINDOW_SIZES = (8, 32, 128, 832)  # the last holds 13 sd each side for v < 1000


def _sized_window(terms, window_sum, sizes=_WINDOW_SIZES):
    """``window_sum(size)`` with the smallest of ``sizes`` that holds every element's
    ``terms`` (the number of terms its window needs; NaN counts as none).

    The sizes are static (one compiled branch each, a ``lax.switch`` picks one from the
    data), so a batch of narrow distributions does not pay for the widest window; under
    ``vmap``, the whole batch (:func:`largest`: a per-member index would run every size).
    """
    tiers = sum((terms > size).astype(jnp.int32) for size in sizes[:-1])
    tier = largest(tiers)
    return _switch(tier, [functools.partial(window_sum, size) for size in sizes])


def _poisson_entropy_small(rate):
    lam = rate[..., None]
    k = jnp.arange(_POISSON_SMALL_TERMS, dtype=rate.dtype)
    p = _running_products(jnp.exp(-rate), lambda j: rate / j)
    log_factorial = jnp.where(k < 2, jnp.zeros_like(k), jss.gammaln(k + 1))  # 0! = 1! = 1 exactly
    log_p = k * jnp.log(lam) - lam - log_factorial
    return jnp.sum(_minus_p_log_p(p, log_p), axis=-1)


def _poisson_entropy_window(rate, size):
    start = jnp.maximum(jnp.floor(rate - 13 * jnp.sqrt(rate)), 0)
    k = start[..., None] + jnp.arange(size, dtype=rate.dtype)
    lam = rate[..., None]
    positive = k >= 1
    kp = jnp.where(positive, k, jnp.ones_like(k))
    log_p = -kl_div_delta(lam, kp - lam) - jnp.log(2 * jnp.pi * kp) / 2 - _stirlerr(kp)
    log_p = jnp.where(positive, log_p, -lam)  # log p_0 = -l
    return jnp.sum(_minus_p_log_p(jnp.exp(log_p), log_p), axis=-1)


def _poisson_entropy_windowed(rate):
    # the window's bounds hold at most 26 sd + 2 terms, and, where the lower one is clipped
    # at 0, at most rate + 13 sd + 1 (31 at rate 4: the 32-term window)
    sd = jnp.sqrt(rate)
    terms = jnp.minimum(26 * sd + 2, rate + 13 * sd + 1)
    return _sized_window(terms, functools.partial(_poisson_entropy_window, rate), _WINDOW_SIZES[1:])


def _poisson_entropy_asymptotic(rate):
    inv = 1 / rate
    return (jnp.log(rate) / 2 + _HALF_LOG_2PIE) - inv * (1 / 12 + inv * (1 / 24 + inv * (19 / 360)))


@_traced_once
def poisson_entropy(rate):
    """Entropy of a Poisson distribution with mean ``rate > 0``, in nats (see the block comment).

    Example:
        >>> round(float(poisson_entropy(1.0)), 6), round(float(poisson_entropy(1e6)), 6)
        (1.304842, 8.326694)
    """
    rate = jnp.asarray(rate, _float_dtype(rate))
    small, large = rate < 1, rate >= _POISSON_ASYMPTOTIC
    value = _poisson_entropy_asymptotic(jnp.where(large, rate, 2 * _POISSON_ASYMPTOTIC))
    value = in_regime(small, _poisson_entropy_small, (rate,), (0.5,), value)
    value = in_regime(~(small | large), _poisson_entropy_windowed, (rate,), (1.0,), value)
    return jnp.where(jnp.isnan(rate), jnp.nan, value)  # the window counts it as 0


# --- discrete: the entropy of a binomial distribution
# H(n, p) = -sum_k p_k log p_k (no closed form: it contains E[log C(n, K)]); it is
# symmetric in p and 1 - p, so r = min(p, 1 - p) and v = n r (1 - r). Three regimes:
# * n r < 1: the first 40 terms (8 where every n < 8) by running products
#   p_{k+1} = p_k (n - k) r / ((k + 1) (1 - r)) from p_0 = (1 - r)^n (exact where log p_k
#   is -690);
# * v < 1000: a window of k around n r (13 standard deviations each side: 8, 32, 128
#   or 832 terms, the smallest that holds every element of the batch), with
#   Loader's log p_k = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - kl_div(k, n r)
#   - kl_div(n - k, n (1 - r)) - log(2 pi k (n - k) / n) / 2;
# * v >= 1000: the same log p_x at real x (all >= 16: the stirlerr series holds), the
#   sum replaced by its integral (they differ by about exp(-2 pi^2 v)), by the
#   trapezoid rule with step sd / 8 over 13 sd each side (error about exp(-2 pi^2 64)).
# A regime that no element of the batch is in is skipped (lax.cond; under vmap, no
# element of the whole batch: some), for the Poisson entropy too.
_BINOMIAL_WIDE = 1000.0
_BINOMIAL_NODES = 8 * 13  # trapezoid nodes on each side of the mean


def _stirlerr_any(x):
    """``_stirlerr`` at integers from 0 (0 at k = 0: 0! = 1 = the empty Stirling product)."""
    positive = x >= 1
    return jnp.where(positive, _stirlerr(jnp.where(positive, x, jnp.ones_like(x))), 0)


def _binomial_log_p(n, r, k):
    """Loader's log-probability of ``k`` (integer or real, ``0 <= k <= n``) in Binomial(n, r)."""
    q = 1 - r
    inner = (k >= 1) & (k <= n - 1)
    ki = jnp.where(inner, k, jnp.ones_like(k))
    ni = jnp.where(inner, n, jnp.full_like(n, 2.0))
    log_p = (
        _stirlerr_any(ni)
        - _stirlerr_any(ki)
        - _stirlerr_any(ni - ki)
        - kl_div_delta(ni * r, ki - ni * r)
        - kl_div_delta(ni * q, (ni - ki) - ni * q)
        - jnp.log(2 * jnp.pi * ki * ((ni - ki) / ni)) / 2
    )
    at_zero = n * log1p(-r)  # (1 - r)^n
    at_n = n * jnp.log(r)  # r^n (r <= 1/2)
    return jnp.where(inner, log_p, jnp.where(k == 0, at_zero, at_n))


def _binomial_entropy_small(n, r):
    # 40 terms, or n + 1 where that is fewer: the terms beyond n vanish
    return _sized_window(
        n + 1, functools.partial(_binomial_entropy_first, n, r), (8, _POISSON_SMALL_TERMS)
    )


def _binomial_entropy_first(n, r, size):
    """The sum over the first ``size`` terms (``n r < 1``: the rest is negligible)."""
    k = jnp.arange(size, dtype=r.dtype)
    nn, rr = n[..., None], r[..., None]
    odds = r / (1 - r)
    # (n - j + 1) is 0 at j = n + 1: the terms beyond n vanish
    p = _running_products(
        jnp.exp(n * log1p(-r)), lambda j: jnp.maximum(n - j + 1, 0) / j * odds, size
    )
    log_p = _binomial_log_p(nn, rr, jnp.minimum(k, nn))
    return jnp.sum(_minus_p_log_p(p, log_p), axis=-1)


def _binomial_entropy_window(n, r, size):
    sd = jnp.sqrt(n * r * (1 - r))
    start = jnp.maximum(jnp.floor(n * r - 13 * sd), 0)
    k = start[..., None] + jnp.arange(size, dtype=r.dtype)
    nn, rr = n[..., None], r[..., None]
    inside = k <= nn
    log_p = _binomial_log_p(nn, rr, jnp.minimum(k, nn))
    terms = _minus_p_log_p(jnp.exp(log_p), log_p)
    return jnp.sum(jnp.where(inside, terms, 0), axis=-1)


def _binomial_entropy_windowed(n, r):
    # the window's bounds hold at most 26 sd + 2 terms, where the lower one is clipped at 0
    # at most n r + 13 sd + 1, and never more than n + 1
    sd = jnp.sqrt(n * r * (1 - r))
    terms = jnp.minimum(jnp.minimum(26 * sd + 2, n * r + 13 * sd + 1), n + 1)
    return _sized_window(terms, functools.partial(_binomial_entropy_window, n, r))


def _binomial_entropy_wide(n, r):
    sd = jnp.sqrt(n * r * (1 - r))
    step = sd / 8
    j = jnp.arange(-_BINOMIAL_NODES, _BINOMIAL_NODES + 1, dtype=r.dtype)
    x = (n * r)[..., None] + step[..., None] * j
    log_p = _binomial_log_p(n[..., None], r[..., None], x)
    return step * jnp.sum(_minus_p_log_p(jnp.exp(log_p), log_p), axis=-1)


@_traced_once
def binomial_entropy(total_count, probs, complement, log_smaller=None):
    """Entropy of Binomial(total_count, probs), in nats (see the block comment).

    ``total_count`` holds integers ``>= 0``, ``probs`` values in [0, 1], and
    ``complement`` is ``1 - probs`` as accurately as the caller has it
    (``sigmoid(-logits)`` where ``probs`` rounds to 1): the entropy is computed
    from the smaller of the two, ``r``. ``log_smaller``: ``log r``, where the caller
    has it (from logits, ``log_sigmoid(-|logits|)``): an ``r`` below the normal range,
    which XLA:CPU reads as 0, then still counts (:func:`_binomial_entropy_below_normal`).

    Example:
        >>> round(float(binomial_entropy(10.0, 0.3, 0.7)), 6)
        1.779079
        >>> r = jnp.exp(jnp.float32(-88.0))  # below float32's normal range: read as 0
        >>> float(binomial_entropy(5.0, r, 1 - r, jnp.float32(-88.0)))  # 5 r (89 - log 5)
        2.6...e-36
    """
    dtype = _float_dtype(total_count, probs, complement)
    n, p, q = jnp.broadcast_arrays(
        *(jnp.asarray(x, dtype) for x in (total_count, probs, complement))
    )
    r = jnp.minimum(p, q)
    variance = n * r * (1 - r)
    live = (n > 0) & (r > 0)  # else 0: a point mass (no NaN from the regimes' logarithms)
    small, wide = live & (n * r < 1), variance >= _BINOMIAL_WIDE
    value = in_regime(small, _binomial_entropy_small, (n, r), (1.0, 0.25), jnp.zeros_like(n))
    value = in_regime(wide, _binomial_entropy_wide, (n, r), (1e4, 0.25), value)
    windowed = live & ~(small | wide)
    value = in_regime(windowed, _binomial_entropy_windowed, (n, r), (4.0, 0.25), value)
    value = jnp.where(jnp.isnan(n) | jnp.isnan(r), jnp.nan, value)  # the window counts it as 0
    if log_smaller is None:
        return value
    log_r = jnp.broadcast_to(jnp.asarray(log_smaller, dtype), n.shape)
    below = (n > 0) & (log_r < math.log(jnp.finfo(dtype).tiny)) & (log_r > -jnp.inf)
    return in_regime(below, _binomial_entropy_below_normal, (n, log_r), (1.0, -1.0), value)


def _binomial_entropy_below_normal(n, log_r):
    """The entropy where ``r`` is below the normal range (``n >= 1``), from ``log r``.

    That binomial is Poisson(``lambda = n r``) to far below any rounding: the ratio of
    their probabilities at ``k`` is ``prod_{j<k} (1 - j / n) (1 - r)^(n - k) e^(n r)``,
    ``1 + O(k^2 / n + lambda r)``, and the terms that count have ``k <= lambda + 13 sd``, so
    ``k^2 / n = O(lambda r + r)`` with ``r < 2.3e-308`` (float64) or ``1.2e-38`` (float32).
    :func:`poisson_entropy` of ``lambda = e^(log n + log r)``; where ``lambda`` is below
    ``eps^2`` (it may itself be below the normal range, the entropy not), its first two
    terms to first order, ``-p_0 log p_0 - p_1 log p_1 = lambda (1 - log lambda) +
    O(lambda^2 log lambda)``, as ``e^(log lambda + log(1 - log lambda))``."""
    log_n = jnp.log(n)
    tiny = log_n + log_r < 2 * math.log(jnp.finfo(log_r.dtype).eps)
    first_order = _first_two_terms(jnp.where(tiny, log_r, -1), jnp.where(tiny, log_n, 0))
    poisson = poisson_entropy(_exp_sum(log_r, jnp.where(tiny, -log_r, log_n)))
    return jnp.where(tiny, first_order, poisson)


@_custom_jvp
def _first_two_terms(log_r, log_n):
    """``lambda (1 - log lambda)``, ``lambda = e^(log r + log n) < 1``; its derivative in
    ``log lambda``, ``-lambda log lambda``, from that product (autodiff's sum of two
    products loses the second where it is below the normal range: 1 % at ``n = 1``,
    ``log r = -88`` in float32)."""
    return _exp_sum(log_r, log_n + jnp.log(1 - (log_r + log_n)))


@_first_two_terms.defjvp
def _first_two_terms_jvp(primals, tangents):
    (log_r, log_n), (d_log_r, d_log_n) = primals, tangents
    slope = _exp_sum(log_r, log_n + jnp.log(-(log_r + log_n)))
    return _first_two_terms(log_r, log_n), slope * (d_log_r + d_log_n)


def _exp_sum(x, y):
    """``exp(x + y)``, the rounding of the sum carried (:func:`_two_difference`): ``exp``
    turns an absolute error of its argument into a relative one, ``|x| eps / 2`` (4e-6 at
    ``x = -88`` in float32) where the sum is rounded first."""
    total, rounding = _two_difference(x, -y)
    return jnp.exp(total) * (1 + rounding)

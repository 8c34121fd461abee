"""Terms ``exp(d) x`` whose weight ``exp(d)`` is below the normal range (XLA:CPU flushes it).

XLA:CPU computes with subnormal numbers flushed to 0: ``exp(d)`` is 0 below
``d = log(tiny)`` (-87.3 in float32, -708.4 in float64), where it would be
subnormal, and below where even that would underflow. A probability that small
still counts where it meets a large factor: the float32 logits ``a = [0, -88]``
and ``b = [0, -3e38]`` have ``KL = p_1 (b_0 - b_1 - ...) = 1.82``, all of it from
``p_1 = exp(-88)``; and ``[0, -88]`` has entropy ``5.4e-37``, a normal number
made of ``p_1`` and ``p_1 log p_1``. The logits forms of
:mod:`verify._special` take such terms from :func:`product`, in the calls that
have a weight below the normal range (:func:`underflows`), and the rows of a
value near the bottom of the range from sums scaled by ``e**c``
(:func:`scaled_exp`).

Example:
    >>> import jax.numpy as jnp
    >>> d, x = jnp.float32(-88.0), jnp.float32(-3e38)
    >>> float(jnp.exp(d) * x), round(float(product(d, x)), 4)
    (-0.0, -1.8164)
"""

from __future__ import annotations

import math

import jax.numpy as jnp


def log_tiny(dtype) -> float:
    """``log`` of the smallest normal number of ``dtype``: ``exp`` below it is flushed."""
    return math.log(float(jnp.finfo(dtype).tiny))


def shift(dtype) -> int:
    """The power of two ``c`` by which :func:`scaled_exp` lifts the weights: half the
    exponent range (64 in float32, 512 in float64), so that ``e**c`` times a
    weight of at most 1, times a factor of at most the largest number, stays finite."""
    return jnp.finfo(dtype).maxexp // 2


def scaled_exp(d):
    """``exp(d) e**c`` (``c = shift(dtype)``), for ``d <= 0``, normal down to ``d = log(tiny) - c``.

    ``d + c`` is exact where ``d <= -c / 2`` (``c`` a power of two that is at most
    ``2 |d|``): there the weight is ``exp(d + c)``; above, ``exp(d)``, normal, times
    ``e**c`` rounded (half an ulp).

    Example:
        >>> import jax.numpy as jnp
        >>> float(scaled_exp(jnp.float32(-100.0)))  # exp(-100) e**64
        2.3195...e-16
    """
    c = shift(d.dtype)
    low = d <= -c / 2
    return jnp.exp(jnp.where(low, d + c, d)) * jnp.where(low, 1, math.exp(c))


def product(d, x, weight=None, scaled=False):
    """``exp(d) x`` (``weight``: ``exp(d)`` where the caller has it), also where ``exp(d)``
    is below the normal range and ``exp(d) x`` is not; ``scaled``: times ``e**c``, for the
    sums of a row whose value is near the bottom of the range (its terms bounded: no
    overflow).

    Three tiers: ``weight x`` above ``log(tiny)``; ``(scaled_exp(d) x) e**-c`` down to
    ``log(tiny) - c`` (a few ulp); below, ``sign(x) exp(d + log|x|)`` (its argument
    rounded at the size of ``d``: about ``|d| eps / 2`` relative, where the term is
    the product of a probability below ``e**-c`` and a factor above ``e**c``, ``10**27``
    in float32). A term that is itself subnormal is 0 (unless ``scaled``). ``d = -inf``
    with an infinite ``x`` is NaN: mask it.

    Example:
        >>> import jax.numpy as jnp
        >>> float(product(jnp.float32(-200.0), jnp.float32(3e38)))  # 1.4e-87 * 3e38
        0.0
        >>> float(product(jnp.float32(-150.0), jnp.float32(3e38)))
        2.1...e-27
    """
    weight = jnp.exp(d) if weight is None else weight
    low = log_tiny(d.dtype)
    c = shift(d.dtype)
    below = d < low
    middle_tier = d >= low - c
    u = jnp.where(below & middle_tier, d, -c)  # exact d + c; above, a harmless value
    middle = jnp.exp(u + c) * x
    v = jnp.where(below & ~middle_tier, d, 0)
    deep = jnp.sign(x) * jnp.exp((v + jnp.log(jnp.abs(x))) + (c if scaled else 0))
    above = weight * x * math.exp(c) if scaled else weight * x
    middle = middle if scaled else middle * math.exp(-c)
    return jnp.where(below, jnp.where(middle_tier, middle, deep), above)


def underflows(top, bottom):
    """Rows of logits whose maxima are ``top`` and minima over the finite logits
    ``bottom`` (:func:`verify._special._extremes`) with a weight ``exp(x - top)`` below
    the normal range.

    Example:
        >>> import jax.numpy as jnp
        >>> top, bottom = jnp.float32([[0.0], [0.0]]), jnp.float32([[-88.0], [jnp.inf]])
        >>> underflows(top, bottom).tolist()  # e**-88 is subnormal in float32
        [[True], [False]]
    """
    return (bottom < jnp.inf) & (bottom - top < log_tiny(bottom.dtype))


def tiny(value):
    """Rows whose value (non-negative) may have lost terms flushed to 0: below
    ``tiny 2**(nmant + 48)`` of the working dtype (``2**-55`` in float32), where
    ``V (1 + |log tiny|) tiny``, a bound on what the flushed terms of ``V < 2**30``
    classes carry, is below ``eps / 2**8`` of it (``eps / 2**11`` in float32). Above,
    they change nothing."""
    info = jnp.finfo(value.dtype)
    return value < float(info.tiny) * 2.0 ** (info.nmant + 48)

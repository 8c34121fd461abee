"""Checks of concrete parameter values, with errors that name the parameter.

Checks run only on concrete values. Inside ``jax.jit``, ``jax.vmap`` or
``jax.grad`` the values are tracers and cannot be inspected without a host
round trip, so they are skipped there: an invalid parameter then flows into the
formulas and typically yields ``nan`` (see the README, "Bad input").
"""

from __future__ import annotations

import decimal
import warnings

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "as_float_arrays",
    "is_concrete",
    "check_finite",
    "check_positive",
    "check_unit_interval",
    "check_simplex",
    "check_exactly_one",
    "check_batch_shapes",
    "sample_shape",
]


def is_concrete(*values) -> bool:
    """True when no value is a JAX tracer, so that its entries can be read."""
    return not any(isinstance(v, jax.core.Tracer) for v in values)


def as_float_arrays(*, validate_args=True, **named):
    """Converts parameters to JAX arrays of one common floating dtype.

    Python scalars take no part in choosing the dtype (as in JAX's own weak
    typing), so ``Normal(np.float32(0), 1.0)`` stays float32. Integer inputs
    become the default float dtype. Every floating dtype JAX has works,
    ``float16`` and ``bfloat16`` included.

    Args:
        validate_args: also check, on concrete values, that no finite value
            overflows or underflows to zero in the common dtype (the error then
            quotes the value given, not its cast).
        **named: the parameters, by name.

    Returns:
        A tuple of arrays, in the order of the keyword arguments.

    Raises:
        TypeError: a parameter that is not an array of real numbers (``None``,
            strings, complex numbers, ragged nested lists).
        ValueError: a number that does not fit the dtype (``10**400``), or, with
            ``validate_args``, a value that the common dtype turns into ``inf`` or ``0``.

    Example:
        >>> import numpy as np
        >>> as_float_arrays(loc=np.float32(0), scale=1e308)
        Traceback (most recent call last):
        ...
        ValueError: `scale` = 1e+308 overflows float32 (largest finite value 3.403e+38)
    """
    converted = [_as_array(name, value) for name, value in named.items()]
    arrays = [array for array, _ in converted]
    strong = [a.dtype for a in arrays if not getattr(a, "weak_type", False)]
    floats = [d for d in strong if jnp.issubdtype(d, jnp.floating)]
    dtype = np.result_type(*floats) if floats else jnp.asarray(1.0).dtype
    cast = tuple(a.astype(dtype) for a in arrays)
    if validate_args:
        for name, (_, given), result in zip(named, converted, cast):
            if is_concrete(given, result):
                _check_cast(name, given, result)
    return cast


def _as_array(name, value):
    """(JAX array, the value as given: a NumPy array or the JAX array itself)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of numbers, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)  # a weak float, as JAX makes of an int parameter
        except OverflowError:
            raise ValueError(
                f"`{name}` must be within the range of float64 (|x| <= 1.798e+308), "
                f"got {_quote(value)}"
            ) from None
    given = value
    if not isinstance(value, (jax.Array, float)):
        try:
            given = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"`{name}` must be an array of numbers (nested lists of equal lengths), "
                f"got {_quote(value)}"
            ) from error
        if given.dtype == object:
            raise TypeError(f"`{name}` must be an array of numbers, got {_quote(value)}")
    with warnings.catch_warnings():
        # Without x64, JAX narrows float64 input with a RuntimeWarning on overflow;
        # _check_cast reports it, quoting the value given.
        warnings.simplefilter("ignore", RuntimeWarning)
        array = jnp.asarray(value if isinstance(value, (jax.Array, float)) else given)
    if not (jnp.issubdtype(array.dtype, jnp.number) or array.dtype == bool):
        raise TypeError(f"`{name}` must be an array of numbers, got dtype {array.dtype}")
    if jnp.issubdtype(array.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be real, got dtype {array.dtype}")
    return array, given


def _quote(value, limit=80):
    """``repr(value)``, shortened: huge integers in scientific notation, long reprs cut."""
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"{decimal.Decimal(value):.6e}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_cast(name, given, result):
    before, after = np.asarray(given), np.asarray(result)
    overflow = np.isfinite(before) & ~np.isfinite(after)
    underflow = (before != 0) & (after == 0)
    for bad, what in ((overflow, "overflows"), (underflow, "underflows to 0 in")):
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            where = f" at index {index}" if index else ""
            finfo = jnp.finfo(after.dtype)
            limit = (
                f"largest finite value {float(finfo.max):.4g}"
                if what == "overflows"
                else f"smallest positive value {float(finfo.smallest_subnormal):.4g}"
            )
            raise ValueError(
                f"`{name}` = {before[index].item()!r}{where} {what} {after.dtype} ({limit})"
            )


def _describe(name, array, bad, expected):
    array = np.asarray(array)
    bad = np.asarray(bad)
    if array.ndim == 0:
        return f"`{name}` must be {expected}, got {array.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    more = f" ({count} entries fail)" if count > 1 else ""
    return f"`{name}` must be {expected}, got {array[index].item()!r} at index {index}{more}"


def _check(name, array, ok, expected, note=""):
    bad = ~np.asarray(ok)
    if bad.any():
        raise ValueError(_describe(name, array, bad, expected) + (f": {note}" if note else ""))


def check_finite(name, array):
    """Raises ``ValueError`` if any entry is nan or infinite."""
    _check(name, array, np.isfinite(np.asarray(array)), "finite")


def check_positive(name, array):
    """Raises ``ValueError`` unless every entry is finite and > 0."""
    check_finite(name, array)
    _check(name, array, np.asarray(array) > 0, "> 0")


def check_unit_interval(name, array):
    """Raises ``ValueError`` unless every entry lies in [0, 1]."""
    values = np.asarray(array)
    _check(name, array, (values >= 0) & (values <= 1), "in [0, 1]")


def check_not_subnormal(name, array):
    """Raises ``ValueError`` if an entry is subnormal (nonzero, below the smallest normal number).

    XLA on CPU reads subnormal numbers as 0, so such a probability would silently act
    as an impossible outcome (a KL of ``inf`` where the exact one is finite).

    Example:
        >>> check_not_subnormal("probs", np.float32([0.5, 1e-40]))
        Traceback (most recent call last):
        ValueError: `probs` must be 0 or at least the smallest normal float32 (1.175e-38), got ...
    """
    values = np.asarray(array)
    tiny = jnp.finfo(values.dtype).tiny
    _check(
        name,
        values,
        (values == 0) | ~(np.abs(values) < tiny),
        f"0 or at least the smallest normal {values.dtype} ({float(tiny):.4g})",
        note="XLA on CPU reads subnormal numbers as 0; give the distribution by `logits` "
        "(log-probabilities) instead",
    )


def simplex_tolerance(dtype, num_classes):
    """Tolerance on ``|sum(probs) - 1|``: ``max(1e-6, 4 * K * eps(dtype))``."""
    return max(1e-6, 4 * num_classes * float(jnp.finfo(dtype).eps))


def check_simplex(name, array):
    """Raises ``ValueError`` unless entries are in [0, 1] and sum to 1 along the last axis."""
    check_unit_interval(name, array)
    values = np.asarray(array)
    tolerance = simplex_tolerance(values.dtype, values.shape[-1])
    sums = values.sum(axis=-1, dtype=np.float64)
    bad = np.abs(sums - 1) > tolerance
    if bad.any():
        where = (
            ""
            if sums.ndim == 0
            else f" at batch index {tuple(int(i) for i in np.argwhere(bad)[0])}"
        )
        total = sums if sums.ndim == 0 else sums[tuple(np.argwhere(bad)[0])]
        raise ValueError(
            f"`{name}` must sum to 1 along the last axis (|sum - 1| <= {tolerance:.3g}), "
            f"got sum {float(total)!r}{where}"
        )


def check_exactly_one(**named):
    """Raises ``ValueError`` unless exactly one of the keyword arguments is not None."""
    given = [name for name, value in named.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(f"`{n}`" for n in named)
        got = "neither" if not given else "both " + " and ".join(f"`{n}`" for n in given)
        raise ValueError(f"pass exactly one of {names}, got {got}")


def check_batch_shapes(**named_shapes):
    """Raises ``ValueError`` unless the given batch shapes broadcast together."""
    try:
        return jnp.broadcast_shapes(*named_shapes.values())
    except ValueError:
        shapes = ", ".join(f"`{n}` {tuple(s)}" for n, s in named_shapes.items())
        raise ValueError(f"batch shapes do not broadcast: {shapes}") from None


def sample_shape(value) -> tuple[int, ...]:
    """``value`` as a tuple of integers >= 0, the leading axes of a draw of samples.

    Raises:
        ValueError: ``value`` is not an integer or a sequence of integers >= 0.

    Example:
        >>> sample_shape(3), sample_shape([2, 5])
        ((3,), (2, 5))
    """
    shape = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(f"`sample_shape` must be a tuple of integers >= 0, got {value!r}")
    return tuple(int(n) for n in shape)

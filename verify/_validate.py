"""Checks of concrete parameter values, with errors that name the parameter.

Checks run only on concrete values. Inside ``jax.jit``, ``jax.vmap`` or
``jax.grad`` the values are tracers and cannot be inspected without a host
round trip, so they are skipped there: an invalid parameter then flows into the
formulas and typically yields ``nan`` (see the README, "Bad input").
"""

from __future__ import annotations

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
]


def is_concrete(*values) -> bool:
    """True when no value is a JAX tracer, so that its entries can be read."""
    return not any(isinstance(v, jax.core.Tracer) for v in values)


def as_float_arrays(**named):
    """Converts parameters to JAX arrays of one common floating dtype.

    Python scalars take no part in choosing the dtype (as in JAX's own weak
    typing), so ``Normal(np.float32(0), 1.0)`` stays float32. Integer inputs
    become the default float dtype.

    Returns:
        A tuple of arrays, in the order of the keyword arguments.
    """
    arrays = []
    for name, value in named.items():
        try:
            array = jnp.asarray(value)
        except TypeError as error:
            raise TypeError(f"`{name}` must be an array of numbers, got {value!r}") from error
        if not (jnp.issubdtype(array.dtype, jnp.number) or array.dtype == bool):
            raise TypeError(f"`{name}` must be an array of numbers, got dtype {array.dtype}")
        if jnp.issubdtype(array.dtype, jnp.complexfloating):
            raise TypeError(f"`{name}` must be real, got dtype {array.dtype}")
        arrays.append(array)
    strong = [a.dtype for a in arrays if not getattr(a, "weak_type", False)]
    floats = [d for d in strong if jnp.issubdtype(d, jnp.floating)]
    dtype = np.result_type(*floats) if floats else jnp.asarray(1.0).dtype
    return tuple(a.astype(dtype) for a in arrays)


def _describe(name, array, bad, expected):
    array = np.asarray(array)
    bad = np.asarray(bad)
    if array.ndim == 0:
        return f"`{name}` must be {expected}, got {array.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    more = f" ({count} entries fail)" if count > 1 else ""
    return f"`{name}` must be {expected}, got {array[index].item()!r} at index {index}{more}"


def _check(name, array, ok, expected):
    bad = ~np.asarray(ok)
    if bad.any():
        raise ValueError(_describe(name, array, bad, expected))


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


def simplex_tolerance(dtype, num_classes):
    """Tolerance on ``|sum(probs) - 1|``: ``max(1e-6, 4 * K * eps(dtype))``."""
    return max(1e-6, 4 * num_classes * float(np.finfo(dtype).eps))


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

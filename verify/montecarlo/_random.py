"""Random parameter settings of a family, for checks over many distributions."""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from verify.families import FAMILIES, Distribution
from verify.montecarlo import _estimate

__all__ = ["random_distribution"]


def random_distribution(family, key, batch_shape=(), **dims) -> Distribution:
    """A batch of distributions of ``family`` with random, moderate parameters, in float64.

    The parameters are the family's ``random_params(..., spread="moderate")``:
    ranges that keep every quantity finite and every log-ratio light-tailed
    enough for Monte Carlo (e.g. Normal ``loc ~ U(-2, 2)``, ``scale``
    log-uniform on [0.5, 2]; Categorical probabilities an even mix of a flat
    Dirichlet draw and the uniform distribution).

    Args:
        family: a family class, e.g. ``verify.Normal`` (any of ``verify.FAMILIES``).
        key: a JAX random key.
        batch_shape: the batch shape of the result.
        **dims: sizes the family takes (``dim`` of a MultivariateNormal,
            ``num_classes`` of a Categorical); default: the family's.

    Returns:
        A distribution with that batch shape.

    Example:
        >>> import jax, verify
        >>> from verify import montecarlo
        >>> p = montecarlo.random_distribution(verify.Normal, jax.random.key(0), (5,))
        >>> p.batch_shape, str(p.dtype)
        ((5,), 'float64')
    """
    batch_shape = _check_batch_shape(batch_shape)
    if not (isinstance(family, type) and family in FAMILIES.values()):
        names = ", ".join(f"verify.{cls.__name__}" for cls in FAMILIES.values())
        raise ValueError(f"`family` must be one of {names}, got {family!r}")
    for name, value in dims.items():
        dim = family.dims.get(name)
        if dim is None:
            raise TypeError(
                f"{family.__name__} takes no size `{name}`; sizes: {sorted(family.dims)}"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"`{name}` must be an integer >= {dim.least}, got {value!r}")
        if value < dim.least:
            raise ValueError(f"`{name}` must be an integer >= {dim.least}, got {value!r}")
    seed = np.asarray(jax.random.key_data(_estimate.resolve_key(key))).ravel().tolist()
    n = math.prod(batch_shape)
    params = family.random_params(np.random.default_rng(seed), n, spread="moderate", **dims)
    with jax.enable_x64(True):
        shaped = [jnp.asarray(x, jnp.float64).reshape(batch_shape + x.shape[1:]) for x in params]
        return family.from_params(*shaped)


def _check_batch_shape(batch_shape):
    expected = "`batch_shape` must be a tuple of integers >= 0"
    try:
        shape = tuple(batch_shape)
    except TypeError:
        raise TypeError(f"{expected}, got {batch_shape!r}") from None
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in shape):
        raise TypeError(f"{expected}, got {batch_shape!r}")
    if any(n < 0 for n in shape):
        raise ValueError(f"{expected}, got {batch_shape!r}")
    return tuple(int(n) for n in shape)

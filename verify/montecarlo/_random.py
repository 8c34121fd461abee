"""Random parameter settings of a family, for checks over many distributions."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from verify.families import Bernoulli, Categorical, Distribution, MultivariateNormal, Normal
from verify.montecarlo import _estimate

__all__ = ["random_distribution"]


def random_distribution(family, key, batch_shape=(), *, dim=3, num_classes=4) -> Distribution:
    """A batch of distributions of ``family`` with random, moderate parameters, in float64.

    The ranges keep every quantity finite and every log-ratio light-tailed
    enough for Monte Carlo: Normal ``loc ~ U(-2, 2)``, ``scale`` log-uniform
    on [0.5, 2]; MultivariateNormal ``loc ~ U(-1, 1)^d``, ``scale_tril`` with a
    log-uniform [0.5, 2] diagonal and ``N(0, 0.3^2)`` entries below it;
    Bernoulli ``probs ~ U(0.1, 0.9)``; Categorical probabilities an even mix of
    a flat Dirichlet draw and the uniform distribution (every class at least
    ``1 / (2K)``).

    Args:
        family: ``verify.Normal``, ``verify.MultivariateNormal``,
            ``verify.Bernoulli`` or ``verify.Categorical``.
        key: a JAX random key.
        batch_shape: the batch shape of the result.
        dim: event size of a MultivariateNormal.
        num_classes: number of classes of a Categorical.

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
    for name, value in (("dim", dim), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"`{name}` must be an integer >= 1, got {value!r}")
        if value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}")
    keys = jax.random.split(_estimate.resolve_key(key), 3)
    with jax.enable_x64(True):
        f64 = jnp.float64

        def log_uniform(k, shape, lo, hi):
            return jnp.exp(jax.random.uniform(k, shape, f64, jnp.log(lo), jnp.log(hi)))

        if family is Normal:
            loc = jax.random.uniform(keys[0], batch_shape, f64, -2.0, 2.0)
            return Normal(loc, log_uniform(keys[1], batch_shape, 0.5, 2.0))
        if family is MultivariateNormal:
            loc = jax.random.uniform(keys[0], batch_shape + (dim,), f64, -1.0, 1.0)
            diagonal = log_uniform(keys[1], batch_shape + (dim,), 0.5, 2.0)
            below = 0.3 * jax.random.normal(keys[2], batch_shape + (dim, dim), f64)
            tril = jnp.tril(below, -1) + diagonal[..., None] * jnp.eye(dim, dtype=f64)
            return MultivariateNormal(loc, scale_tril=tril)
        if family is Bernoulli:
            return Bernoulli(probs=jax.random.uniform(keys[0], batch_shape, f64, 0.1, 0.9))
        if family is Categorical:
            flat = jax.random.dirichlet(keys[0], jnp.ones(num_classes, f64), batch_shape)
            return Categorical(probs=(flat + 1 / num_classes) / 2)
    raise ValueError(
        "`family` must be one of verify.Normal, verify.MultivariateNormal, "
        f"verify.Bernoulli, verify.Categorical, got {family!r}"
    )


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

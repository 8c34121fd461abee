"""The categorical distribution on {0, ..., K - 1}."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from verify import _validate
from verify.families._distribution import Distribution, SymbolicFamily

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categorical distribution over ``K`` classes, the last axis of its parameter.

    Pass exactly one of ``probs`` (entries in [0, 1] summing to 1 along the last
    axis, within ``max(1e-6, 4 K eps)``; zeros are allowed) or ``logits``
    (finite; ``probs = softmax(logits)``).

    Args:
        probs: class probabilities, shape ``(..., K)``.
        logits: unnormalised log-probabilities, shape ``(..., K)``.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> p = verify.Categorical(probs=[0.5, 0.25, 0.25])
        >>> p.num_classes, float(p.log_prob(1))
        (3, -1.386294...)
    """

    _fields = ("probs", "logits")
    _param_event_ranks = (1,)

    def __init__(self, probs=None, logits=None, *, validate_args: bool = True):
        _validate.check_exactly_one(probs=probs, logits=logits)
        name = "probs" if probs is not None else "logits"
        (value,) = _validate.as_float_arrays(**{name: probs if probs is not None else logits})
        if value.ndim < 1 or value.shape[-1] < 1:
            raise ValueError(
                f"`{name}` must have a last axis of K >= 1 classes, got shape {value.shape}"
            )
        if validate_args and _validate.is_concrete(value):
            _validate.check_finite(name, value)
            if name == "probs":
                _validate.check_simplex(name, value)
        self._set(
            probs=value if name == "probs" else None, logits=value if name == "logits" else None
        )

    def canonical(self):
        probs = self.probs if self.probs is not None else jax.nn.softmax(self.logits, axis=-1)
        return (probs,)

    @property
    def num_classes(self) -> int:
        """Number of classes ``K``."""
        return (self.probs if self.probs is not None else self.logits).shape[-1]

    @staticmethod
    def log_density(xp, x, probs):
        return xp.log(xp.take(probs, x))

    def sample(self, key, sample_shape=()):
        (probs,) = self.canonical()
        shape = tuple(sample_shape) + self.batch_shape
        return jax.random.categorical(key, jnp.log(probs), axis=-1, shape=shape)

    @classmethod
    def symbolic(cls, suffix="", num_classes=3):
        import sympy as sp

        s = f"_{suffix}" if suffix else ""
        probs = sp.Matrix([sp.Symbol(f"probs{s}_{k}", positive=True) for k in range(num_classes)])
        x = sp.Symbol("x", integer=True, nonnegative=True)
        return SymbolicFamily(
            name="Categorical",
            params=(probs,),
            variable=x,
            density_code=cls.log_density,
            support=tuple(range(num_classes)),
            latex_names={e: f"p{s}_{{{k}}}" for k, e in enumerate(probs)},
            assumptions=(sp.Add(*probs) - 1,),
        )

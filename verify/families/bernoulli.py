"""The Bernoulli distribution on {0, 1}."""

from __future__ import annotations

import jax

from verify import _validate
from verify.families._distribution import Distribution, SymbolicFamily

__all__ = ["Bernoulli"]


class Bernoulli(Distribution):
    """Bernoulli distribution: 1 with probability ``probs``, else 0.

    Pass exactly one of ``probs`` (in [0, 1]; 0 and 1 are allowed) or ``logits``
    (finite; ``probs = sigmoid(logits)``).

    Args:
        probs: probability of 1.
        logits: log-odds of 1.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> float(verify.Bernoulli(probs=0.25).log_prob(1.0))  # log(0.25)
        -1.386294...
    """

    _fields = ("probs", "logits")
    _param_event_ranks = (0,)

    def __init__(self, probs=None, logits=None, *, validate_args: bool = True):
        _validate.check_exactly_one(probs=probs, logits=logits)
        name = "probs" if probs is not None else "logits"
        (value,) = _validate.as_float_arrays(**{name: probs if probs is not None else logits})
        if validate_args and _validate.is_concrete(value):
            if name == "probs":
                _validate.check_finite(name, value)
                _validate.check_unit_interval(name, value)
            else:
                _validate.check_finite(name, value)
        self._set(
            probs=value if name == "probs" else None, logits=value if name == "logits" else None
        )

    def canonical(self):
        probs = self.probs if self.probs is not None else jax.nn.sigmoid(self.logits)
        return (probs,)

    @staticmethod
    def log_density(xp, x, probs):
        return xp.xlogy(x, probs) + xp.xlogy(1 - x, 1 - probs)

    def sample(self, key, sample_shape=()):
        (probs,) = self.canonical()
        shape = tuple(sample_shape) + self.batch_shape
        return (jax.random.uniform(key, shape, probs.dtype) < probs).astype(probs.dtype)

    @classmethod
    def symbolic(cls, suffix="", **dims):
        import sympy as sp

        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        probs = sp.Symbol(f"probs{s}", positive=True)
        x = sp.Symbol("x", integer=True, nonnegative=True)
        return SymbolicFamily(
            name="Bernoulli",
            params=(probs,),
            variable=x,
            density_code=cls.log_density,
            support=(0, 1),
            latex_names={probs: f"p{s}"},
        )

"""The Bernoulli distribution on {0, 1}."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from verify import _special, _validate
from verify.families import supports
from verify.families._distribution import SymbolicFamily
from verify.families._probs_or_logits import ProbsOrLogits, check_logits

__all__ = ["Bernoulli"]


class Bernoulli(ProbsOrLogits):
    """Bernoulli distribution: 1 with probability ``probs``, else 0.

    Pass exactly one of ``probs`` (in [0, 1]; 0 and 1 are allowed) or ``logits``
    (``probs = sigmoid(logits)``; ``-inf`` and ``+inf`` are probabilities 0 and
    1). The distribution computes from what it was given; ``probs`` and
    ``logits`` are both available. ``log_prob`` is ``-inf`` outside {0, 1}.

    Args:
        probs: probability of 1.
        logits: log-odds of 1.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> float(verify.Bernoulli(probs=0.25).log_prob(1.0))  # log(0.25)
        -1.386294...
        >>> float(verify.Bernoulli(logits=40.0).log_prob(0))  # log(1 - sigmoid(40))
        -40.0
    """

    _param_event_ranks = (0,)

    @staticmethod
    def _check_shape(name, value):
        del name, value

    @staticmethod
    def _check_probs(name, value):
        _validate.check_finite(name, value)
        _validate.check_not_subnormal(name, value)
        _validate.check_unit_interval(name, value)

    @staticmethod
    def _check_logits(name, value):
        check_logits(name, value, allow_positive_inf=True)

    @staticmethod
    def _probs_from_logits(logits):
        return jax.nn.sigmoid(logits)

    @staticmethod
    def _logits_from_probs(probs):
        return jnp.log(probs) - _special.log1p(-probs)

    def _value_dtype(self):
        return self.dtype

    @staticmethod
    def _in_support(x):
        return (x == 0) | (x == 1)

    @staticmethod
    def log_density(xp, x, probs):
        return xp.xlogy(x, probs) + xp.xlogy(1 - x, 1 - probs)

    @staticmethod
    def log_density_logits(xp, x, logits):
        """``x l - softplus(l)`` as ``-softplus((1 - 2 x) l)``: no ``0 * inf`` at ``l = ±inf``."""
        return -xp.softplus((1 - 2 * x) * logits)

    def sample(self, key, sample_shape=()):
        (param,) = self.params()
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        probs = self.probs
        return (jax.random.uniform(key, shape, param.dtype) < probs).astype(param.dtype)

    @classmethod
    def symbolic(cls, suffix="", parameterisation="probs", **dims):
        import sympy as sp

        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        x = sp.Symbol("x", integer=True, nonnegative=True)
        if parameterisation == "logits":
            logits = sp.Symbol(f"logits{s}", real=True)
            return SymbolicFamily(
                name="Bernoulli",
                params=(logits,),
                variable=x,
                density_code=cls.log_density_logits,
                support=supports.integers(0, 1),
                latex_names={logits: rf"\ell{s}"},
                parameterisation="logits",
            )
        probs = sp.Symbol(f"probs{s}", positive=True)
        return SymbolicFamily(
            name="Bernoulli",
            params=(probs,),
            variable=x,
            density_code=cls.log_density,
            support=supports.integers(0, 1),
            latex_names={probs: f"p{s}"},
            parameterisation="probs",
        )

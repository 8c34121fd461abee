"""What Bernoulli and Categorical share: given by ``probs`` or by ``logits``.

A distribution keeps the parameterisation it was given and computes from it:
built from logits, its log-probabilities are ``log_sigmoid`` / ``log_softmax``
of the logits, its closed forms are the logits forms, and no probability that
may have underflowed is ever passed to a logarithm. Both ``probs`` and
``logits`` are properties, whichever was given (the other is computed).
"""

from __future__ import annotations

import jax.numpy as jnp

from verify import _validate
from verify._ops import jax_ops
from verify.families._distribution import Distribution

__all__ = ["ProbsOrLogits"]


class ProbsOrLogits(Distribution):
    """Base of the discrete families parameterised by ``probs`` or ``logits``.

    Subclasses define ``log_density`` (in probs) and ``log_density_logits``,
    ``_probs_from_logits``, ``_logits_from_probs``, ``_check_probs``,
    ``_check_logits``, ``_check_shape``, ``_in_support`` and ``_value_dtype``.
    """

    _fields = ("probs", "logits")
    parameterisations = ("probs", "logits")

    def __init__(self, probs=None, logits=None, *, validate_args: bool = True):
        _validate.check_exactly_one(probs=probs, logits=logits)
        name = "probs" if probs is not None else "logits"
        (value,) = _validate.as_float_arrays(**{name: probs if probs is not None else logits})
        self._check_shape(name, value)
        if validate_args and _validate.is_concrete(value):
            (self._check_probs if name == "probs" else self._check_logits)(name, value)
        self._set(**{"probs": None, "logits": None, name: value})

    # ------------------------------------------------------------ parameters
    @property
    def parameterisation(self) -> str:
        """``"probs"`` or ``"logits"``: what the distribution was built from."""
        return "probs" if self.__dict__["probs"] is not None else "logits"

    @property
    def probs(self):
        """The probabilities (computed from the logits if those were given)."""
        given = self.__dict__["probs"]
        return given if given is not None else self._probs_from_logits(self.__dict__["logits"])

    @property
    def logits(self):
        """The logits (``log`` of the probabilities if those were given: 0 gives ``-inf``)."""
        given = self.__dict__["logits"]
        return given if given is not None else self._logits_from_probs(self.__dict__["probs"])

    def params_as(self, parameterisation):
        super().params_as(parameterisation)  # checks the name
        return (getattr(self, parameterisation),)

    def canonical(self):
        return (self.probs,)

    # --------------------------------------------------------------- density
    def log_prob(self, value):
        """Log-probability of ``value``; ``-inf`` outside the support (also under ``jit``).

        Computed from the parameters given: ``log(probs)`` or the log-softmax of
        the logits (``Bernoulli(logits=40.).log_prob(0)`` is -40, not ``-inf``).
        """
        value = jnp.asarray(value)
        inside = self._in_support(value)
        safe = jnp.where(inside, value, jnp.zeros((), value.dtype)).astype(self._value_dtype())
        density = self.log_density if self.parameterisation == "probs" else self.log_density_logits
        log_p = density(jax_ops, safe, *self.params())
        return jnp.where(inside, log_p, -jnp.inf)

    @staticmethod
    def log_density_logits(xp, x, logits):
        raise NotImplementedError


def check_logits(name, value, allow_positive_inf):
    """Logits may be ``-inf`` (a class of probability 0); never NaN."""
    values = jnp.asarray(value)
    ok = ~jnp.isnan(values) if allow_positive_inf else ~jnp.isnan(values) & (values < jnp.inf)
    expected = "a number (not NaN)" if allow_positive_inf else "finite or -inf (a masked class)"
    _validate._check(name, value, ok, expected)

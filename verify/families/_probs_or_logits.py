"""What Bernoulli and Categorical share: given by ``probs`` or by ``logits``.

A distribution keeps the parameterisation it was given and computes from it:
built from logits, its log-probabilities are ``log_sigmoid`` / ``log_softmax``
of the logits, its closed forms are the logits forms, and no probability that
may have underflowed is ever passed to a logarithm. Both ``probs`` and
``logits`` are properties, whichever was given (the other is computed).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from verify import _special, _validate
from verify._ops import jax_ops
from verify.families._distribution import Distribution, SymbolicFamily

__all__ = ["ProbsOrLogits", "SuccessProbability"]


class ProbsOrLogits(Distribution, abstract=True):
    """Base of the discrete families parameterised by ``probs`` or ``logits``.

    Subclasses define ``log_density`` (in probs) and ``log_density_logits``,
    ``_probs_from_logits``, ``logits_from_probs`` (backend-generic),
    ``_check_probs``, ``_check_logits``, ``_check_shape``,
    ``_value_dtype``, ``_symbols`` (the symbolic parameter) and ``_outcomes``
    (per outcome, which probabilities are positive).
    """

    _fields = ("probs", "logits")
    parameterisations = ("probs", "logits")
    conversions = (("probs", "logits"),)

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
        if given is not None:
            return given
        return self.logits_from_probs(jax_ops, self.__dict__["probs"])

    @staticmethod
    def logits_from_probs(xp, probs):
        """The logits of the distribution with probabilities ``probs`` (backend-generic)."""
        raise NotImplementedError

    @classmethod
    def convert(cls, xp, params, given, wanted):
        """Probabilities to logits (a mixed pair runs the logits forms); never the reverse.

        Example:
            >>> import verify, sympy as sp
            >>> from verify.symbolic.ops import sympy_ops
            >>> verify.Bernoulli.convert(sympy_ops, (sp.Symbol("p"),), "probs", "logits")
            (log(p) - xlog1py(1, -p),)
        """
        if given == wanted:
            return params
        if (given, wanted) != ("probs", "logits"):
            raise NotImplementedError(f"{cls.__name__}: no conversion from {given!r} to {wanted!r}")
        return (cls.logits_from_probs(xp, params[0]),)

    @classmethod
    def from_params(cls, *params, parameterisation=None):
        cls._check_parameterisation(parameterisation)
        (param,) = params
        return cls(**{parameterisation or "probs": param})

    @classmethod
    def symbolic(cls, suffix="", parameterisation="probs", **dims):
        """The family in SymPy, from ``probs`` (on the simplex) or from ``logits``."""
        cls._check_parameterisation(parameterisation)
        param, latex_names, assumptions = cls._symbols(parameterisation, suffix, **dims)
        import sympy as sp

        return SymbolicFamily(
            name=cls.__name__,
            params=(param,),
            variable=sp.Symbol("x", integer=True, nonnegative=True),
            density_code=cls.log_density if parameterisation == "probs" else cls.log_density_logits,
            support=cls._symbolic_support(**dims),
            latex_names=latex_names,
            assumptions=assumptions,
            parameterisation=parameterisation,
        )

    def _outcomes_with_mass(self):
        """Read from the parameter given: a ``-inf`` logit is probability 0, a finite one is not."""
        given = self._leaves()
        if given["probs"] is not None:
            probs = np.asarray(given["probs"], np.float64)
            return self._outcomes(probs > 0, probs < 1)
        logits = np.asarray(given["logits"], np.float64)
        return self._outcomes(logits > -np.inf, logits < np.inf)

    def params_as(self, parameterisation):
        super().params_as(parameterisation)  # checks the name
        return (getattr(self, parameterisation),)

    def canonical(self):
        return (self.probs,)

    # --------------------------------------------------------------- density
    def _log_density_at(self, x):
        """From the parameters given: ``log(probs)`` or the log-softmax of the logits
        (``Bernoulli(logits=40.).log_prob(0)`` is -40, not ``-inf``)."""
        density = self.log_density if self.parameterisation == "probs" else self.log_density_logits
        return density(jax_ops, x.astype(self._value_dtype()), *self.params())

    @staticmethod
    def log_density_logits(xp, x, logits):
        raise NotImplementedError


class SuccessProbability(ProbsOrLogits, abstract=True):
    """Base of the families with one probability per distribution (of a success, of 1):
    Bernoulli, Binomial, Geometric, ContinuousBernoulli.

    ``probs`` in [0, 1] (finite, not subnormal), ``logits`` any number but NaN (``-inf``
    and ``+inf`` are 0 and 1); ``probs = sigmoid(logits)``, ``logits = log(p) - log(1 -
    p)``. A family narrows these where its definition needs it.
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
        return _special.sigmoid(logits)

    @staticmethod
    def logits_from_probs(xp, probs):
        """``log(p) - log(1 - p)``: ``-inf`` at 0, ``+inf`` at 1."""
        return xp.log(probs) - xp.xlog1py(1, -probs)

    def _value_dtype(self):
        return self.dtype


def check_logits(name, value, allow_positive_inf):
    """Logits may be ``-inf`` (a class of probability 0); never NaN."""
    values = jnp.asarray(value)
    ok = ~jnp.isnan(values) if allow_positive_inf else ~jnp.isnan(values) & (values < jnp.inf)
    expected = "a number (not NaN)" if allow_positive_inf else "finite or -inf (a masked class)"
    _validate._check(name, value, ok, expected)

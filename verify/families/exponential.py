"""The exponential distribution on the positive half-line."""

from __future__ import annotations

import jax
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["Exponential"]

#: Shapes of the adversarial pairs: rates over the whole range and relative steps
#: from 1e-12 (a KL of 5e-25, where the textbook form returns rounding noise) up.
_RATES = (1e-300, 1e-30, 1e-5, 0.3, 1.0, np.e, 7.0, 1e5, 1e30, 1e300)
_STEPS = (0.0, 1e-12, -1e-9, 1e-6, -1e-3, 0.5, 3.0, -0.9)


class Exponential(Distribution):
    """Exponential distribution with rate ``rate`` (mean ``1 / rate``), on ``[0, inf)``.

    Named as in ``torch.distributions.Exponential`` and TFP's ``Exponential``.

    Args:
        rate: an array of values > 0.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.Exponential(2.0)
        >>> float(p.log_prob(1.0))  # log(2) - 2
        -1.306852...
    """

    _fields = ("rate",)
    _param_event_ranks = (0,)
    reparameterized = True  # x = e / rate with e ~ Exponential(1)
    mc_samples = 2**24
    dims = {}

    def __init__(self, rate, *, validate_args: bool = True):
        (rate,) = _validate.as_float_arrays(validate_args=validate_args, rate=rate)
        if validate_args and _validate.is_concrete(rate):
            _validate.check_positive("rate", rate)
        self._set(rate=rate)

    def canonical(self):
        return (self.rate,)

    support = supports.positive
    symbolic_parameters = (Parameter("rate", r"\lambda"),)
    symbolic_variable = {"positive": True}

    @staticmethod
    def log_density(xp, x, rate):
        return xp.log(rate) - rate * x

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jax.random.exponential(key, shape, self.dtype) / self.rate

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """Rates ``exp(U(-5, 5))`` (wide) or ``exp(U(-0.75, 0.75))`` (moderate: KL <= 2)."""
        cls._no_dims(dims)
        width = {"wide": 5.0, "moderate": 0.75}[spread]
        return (np.exp(rng.uniform(-width, width, n)),)

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Every rate of ``_RATES`` against itself times ``1 + step``, and tiny against huge."""
        del rng
        cls._no_dims(dims)
        p = np.array([r for r in _RATES for _ in _STEPS])
        q = np.array([r * (1 + s) for r in _RATES for s in _STEPS])
        far_p, far_q = np.array([1e-300, 1e-3, 1e150]), np.array([1e-150, 1e3, 1e-150])
        return (np.concatenate([p, far_p]),), (np.concatenate([q, far_q]),)

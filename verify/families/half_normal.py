"""The half-normal distribution: the absolute value of a centred normal variable."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["HalfNormal"]

_SCALES = (1e-300, 1e-30, 1e-5, 0.3, 0.48, 1.0, 7.0, 1e5, 1e30, 1e300)
_STEPS = (0.0, 1e-12, -1e-9, 1e-6, -1e-3, 0.5, 3.0, -0.9)


class HalfNormal(Distribution):
    """Half-normal distribution ``|Y|``, ``Y ~ Normal(0, scale)``, on ``[0, inf)``.

    Named as in ``torch.distributions.HalfNormal`` and TFP's ``HalfNormal``.

    Args:
        scale: the scale of ``Y``, an array of values > 0.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.HalfNormal(1.0)
        >>> float(p.log_prob(0.0))  # log(2) - log(2 pi) / 2
        -0.225791...
    """

    _fields = ("scale",)
    _param_event_ranks = (0,)
    reparameterized = True  # x = scale |z| with z ~ Normal(0, 1)
    mc_samples = 2**23
    dims = {}

    def __init__(self, scale, *, validate_args: bool = True):
        (scale,) = _validate.as_float_arrays(validate_args=validate_args, scale=scale)
        if validate_args and _validate.is_concrete(scale):
            _validate.check_positive("scale", scale)
        self._set(scale=scale)

    def canonical(self):
        return (self.scale,)

    support = supports.positive
    symbolic_parameters = (Parameter("scale", r"\sigma"),)
    symbolic_variable = {"positive": True}

    @staticmethod
    def log_density(xp, x, scale):
        z = x / scale
        return xp.log(2) - z**2 / 2 - xp.log(scale) - xp.log(2 * xp.pi) / 2

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return self.scale * jnp.abs(jax.random.normal(key, shape, self.dtype))

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """Scales ``exp(U(-5, 5))`` (wide) or ``exp(U(-0.5, 0.5))`` (moderate: KL < 1)."""
        cls._no_dims(dims)
        width = {"wide": 5.0, "moderate": 0.5}[spread]
        return (np.exp(rng.uniform(-width, width, n)),)

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Every scale of ``_SCALES`` against itself times ``1 + step``, and tiny against huge."""
        del rng
        cls._no_dims(dims)
        p = np.array([s for s in _SCALES for _ in _STEPS])
        q = np.array([s * (1 + t) for s in _SCALES for t in _STEPS])
        far_p, far_q = np.array([1e-300, 1e-3, 1e150]), np.array([1e-150, 1e3, 1e-150])
        return (np.concatenate([p, far_p]),), (np.concatenate([q, far_q]),)

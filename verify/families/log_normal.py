"""The log-normal distribution: the exponential of a normal variable."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    """Log-normal distribution: ``exp(Y)`` with ``Y ~ Normal(loc, scale)``, on ``(0, inf)``.

    Named as in ``torch.distributions.LogNormal`` and TFP's ``LogNormal``.

    Args:
        loc: mean of ``log X``, any real array.
        scale: standard deviation of ``log X``, an array of values > 0.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.LogNormal(0.0, 1.0)
        >>> float(p.log_prob(1.0))  # -log(2 pi) / 2
        -0.918938...
    """

    _fields = ("loc", "scale")
    _param_event_ranks = (0, 0)
    reparameterized = True  # x = exp(loc + scale z) with z ~ Normal(0, 1)
    mc_samples = 2**22
    dims = {}

    def __init__(self, loc, scale, *, validate_args: bool = True):
        loc, scale = _validate.as_float_arrays(validate_args=validate_args, loc=loc, scale=scale)
        _validate.check_batch_shapes(loc=loc.shape, scale=scale.shape)
        if validate_args and _validate.is_concrete(loc, scale):
            _validate.check_finite("loc", loc)
            _validate.check_positive("scale", scale)
        self._set(loc=loc, scale=scale)

    def canonical(self):
        return self.loc, self.scale

    support = supports.positive
    symbolic_parameters = (
        Parameter("loc", r"\mu", "real"),
        Parameter("scale", r"\sigma"),
    )
    symbolic_variable = {"positive": True}

    @staticmethod
    def log_density(xp, x, loc, scale):
        z = (xp.log(x) - loc) / scale
        return -xp.log(x) - z**2 / 2 - xp.log(scale) - xp.log(2 * xp.pi) / 2

    def log_prob(self, value):
        """Log-density of ``value``; ``-inf`` at and below 0 (the density's limit at 0)."""
        x = jnp.asarray(value)
        inside = self.support.contains(x) & (x > 0)
        return jnp.where(inside, super().log_prob(jnp.where(inside, x, 1)), -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jnp.exp(self.loc + self.scale * jax.random.normal(key, shape, self.dtype))

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """Wide: ``loc ~ N(0, 2)``, ``scale = exp(U(-2, 2))``. Moderate: ``loc ~ U(-1, 1)``,
        ``scale = exp(U(-0.4, 0.4))`` (log-ratios quadratic in a normal: light-tailed)."""
        cls._no_dims(dims)
        if spread == "wide":
            return rng.normal(0.0, 2.0, n), np.exp(rng.uniform(-2.0, 2.0, n))
        return rng.uniform(-1.0, 1.0, n), np.exp(rng.uniform(-0.4, 0.4, n))

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Locations and scales shifted by relative steps 1e-3 ... 1e-12 and 0, scales from
        1e-300 to 1e300, locations far apart."""
        cls._no_dims(dims)
        eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
        loc, scale = cls.random_params(rng, eps.size)
        extreme_scale = np.array([1e-300, 1e-30, 1e30, 1e300, 1.0, 1.0])
        extreme_loc = np.array([0.0, 5.0, -5.0, 1e3, 1e-300, -700.0])
        p = (
            np.concatenate([loc, extreme_loc, [0.0, 0.0, 1e3]]),
            np.concatenate([scale, extreme_scale, [1e-3, 1e3, 1.0]]),
        )
        q = (
            np.concatenate([loc + eps * scale, extreme_loc + 1e-9, [1.0, -1.0, -1e3]]),
            np.concatenate([scale * (1 + eps), extreme_scale * (1 - 1e-7), [1e3, 1e-3, 1.0]]),
        )
        return p, q

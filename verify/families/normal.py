"""The univariate normal distribution."""

from __future__ import annotations

import jax
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["Normal"]


class Normal(Distribution):
    """Normal distribution with mean ``loc`` and standard deviation ``scale``.

    Args:
        loc: mean, any real array.
        scale: standard deviation, an array of values > 0; broadcasts with ``loc``.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.Normal(0.0, 1.0)
        >>> float(p.log_prob(0.0))  # -log(2*pi)/2
        -0.918938...
    """

    _fields = ("loc", "scale")
    _param_event_ranks = (0, 0)
    reparameterized = True
    mc_samples = 2**24
    aliases = ("gaussian",)

    def __init__(self, loc, scale, *, validate_args: bool = True):
        loc, scale = _validate.as_float_arrays(validate_args=validate_args, loc=loc, scale=scale)
        # Shapes are static: checked also under jit (values only when concrete).
        _validate.check_batch_shapes(loc=loc.shape, scale=scale.shape)
        if validate_args and _validate.is_concrete(loc, scale):
            _validate.check_finite("loc", loc)
            _validate.check_positive("scale", scale)
        self._set(loc=loc, scale=scale)

    def canonical(self):
        return self.loc, self.scale

    @staticmethod
    def log_density(xp, x, loc, scale):
        z = (x - loc) / scale
        return -(z**2) / 2 - xp.log(scale) - xp.log(2 * xp.pi) / 2

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return self.loc + self.scale * jax.random.normal(key, shape, self.dtype)

    support = supports.real
    symbolic_parameters = (
        Parameter("loc", r"\mu", "real"),
        Parameter("scale", r"\sigma"),
    )

    @classmethod
    def random_params(cls, rng, n, *, spread="wide"):
        if spread == "wide":
            return rng.normal(0.0, 2.0, n), np.exp(rng.uniform(-2.0, 2.0, n))
        return rng.uniform(-2.0, 2.0, n), np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))

    @classmethod
    def adversarial_pairs(cls, rng):
        eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
        loc, scale = cls.random_params(rng, eps.size)
        p = np.concatenate([loc, [0.0, 0.0, 1e3]]), np.concatenate([scale, [1e-3, 1e3, 1.0]])
        q = (
            np.concatenate([loc + eps * scale, [1.0, -1.0, -1e3]]),
            np.concatenate([scale * (1 + eps), [1e3, 1e-3, 1.0]]),
        )
        return p, q

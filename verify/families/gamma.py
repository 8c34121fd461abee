"""The Gamma distribution on the positive half-line."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["Gamma"]

#: Adversarial shapes and rates: tiny to huge, and the steps applied to them.
_SHAPES = (1e-10, 1e-3, 0.1, 1.0, 1.4616321449683622, 7.5, 16.0, 1e3, 1e8, 1e15)
_RATES = (1e-30, 1.0, 1e30)
_STEPS = (0.0, 1e-12, -1e-9, 1e-6, -1e-3, 0.3, -0.5, 4.0)


class Gamma(Distribution):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    The density is ``rate**a x**(a - 1) exp(-rate x) / Gamma(a)`` on ``[0, inf)``,
    ``a = concentration``; the mean is ``a / rate``. Named as in
    ``torch.distributions.Gamma`` and TFP's ``Gamma``.

    Args:
        concentration: shape, an array of values > 0.
        rate: inverse scale, an array of values > 0; broadcasts with ``concentration``.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.Gamma(2.0, 3.0)
        >>> float(p.log_prob(1.0))  # log(9) - 3
        -0.802775...
    """

    _fields = ("concentration", "rate")
    _param_event_ranks = (0, 0)
    reparameterized = True  # jax.random.gamma differentiates through its shape (implicitly)
    mc_samples = 2**22
    dims = {}

    def __init__(self, concentration, rate, *, validate_args: bool = True):
        concentration, rate = _validate.as_float_arrays(
            validate_args=validate_args, concentration=concentration, rate=rate
        )
        _validate.check_batch_shapes(concentration=concentration.shape, rate=rate.shape)
        if validate_args and _validate.is_concrete(concentration, rate):
            _validate.check_positive("concentration", concentration)
            _validate.check_positive("rate", rate)
        self._set(concentration=concentration, rate=rate)

    def canonical(self):
        return self.concentration, self.rate

    support = supports.positive
    symbolic_parameters = (
        Parameter("concentration", r"\alpha"),
        Parameter("rate", r"\beta"),
    )
    symbolic_variable = {"positive": True}

    @staticmethod
    def log_density(xp, x, concentration, rate):
        return (
            concentration * xp.log(rate)
            - xp.lgamma(concentration)
            + (concentration - 1) * xp.log(x)
            - rate * x
        )

    def log_prob(self, value):
        """Log-density of ``value``; ``-inf`` below 0, the limit of the density at 0."""
        x = jnp.asarray(value)
        inside = self.support.contains(x)
        # At x = 0, (a - 1) log x is 0 * -inf for a = 1, where the density's limit is
        # rate**a / Gamma(a): evaluate at x = 1 and add back the rate * 1 taken there.
        removable = (x == 0) & (self.concentration == 1)
        inner = super().log_prob(jnp.where(inside & ~removable, x, 1))
        return jnp.where(inside, jnp.where(removable, inner + self.rate, inner), -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        concentration = jnp.broadcast_to(self.concentration, shape)
        return jax.random.gamma(key, concentration, shape, self.dtype) / self.rate

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """Wide: shapes ``exp(U(-3, 4))``, rates ``exp(U(-4, 4))``. Moderate: shapes in
        ``exp(U(0, 1.5))`` (>= 1: light-tailed log-ratios), rates ``exp(U(-0.5, 0.5))``."""
        cls._no_dims(dims)
        (low, high), width = {"wide": ((-3.0, 4.0), 4.0), "moderate": ((0.0, 1.5), 0.5)}[spread]
        return np.exp(rng.uniform(low, high, n)), np.exp(rng.uniform(-width, width, n))

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Shapes and rates from tiny to huge, each perturbed alone and both together (the
        means equal: only the shape term of the KL remains), by relative steps 1e-12 up."""
        del rng
        cls._no_dims(dims)
        p, q = [], []
        for a in _SHAPES:
            for b in _RATES:
                for s in _STEPS:
                    p += [(a, b)] * 3
                    q += [(a * (1 + s), b), (a, b * (1 + s)), (a * (1 + s), b * (1 + s))]
        # Shapes far apart: a tiny shape against 1 (an exponential), small against huge.
        p += [(1e-10, 1.0), (1e-3, 2.0), (0.5, 1.0), (1e8, 1e8), (0.9, 1e30)]
        q += [(1.0, 1.0), (1.0 + 1e-9, 2.0), (1e8, 1e8), (0.5, 1.0), (1.0, 1e-30)]
        p, q = np.array(p).T, np.array(q).T
        return (p[0], p[1]), (q[0], q[1])

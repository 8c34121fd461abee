"""The Beta distribution on [0, 1]."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from verify import _special, _validate
from verify._ops import jax_ops
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["Beta"]


def check_concentration(name, value):
    """Finite, > 0 and normal: XLA on CPU reads a subnormal concentration as 0."""
    _validate.check_positive(name, value)
    values = np.asarray(value)
    tiny = jnp.finfo(values.dtype).tiny
    _validate._check(
        name,
        values,
        ~(values < tiny),
        f"at least the smallest normal {values.dtype} ({float(tiny):.4g})",
        note="XLA on CPU reads subnormal numbers as 0",
    )


class Beta(Distribution):
    """Beta distribution with density ``x**(a - 1) (1 - x)**(b - 1) / B(a, b)`` on [0, 1].

    Parameter names as in torch.distributions and TFP: ``a = concentration1``
    (the exponent of ``x``), ``b = concentration0`` (that of ``1 - x``).

    Args:
        concentration1: ``a``, an array of values > 0.
        concentration0: ``b``, an array of values > 0; broadcasts with ``concentration1``.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.Beta(2.0, 3.0)
        >>> round(float(p.log_prob(0.5)), 6)  # log(12 * 0.5 * 0.25)
        0.405465
        >>> float(p.log_prob(1.5))
        -inf
    """

    _fields = ("concentration1", "concentration0")
    _param_event_ranks = (0, 0)
    reparameterized = True  # jax.random.beta differentiates through its gamma draws
    mc_samples = 2**22
    dims = {}

    def __init__(self, concentration1, concentration0, *, validate_args: bool = True):
        c1, c0 = _validate.as_float_arrays(
            validate_args=validate_args,
            concentration1=concentration1,
            concentration0=concentration0,
        )
        _validate.check_batch_shapes(concentration1=c1.shape, concentration0=c0.shape)
        if validate_args and _validate.is_concrete(c1, c0):
            check_concentration("concentration1", c1)
            check_concentration("concentration0", c0)
        self._set(concentration1=c1, concentration0=c0)

    def canonical(self):
        return self.concentration1, self.concentration0

    support = supports.unit_interval
    symbolic_parameters = (
        Parameter("concentration1", r"\alpha"),
        Parameter("concentration0", r"\beta"),
    )
    symbolic_variable = {"positive": True}

    @staticmethod
    def log_density(xp, x, concentration1, concentration0):
        log_beta = (
            xp.lgamma(concentration1)
            + xp.lgamma(concentration0)
            - xp.lgamma(concentration1 + concentration0)
        )
        return (concentration1 - 1) * xp.log(x) + (concentration0 - 1) * xp.log1p(-x) - log_beta

    def log_prob(self, value):
        """Log-density of ``value``; ``-inf`` outside [0, 1] (also under ``jit``).

        At the edges the density's limit: ``log_prob(0)`` is ``-inf``, ``0`` or
        ``+inf`` as ``concentration1`` is above, at or below 1 (``0 log 0 = 0``).
        """
        value = jnp.asarray(value)
        x = jnp.where(self.support.contains(value), value, 0.5).astype(self.dtype)
        a, b = self.canonical()
        inner = self.log_density(jax_ops, jnp.full_like(x, 0.5), a, b) + (a + b - 2) * jnp.log(2)
        # The two power terms with 0 log 0 = 0, the normaliser from log_density at x = 1/2.
        log_p = jss.xlogy(a - 1, x) + _special.xlog1py(b - 1, -x) + inner
        return jnp.where(self.support.contains(value), log_p, -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        a, b = (jnp.broadcast_to(p, self.batch_shape) for p in self.canonical())
        return jax.random.beta(key, a, b, shape, self.dtype)

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """``n`` parameter sets: log-uniform in [0.05, 50] (wide), uniform in [2, 6] (moderate)."""
        del dims
        if spread == "moderate":
            return rng.uniform(2.0, 6.0, n), rng.uniform(2.0, 6.0, n)
        return tuple(np.exp(rng.uniform(np.log(0.05), np.log(50.0), (2, n))))

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Near-equal pairs (relative 1e-3 ... 1e-12, 0; one or both parameters, equal
        means), concentrations from 1e-8 to 1e12, and pairs far apart."""
        del dims
        base = np.array([1e-8, 1e-3, 0.5, 1.0, 2.5, 11.9, 12.0, 300.0, 1e5, 1e12])
        a = np.repeat(base, len(base))
        b = np.tile(base, len(base))
        eps = np.array([1e-3, -1e-6, 1e-9, -1e-12, 0.0])
        p, q = [], []
        for e in eps:
            for scale_a, scale_b in ((1 + e, 1 + e), (1 + e, 1.0), (1.0, 1 - e)):
                p.append((a, b))
                q.append((a * scale_a, b * scale_b))
        far = rng.permutation(len(a))
        p.append((a, b))
        q.append((a[far], b[far]))
        params_p = tuple(np.concatenate(parts) for parts in zip(*p))
        params_q = tuple(np.concatenate(parts) for parts in zip(*q))
        return params_p, params_q

"""The Poisson distribution on {0, 1, 2, ...}."""

from __future__ import annotations

import jax
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Distribution, Parameter

__all__ = ["Poisson"]


class Poisson(Distribution):
    """Poisson distribution with mean ``rate``: ``P(k) = rate^k e^-rate / k!``.

    Args:
        rate: the mean, an array of values > 0 (at least the smallest normal
            number of the dtype: XLA on CPU reads subnormal numbers as 0).
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    ``log_prob`` is ``-inf`` outside {0, 1, 2, ...}. Samples are
    :func:`jax.random.poisson` draws, returned in the dtype of ``rate`` (not
    reparameterised: the score-function estimator applies).

    Example:
        >>> import verify
        >>> round(float(verify.Poisson(2.0).log_prob(3.0)), 5)  # log(2**3 e**-2 / 3!)
        -1.71232
    """

    _fields = ("rate",)
    _param_event_ranks = (0,)
    reparameterized = False
    mc_samples = 2**22
    dims: dict = {}

    def __init__(self, rate, *, validate_args: bool = True):
        (rate,) = _validate.as_float_arrays(validate_args=validate_args, rate=rate)
        if validate_args and _validate.is_concrete(rate):
            _validate.check_positive("rate", rate)
            _validate.check_not_subnormal("rate", rate)
        self._set(rate=rate)

    def canonical(self):
        return (self.rate,)

    support = supports.nonnegative_integers
    symbolic_parameters = (Parameter("rate", r"\lambda"),)
    symbolic_variable = {"integer": True, "nonnegative": True}

    @staticmethod
    def log_density(xp, x, rate):
        return xp.xlogy(x, rate) - rate - xp.lgamma(x + 1)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jax.random.poisson(key, self.rate, shape).astype(self.dtype)

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """``n`` rates (float64): log-uniform over [1e-3, 1e3] (``"wide"``) or uniform
        over [1, 4] (``"moderate"``: two draws differ by at most 2.6 nats)."""
        cls._no_dims(dims)
        if spread == "moderate":
            return (rng.uniform(1, 4, n),)
        return (10 ** rng.uniform(-3, 3, n),)

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Rates from the smallest normal float64 to 1e300, each with itself and relative
        perturbations 1 (twice the rate) and 1e-3 ... 1e-12, then far pairs across the range
        (P first)."""
        del rng
        cls._no_dims(dims)
        tiny = float(np.finfo(np.float64).tiny)
        bases = [tiny, 1e-300, 1e-30, 1e-8, 1e-3, 0.7, 1.0, 3.0, 1e4, 1e10, 1e30, 1e300]
        p, q = [], []
        for base in bases:
            for h in (0.0, 1.0, 1e-3, -1e-6, 1e-9, -1e-12):
                p.append(base)
                q.append(max(base * (1 + h), tiny))
        far = [tiny, 1e-30, 1e-3, 1.0, 1e4, 1e30, 1e300]
        for a in far:
            for b in far:
                p.append(a)
                q.append(b)
        return (np.asarray(p),), (np.asarray(q),)

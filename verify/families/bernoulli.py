"""The Bernoulli distribution on {0, 1}."""

from __future__ import annotations

import jax
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._probs_or_logits import SuccessProbability

__all__ = ["Bernoulli"]


class Bernoulli(SuccessProbability):
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

    mc_samples = 2**25

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

    @property
    def support(self):
        return supports.integers(0, 1)

    @staticmethod
    def _symbolic_support():
        return supports.integers(0, 1)

    @staticmethod
    def _symbols(parameterisation, suffix):
        import sympy as sp

        s = f"_{suffix}" if suffix else ""
        if parameterisation == "logits":
            logits = sp.Symbol(f"logits{s}", real=True)
            return logits, {logits: rf"\ell{s}"}, ()
        probs = sp.Symbol(f"probs{s}", positive=True)
        return probs, {probs: f"p{s}"}, ()

    @staticmethod
    def _outcomes(low, high):
        """Outcome 1 has mass where ``low`` (probs > 0), outcome 0 where ``high`` (probs < 1)."""
        return np.stack([high, low], axis=-1)

    @classmethod
    def random_params(cls, rng, n, *, spread="wide"):
        low, high = (0.0, 1.0) if spread == "wide" else (0.1, 0.9)
        return (rng.uniform(low, high, n),)

    @classmethod
    def adversarial_pairs(cls, rng):
        eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
        (probs,) = cls.random_params(rng, eps.size)
        p = np.concatenate([probs, [1e-12, 1 - 1e-12, 0.5, 1e-300, 0.999999]])
        q = np.concatenate([probs * (1 + eps), [2e-12, 1 - 2e-12, 0.5 + 1e-15, 1e-290, 1e-6]])
        return (p,), (q,)

"""The categorical distribution on {0, ..., K - 1}."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Dim
from verify.families._probs_or_logits import ProbsOrLogits, check_logits

__all__ = ["Categorical"]


class Categorical(ProbsOrLogits):
    """Categorical distribution over ``K`` classes, the last axis of its parameter.

    Pass exactly one of ``probs`` (entries in [0, 1] summing to 1 along the last
    axis, within ``max(1e-6, 4 K eps)``; zeros are allowed) or ``logits``
    (``probs = softmax(logits)``; ``-inf`` marks a class of probability 0, a
    mask, but not every class of a row). The distribution computes from what it
    was given; ``probs`` and ``logits`` are both available. ``log_prob`` is
    ``-inf`` outside {0, ..., K - 1} (negative or non-integer values included).

    Args:
        probs: class probabilities, shape ``(..., K)``.
        logits: unnormalised log-probabilities, shape ``(..., K)``.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> p = verify.Categorical(probs=[0.5, 0.25, 0.25])
        >>> p.num_classes, float(p.log_prob(1))
        (3, -1.386294...)
        >>> float(verify.Categorical(logits=[0.0, 800.0]).log_prob(0))
        -800.0
    """

    _param_event_ranks = (1,)
    mc_samples = 2**23
    mc_reference_event_size = 4
    dims = {"num_classes": Dim(default=3, least=2, most=8)}

    @staticmethod
    def _check_shape(name, value):
        if value.ndim < 1 or value.shape[-1] < 1:
            raise ValueError(
                f"`{name}` must have a last axis of K >= 1 classes, got shape {value.shape}"
            )

    @staticmethod
    def _check_probs(name, value):
        _validate.check_finite(name, value)
        _validate.check_not_subnormal(name, value)
        _validate.check_simplex(name, value)

    @staticmethod
    def _check_logits(name, value):
        check_logits(name, value, allow_positive_inf=False)
        _validate._check(
            name,
            value,
            jnp.broadcast_to(jnp.any(value > -jnp.inf, axis=-1, keepdims=True), value.shape),
            "a row with at least one logit > -inf",
        )

    @staticmethod
    def _probs_from_logits(logits):
        return jax.nn.softmax(logits, axis=-1)

    @staticmethod
    def logits_from_probs(xp, probs):
        """``log(probs)``: logits of the same distribution (``-inf`` for a zero)."""
        return xp.log(probs)

    @staticmethod
    def _value_dtype():
        return jnp.int32

    @property
    def num_classes(self) -> int:
        """Number of classes ``K``."""
        return self.params()[0].shape[-1]

    @staticmethod
    def log_density(xp, x, probs):
        return xp.log(xp.take(probs, x))

    @staticmethod
    def log_density_logits(xp, x, logits):
        return xp.take(xp.log_softmax(logits), x)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jax.random.categorical(key, self.logits, axis=-1, shape=shape)

    @property
    def support(self):
        return supports.integers(0, self.num_classes - 1)

    @staticmethod
    def _symbolic_support(num_classes=3):
        return supports.integers(0, num_classes - 1)

    @staticmethod
    def _symbols(parameterisation, suffix, num_classes=3):
        import sympy as sp

        s = f"_{suffix}" if suffix else ""
        if parameterisation == "logits":
            prefix = f"{suffix}," if suffix else ""
            logits = sp.Matrix([sp.Symbol(f"logits{s}_{k}", real=True) for k in range(num_classes)])
            return logits, {e: rf"\ell_{{{prefix}{k}}}" for k, e in enumerate(logits)}, ()
        probs = sp.Matrix([sp.Symbol(f"probs{s}_{k}", positive=True) for k in range(num_classes)])
        names = {e: f"p{s}_{{{k}}}" for k, e in enumerate(probs)}
        return probs, names, (sp.Add(*probs) - 1,)

    @staticmethod
    def _outcomes(low, high):
        del high
        return low

    def _gradient_projection(self, field, grad):
        """Probabilities move on the simplex: only sums-to-zero directions."""
        if field == "probs":
            return grad - jnp.mean(grad, axis=-1, keepdims=True)
        return grad

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", num_classes=3):
        flat = rng.dirichlet(np.ones(num_classes), n)
        return (flat if spread == "wide" else (flat + 1 / num_classes) / 2,)

    @classmethod
    def adversarial_pairs(cls, rng, num_classes=3):
        eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
        (probs,) = cls.random_params(rng, eps.size, num_classes=num_classes)
        tilted = probs * (1 + eps[:, None] * np.arange(num_classes))
        tiny = np.full((2, num_classes), 1e-15)
        tiny[:, 0] = 1 - (num_classes - 1) * 1e-15
        p = np.concatenate([probs, tiny])
        q = np.concatenate([tilted / tilted.sum(-1, keepdims=True), np.flip(tiny, axis=1)])
        return (p,), (q,)

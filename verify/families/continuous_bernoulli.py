"""The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem and Cunningham, 2019)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import SymbolicFamily
from verify.families._probs_or_logits import SuccessProbability

__all__ = ["ContinuousBernoulli"]

#: |logit| below which sampling uses the first-order series of the inverse CDF.
_SAMPLE_SERIES_BELOW = 1e-6


class ContinuousBernoulli(SuccessProbability):
    """Continuous Bernoulli: density ``C(p) p**x (1 - p)**(1 - x)`` on [0, 1].

    Pass exactly one of ``probs`` (in (0, 1)) or ``logits`` (finite, ``probs =
    sigmoid(logits)``), as in torch.distributions. The normaliser ``C(p) = 2
    atanh(1 - 2p) / (1 - 2p)`` is ``0 / 0`` at ``p = 1/2``; written with the logit
    ``l``, the density is ``exp((2x - 1) l / 2 - log_sinhc(l / 2))`` with
    ``log_sinhc(t) = log(sinh(t) / t)`` (:func:`verify._special.log_sinhc`), exact
    there, and the logit of ``probs`` is taken as ``2 atanh(2p - 1)`` near 1/2
    (:func:`verify._special.logit`), where ``2p - 1`` is exact.

    Args:
        probs: the parameter ``p`` (not the mean, which is ``(1 + langevin(l / 2)) / 2``).
        logits: ``log(p / (1 - p))``.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> float(verify.ContinuousBernoulli(probs=0.5).log_prob(0.3)) == 0  # the uniform
        True
        >>> round(float(verify.ContinuousBernoulli(logits=2.0).log_prob(1.0)), 6)  # 1 - log(sinh 1)
        0.838561
    """

    reparameterized = True  # sampled through the inverse CDF, differentiable in the logit

    @staticmethod
    def _check_probs(name, value):
        _validate.check_finite(name, value)
        _validate.check_not_subnormal(name, value)
        values = np.asarray(value)
        _validate._check(
            name,
            values,
            (values > 0) & (values < 1),
            "in (0, 1) (0 and 1 are no density on [0, 1])",
        )

    @staticmethod
    def _check_logits(name, value):
        _validate.check_finite(name, value)

    @staticmethod
    def logits_from_probs(xp, probs):
        """``log(p / (1 - p))``, exact near ``p = 1/2`` (:func:`verify._special.logit`)."""
        return xp.logit(probs)

    @staticmethod
    def log_density(xp, x, probs):
        logits = xp.logit(probs)
        return (2 * x - 1) * logits / 2 - xp.log_sinhc(logits / 2)  # exact halves on SymPy

    @staticmethod
    def log_density_logits(xp, x, logits):
        return (2 * x - 1) * logits / 2 - xp.log_sinhc(logits / 2)

    def _outcomes_with_mass(self):
        return None  # a density

    def sample(self, key, sample_shape=()):
        """Inverse CDF ``log1p(u expm1(l)) / l``, overflowing nowhere (``u`` at ``l ~ 0``)."""
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        u = jax.random.uniform(key, shape, self.dtype)
        small = jnp.abs(logits) < _SAMPLE_SERIES_BELOW
        l = jnp.where(small, 1, logits)  # noqa: E741 - the logit
        upper = 1 + jnp.log1p((1 - u) * jnp.expm1(-l)) / l  # l > 0: no exp(l) to overflow
        lower = jnp.log1p(u * jnp.expm1(l)) / l
        series = u + logits * u * (1 - u) / 2
        x = jnp.where(small, series, jnp.where(l > 0, upper, lower))
        return jnp.clip(x, 0, 1)

    @property
    def support(self):
        return supports.unit_interval

    @classmethod
    def symbolic(cls, suffix="", parameterisation="probs", **dims):
        import sympy as sp

        cls._check_parameterisation(parameterisation)
        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        if parameterisation == "logits":
            param = sp.Symbol(f"logits{s}", real=True)
            latex, density = {param: rf"\ell{s}"}, cls.log_density_logits
        else:
            param = sp.Symbol(f"probs{s}", positive=True)
            latex, density = {param: f"p{s}"}, cls.log_density
        return SymbolicFamily(
            name="ContinuousBernoulli",
            params=(param,),
            variable=sp.Symbol("x", positive=True),
            density_code=density,
            support=supports.unit_interval,
            latex_names=latex,
            parameterisation=parameterisation,
        )

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """``n`` probabilities: uniform in [0.001, 0.999] (wide) or [0.2, 0.8] (moderate)."""
        del dims
        low, high = (0.001, 0.999) if spread == "wide" else (0.2, 0.8)
        return (rng.uniform(low, high, n),)

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Dense near ``probs = 1/2`` (the normaliser's 0/0; ``1/2 +- 1e-16 ... 0.2``), near-equal
        pairs there and elsewhere (relative 1e-3 ... 1e-12, 0), probabilities down to 1e-290 and
        up to ``1 - 2**-53``, and pairs far apart."""
        del dims
        offsets = np.concatenate([[0.0], np.logspace(-16, np.log10(0.2), 25)])
        half = np.concatenate([0.5 + offsets, 0.5 - offsets[1:]])
        tails = np.array([1e-290, 1e-30, 1e-8, 1e-3, 0.1, 0.9, 0.999, 1 - 1e-8, 1 - 2**-53])
        base = np.concatenate([half, tails])
        eps = np.array([1e-3, -1e-6, 1e-9, -1e-12, 0.0])
        near = np.concatenate([base * (1 + e) for e in eps])
        near = np.where(near < 1, near, base.max())  # 1 - 2**-53 scaled up stays inside
        p = np.concatenate([np.tile(base, len(eps)), base, base])
        mirrored = np.where(1 - base < 1, 1 - base, 0.25)  # 1 - 1e-300 rounds to 1
        q = np.concatenate([near, mirrored, rng.permutation(base)])
        return (p,), (q,)

"""The geometric distribution: failures before the first success, on {0, 1, 2, ...}."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from verify import _special, _validate
from verify.families import supports
from verify.families._distribution import SymbolicFamily
from verify.families._probs_or_logits import SuccessProbability, check_logits

__all__ = ["Geometric"]


class Geometric(SuccessProbability):
    """Geometric distribution: the number of failures before the first success.

    ``P(k) = (1 - p)^k p`` for ``k = 0, 1, 2, ...`` (torch's convention; its mean
    is ``(1 - p) / p``). Pass exactly one of ``probs`` (the success probability
    ``p`` in (0, 1]; ``p = 1`` is the point mass at 0) or ``logits``
    (``p = sigmoid(logits)``; ``+inf`` is ``p = 1``). A probability that is 0 or
    subnormal defines no distribution that XLA can compute with (it reads
    subnormal numbers as 0): ``probs`` must be at least the smallest normal
    number of its dtype, ``logits`` at least its logarithm (-708.4 in float64,
    -87.3 in float32). ``log_prob`` is ``-inf`` outside {0, 1, 2, ...}.

    Args:
        probs: success probability of each trial.
        logits: log-odds of success.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> float(verify.Geometric(probs=0.25).log_prob(2))  # log(0.75**2 * 0.25)
        -1.961658...
        >>> float(verify.Geometric(logits=0.0).log_prob(-1))
        -inf
    """

    reparameterized = False
    mc_samples = 2**22
    dims: dict = {}

    @property
    def support(self):
        return supports.nonnegative_integers

    # ------------------------------------------------------------ parameters
    @staticmethod
    def _check_probs(name, value):
        _validate.check_finite(name, value)
        tiny = float(jnp.finfo(value.dtype).tiny)
        _validate._check(
            name,
            value,
            (np.asarray(value) >= tiny) & (np.asarray(value) <= 1),
            f"in (0, 1] and at least the smallest normal {value.dtype} ({tiny:.4g})",
            note="probability 0 (or subnormal, which XLA on CPU reads as 0) is no "
            "geometric distribution",
        )

    @staticmethod
    def _check_logits(name, value):
        check_logits(name, value, allow_positive_inf=True)
        least = math.log(float(jnp.finfo(value.dtype).tiny))
        _validate._check(
            name,
            value,
            np.asarray(value) >= least,
            f">= log(smallest normal {value.dtype}) = {least:.4g}",
            note="smaller logits are a success probability that is 0 or subnormal",
        )

    def _outcomes_with_mass(self):
        """None: the support is infinite (every outcome has mass unless ``p = 1``)."""
        return None

    # --------------------------------------------------------------- density
    @staticmethod
    def log_density(xp, x, probs):
        """``x log(1 - p) + log(p)``; ``0 log(0) = 0`` at ``p = 1``."""
        return xp.xlog1py(x, -probs) + xp.log(probs)

    @staticmethod
    def log_density_logits(xp, x, logits):
        """``-x softplus(l) - softplus(-l)``; no ``0 * inf`` at ``x = 0, l = +inf``."""
        return -(x * xp.softplus(xp.where(x == 0, 0, logits))) - xp.softplus(-logits)

    def sample(self, key, sample_shape=()):
        """Inverse CDF: ``floor(log(U) / log(1 - p))``, ``P(K >= k) = (1 - p)^k``."""
        (param,) = self.params()
        dtype = param.dtype
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        tiny = jnp.finfo(dtype).tiny
        u = jax.random.uniform(key, shape, dtype, minval=tiny, maxval=1)
        if self.parameterisation == "logits":
            log_failure = -jax.nn.softplus(param)
        else:
            log_failure = _special.log1p(-param)
        return jnp.floor(jnp.log(u) / log_failure)

    # -------------------------------------------------------------- symbolic
    @classmethod
    def symbolic(cls, suffix="", parameterisation="probs", **dims):
        import sympy as sp

        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        x = sp.Symbol("x", integer=True, nonnegative=True)
        if parameterisation == "logits":
            param = sp.Symbol(f"logits{s}", real=True)
            latex, code = rf"\ell{s}", cls.log_density_logits
        else:
            param = sp.Symbol(f"probs{s}", positive=True)
            latex, code = f"p{s}", cls.log_density
        return SymbolicFamily(
            name="Geometric",
            params=(param,),
            variable=x,
            density_code=code,
            support=supports.nonnegative_integers,
            latex_names={param: latex},
            parameterisation=parameterisation,
        )

    # ------------------------------------------------------- test parameters
    @classmethod
    def random_params(cls, rng, n, *, spread="wide", **dims):
        """``n`` success probabilities (float64).

        ``"wide"``: log-uniform over [1e-6, 1) half the time, uniform over (0, 1)
        the other half. ``"moderate"``: uniform over [0.25, 0.75], where two
        draws have a KL divergence of at most 2.2 nats and log-ratios linear in
        an exponentially tailed count.
        """
        cls._no_dims(dims)
        if spread == "moderate":
            return (rng.uniform(0.25, 0.75, n),)
        log_uniform = 10 ** rng.uniform(-6, 0, n)
        uniform = rng.uniform(0, 1, n)
        probs = np.where(rng.uniform(size=n) < 0.5, log_uniform, uniform)
        return (np.clip(probs, 1e-6, 1 - 2**-20),)

    @classmethod
    def adversarial_pairs(cls, rng, **dims):
        """Near-equal and extreme success probabilities (probs), P first.

        Each base ``p`` from the smallest normal float64 to 1 is paired with itself
        and with relative perturbations 1e-3 ... 1e-12 of ``p`` and (near 1) of
        ``1 - p``; then far pairs across the whole range.
        """
        del rng
        cls._no_dims(dims)
        tiny = float(np.finfo(np.float64).tiny)
        bases = [tiny, 1e-300, 1e-30, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-9, 1 - 2**-52]
        p, q = [], []
        for base in bases:
            for h in (0.0, 1e-3, -1e-6, 1e-9, -1e-12):
                p.append(base)
                q.append(
                    min(max(base * (1 + h), tiny), 1.0) if base < 0.5 else 1 - (1 - base) * (1 + h)
                )
        far = [tiny, 1e-30, 1e-3, 0.5, 1 - 1e-9, 1.0]
        for a in far:
            for b in far:
                p.append(a)
                q.append(b)
        return (np.asarray(p),), (np.asarray(q),)

"""The Dirichlet distribution on the probability simplex."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from verify import _special, _validate
from verify.families import supports
from verify.families._distribution import Dim, Distribution, SymbolicFamily
from verify.families.beta import check_concentration

__all__ = ["Dirichlet"]


class Dirichlet(Distribution):
    """Dirichlet distribution on the simplex of ``K`` probabilities (``K`` the last axis).

    Density ``Gamma(sum a) / prod Gamma(a_k) * prod x_k**(a_k - 1)`` with respect to
    the Lebesgue measure of the first ``K - 1`` coordinates (as SciPy and TFP).
    ``Dirichlet([a, b])`` is ``Beta(a, b)`` for the first coordinate.

    Args:
        concentration: an array of shape ``(..., K)``, ``K >= 2``, of values > 0.
        validate_args: check concrete parameter values (default). Traced values
            (under ``jit``/``vmap``/``grad``) are never checked.

    Example:
        >>> import verify
        >>> p = verify.Dirichlet([2.0, 3.0, 4.0])
        >>> round(float(p.log_prob([0.2, 0.3, 0.5])), 6)
        2.022871
        >>> float(p.log_prob([0.5, 0.6, -0.1]))
        -inf
    """

    _fields = ("concentration",)
    _param_event_ranks = (1,)
    reparameterized = True  # jax.random.dirichlet differentiates through its gamma draws
    mc_samples = 2**21
    dims = {"dim": Dim(default=3, least=2, most=3)}  # derive fails from 4 (the simplex route)

    def __init__(self, concentration, *, validate_args: bool = True):
        (concentration,) = _validate.as_float_arrays(
            validate_args=validate_args, concentration=concentration
        )
        if concentration.ndim < 1 or concentration.shape[-1] < 2:
            raise ValueError(
                "`concentration` must have a last axis of at least 2 categories, "
                f"got shape {concentration.shape}"
            )
        if validate_args and _validate.is_concrete(concentration):
            check_concentration("concentration", concentration)
        self._set(concentration=concentration)

    def canonical(self):
        return (self.concentration,)

    @property
    def event_shape(self):
        return self.concentration.shape[-1:]

    @property
    def support(self):
        return supports.Simplex(self.concentration.shape[-1])

    @staticmethod
    def log_density(xp, x, concentration):
        log_x = xp.log(x)
        log_normaliser = xp.sum(xp.lgamma(concentration)) - xp.lgamma(xp.sum(concentration))
        # sum (a_k - 1) log x_k, written without adding a scalar to a vector
        return xp.sum(xp.multiply(concentration, log_x)) - xp.sum(log_x) - log_normaliser

    def log_prob(self, value):
        """Log-density of ``value`` (shape ``(..., K)``); ``-inf`` off the simplex.

        On the simplex's faces (some ``x_k = 0``) the density's limit, with ``0 log 0 = 0``.
        """
        value = jnp.asarray(value)
        inside = self.support.contains(value)
        k = self.concentration.shape[-1]
        x = jnp.where(inside[..., None], value, 1 / k).astype(self.dtype)
        a = self.concentration
        log_normaliser = jnp.sum(_special.lgamma(a), -1) - _special.lgamma(jnp.sum(a, -1))
        log_p = jnp.sum(jss.xlogy(a - 1, x), -1) - log_normaliser
        return jnp.where(inside, log_p, -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jax.random.dirichlet(key, self.concentration, shape, self.dtype)

    @classmethod
    def symbolic(cls, suffix="", parameterisation=None, dim=3, **dims):
        import sympy as sp

        cls._check_parameterisation(parameterisation)
        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        prefix = f"{suffix}," if suffix else ""
        a = sp.Matrix([sp.Symbol(f"concentration{s}_{k}", positive=True) for k in range(dim)])
        x = sp.Matrix([sp.Symbol(f"x_{k}", positive=True) for k in range(dim)])
        return SymbolicFamily(
            name="Dirichlet",
            params=(a,),
            variable=x,
            density_code=cls.log_density,
            support=supports.Simplex(dim),
            latex_names={e: rf"\alpha_{{{prefix}{k}}}" for k, e in enumerate(a)},
        )

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", dim=3, **dims):
        """``n`` concentration vectors: log-uniform in [0.05, 50] (wide), uniform in [2, 6]
        (moderate)."""
        del dims
        if spread == "moderate":
            return (rng.uniform(2.0, 6.0, (n, dim)),)
        return (np.exp(rng.uniform(np.log(0.05), np.log(50.0), (n, dim))),)

    @classmethod
    def adversarial_pairs(cls, rng, dim=3, **dims):
        """Near-equal pairs (relative 1e-3 ... 1e-12, 0: all components, one component, or
        all scaled alike, which keeps the mean), concentrations 1e-8 ... 1e12 (also mixed in
        one vector), and pairs far apart."""
        del dims
        levels = np.array([1e-8, 1e-3, 0.5, 1.0, 2.5, 11.9, 12.0, 300.0, 1e5, 1e12])
        base = np.concatenate(
            [np.repeat(levels[:, None], dim, axis=1), rng.choice(levels, (40, dim))], axis=0
        )
        eps = np.array([1e-3, -1e-6, 1e-9, -1e-12, 0.0])
        one = np.zeros(dim)
        one[0] = 1.0
        p, q = [], []
        for e in eps:
            p += [base, base, base]
            q += [base * (1 + e), base * (1 + e * one), base * (1 + e * np.linspace(-1, 1, dim))]
        p.append(base)
        q.append(base[rng.permutation(len(base))])
        return (np.concatenate(p),), (np.concatenate(q),)

"""The multivariate normal distribution in any dimension d."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _ops, _validate
from verify.families import supports
from verify.families._distribution import Dim, Distribution, SymbolicFamily, _short

__all__ = ["MultivariateNormal"]


class MultivariateNormal(Distribution):
    """Multivariate normal with mean ``loc`` and covariance ``scale_tril @ scale_tril.T``.

    Pass exactly one of ``covariance_matrix`` (symmetric positive definite) or
    ``scale_tril`` (lower triangular with a positive diagonal, the Cholesky
    factor of the covariance). Everything is computed from the Cholesky factor;
    no matrix is ever inverted.

    Args:
        loc: mean, shape ``(..., d)``.
        covariance_matrix: covariance, shape ``(..., d, d)``; symmetric within
            ``64 * eps * max|entry|``, and positive definite.
        scale_tril: Cholesky factor, shape ``(..., d, d)``; entries above the
            diagonal must be 0.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> p = verify.MultivariateNormal([0.0, 0.0], covariance_matrix=[[2.0, 0.5], [0.5, 1.0]])
        >>> p.event_shape, p.scale_tril.shape
        ((2,), (2, 2))
    """

    # `_covariance` is the covariance as given (None when built from `scale_tril`):
    # the KL of two such distributions is computed from their exact difference.
    _fields = ("loc", "scale_tril", "_covariance")
    _param_event_ranks = (1, 2)
    reparameterized = True
    mc_samples = 2**22
    mc_reference_event_size = 9
    dims = {"dim": Dim(default=2, least=1, most=4)}
    aliases = ("mvn",)

    def __init__(self, loc, covariance_matrix=None, scale_tril=None, *, validate_args=True):
        _validate.check_exactly_one(covariance_matrix=covariance_matrix, scale_tril=scale_tril)
        name = "scale_tril" if scale_tril is not None else "covariance_matrix"
        matrix = scale_tril if scale_tril is not None else covariance_matrix
        loc, matrix = _validate.as_float_arrays(
            validate_args=validate_args, loc=loc, **{name: matrix}
        )
        if loc.ndim < 1 or loc.shape[-1] < 1:
            raise ValueError(
                f"`loc` must have shape (..., d) with dimension d >= 1, got shape {loc.shape}"
            )
        d = loc.shape[-1]
        if matrix.ndim < 2 or matrix.shape[-2:] != (d, d):
            raise ValueError(
                f"`{name}` must have shape (..., {d}, {d}) to match `loc` of shape {loc.shape}, "
                f"got shape {matrix.shape}"
            )
        _validate.check_batch_shapes(loc=loc.shape[:-1], **{name: matrix.shape[:-2]})
        check = validate_args and _validate.is_concrete(loc, matrix)
        if check:
            _validate.check_finite("loc", loc)
            _validate.check_finite(name, matrix)
        covariance = None
        if name == "covariance_matrix":
            covariance = (matrix + jnp.swapaxes(matrix, -1, -2)) / 2
            if check:
                _check_symmetric(matrix)
            scale_tril = _cholesky(covariance)
            if check and not np.all(np.isfinite(np.asarray(scale_tril))):
                raise ValueError(
                    "`covariance_matrix` must be positive definite, got a matrix whose "
                    "Cholesky factorisation fails (smallest eigenvalue "
                    f"{float(np.linalg.eigvalsh(np.asarray(matrix, np.float64)).min())!r})"
                )
        else:
            scale_tril = matrix
            if check:
                _check_lower_triangular(scale_tril)
                _validate.check_positive(
                    "diagonal of `scale_tril`", jnp.diagonal(scale_tril, axis1=-2, axis2=-1)
                )
        self._set(loc=loc, scale_tril=scale_tril, _covariance=covariance)

    def canonical(self):
        return self.loc, self.scale_tril

    @property
    def event_shape(self):
        return self.loc.shape[-1:]

    @property
    def covariance_matrix(self):
        """The covariance as given, else ``scale_tril @ scale_tril.T``."""
        if self._covariance is not None:
            return self._covariance
        return self.scale_tril @ jnp.swapaxes(self.scale_tril, -1, -2)

    def __repr__(self):
        given = "scale_tril" if self._covariance is None else "covariance_matrix"
        return f"MultivariateNormal(loc={_short(self.loc)}, {given}={_short(getattr(self, given))})"

    def log_prob(self, value):
        """Log-density of ``value``, shape ``(..., d)``, broadcast over the batch."""
        value = jnp.asarray(value)
        if value.ndim < 1 or value.shape[-1:] != self.event_shape:
            raise ValueError(
                f"`value` must have shape (..., {self.event_shape[0]}) to match the "
                f"dimension d = {self.event_shape[0]}, got shape {value.shape}"
            )
        return super().log_prob(value)

    @staticmethod
    def log_density(xp, x, loc, scale_tril):
        d = xp.event_size(loc)
        z = xp.solve_lower_vector(scale_tril, x - loc)
        log_det = xp.sum(xp.log(xp.diagonal(scale_tril)))
        return -xp.half_squared_norm(z) - log_det - d * xp.log(2 * xp.pi) / 2

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape + self.event_shape
        z = jax.random.normal(key, shape, self.dtype)
        return self.loc + jnp.einsum("...ij,...j->...i", self.scale_tril, z)

    @property
    def support(self):
        return supports.RealVector(self.event_shape[0])

    @classmethod
    def from_params(cls, *params, parameterisation=None):
        """From ``(loc, scale_tril)``, the parameters the closed forms take."""
        cls._check_parameterisation(parameterisation)
        loc, scale_tril = params
        return cls(loc, scale_tril=scale_tril)

    @classmethod
    def random_params(cls, rng, n, *, spread="wide", dim=2):
        if spread == "wide":
            loc = rng.normal(0.0, 1.0, (n, dim))
            below, diagonal = (
                rng.normal(0.0, 0.5, (n, dim, dim)),
                np.exp(rng.normal(0, 0.5, (n, dim))),
            )
        else:
            loc = rng.uniform(-1.0, 1.0, (n, dim))
            below = rng.normal(0.0, 0.3, (n, dim, dim))
            diagonal = np.exp(rng.uniform(np.log(0.5), np.log(2.0), (n, dim)))
        return loc, np.tril(below, -1) + diagonal[..., None] * np.eye(dim)

    @classmethod
    def adversarial_pairs(cls, rng, dim=2):
        eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
        loc, tril = cls.random_params(rng, eps.size, dim=dim)
        return (loc, tril), (loc + eps[:, None], tril * (1 + eps[:, None, None]))

    def _gradient_projection(self, field, grad):
        """A ``scale_tril`` moves in its lower triangle only."""
        return jnp.tril(grad) if field == "scale_tril" else grad

    def _free_mask(self, field):
        if field == "scale_tril":
            return np.tril(np.ones(self.scale_tril.shape[-2:], bool))
        return None

    @classmethod
    def symbolic(cls, suffix="", parameterisation=None, dim=2):
        import sympy as sp

        cls._check_parameterisation(parameterisation)
        s = f"_{suffix}" if suffix else ""
        loc = sp.Matrix([sp.Symbol(f"loc{s}_{i}", real=True) for i in range(dim)])

        def tril_entry(i, j):
            if j > i:
                return sp.S.Zero
            assumptions = {"positive": True} if i == j else {"real": True}
            return sp.Symbol(f"scale_tril{s}_{i}{j}", **assumptions)

        scale_tril = sp.Matrix(dim, dim, tril_entry)
        x = sp.Matrix([sp.Symbol(f"x_{i}", real=True) for i in range(dim)])
        names = {e: rf"\mu{s}_{{{i}}}" for i, e in enumerate(loc)}
        names.update(
            {scale_tril[i, j]: rf"L{s}_{{{i}{j}}}" for i in range(dim) for j in range(i + 1)}
        )
        return SymbolicFamily(
            name="MultivariateNormal",
            params=(loc, scale_tril),
            variable=x,
            density_code=cls.log_density,
            support=supports.RealVector(dim),
            latex_names=names,
        )


def _cholesky(matrix):
    """Cholesky factor (:func:`verify._ops._cholesky`); half-precision matrices are factored
    in float32."""
    if jnp.finfo(matrix.dtype).bits >= 32:
        return _ops._cholesky(matrix)
    return _ops._cholesky(matrix.astype(jnp.float32)).astype(matrix.dtype)


def _check_symmetric(matrix):
    values = np.asarray(matrix)
    tolerance = 64 * float(jnp.finfo(values.dtype).eps) * np.abs(values).max(initial=0.0)
    asymmetry = np.abs(values - np.swapaxes(values, -1, -2))
    if (asymmetry > tolerance).any():
        index = tuple(int(i) for i in np.argwhere(asymmetry > tolerance)[0])
        i, j = index[-2:]
        raise ValueError(
            f"`covariance_matrix` must be symmetric (|C[i, j] - C[j, i]| <= {tolerance:.3g}), "
            f"got C[{i}, {j}] = {values[index].item()!r} but C[{j}, {i}] = "
            f"{values[index[:-2] + (j, i)].item()!r}"
        )


def _check_lower_triangular(matrix):
    values = np.asarray(matrix)
    upper = np.triu(np.ones(values.shape[-2:], bool), k=1)
    bad = (values != 0) & upper
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            "`scale_tril` must be lower triangular, got "
            f"{values[index].item()!r} above the diagonal at index {index}"
        )

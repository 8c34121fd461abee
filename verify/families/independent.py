"""Independent: the rightmost batch axes of a distribution read as event axes."""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from verify.families._distribution import Distribution

__all__ = ["Independent"]


class Independent(Distribution, abstract=True):
    """The product of a batch of independent distributions, as one distribution.

    The last ``reinterpreted_batch_ndims`` axes of ``base``'s batch become event
    axes (as torch.distributions' and TFP's ``Independent``): ``log_prob`` sums
    the base's log-probabilities over them, and KL divergence, entropy and
    cross-entropy are the base's closed forms summed over them (each is
    additive over independent components). P and Q must reinterpret the same
    number of axes. A wrapper, not a family of its own: it is not in
    ``verify.FAMILIES`` (the registry's families have densities to derive from).

    Args:
        base: any verify distribution.
        reinterpreted_batch_ndims: how many of ``base``'s rightmost batch axes
            to reinterpret, ``0 <= n <= len(base.batch_shape)``.

    Example:
        >>> import verify
        >>> p = verify.Independent(verify.Normal([0.0, 0.0], 1.0), 1)
        >>> q = verify.Independent(verify.Normal([1.0, 0.0], 1.0), 1)
        >>> p.batch_shape, p.event_shape, float(verify.kl(p, q))
        ((), (2,), 0.5)
    """

    _fields = ("base",)

    def __init__(self, base, reinterpreted_batch_ndims, *, validate_args: bool = True):
        del validate_args  # the base validated its parameters
        if not isinstance(base, Distribution):
            raise TypeError(f"`base` must be a verify distribution, got {base!r}")
        n = reinterpreted_batch_ndims
        rank = len(base.batch_shape)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= n <= rank:
            raise ValueError(
                f"`reinterpreted_batch_ndims` must be an integer from 0 to {rank} (the rank "
                f"of the base's batch shape {base.batch_shape}), got {n!r}"
            )
        self._set(base=base, reinterpreted_batch_ndims=int(n))

    # The base is the pytree child; the number of axes is static.
    def _tree_flatten(self):
        return (self.base,), self.reinterpreted_batch_ndims

    @classmethod
    def _tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj._set(base=children[0], reinterpreted_batch_ndims=aux)
        return obj

    def _as_base(self):
        return self.base, self.reinterpreted_batch_ndims

    # ------------------------------------------------------------ delegated
    def _leaves(self):
        return self.base._leaves()

    @property
    def _param_event_ranks(self):
        return tuple(r + self.reinterpreted_batch_ndims for r in self.base._param_event_ranks)

    @property
    def parameterisation(self):
        return self.base.parameterisation

    def params(self):
        return self.base.params()

    def canonical(self):
        return self.base.canonical()

    @property
    def reparameterized(self):
        return self.base.reparameterized

    @property
    def mc_samples(self):
        return self.base.mc_samples

    @property
    def mc_reference_event_size(self):
        return self.base.mc_reference_event_size

    @property
    def support(self):
        return self.base.support

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def batch_shape(self):
        shape = self.base.batch_shape
        return shape[: len(shape) - self.reinterpreted_batch_ndims]

    @property
    def event_shape(self):
        shape = self.base.batch_shape
        return shape[len(shape) - self.reinterpreted_batch_ndims :] + self.base.event_shape

    def log_prob(self, value):
        """The base's log-probabilities summed over the reinterpreted axes."""
        log_p = self.base.log_prob(value)
        axes = tuple(range(log_p.ndim - self.reinterpreted_batch_ndims, log_p.ndim))
        return jnp.sum(log_p, axis=axes)

    def sample(self, key, sample_shape=()):
        return self.base.sample(key, sample_shape)

    def _gradient_projection(self, field, grad):
        return self.base._gradient_projection(field, grad)

    def _free_mask(self, field):
        return self.base._free_mask(field)

    def _outcomes_with_mass(self):
        return self.base._outcomes_with_mass()

    @classmethod
    def symbolic(cls, suffix="", parameterisation=None, **dims):
        raise NotImplementedError(
            "Independent has no symbolic form of its own: its quantities are the base "
            "family's (derive those) summed over the reinterpreted axes"
        )

    def __repr__(self):
        return f"Independent({self.base!r}, {self.reinterpreted_batch_ndims})"

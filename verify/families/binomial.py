"""The binomial distribution on {0, ..., total_count}."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from verify import _validate
from verify.families import supports
from verify.families._distribution import Dim, SymbolicFamily
from verify.families._probs_or_logits import SuccessProbability

__all__ = ["Binomial"]


class Binomial(SuccessProbability):
    """Binomial distribution: successes in ``total_count`` independent Bernoulli trials.

    ``P(k) = C(n, k) p^k (1 - p)^(n - k)`` for ``k = 0, ..., n``. ``total_count``
    (``n``) is an array of non-negative integers (stored in the floating dtype
    of the probabilities) that broadcasts with them. Pass exactly one of
    ``probs`` (in [0, 1]) or ``logits`` (``p = sigmoid(logits)``, ``-inf`` and
    ``+inf`` allowed), as for :class:`verify.Bernoulli`; the distribution
    computes from what it was given. ``log_prob`` is ``-inf`` outside {0, ..., n}.

    Args:
        total_count: number of trials (torch's name and default, 1).
        probs: success probability of each trial.
        logits: log-odds of success.
        validate_args: check concrete parameter values (default).

    Example:
        >>> import verify
        >>> round(float(verify.Binomial(4, probs=0.5).log_prob(2.0)), 5)  # log(6 / 16)
        -0.98083
        >>> float(verify.Binomial(4, logits=0.0).log_prob(5.0))
        -inf
    """

    _fields = ("total_count", "probs", "logits")
    _param_event_ranks = (0, 0)
    reparameterized = False
    mc_samples = 2**22
    #: The number of trials of the symbolic form: a derivation sums over {0, ..., n}.
    dims = {"total_count": Dim(default=3, least=1, most=8)}

    def __init__(self, total_count=1, probs=None, logits=None, *, validate_args: bool = True):
        _validate.check_exactly_one(probs=probs, logits=logits)
        name = "probs" if probs is not None else "logits"
        total_count, param = _validate.as_float_arrays(
            validate_args=validate_args,
            total_count=total_count,
            **{name: probs if probs is not None else logits},
        )
        _validate.check_batch_shapes(total_count=total_count.shape, **{name: param.shape})
        if validate_args and _validate.is_concrete(total_count):
            _check_total_count(total_count)
        super().__init__(**{name: param}, validate_args=validate_args)
        self._set(total_count=total_count)

    # ------------------------------------------------------------ parameters
    def params_as(self, parameterisation):
        (param,) = super().params_as(parameterisation)
        return self.total_count, param

    def canonical(self):
        return self.total_count, self.probs

    @property
    def support(self):
        return supports.integers(0, self.total_count)

    @classmethod
    def convert(cls, xp, params, given, wanted):
        """``(total_count, probs)`` to ``(total_count, logits)`` (a mixed pair's route)."""
        total_count, value = params
        return (total_count, *super().convert(xp, (value,), given, wanted))

    @classmethod
    def from_params(cls, total_count, param, parameterisation=None):
        cls._check_parameterisation(parameterisation)
        return cls(total_count, **{parameterisation or "probs": param})

    def _free_mask(self, field):
        """``total_count`` is an integer: no gradient is taken or compared in it."""
        if field == "total_count":
            return np.zeros(jnp.shape(self.total_count), bool)
        return None

    def _outcomes_with_mass(self):
        """None: the outcomes {0, ..., n} differ in number across a batch."""
        return None

    # --------------------------------------------------------------- density
    @staticmethod
    def log_density(xp, x, total_count, probs):
        return (
            log_binomial_coefficient(xp, total_count, x)
            + xp.xlogy(x, probs)
            + xp.xlog1py(total_count - x, -probs)
        )

    @staticmethod
    def log_density_logits(xp, x, total_count, logits):
        """``log C(n, x) - x softplus(-l) - (n - x) softplus(l)``; ``0 inf = 0`` at ``l = ±inf``."""
        return (
            log_binomial_coefficient(xp, total_count, x)
            - times_softplus(xp, x, -logits)
            - times_softplus(xp, total_count - x, logits)
        )

    def sample(self, key, sample_shape=()):
        shape = _validate.sample_shape(sample_shape) + self.batch_shape
        return jax.random.binomial(key, self.total_count, self.probs, shape, dtype=self.dtype)

    # -------------------------------------------------------------- symbolic
    @classmethod
    def symbolic(cls, suffix="", parameterisation="probs", total_count=None, **dims):
        """The family in SymPy.

        ``total_count``: a number (derivations sum over {0, ..., n}; default
        ``dims["total_count"].default``, 3), or a SymPy expression, e.g. one
        symbol shared by P and Q (the KL then has its closed form in ``n``).
        """
        import sympy as sp

        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        if total_count is None:
            total_count = cls.dims["total_count"].default
        n = sp.sympify(total_count)
        if parameterisation == "logits":
            param = sp.Symbol(f"logits{s}", real=True)
            latex, code = rf"\ell{s}", cls.log_density_logits
        else:
            param = sp.Symbol(f"probs{s}", positive=True)
            latex, code = f"p{s}", cls.log_density
        return SymbolicFamily(
            name="Binomial",
            params=(n, param),
            variable=sp.Symbol("x", integer=True, nonnegative=True),
            density_code=code,
            support=supports.integers(0, n),
            latex_names={n: f"n{s}", param: latex},
            parameterisation=parameterisation,
        )

    # ------------------------------------------------------- test parameters
    @classmethod
    def random_params(cls, rng, n, *, spread="wide", total_count=3, **dims):
        """``n`` parameter sets ``(total_count, probs)`` (float64), every ``total_count``
        equal to the argument (two draws are comparable: equal numbers of trials).

        ``"wide"``: probabilities uniform over (0, 1) half the time, log-uniform
        over [1e-6, 1) the other half. ``"moderate"``: uniform over [0.25, 0.75]
        (a KL divergence of at most ``1.1 * total_count`` nats).
        """
        cls._no_dims(dims)
        counts = np.full(n, float(total_count))
        if spread == "moderate":
            return counts, rng.uniform(0.25, 0.75, n)
        probs = np.where(
            rng.uniform(size=n) < 0.5, 10 ** rng.uniform(-6, 0, n), rng.uniform(size=n)
        )
        return counts, np.clip(probs, 1e-6, 1 - 2**-20)

    @classmethod
    def adversarial_pairs(cls, rng, total_count=3, **dims):
        """Near-equal and extreme probabilities (0 and 1 included) at equal numbers of
        trials: each base with itself and relative perturbations 1 and 1e-3 ... 1e-12 of ``p``
        (or of ``1 - p`` near 1), then far pairs across the range (P first)."""
        del rng
        cls._no_dims(dims)
        tiny = float(np.finfo(np.float64).tiny)
        bases = [tiny, 1e-300, 1e-30, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-9, 1 - 2**-52]
        p, q = [], []
        for base in bases:
            for h in (0.0, 1.0, 1e-3, -1e-6, 1e-9, -1e-12):
                p.append(base)
                q.append(
                    max(base * (1 + h), tiny) if base < 0.5 else min(1 - (1 - base) * (1 + h), 1.0)
                )
        far = [0.0, tiny, 1e-30, 1e-3, 0.5, 1 - 1e-9, 1.0]
        for a in far:
            for b in far:
                p.append(a)
                q.append(b)
        counts = np.full(len(p), float(total_count))
        return (counts, np.asarray(p)), (counts, np.asarray(q))


def log_binomial_coefficient(xp, n, k):
    """``log C(n, k) = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)``."""
    return xp.lgamma(n + 1) - xp.lgamma(k + 1) - xp.lgamma(n - k + 1)


def times_softplus(xp, count, logits):
    """``count * softplus(logits)``, 0 where ``count`` is 0 (also at ``logits = +inf``)."""
    return count * xp.softplus(xp.where(count == 0, 0, logits))


def _check_total_count(value):
    values = np.asarray(value)
    _validate.check_finite("total_count", value)
    _validate._check(
        "total_count", value, (values >= 0) & (values == np.floor(values)), "an integer >= 0"
    )

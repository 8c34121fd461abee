"""Monte Carlo estimates of KL divergence, entropy and cross-entropy."""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from verify import _api, _validate
from verify.families import Distribution
from verify.montecarlo import _engine, _statistics

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "default_num_samples",
    "estimate",
]

#: The estimators of each quantity. ``plain`` averages the quantity's own
#: integrand; ``k3`` is Schulman's control-variate estimator of KL.
ESTIMATORS = {
    "kl": ("plain", "k3"),
    "entropy": ("plain",),
    "cross_entropy": ("plain",),
}

#: Samples drawn by default for one distribution are the family's ``mc_samples``
#: (about a second on two CPU cores; see ``benchmarks/montecarlo_throughput.py``),
#: measured at its ``mc_reference_event_size``. A batch of ``b`` distributions
#: gets ``1/b`` of it per distribution, at least this many:
_MIN_DEFAULT_SAMPLES = 2**14
#: The default budget of one Monte Carlo run, in planned seconds (:func:`plan_seconds`).
DEFAULT_MAX_SECONDS = 600.0
#: k3 is trusted only while the sample mean of q/p is within this many
#: standard errors of 1 (see :func:`_from_moments`).
CONTROL_Z = 4.0


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate with its standard error and trust diagnostics.

    Fields are Python scalars for one distribution and NumPy arrays of the
    batch shape for a batch.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        estimator: ``"plain"`` or ``"k3"``.
        value: the sample mean of the estimator's terms, in nats.
        stderr: the standard error ``sqrt(variance / num_samples)``.
        num_samples: samples drawn.
        variance: the sample variance of one term.
        skewness: the sample skewness of the terms.
        kurtosis: the sample kurtosis (3 for normal terms, not excess).
        variance_rel_error: ``sqrt((kurtosis - 1) / n)``, the estimated
            relative error of ``variance``
            (:func:`verify.montecarlo._statistics.variance_rel_error`).
        trusted: whether the standard error can be trusted: everything finite
            and ``variance_rel_error <= 0.1``.
        reason: why it is not trusted (empty when it is).
        control_z: for k3, how many standard errors the sample mean of
            ``q/p`` is from its exact value 1 (trusted only up to
            :data:`CONTROL_Z`); None for other estimators.
        interrupted: the run was stopped (Ctrl-C) before all the samples asked
            for were drawn: a partial result from ``num_samples`` samples.
    """

    quantity: str
    estimator: str
    value: object
    stderr: object
    num_samples: int
    variance: object
    skewness: object
    kurtosis: object
    variance_rel_error: object
    trusted: object
    reason: str = ""
    control_z: object = None
    interrupted: bool = False

    def __str__(self):
        if np.ndim(self.value) == 0:
            text = (
                f"{self.quantity} = {self.value:.8g} ± {self.stderr:.2g} "
                f"({self.estimator}, {self.num_samples:,} samples)"
            )
        else:
            text = (
                f"{self.quantity}: batch {np.shape(self.value)} of {self.estimator} "
                f"estimates, {self.num_samples:,} samples each"
            )
        if self.interrupted:
            text += "; interrupted: a partial result"
        return text + (f"; not trusted: {self.reason}" if self.reason else "")


@dataclasses.dataclass(frozen=True)
class _Integrand:
    """Per-sample terms of several estimators of one quantity (hashable: jit cache key)."""

    quantity: str
    estimators: tuple

    def __call__(self, args, key, chunk_size):
        p, q = args
        x = p.sample(key, (chunk_size,))
        log_p = jax.vmap(p.log_prob)(x)
        log_q = None if q is None else jax.vmap(q.log_prob)(x)
        if log_q is not None and log_q.ndim > log_p.ndim:
            # P's batch is smaller than Q's: its samples serve every member of Q's.
            extra = (1,) * (log_q.ndim - log_p.ndim)
            log_p = log_p.reshape(log_p.shape[:1] + extra + log_p.shape[1:])
            log_p, log_q = jnp.broadcast_arrays(log_p, log_q)
        return jnp.stack([self.term(name, log_p, log_q) for name in self.estimators])

    def term(self, estimator, log_p, log_q):
        if self.quantity == "entropy":
            return -log_p
        if self.quantity == "cross_entropy":
            return -log_q
        if estimator == "plain":
            return log_p - log_q
        if estimator == "control":  # r - 1, whose mean under P is exactly 0
            return jnp.expm1(log_q - log_p)
        # k3 = (r - 1) - log r with r = q/p = exp(l): expm1(l) - l has no
        # cancellation for small l and E_P[k3] = KL since E_P[r] = 1.
        log_ratio = log_q - log_p
        return jnp.expm1(log_ratio) - log_ratio


def default_num_samples(p: Distribution) -> int:
    """The default sample count for a distribution (or batch), about 1 s of work.

    the family's ``mc_samples``, fewer in proportion to an event
    size beyond the one measured (:func:`plan_seconds`), shared by the batch
    members, but at least ``2**14`` per member: a batch of more than about
    1,000 distributions takes proportionally longer (and a budget applies).

    Example:
        >>> import verify
        >>> default_num_samples(verify.Normal(0.0, 1.0))
        16777216
        >>> default_num_samples(verify.Normal([0.0] * 4, 1.0))
        4194304
    """
    total = p.mc_samples / _event_scale(p)
    return max(_MIN_DEFAULT_SAMPLES, int(total) // max(1, math.prod(p.batch_shape)))


#: The largest sample count: counts are float64 in the moment summaries, exact up to 2**53.
MAX_SAMPLES = 2**53


def event_size(p: Distribution) -> int:
    """Numbers per sample in the largest per-sample array of ``p`` (K, d^2, or 1).

    Example:
        >>> import verify
        >>> event_size(verify.Categorical(probs=[0.5, 0.25, 0.25]))
        3
    """
    shapes = jax.eval_shape(lambda d: d.canonical(), p)
    return max(
        math.prod(x.shape[len(x.shape) - rank :]) for x, rank in zip(shapes, p._param_event_ranks)
    )


def plan_seconds(p: Distribution, num_samples: int, batch_size: int = 1) -> float:
    """Planned run time of ``num_samples`` samples of a batch, at the reference rates.

    The reference rate of a family is its ``mc_samples`` samples per
    second for one distribution (measured on a 2-core CPU by
    ``benchmarks/montecarlo_throughput.py``), slower in proportion to the event
    size beyond the one measured (K = 4 classes, d = 3 dimensions). A GPU runs
    faster; a busy machine slower.

    Example:
        >>> import verify
        >>> plan_seconds(verify.Normal(0.0, 1.0), 2**24)
        1.0
    """
    rate = p.mc_samples
    return num_samples * max(1, batch_size) * _event_scale(p) / rate


def _event_scale(p):
    return max(1.0, event_size(p) / p.mc_reference_event_size)


def check_max_seconds(max_seconds):
    """Raises unless ``max_seconds`` is a number > 0 (``inf`` allowed); returns it."""
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, numbers.Real):
        raise TypeError(f"`max_seconds` must be a number > 0, got {max_seconds!r}")
    if not max_seconds > 0:
        raise ValueError(f"`max_seconds` must be a number > 0, got {max_seconds!r}")
    return float(max_seconds)


def check_budget(p, num_samples, batch_size, max_seconds, name="num_samples"):
    """Raises before any work when the planned run time exceeds ``max_seconds``."""
    planned = plan_seconds(p, num_samples, batch_size)
    if planned > check_max_seconds(max_seconds):
        batch = f" for each of {batch_size:,} distributions" if batch_size > 1 else ""
        raise ValueError(
            f"`{name}` = {num_samples:,}{batch} plans about {planned:,.0f} s of sampling, over "
            f"the budget of `max_seconds` = {max_seconds:g} s; ask for fewer samples or raise "
            "`max_seconds`"
        )


def check_num_samples(num_samples, name="num_samples"):
    """Raises unless ``num_samples`` is an integer in [2, :data:`MAX_SAMPLES`]."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {num_samples!r}")
    if num_samples < 2:
        raise ValueError(f"`{name}` must be >= 2, got {num_samples}")
    if num_samples > MAX_SAMPLES:
        raise ValueError(f"`{name}` must be at most 2**53 = {MAX_SAMPLES:,}, got {num_samples:,}")
    return int(num_samples)


def check_distributions(quantity, p, q):
    """Validates the quantity and the distributions; returns the batch shape.

    P and Q must have the same event size (classes of a Categorical,
    dimension of a MultivariateNormal) and batch shapes that broadcast; of two
    families, a closed form registered for the pair.
    """
    if quantity not in ESTIMATORS:
        raise ValueError(f"`quantity` must be one of {sorted(ESTIMATORS)}, got {quantity!r}")
    if not isinstance(p, Distribution):
        raise TypeError(f"`p` must be a verify distribution, got {p!r}")
    if quantity == "entropy":
        if q is not None:
            raise ValueError(f"`q` must be None for entropy, got {q!r}")
        return _nonempty(tuple(p.batch_shape))
    if not isinstance(q, Distribution):
        raise TypeError(f"`q` must be a verify distribution for {quantity}, got {q!r}")
    if p.support.discrete != q.support.discrete:
        raise ValueError(
            "`p` and `q` must both have densities or both have mass functions (a log-ratio "
            f"of a density and a probability is no quantity), got {p!r} and {q!r}"
        )
    shapes = [jax.eval_shape(lambda d: d.canonical(), d) for d in (p, q)]
    _api.check_same_events(p, q, *shapes)
    return _nonempty(tuple(_validate.check_batch_shapes(p=p.batch_shape, q=q.batch_shape)))


def _nonempty(batch_shape):
    if math.prod(batch_shape) == 0:
        raise ValueError(
            f"`p` (and `q`) must hold at least one distribution, got batch shape {batch_shape}"
        )
    return batch_shape


def resolve_key(key):
    """``key`` itself (one typed key, or a raw ``uint32[2]`` key), or ``jax.random.key(0)``."""
    if key is None:
        return jax.random.key(0)
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 and key.shape == (2,)
    if typed and key.shape != ():
        raise TypeError(
            f"`key` must be one key, got {math.prod(key.shape)} (shape {key.shape}); "
            "pass one of them, e.g. keys[0]"
        )
    if not (typed or raw):
        raise TypeError(
            f"`key` must be a JAX random key, got {_short(key)}; make one with jax.random.key(seed)"
        )
    return key


def _short(value):
    if isinstance(value, (jax.Array, np.ndarray)):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return repr(value)


def to_float64(tree):
    """Every floating leaf as float64 (call inside ``jax.enable_x64(True)``)."""

    def convert(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(jnp.float64) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree.map(convert, tree)


def estimate(
    quantity,
    p,
    q=None,
    *,
    key=None,
    num_samples=None,
    estimator="plain",
    chunk_size=None,
    devices=None,
    progress=None,
    max_seconds=DEFAULT_MAX_SECONDS,
) -> Estimate:
    """Monte Carlo estimate of ``quantity`` from samples of ``p``, in float64.

    ``kl`` averages ``log p(X) - log q(X)`` (``plain``) or Schulman's
    ``k3 = (r - 1) - log r`` with ``r = q(X)/p(X)`` (``k3``, unbiased because
    ``E_P[r] = 1``; lower variance when P and Q are close, infinite variance
    when Q has much heavier tails than P); ``entropy`` averages ``-log p(X)``
    and ``cross_entropy`` ``-log q(X)``, with ``X ~ P``.

    Samples are streamed in chunks (constant memory) spread over ``devices``;
    chunk ``i`` uses ``jax.random.fold_in(key, i)``, so a run is reproducible
    bit for bit for a given key, sample count and chunk size on a given
    device count, and differs across device counts only in summation order.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        p: the distribution to sample (one or a batch).
        q: the second distribution (``None`` for entropy).
        key: a JAX random key (default ``jax.random.key(0)``).
        num_samples: samples per distribution (default
            :func:`default_num_samples`, about a second of work).
        estimator: ``"plain"`` or, for KL, ``"k3"``.
        chunk_size: samples per chunk (default: about 2**16 samples times batch
            elements per chunk).
        devices: devices to spread chunks over (default ``jax.devices()``).
        progress: progress bar on stderr; ``None`` (default) shows it only on
            a terminal.
        max_seconds: the budget: a run whose planned time (:func:`plan_seconds`)
            exceeds it is refused before it starts (default 600 s).

    Ctrl-C stops a run between blocks of chunks (within about a quarter of a
    second after the first block) and returns the estimate from the samples
    drawn so far, marked ``interrupted``.

    Returns:
        An :class:`Estimate`.

    Example:
        >>> import jax, verify
        >>> from verify import montecarlo
        >>> p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)
        >>> est = montecarlo.estimate("kl", p, q, key=jax.random.key(0), num_samples=10**5)
        >>> abs(est.value - 0.5) < 5 * est.stderr, est.num_samples
        (True, 100000)
    """
    if estimator not in ESTIMATORS.get(quantity, ESTIMATORS["kl"]):
        raise ValueError(
            f"`estimator` must be one of {ESTIMATORS.get(quantity, ESTIMATORS['kl'])} "
            f"for {quantity!r}, got {estimator!r}"
        )
    (result,) = estimate_all(
        quantity,
        p,
        q,
        (estimator,),
        key=key,
        num_samples=num_samples,
        chunk_size=chunk_size,
        devices=devices,
        progress=progress,
        max_seconds=max_seconds,
    )
    return result


def estimate_all(
    quantity,
    p,
    q,
    estimators,
    *,
    key,
    num_samples,
    chunk_size,
    devices,
    progress,
    max_seconds=DEFAULT_MAX_SECONDS,
) -> tuple[Estimate, ...]:
    """Several estimators of one quantity from one stream of samples."""
    batch_shape = check_distributions(quantity, p, q)
    num_samples = default_num_samples(p) if num_samples is None else num_samples
    num_samples = check_num_samples(num_samples)
    batch_size = math.prod(batch_shape)
    check_budget(p, num_samples, batch_size, max_seconds)
    if chunk_size is None:
        chunk_size = _engine.default_chunk_size(num_samples, batch_size, event_size(p))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
        raise TypeError(f"`chunk_size` must be an integer, got {chunk_size!r}")
    elif chunk_size < 1:
        raise ValueError(f"`chunk_size` must be >= 1, got {chunk_size}")
    key = resolve_key(key)
    rows = tuple(estimators) + (("control",) if "k3" in estimators else ())
    with jax.enable_x64(True):
        args = to_float64((p, q))
        moments = _engine.stream(
            _Integrand(quantity, rows),
            args,
            key,
            num_samples,
            chunk_size=int(chunk_size),
            out_shape=(len(rows), *batch_shape),
            devices=devices,
            progress=progress,
        )
    control = moments.mean[-1], moments.m2[-1]
    return tuple(
        _from_moments(
            quantity,
            name,
            num_samples,
            *(field[i] for field in moments),
            control=control if name == "k3" else None,
        )
        for i, name in enumerate(estimators)
    )


def _from_moments(quantity, estimator, n, count, mean, m2, m3, m4, control=None):
    """The estimate and its diagnostics from the moments of its terms.

    ``control``, for k3, is ``(mean, M2)`` of ``r - 1`` with ``r = q/p``, whose
    expectation under P is exactly 0; k3 is the plain estimate plus its sample
    mean. When the samples miss the region that carries the mass of ``r`` (Q
    wide where P has little mass: ``E_P[r^2]`` may be infinite, yet nothing
    extreme has been drawn, so the kurtosis looks normal), that sample mean
    sits several of its standard errors below 0 and biases k3 by exactly that
    much. k3 is then not trusted: ``|mean| > CONTROL_Z`` standard errors.
    """
    done = int(np.max(count)) if np.size(count) else n  # fewer than n after Ctrl-C
    interrupted = done < n
    n = done
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        variance = m2 / (n - 1)
        stderr = np.sqrt(variance / n)
        skewness = np.where(m2 > 0, math.sqrt(n) * m3 / m2**1.5, 0.0)
        kurtosis = np.where(m2 > 0, n * m4 / (m2 * m2), 1.0)
    rel = _statistics.variance_rel_error(kurtosis, n)
    finite = np.isfinite(mean) & np.isfinite(variance) & np.isfinite(rel)
    trusted = finite & (rel <= _statistics.MAX_VARIANCE_REL_ERROR)
    control_z = None
    if control is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            control_se = np.sqrt(control[1] / (n - 1) / n)
            control_z = np.where(control[0] == 0, 0.0, np.abs(control[0]) / control_se)
        control_ok = np.nan_to_num(control_z, nan=np.inf) <= CONTROL_Z
    reason = ""
    if not trusted.all():
        index = tuple(int(i) for i in np.argwhere(~trusted)[0])
        where = f" (batch index {index})" if index else ""
        if not finite[index]:
            reason = (
                f"the estimate or its variance is not finite{where}: value {float(mean[index])}"
            )
        else:
            reason = (
                f"heavy tails{where}: sample kurtosis {kurtosis[index]:.3g} gives the variance "
                f"estimate a relative error of {rel[index]:.2g} "
                f"> {_statistics.MAX_VARIANCE_REL_ERROR}"
            )
    if control is not None and trusted.all() and not control_ok.all():
        index = tuple(int(i) for i in np.argwhere(~control_ok)[0])
        where = f" (batch index {index})" if index else ""
        reason = (
            f"unsampled tail{where}: the sample mean of q/p is 1 + {control[0][index]:.3g}, "
            f"{control_z[index]:.3g} standard errors from its exact value 1, so the region "
            "where q/p is large was not sampled and k3 is biased"
        )
    if control is not None:
        trusted = trusted & control_ok

    def out(array):
        return array.item() if array.ndim == 0 else array

    return Estimate(
        quantity=quantity,
        estimator=estimator,
        value=out(mean),
        stderr=out(stderr),
        num_samples=n,
        variance=out(variance),
        skewness=out(skewness),
        kurtosis=out(kurtosis),
        variance_rel_error=out(rel),
        trusted=out(trusted),
        reason=reason,
        control_z=None if control_z is None else out(control_z),
        interrupted=interrupted,
    )

"""The decision: agree, disagree or inconclusive, with a stated false-alarm rate.

The test. With ``n`` i.i.d. terms of mean ``mu`` (the true value), sample mean
``m`` and standard error ``se``, the closed form ``c`` is declared to
*disagree* when ``|m - c| > z * se_up``, where

* ``se_up = se * sqrt(1 + 3 eps)`` uses an upper 3-sigma confidence bound on
  the variance (``eps = sqrt((kurt - 1) / n)`` is the estimated relative
  error of the sample variance), so an unlucky low variance estimate does not
  inflate the false-alarm rate;
* ``z`` is the two-sided critical value at level ``alpha / m`` (``m`` the
  number of estimators consulted, Bonferroni), corrected for the terms'
  skewness by the one-term Edgeworth expansion
  (:func:`~verify.montecarlo._statistics.critical_value`).

So ``P(disagree | c = mu) <= alpha`` up to the accuracy of the CLT, which the
diagnostics guard: the verdict is *inconclusive* when no estimator's standard
error can be trusted (heavy tails: ``eps > 0.1``; an Edgeworth correction
larger than the normal tail itself; non-finite values: an infinite estimate
agrees with nothing, not even an infinite closed form). Power: a closed form
off by ``delta >= (z + z_power) * se_up`` is caught with probability at least
``power`` (0.99 by default); that ``delta`` is the decision's ``detectable``.
An *agree* whose ``detectable`` exceeds the value itself says nothing and is
*inconclusive* too, with ``samples_needed`` to detect a tenth of the value.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax.numpy as jnp
import numpy as np

from verify.montecarlo import _estimate, _statistics

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_POWER",
    "Decision",
    "bonferroni",
    "check_alpha",
    "compare",
    "decide",
    "detection_probability",
    "holm",
    "plan_samples",
]

DEFAULT_ALPHA = 1e-6
DEFAULT_POWER = 0.99
#: Relative rounding floor on the standard error: a sum of terms that are all
#: equal (zero variance, e.g. KL(P || P)) still carries float64 rounding.
_ROUNDING_FLOOR = 1e-12


@dataclasses.dataclass(frozen=True)
class Decision:
    """The outcome of comparing a closed-form value with a Monte Carlo estimate.

    Fields are Python scalars for one distribution and NumPy arrays of the
    batch shape for a batch (``verdict`` then is an array of strings).

    Attributes:
        verdict: ``"agree"``, ``"disagree"`` or ``"inconclusive"``.
        estimate: the :class:`~verify.montecarlo.Estimate` the verdict rests on
            (the trusted estimator with the smallest standard error).
        closed_form: the value tested.
        alpha: the false-*disagree* probability of this decision.
        interval: ``(lo, hi)``, the estimate ``± critical * stderr_bound``:
            a closed form outside it disagrees.
        critical: the critical value ``z``.
        stderr_bound: the standard error used, an upper bound (see module doc).
        detectable: the smallest discrepancy caught with probability ``power``.
        power: the power ``detectable`` refers to.
        p_value: two-sided normal p-value of the difference (for Holm).
        reason: why the verdict is what it is.
        estimates: every estimator computed (for ``estimator="auto"``, more than one).
        samples_needed: where the decision is inconclusive because it cannot
            resolve the value itself (see :func:`decide`), the sample count that
            would (``detectable`` equal to a tenth of the value); 0 elsewhere.
    """

    verdict: object
    estimate: _estimate.Estimate
    closed_form: object
    alpha: float
    interval: tuple
    critical: object
    stderr_bound: object
    detectable: object
    power: float
    p_value: object
    reason: str
    estimates: tuple = ()
    samples_needed: object = 0

    @property
    def passed(self) -> bool:
        """True when every element agrees."""
        return bool(np.all(np.asarray(self.verdict) == "agree"))

    @property
    def overall(self) -> str:
        """One verdict for a batch: disagree if any, else inconclusive if any, else agree."""
        verdicts = np.asarray(self.verdict)
        for verdict in ("disagree", "inconclusive"):
            if (verdicts == verdict).any():
                return verdict
        return "agree"

    def __str__(self):
        text = self._text()
        if getattr(self.estimate, "interrupted", False) and "interrupted" not in text:
            text += f"; interrupted: a partial result from {self.estimate.num_samples:,} samples"
        return text

    def _text(self):
        est = self.estimate
        if np.ndim(self.verdict) == 0:
            if self.verdict == "inconclusive":
                return f"inconclusive: {self.reason}"
            diff = abs(est.value - self.closed_form)
            relative = (
                f" ({100 * self.detectable / abs(self.closed_form):.2g} %)"
                if self.closed_form
                else ""
            )
            sign = ">" if self.verdict == "disagree" else "<="
            return (
                f"{self.verdict}: {est.quantity} closed form {self.closed_form:.10g}, Monte Carlo "
                f"{est.value:.10g} ± {est.stderr:.2g} ({est.estimator}, {est.num_samples:,} "
                f"samples); |difference| {diff:.3g} {sign} "
                f"{self.critical:.3g} standard errors = {self.critical * self.stderr_bound:.3g} at "
                f"alpha {self.alpha:g}; detects a discrepancy of {self.detectable:.3g}{relative} "
                f"with probability {self.power:g}"
            )
        verdicts = np.asarray(self.verdict)
        counts = ", ".join(
            f"{int((verdicts == v).sum())} {v}" for v in ("agree", "disagree", "inconclusive")
        )
        detectable = np.asarray(self.detectable, np.float64)
        scale = np.max(np.abs(np.asarray(self.closed_form, np.float64)))
        relative = (
            f" ({100 * detectable.max() / scale:.2g} % of the largest |value|)" if scale else ""
        )
        return (
            f"{self.overall}: {est.quantity} over a batch of {verdicts.size}: {counts} at alpha "
            f"{self.alpha:g} each ({est.num_samples:,} samples each; largest detectable "
            f"discrepancy {detectable.max():.3g}{relative})"
            + (f"; {self.reason}" if self.reason else "")
        )


def check_closed_form(closed_form, name="closed_form"):
    """``closed_form`` as a float64 array; raises unless it is real numbers.

    Example:
        >>> check_closed_form([0.5, 1])
        array([0.5, 1. ])
    """
    expected = f"`{name}` must be a real number or array"
    try:
        array = np.asarray(closed_form)
    except ValueError:  # ragged nesting
        raise TypeError(f"{expected}, got {closed_form!r}") from None
    if array.dtype == bool or not (
        jnp.issubdtype(array.dtype, jnp.floating) or jnp.issubdtype(array.dtype, jnp.integer)
    ):
        raise TypeError(f"{expected}, got {closed_form!r}")
    return array.astype(np.float64)


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def check_alpha(alpha, name="alpha"):
    """Raises unless ``alpha`` is a number in (0, 1); returns it as a float."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"`{name}` must be a number in (0, 1), got {alpha!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"`{name}` must be in (0, 1), got {alpha!r}")
    return float(alpha)


def bonferroni(alpha: float, num_tests: int) -> float:
    """The per-test level that keeps the family-wise false-alarm rate <= ``alpha``.

    Example:
        >>> bonferroni(1e-6, 4)
        2.5e-07
    """
    alpha = check_alpha(alpha)
    if isinstance(num_tests, bool) or not isinstance(num_tests, numbers.Integral):
        raise TypeError(f"`num_tests` must be an integer, got {num_tests!r}")
    if num_tests < 1:
        raise ValueError(f"`num_tests` must be >= 1, got {num_tests}")
    return alpha / num_tests


def holm(p_values, alpha: float = DEFAULT_ALPHA):
    """Holm's step-down procedure: which hypotheses to reject at family-wise ``alpha``.

    Uniformly more powerful than Bonferroni with the same guarantee: sort the
    p-values, reject the k-th smallest while it is <= ``alpha / (m - k)``.

    Args:
        p_values: array of p-values (e.g. ``[d.p_value for d in decisions]``).
        alpha: family-wise false-alarm rate.

    Returns:
        Boolean array, True where the hypothesis (the closed form is right) is rejected.

    Example:
        >>> holm([1e-9, 0.3, 4e-7], alpha=1e-6).tolist()
        [True, False, True]
    """
    alpha = check_alpha(alpha)
    p = _check_p_values(p_values).ravel()
    order = np.argsort(p, kind="stable")
    thresholds = alpha / (p.size - np.arange(p.size))
    passing = p[order] <= thresholds
    num_rejected = p.size if passing.all() else int(np.argmin(passing))
    reject = np.zeros(p.size, bool)
    reject[order[:num_rejected]] = True
    return reject.reshape(np.shape(p_values))


def _check_p_values(p_values):
    expected = "`p_values` must be an array of numbers in [0, 1]"
    try:
        p = np.asarray(p_values)
    except ValueError:  # ragged
        raise TypeError(f"{expected}, got {p_values!r}") from None
    if p.dtype == object or not (
        np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer)
    ):
        raise TypeError(f"{expected}, got {p_values!r}")
    p = p.astype(np.float64)
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        first = float(p.ravel()[np.argmax(bad.ravel())])
        raise ValueError(f"`p_values` must be in [0, 1], got {first}")
    return p


def detection_probability(discrepancy, stderr, critical):
    """Probability that a closed form off by ``discrepancy`` is declared to disagree.

    ``P(|N(discrepancy, stderr^2)| > critical * stderr)`` under the normal
    approximation.

    Example:
        >>> round(float(detection_probability(7.22, 1.0, 4.8916)), 3)
        0.99
    """
    shift = np.asarray(discrepancy, np.float64) / np.asarray(stderr, np.float64)
    return _statistics.normal_sf(critical - shift) + _statistics.normal_sf(critical + shift)


def _auto_estimators(quantity, estimator):
    choices = _estimate.ESTIMATORS[quantity] if quantity in _estimate.ESTIMATORS else ()
    if estimator == "auto":
        return choices
    if estimator not in choices:
        raise ValueError(
            f"`estimator` must be 'auto' or one of {choices} for {quantity!r}, got {estimator!r}"
        )
    return (estimator,)


def _judge(estimates, alpha):
    """Per estimator: (trusted, critical, stderr bound, reason) at level ``alpha`` each."""
    out = []
    for est in estimates:
        value = np.asarray(est.value, np.float64)
        z, ratio = _statistics.critical_value(alpha, est.skewness, est.num_samples)
        inflation = np.sqrt(
            1 + _statistics.VARIANCE_BOUND_SIGMAS * np.nan_to_num(est.variance_rel_error, nan=1.0)
        )
        floor = _ROUNDING_FLOOR * (1 + np.abs(np.nan_to_num(value)))
        bound = np.hypot(np.asarray(est.stderr, np.float64) * inflation, floor)
        edgeworth_ok = ratio <= _statistics.MAX_EDGEWORTH_RATIO
        trusted = np.asarray(est.trusted) & edgeworth_ok
        reason = est.reason
        if not reason and not np.all(edgeworth_ok):
            index = tuple(int(i) for i in np.argwhere(~edgeworth_ok)[0])
            where = f" (batch index {index})" if index else ""
            reason = (
                f"skewed terms{where}: skewness {np.asarray(est.skewness)[index]:.3g} at "
                f"{est.num_samples:,} samples puts the normal approximation off by a factor "
                f"{1 + np.asarray(ratio)[index]:.3g} in the tail; more samples are needed"
            )
        out.append((trusted, z, bound, reason))
    return out


def compare(
    quantity,
    closed_form,
    p,
    q=None,
    *,
    key=None,
    num_samples=None,
    alpha=DEFAULT_ALPHA,
    power=DEFAULT_POWER,
    estimator="auto",
    chunk_size=None,
    devices=None,
    progress=None,
    max_seconds=_estimate.DEFAULT_MAX_SECONDS,
) -> Decision:
    """Compares a closed-form value with a Monte Carlo estimate, at false-alarm rate ``alpha``.

    ``estimator="auto"`` computes every estimator of the quantity from the
    same samples (for KL: plain and k3), tests each at ``alpha / m``
    (Bonferroni over the ``m`` estimators) and decides with the trusted one of
    smallest standard error; since that one rejects only if some estimator
    rejects at ``alpha / m``, the false-*disagree* rate stays <= ``alpha``.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        closed_form: the value to test, shape ``broadcast(p.batch_shape, q.batch_shape)``.
        p, q: distributions (``q=None`` for entropy).
        key: a JAX random key (default ``jax.random.key(0)``).
        num_samples: samples per distribution (default: about a second of work).
        alpha: probability of a false *disagree* per distribution, in (0, 1).
        power: the probability ``detectable`` refers to, in (0, 1).
        estimator: ``"auto"`` (default), ``"plain"`` or ``"k3"``.
        chunk_size, devices, progress, max_seconds: as for :func:`estimate`
            (the budget, default 600 s planned, is checked before any work).

    Returns:
        A :class:`Decision`.

    Example:
        >>> import jax, verify
        >>> from verify import montecarlo
        >>> p, q = verify.Bernoulli(probs=0.3), verify.Bernoulli(probs=0.6)
        >>> wrong = 1.1 * verify.kl(p, q)
        >>> montecarlo.compare("kl", wrong, p, q, key=jax.random.key(1), num_samples=2**20).verdict
        'disagree'
    """
    alpha = check_alpha(alpha)
    power = check_alpha(power, "power")
    estimators = _auto_estimators(quantity, estimator) if quantity in _estimate.ESTIMATORS else ()
    batch_shape = _estimate.check_distributions(quantity, p, q)
    closed = check_closed_form(closed_form)
    if _broadcasts_to(closed.shape, batch_shape):
        closed = np.broadcast_to(closed, batch_shape)
    else:
        raise ValueError(
            f"`closed_form` must have the batch shape {batch_shape} (or broadcast to it), "
            f"got shape {closed.shape}"
        )
    estimates = _estimate.estimate_all(
        quantity,
        p,
        q,
        estimators,
        key=key,
        num_samples=num_samples,
        chunk_size=chunk_size,
        devices=devices,
        progress=progress,
        max_seconds=max_seconds,
    )
    return decide(estimates, closed, alpha=alpha, power=power)


def decide(
    estimates, closed_form, *, alpha=DEFAULT_ALPHA, power=DEFAULT_POWER, scale=None
) -> Decision:
    """The decision from estimates already computed (see :func:`compare`).

    The verdict is *inconclusive*, never *agree*, where the estimate is not
    finite (an infinite sample mean confirms nothing: it may be an overflow),
    and where the decision is too coarse to say anything about the value: its
    ``detectable`` discrepancy exceeds ``scale`` (the value itself). Then
    ``samples_needed`` says how many samples would detect a tenth of it.

    Args:
        estimates: one or more :class:`~verify.montecarlo.Estimate` of one
            quantity from the same samples; each is tested at
            ``alpha / len(estimates)``.
        closed_form: the value tested, of the estimates' shape.
        alpha: false-*disagree* probability per element.
        power: the probability ``detectable`` refers to.
        scale: the size a useful decision must resolve (default: ``|closed_form|``
            per element; a gradient passes its largest component).

    Returns:
        A :class:`Decision`.
    """
    estimates = tuple(estimates)
    closed = check_closed_form(closed_form)
    batch_shape = closed.shape
    level = alpha / len(estimates)
    judged = _judge(estimates, level)
    # Pick, per batch element, the trusted estimator with the smallest bound.
    bounds = np.stack([np.where(t, b, np.inf) for t, _, b, _ in judged])
    best = np.argmin(bounds, axis=0)
    any_trusted = np.isfinite(bounds.min(axis=0))

    def pick(values):
        return np.choose(best, [np.broadcast_to(np.asarray(v), batch_shape) for v in values])

    value = pick([e.value for e in estimates])
    stderr_bound = pick([b for _, _, b, _ in judged])
    critical = pick([z for _, z, _, _ in judged])
    half_width = critical * stderr_bound
    with np.errstate(invalid="ignore"):
        difference = value - closed
        reject = np.abs(difference) > half_width
        p_value = 2 * _statistics.normal_sf(np.abs(difference) / stderr_bound)
    verdict = np.where(reject, "disagree", "agree").astype(object)
    verdict = np.where(any_trusted & np.isfinite(closed), verdict, "inconclusive")
    z_power = _statistics.normal_isf(1 - power) if power > 0.5 else -_statistics.normal_isf(power)
    detectable = np.where(any_trusted, (critical + z_power) * stderr_bound, np.inf)
    scale = np.abs(closed) if scale is None else np.broadcast_to(np.abs(scale), batch_shape)
    sampled = pick([e.stderr for e in estimates]) > 0  # zero-variance terms are exact
    coarse = (verdict == "agree") & sampled & (detectable > scale)
    verdict = np.where(coarse, "inconclusive", verdict)
    n = estimates[0].num_samples
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        needed = np.ceil(n * (detectable / (0.1 * scale)) ** 2)
    samples_needed = np.where(coarse & (scale > 0), np.minimum(needed, 2.0**62), 0).astype(np.int64)

    untrusted = [f"{e.estimator}: {r}" for e, (_, _, _, r) in zip(estimates, judged) if r]
    parts = []
    if any(e.interrupted for e in estimates):
        parts.append(f"interrupted (Ctrl-C): a partial result from {n:,} samples")
    if coarse.any():
        parts.append(_coarse_reason(coarse, detectable, scale, n, samples_needed))
    if not np.all(np.isfinite(closed)):
        parts.append("the closed form is not finite")
    if np.all(any_trusted):
        names = sorted({estimates[i].estimator for i in np.unique(best)})
        parts.append(f"decided with the {'/'.join(names)} estimator")
        if untrusted:
            parts.append("not trusted: " + "; ".join(untrusted))
    else:
        parts += untrusted
    reason = "; ".join(parts)
    chosen = estimates[int(np.ravel(best)[0])] if best.ndim == 0 else estimates[0]
    if best.ndim > 0:
        chosen = dataclasses.replace(
            estimates[0],
            estimator="/".join(sorted({estimates[i].estimator for i in np.unique(best)})),
            value=value,
            stderr=pick([e.stderr for e in estimates]),
            variance=pick([e.variance for e in estimates]),
            skewness=pick([e.skewness for e in estimates]),
            kurtosis=pick([e.kurtosis for e in estimates]),
            variance_rel_error=pick([e.variance_rel_error for e in estimates]),
            trusted=any_trusted,
            reason="",
        )

    def out(array):
        array = np.asarray(array)
        return array.item() if array.ndim == 0 else array

    return Decision(
        verdict=out(verdict),
        estimate=chosen,
        closed_form=out(closed),
        alpha=alpha,
        interval=(out(value - half_width), out(value + half_width)),
        critical=out(critical),
        stderr_bound=out(stderr_bound),
        detectable=out(detectable),
        power=power,
        p_value=out(p_value),
        reason=reason,
        estimates=estimates,
        samples_needed=out(samples_needed),
    )


def _coarse_reason(coarse, detectable, scale, n, samples_needed):
    index = tuple(int(i) for i in np.argwhere(coarse)[0])
    where = f" (batch index {index})" if index else ""
    text = (
        f"too few samples{where}: {n:,} samples detect only a discrepancy of "
        f"{detectable[index]:.3g} or more, more than the value {scale[index]:.3g} itself"
    )
    if samples_needed[index] > 0:
        text += f"; about {int(samples_needed[index]):,} samples would detect a tenth of it"
    return text


def plan_samples(
    p,
    q=None,
    quantity="kl",
    *,
    discrepancy,
    alpha=DEFAULT_ALPHA,
    power=DEFAULT_POWER,
    key=None,
    estimator="auto",
    pilot_samples=2**16,
) -> int:
    """Samples needed to catch a closed form off by ``discrepancy`` with probability ``power``.

    A pilot run estimates each estimator's variance (its upper 3-sigma bound)
    and skewness; the answer is the smallest ``n`` with
    ``(z(alpha / m, skewness, n) + z_power) * sigma / sqrt(n) <= discrepancy``
    for the best trusted estimator (the largest over a batch).

    Args:
        p, q: distributions (``q=None`` for entropy).
        quantity: ``"kl"`` (default), ``"entropy"`` or ``"cross_entropy"``.
        discrepancy: the absolute error to detect (> 0; scalar or batch-shaped).
        alpha: false-alarm rate of the planned check.
        power: detection probability, in (0, 1).
        key: random key of the pilot run.
        estimator: as for :func:`compare`.
        pilot_samples: samples of the pilot run.

    Returns:
        The sample count, an int.

    Raises:
        ValueError: bad arguments, or no estimator can be trusted in the pilot
            (heavy tails), so no sample count can be promised.

    Example:
        >>> import jax, verify
        >>> from verify import montecarlo
        >>> p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)  # KL = 0.5
        >>> n = montecarlo.plan_samples(p, q, discrepancy=0.005, key=jax.random.key(0))
        >>> 10**5 < n < 10**7
        True
    """
    alpha = check_alpha(alpha)
    power = check_alpha(power, "power")
    delta = check_closed_form(discrepancy, "discrepancy")
    _estimate.check_num_samples(pilot_samples, "pilot_samples")
    if not np.all(delta > 0) or not np.all(np.isfinite(delta)):
        raise ValueError(f"`discrepancy` must be finite and > 0, got {discrepancy!r}")
    estimators = _auto_estimators(quantity, estimator) if quantity in _estimate.ESTIMATORS else ()
    estimates = _estimate.estimate_all(
        quantity,
        p,
        q,
        estimators,
        key=key,
        num_samples=pilot_samples,
        chunk_size=None,
        devices=None,
        progress=False,
    )
    level = alpha / len(estimates)
    z_power = _statistics.normal_isf(1 - power) if power > 0.5 else -_statistics.normal_isf(power)
    best = None
    for est in estimates:
        sigma = np.sqrt(
            np.asarray(est.variance, np.float64)
            * (1 + _statistics.VARIANCE_BOUND_SIGMAS * np.asarray(est.variance_rel_error))
        )
        n = np.full(np.shape(sigma), float(pilot_samples))
        for _ in range(3):  # the critical value depends (weakly) on n
            z, _ = _statistics.critical_value(level, est.skewness, n)
            n = np.maximum(((z + z_power) * sigma / delta) ** 2, 2.0)
        n = np.where(np.asarray(est.trusted), n, np.inf)
        best = n if best is None else np.minimum(best, n)
    if not np.all(np.isfinite(best)):
        raise ValueError(
            "no estimator's standard error can be trusted in the pilot run "
            f"({'; '.join(e.estimator + ': ' + e.reason for e in estimates)}); "
            "no sample count can be promised"
        )
    return int(math.ceil(float(np.max(best))))

"""Monte Carlo estimates of the gradient of KL, entropy and cross-entropy.

The gradient of ``F(theta_p, theta_q) = E_{X ~ P}[f(X; theta_p, theta_q)]``
(``f = log p - log q``, ``-log p`` or ``-log q``) is estimated per sample by

* the *reparameterised* (pathwise) estimator for the continuous families,
  whose samples are differentiable functions of the parameters
  (``X = loc + scale * eps``): ``d/dtheta f(X(theta); theta)``;
* the *score-function* (REINFORCE) estimator for the discrete ones:
  ``d/dtheta f(x; theta) + f(x; theta) d/dtheta log p(x; theta)`` at a fixed
  sample ``x``.

Both are unbiased; the per-sample gradients go through the same streaming
engine as the values, so the decision about them has the same stated error
rate (Bonferroni over the gradient's components).

Only directions in which the parameters can move are compared: the lower
triangle of a ``scale_tril`` and, for probabilities on a simplex, the
projection onto sums-to-zero directions (a formula's derivative off the
simplex is not defined by its values on it).

Where the exact derivative is not a number, no number is compared: by the
definition ``sum_x p(x) (log p(x) - log q(x))`` (or ``-log p``, ``-log q``),
the derivative in the probabilities of P contains ``log p(x)`` (KL, entropy)
and ``log q(x)`` (KL, cross-entropy), infinite where that probability is 0; so
the components of P's probabilities are *undefined* for a member whose P (KL,
entropy) or Q (KL, cross-entropy) has a probability at 0 (or 1 for a
Bernoulli), and every component is undefined for a member whose value is
infinite (P puts mass where Q has none). See :func:`undefined_components`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from verify.montecarlo import _decision, _engine, _estimate

__all__ = ["compare_gradient", "gradient_components", "project_gradient", "undefined_components"]

#: Default samples of a Monte Carlo gradient, divided among a batch (at least 2**12).
DEFAULT_GRADIENT_SAMPLES = 2**20


def _compared_leaves(dist, grad=None):
    """``(field, value, gradient)`` for each parameter compared, in one set of coordinates.

    A multivariate normal built from ``covariance_matrix`` stores the covariance
    beside its factor; a formula may read either, so the covariance's gradient
    ``G`` is carried to the factor by the chain rule of ``S = L L^T``
    (``dL = (G + G^T) L``) and only ``scale_tril`` is compared.
    """
    given = dist._leaves()
    grads = grad._leaves() if grad is not None else dict.fromkeys(given)
    covariance = grads.pop("_covariance", None)
    given.pop("_covariance", None)
    if covariance is not None:
        carried = (covariance + jnp.swapaxes(covariance, -1, -2)) @ given["scale_tril"]
        tril = grads["scale_tril"]
        grads["scale_tril"] = carried if tril is None else tril + carried
    for field, value in given.items():
        if value is not None:
            yield field, value, grads[field]


def project_gradient(dists, grads):
    """Flattens the gradients w.r.t. each distribution's parameters into one vector.

    Args:
        dists: tuple of distributions (``(p,)`` or ``(p, q)``).
        grads: matching tuple of gradient pytrees (as ``jax.grad`` returns them).

    Returns:
        A 1-d array of the movable components (see the module docstring),
        in the order :func:`gradient_components` names them.
    """
    parts = []
    for dist, grad in zip(dists, grads):
        for field, given, value in _compared_leaves(dist, grad):
            if value is None:
                continue
            value = jnp.broadcast_to(value, jnp.shape(given))
            projected = dist._gradient_projection(field, value)
            parts.append(projected.reshape(-1)[jnp.asarray(_keep(dist, field))])
    return jnp.concatenate(parts)


def _keep(dist, field):
    shape = jnp.shape(dist._leaves()[field])
    keep = np.ones(shape, bool)
    free = dist._free_mask(field)
    if free is not None:
        keep &= free
    return np.flatnonzero(keep.reshape(-1))


def gradient_components(dists, names="pq"):
    """Names of the components :func:`project_gradient` returns, e.g. ``"p.loc[1]"``."""
    out = []
    for name, dist in zip(names, dists):
        for field, value, _ in _compared_leaves(dist):
            shape = jnp.shape(value)
            for flat in _keep(dist, field):
                index = np.unravel_index(flat, shape) if shape else ()
                suffix = f"[{', '.join(str(int(i)) for i in index)}]" if shape else ""
                out.append(f"{name}.{field}{suffix}")
    return out


def default_gradient_samples(batch_size: int) -> int:
    """``2**20`` samples divided among a batch, at least ``2**12``.

    Example:
        >>> default_gradient_samples(1), default_gradient_samples(10**4)
        (1048576, 4096)
    """
    return max(2**12, DEFAULT_GRADIENT_SAMPLES // max(1, batch_size))


def _at_boundary(dist):
    """Per batch member: given by probabilities, one of which is exactly 0.

    There the derivative of ``p log p`` is infinite. Given by logits, a masked
    class (``-inf``) is no boundary: the quantities are smooth in the finite
    logits, and their derivative in the masked one is 0.
    """
    support = dist._outcomes_with_mass()
    if support is None or dist._leaves().get("probs") is None:
        return np.zeros(dist.batch_shape, bool)
    return ~support.all(axis=-1)


def _mass_outside(p, q):
    """Per batch member: P puts mass where Q has none (the value is +inf)."""
    if type(p) is not type(q):
        return not p.support.within(q.support)
    inside_p, inside_q = p._outcomes_with_mass(), q._outcomes_with_mass()
    if inside_q is None:
        return False
    inside_p = np.ones_like(inside_q) if inside_p is None else inside_p
    return (inside_p & ~inside_q).any(axis=-1)


def _reduce_to(mask, shape):
    """``any`` of a batch mask over the axes along which a smaller batch ``shape`` broadcasts."""
    mask = np.asarray(mask)
    extra = mask.ndim - len(shape)
    mask = mask.any(axis=tuple(range(extra))) if extra else mask
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and mask.shape[i] != 1)
    return mask.any(axis=axes, keepdims=True) if axes else mask


def _leaf_batch_shape(dist, field, shape):
    """The batch part of a stored parameter's ``shape`` (a broadcast parameter's may be smaller)."""
    ranks = dict(zip(dist._fields, dist._param_event_ranks))
    rank = ranks.get(field, dist._param_event_ranks[-1])  # logits, a covariance: as the last
    return shape[: len(shape) - rank]


def undefined_components(quantity, dists):
    """Which gradient components have no finite exact value (see the module docstring).

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        dists: ``(p,)`` or ``(p, q)``, concrete.

    Returns:
        A boolean array over the components of :func:`project_gradient`.

    Example:
        >>> import verify
        >>> p = verify.Categorical(probs=[0.0, 0.5, 0.5])
        >>> q = verify.Categorical(probs=[0.2, 0.3, 0.5])
        >>> undefined_components("kl", (p, q)).tolist()
        [True, True, True, False, False, False]
    """
    # Per member of the base batch: an Independent's components are its base's.
    dists = tuple(d._as_base()[0] for d in dists)
    p = dists[0]
    batch_shape = np.broadcast_shapes(*(d.batch_shape for d in dists))
    infinite = np.zeros(batch_shape, bool)
    if quantity != "entropy":
        infinite = np.broadcast_to(_mass_outside(p, dists[1]), batch_shape)
    p_bad = infinite.copy()
    if quantity in ("kl", "entropy"):
        p_bad |= np.broadcast_to(_at_boundary(p), batch_shape)
    if quantity in ("kl", "cross_entropy"):
        p_bad |= np.broadcast_to(_at_boundary(dists[1]), batch_shape)
    parts = []
    for dist, bad in zip(dists, (p_bad, infinite)):
        for field, value, _ in _compared_leaves(dist):
            shape = np.shape(value)
            member = _reduce_to(bad, _leaf_batch_shape(dist, field, shape))
            member = member.reshape(member.shape + (1,) * (len(shape) - member.ndim))
            parts.append(np.broadcast_to(member, shape).reshape(-1)[_keep(dist, field)])
    return np.concatenate(parts) if parts else np.zeros(0, bool)


@dataclasses.dataclass(frozen=True)
class _GradientIntegrand:
    """Per-sample gradient of the quantity's integrand (hashable: jit cache key)."""

    quantity: str

    def __call__(self, args, key, chunk_size):
        keys = jax.random.split(key, chunk_size)
        per_sample = jax.vmap(jax.grad(self.surrogate), in_axes=(None, 0))(args, keys)
        vectors = jax.vmap(lambda g: project_gradient(self.dists(args), self.dists(g)))(per_sample)
        return vectors.T

    def dists(self, args):
        return args[:1] if self.quantity == "entropy" else args

    def surrogate(self, args, key):
        p, q = args
        reparameterized = p.reparameterized
        x = p.sample(key)
        if not reparameterized:
            x = jax.lax.stop_gradient(x)
        log_p = p.log_prob(x)
        if self.quantity == "kl":
            f = log_p - q.log_prob(x)
        elif self.quantity == "entropy":
            f = -log_p
        else:
            f = -q.log_prob(x)
        if not reparameterized:
            f = f + jax.lax.stop_gradient(f) * (log_p - jax.lax.stop_gradient(log_p))
        return jnp.sum(f)


def _check_gradient(gradient, dists):
    """The gradient as the vector :func:`project_gradient` makes, or a clear error."""
    expected = (
        f"`gradient` must be a tuple of {len(dists)} gradient(s), one per distribution, as "
        "jax.grad(..., argnums=(0, 1)) returns them"
    )
    try:
        structure_ok = len(gradient) == len(dists) and all(
            jax.tree.structure(g) == jax.tree.structure(d) for g, d in zip(gradient, dists)
        )
    except TypeError:
        structure_ok = False
    if not structure_ok:
        raise TypeError(f"{expected}, got {gradient!r}")
    return np.asarray(project_gradient(dists, _estimate.to_float64(tuple(gradient))))


def compare_gradient(
    quantity,
    gradient,
    p,
    q=None,
    *,
    key=None,
    num_samples=None,
    alpha=_decision.DEFAULT_ALPHA,
    power=_decision.DEFAULT_POWER,
    progress=None,
    max_seconds=_estimate.DEFAULT_MAX_SECONDS,
) -> _decision.Decision:
    """Tests a gradient of ``quantity`` against a Monte Carlo gradient estimate.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        gradient: the gradient to test, as returned by
            ``jax.grad(lambda p, q: quantity(p, q).sum(), argnums=(0, 1))``
            (a tuple of one pytree per distribution; ``(grad_p,)`` for entropy).
        p, q: distributions (one or a batch).
        key: a JAX random key (default ``jax.random.key(0)``).
        num_samples: samples (default ``2**20`` divided among the batch).
        alpha: false-*disagree* probability for the whole gradient
            (Bonferroni over its compared components).
        power: the probability ``detectable`` refers to.
        progress: progress bar (``None``: on a terminal only).
        max_seconds: the budget, as for :func:`~verify.montecarlo.estimate`.

    Returns:
        A :class:`~verify.montecarlo.Decision` over the gradient's components
        (named by ``gradient_components((p, q))``); components whose exact
        value is infinite or undefined (:func:`undefined_components`) are
        *inconclusive*, not compared.

    Example:
        >>> import jax, verify
        >>> from verify import montecarlo
        >>> p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
        >>> g = jax.grad(lambda p, q: verify.kl(p, q), argnums=(0, 1))(p, q)
        >>> montecarlo.compare_gradient("kl", g, p, q, num_samples=2**16).overall
        'agree'
    """
    alpha = _decision.check_alpha(alpha)
    batch_shape = _estimate.check_distributions(quantity, p, q)
    if num_samples is None:
        num_samples = default_gradient_samples(math.prod(batch_shape))
    num_samples = _estimate.check_num_samples(num_samples)
    key = _estimate.resolve_key(key)
    with jax.enable_x64(True):
        args = _estimate.to_float64((p, q))
        dists64 = args[:1] if quantity == "entropy" else args
        target = _check_gradient(gradient, dists64)
        num_components = target.shape[0]
        # Each sample differentiates every component: plan and chunk by components.
        _estimate.check_budget(p, num_samples, num_components, max_seconds)
        event = _estimate.event_size(p)
        chunk_size = _engine.default_chunk_size(num_samples, 4 * num_components, event)
        moments = _engine.stream(
            _GradientIntegrand(quantity),
            args,
            key,
            num_samples,
            chunk_size=chunk_size,
            out_shape=(1, num_components),
            progress=progress,
        )
    estimator = "reparameterized" if p.reparameterized else "score"
    est = _estimate._from_moments(
        f"d {quantity}", estimator, num_samples, *(field[0] for field in moments)
    )
    undefined = undefined_components(quantity, dists64)
    compared = max(1, int((~undefined).sum()))
    scale = np.max(np.abs(target[~undefined]), initial=0.0)
    decision = _decision.decide((est,), target, alpha=alpha / compared, power=power, scale=scale)
    if not undefined.any():
        return decision
    names = [n for n, u in zip(gradient_components(dists64), undefined) if u]
    return dataclasses.replace(
        decision,
        verdict=np.where(undefined, "inconclusive", decision.verdict).astype(object),
        reason=f"not compared, the exact derivative being infinite or undefined: "
        f"{', '.join(names)}; " + decision.reason,
    )

"""The formulas users import: KL divergence, entropy and cross-entropy."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from verify import _units, _validate, formulas
from verify._ops import jax_ops
from verify.families import Distribution

__all__ = ["kl", "entropy", "cross_entropy"]


def kl(p: Distribution, q: Distribution, *, base="nats"):
    """KL divergence D(P || Q) = E_P[log p(X) - log q(X)], in closed form.

    Works under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` (with respect to every
    parameter), broadcasts over batches of distributions, and returns the
    parameters' dtype.

    Args:
        p: a distribution, e.g. ``verify.Normal(0.0, 1.0)``.
        q: a distribution of the same family and event shape.
        base: ``"nats"`` (default), ``"bits"``, ``"hartleys"`` or any number
            > 0 other than 1.

    Returns:
        An array of shape ``broadcast(p.batch_shape, q.batch_shape)``;
        ``+inf`` where P is not absolutely continuous with respect to Q.

    Raises:
        NotImplementedError: no closed form for this pair of families.
        ValueError: different event shapes, batch shapes that do not
            broadcast, or a bad ``base``.

    Example:
        >>> import verify
        >>> float(verify.kl(verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)))
        0.5
        >>> float(verify.kl(verify.Bernoulli(probs=0.5), verify.Bernoulli(probs=0.25), base="bits"))
        0.2075187...
    """
    return _evaluate("kl", (p, q), base)


def entropy(p: Distribution, *, base="nats"):
    """Entropy H(P) = -E_P[log p(X)] (differential entropy for densities).

    Args:
        p: a distribution.
        base: the unit, as for :func:`kl`.

    Returns:
        An array of shape ``p.batch_shape``.

    Example:
        >>> import verify
        >>> float(verify.entropy(verify.Bernoulli(probs=0.5), base="bits"))
        1.0
    """
    return _evaluate("entropy", (p,), base)


def cross_entropy(p: Distribution, q: Distribution, *, base="nats"):
    """Cross-entropy H(P, Q) = -E_P[log q(X)].

    Args:
        p: the distribution the expectation is over.
        q: the distribution whose log-density is averaged.
        base: the unit, as for :func:`kl`.

    Returns:
        An array of shape ``broadcast(p.batch_shape, q.batch_shape)``.

    Example:
        >>> import verify
        >>> p = verify.Categorical(probs=[0.5, 0.5])
        >>> float(verify.cross_entropy(p, verify.Categorical(probs=[0.25, 0.75]), base=2))
        1.20751...
    """
    return _evaluate("cross_entropy", (p, q), base)


def _evaluate(quantity, distributions, base):
    log_base = _units.log_base(base)
    for name, dist in zip("pq", distributions):
        if not isinstance(dist, Distribution):
            raise TypeError(f"`{name}` must be a verify distribution, got {dist!r}")
    form = formulas.lookup(quantity, *(type(d) for d in distributions))
    params = [d.canonical() for d in distributions]
    if len(distributions) == 2:
        check_same_events(*distributions, *params)
        _validate.check_batch_shapes(p=distributions[0].batch_shape, q=distributions[1].batch_shape)
    flat = [x for group in params for x in group]
    dtype = np.result_type(*(x.dtype for x in flat))
    value = form.function(jax_ops, *(x.astype(dtype) for x in flat))
    return value if log_base is None else value / jnp.asarray(log_base, dtype)


def check_same_events(p, q, params_p, params_q):
    """Raises unless the canonical parameters (arrays or shape structs) agree in event shape."""
    for x, y, rank in zip(params_p, params_q, p._param_event_ranks):
        event_p, event_q = x.shape[x.ndim - rank :], y.shape[y.ndim - rank :]
        if event_p != event_q:
            raise ValueError(
                f"`p` and `q` must have the same event size, got {p!r} with parameter "
                f"event shape {event_p} and {q!r} with {event_q}"
            )

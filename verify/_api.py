"""The formulas users import: KL divergence, entropy and cross-entropy."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from verify import _units, _validate, formulas
from verify._ops import jax_ops
from verify.families import Distribution, MultivariateNormal
from verify.formulas import multivariate_normal

__all__ = ["kl", "entropy", "cross_entropy"]


def kl(p: Distribution, q: Distribution, *, base="nats"):
    """KL divergence D(P || Q) = E_P[log p(X) - log q(X)], in closed form.

    Works under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` (with respect to every
    parameter), broadcasts over batches of distributions, and returns the
    parameters' dtype.

    Args:
        p: a distribution, e.g. ``verify.Normal(0.0, 1.0)``.
        q: a distribution with the same event shape (of the same family, or of
            one with a registered closed form for the pair).
        base: ``"nats"`` (default), ``"bits"``, ``"hartleys"`` or any number
            > 0 other than 1.

    Returns:
        An array of shape ``broadcast(p.batch_shape, q.batch_shape)``;
        ``+inf`` where P is not absolutely continuous with respect to Q.

    Raises:
        NotImplementedError: no closed form for this pair of families, or (for
            concrete parameters) none at some batch member, where the form gives
            NaN (two binomials with ``0 < n_p < n_q``).
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
    if len(distributions) == 2:
        check_same_events(*distributions, *(d.params() for d in distributions))
    bases, axes = zip(*(d._as_base() for d in distributions))
    if len(set(axes)) > 1:
        raise ValueError(
            "`p` and `q` must reinterpret the same number of batch axes as event axes, got "
            f"{' and '.join(str(n) for n in axes)}"
        )
    value = _evaluate_base(quantity, bases)
    if axes[0]:
        value = jnp.sum(value, axis=tuple(range(value.ndim - axes[0], value.ndim)))
    return value if log_base is None else value / jnp.asarray(log_base, value.dtype)


def _evaluate_base(quantity, distributions):
    """The closed form of ``quantity`` at distributions that are their own bases, in nats."""
    try:
        form = formulas.lookup(
            quantity,
            *(type(d) for d in distributions),
            parameterisations=tuple(d.parameterisation for d in distributions),
        )
    except NotImplementedError:
        given = " and ".join(f"`{n}` ({type(d).__name__})" for n, d in zip("pq", distributions))
        raise NotImplementedError(
            f"no closed form for {quantity} of {given}: `verify list` shows the pairs, "
            f"verify.register_{quantity} adds one"
        ) from None
    params = [d.params() for d in distributions]
    # The batch shape of every parameter of every distribution: a form that does
    # not read a parameter (the entropy ignores `loc`) still answers per member.
    batch_shape = _validate.check_batch_shapes(
        **{name: dist.batch_shape for name, dist in zip("pq", distributions)}
    )
    function, flat = _by_parameterisation(quantity, distributions, form.function, params)
    dtype = np.result_type(*(x.dtype for x in flat))
    value = jnp.broadcast_to(_compiled(function)(*(x.astype(dtype) for x in flat)), batch_shape)
    _check_defined(quantity, distributions, flat, value)
    return value


def _check_defined(quantity, distributions, params, value):
    """Raises where a concrete call gives NaN from parameters that are numbers.

    A form returns NaN only where its quantity has no closed form (two binomials
    with ``0 < n_p < n_q``) or none that floating point evaluates to a meaningful
    value (Beta and Dirichlet concentrations some 1e16 apart and more): said,
    never returned. Traced calls are not checked.
    """
    if not _validate.is_concrete(value, *params):
        return
    nan = np.isnan(np.asarray(value))
    if not nan.any() or any(np.isnan(np.asarray(x)).any() for x in params):
        return
    where = [tuple(int(i) for i in index) for index in np.argwhere(nan)[:3]]
    names = " and ".join(repr(d) for d in distributions)
    raise NotImplementedError(
        f"{quantity} of {names} has no closed form at batch index {', '.join(map(str, where))}"
        f"{' ...' if nan.sum() > 3 else ''}, or none accurate in floating point there (see the "
        "family's formulas module); estimate it by sampling (verify.montecarlo.estimate)"
    )


@functools.cache
def _compiled(function):
    """``function`` on the JAX backend, compiled as one computation (cached per form).

    Called eagerly, the full-range forms would dispatch and compile their bit-level
    operations one by one (seconds for a first call); compiled whole, a first call
    costs one compilation and later calls with the same shapes and dtypes reuse it.
    Inside a caller's ``jit``, ``vmap`` or ``grad`` it traces inline as before.
    """
    return jax.jit(functools.partial(function, jax_ops))


def _by_parameterisation(quantity, distributions, function, params):
    """The form and its arguments: the registered one, or one for how P and Q were given."""
    flat = [x for group in params for x in group]
    if quantity == "kl" and all(
        isinstance(d, MultivariateNormal) and d._covariance is not None for d in distributions
    ):
        p, q = distributions
        return _kl_from_covariances, flat + [p._covariance, q._covariance]
    return function, flat


def _kl_from_covariances(xp, loc_p, tril_p, loc_q, tril_q, covariance_p, covariance_q):
    """The value from the covariances' exact difference; the derivatives through the factors.

    Derivatives flow only through ``loc`` and ``scale_tril``, as for every other
    multivariate normal (the covariance leaf gets none): the gradient of the KL
    with respect to a distribution's parameters is one vector, not split between
    two leaves that describe the same matrix.
    """
    by_factors = multivariate_normal.kl(xp, loc_p, tril_p, loc_q, tril_q)
    exact = multivariate_normal.kl_from_covariances(
        xp, loc_p, covariance_p, loc_q, covariance_q, tril_q
    )
    return by_factors + jax.lax.stop_gradient(exact - by_factors)


def check_same_events(p, q, params_p, params_q):
    """Raises unless P and Q have the same event shape (and, of one family, parameter events).

    ``params_p``/``params_q`` are the parameters (arrays or shape structs): within a
    family they fix sizes the samples do not show (a Categorical's K).
    """
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"`p` and `q` must have the same event size, got {p!r} with event shape "
            f"{p.event_shape} and {q!r} with {q.event_shape}"
        )
    base = p._as_base()[0]
    if type(base) is not type(q._as_base()[0]):
        return
    for x, y, rank in zip(params_p, params_q, base._param_event_ranks):
        event_p, event_q = x.shape[x.ndim - rank :], y.shape[y.ndim - rank :]
        if event_p != event_q:
            raise ValueError(
                f"`p` and `q` must have the same event size, got {p!r} with parameter "
                f"event shape {event_p} and {q!r} with {event_q}"
            )

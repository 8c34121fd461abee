"""What several proofs need: random and adversarial parameters, exact evaluation.

Parameters are the families' canonical ones (what ``Distribution.canonical``
returns), as float64 NumPy arrays with a leading batch axis.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

import verify

__all__ = [
    "BATCH",
    "DIMS",
    "SEARCH",
    "FAMILIES",
    "adversarial_pairs",
    "assign",
    "derive",
    "exact_values",
    "make",
    "random_params",
]

#: The families the proofs cover, in display order.
FAMILIES = (verify.Normal, verify.MultivariateNormal, verify.Bernoulli, verify.Categorical)

#: Batch sizes of the float64 checks. The formulas compile once per shape, so the
#: proofs share these few sizes instead of each choosing its own.
BATCH = 10_000
SEARCH = 100_000

#: Sizes used for the families that need one (symbolic derivations and samples alike).
DIMS = {verify.MultivariateNormal: {"dim": 2}, verify.Categorical: {"num_classes": 3}}


@functools.cache
def derive(quantity, *families):
    """:func:`verify.derive` with this module's sizes."""
    return verify.derive(quantity, *families, **DIMS.get(families[0], {}))


def random_params(family, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """``n`` random parameter sets of ``family``, spread over its parameter space.

    Example:
        >>> (probs,) = random_params(verify.Bernoulli, np.random.default_rng(0), 4)
        >>> probs.shape, bool(((0 < probs) & (probs < 1)).all())
        ((4,), True)
    """
    if family is verify.Normal:
        return rng.normal(0.0, 2.0, n), np.exp(rng.uniform(-2.0, 2.0, n))
    if family is verify.Bernoulli:
        return (rng.uniform(0.0, 1.0, n),)
    if family is verify.Categorical:
        return (rng.dirichlet(np.ones(DIMS[family]["num_classes"]), n),)
    if family is verify.MultivariateNormal:
        d = DIMS[family]["dim"]
        loc = rng.normal(0.0, 1.0, (n, d))
        tril = np.tril(rng.normal(0.0, 0.5, (n, d, d)), -1)
        tril += np.einsum("ni,ij->nij", np.exp(rng.normal(0.0, 0.5, (n, d))), np.eye(d))
        return loc, tril
    raise TypeError(f"no random parameters for {family.__name__}")


def adversarial_pairs(family, rng: np.random.Generator):
    """Pairs (params_p, params_q) where naive formulas go wrong.

    Nearly equal distributions (relative perturbations from 1e-3 down to
    1e-12), probabilities near 0 and 1, and very different scales.
    """
    n = 6
    base = random_params(family, rng, n)
    eps = np.array([1e-3, 1e-6, 1e-8, 1e-10, 1e-12, 0.0])
    if family is verify.Normal:
        loc, scale = base
        near = (loc, scale), (loc + eps * scale, scale * (1 + eps))
        wide = (
            (np.array([0.0, 0.0, 1e3]), np.array([1e-3, 1e3, 1.0])),
            (
                np.array([1.0, -1.0, -1e3]),
                np.array([1e3, 1e-3, 1.0]),
            ),
        )
        return _concat(near, wide)
    if family is verify.Bernoulli:
        (probs,) = base
        near = (probs,), (probs * (1 + eps),)
        edges = (
            (np.array([1e-12, 1 - 1e-12, 0.5, 1e-300, 0.999999]),),
            (np.array([1e-12 * 2, 1 - 2e-12, 0.5 + 1e-15, 1e-290, 1e-6]),),
        )
        return _concat(near, edges)
    if family is verify.Categorical:
        (probs,) = base
        tilted = probs * (1 + eps[:, None] * np.arange(probs.shape[1]))
        near = (probs,), (tilted / tilted.sum(-1, keepdims=True),)
        k = probs.shape[1]
        tiny = np.full((2, k), 1e-15)
        tiny[:, 0] = 1 - (k - 1) * 1e-15
        edges = (tiny,), (np.flip(tiny, axis=1),)
        return _concat(near, edges)
    if family is verify.MultivariateNormal:
        loc, tril = base
        near = (loc, tril), (loc + eps[:, None], tril * (1 + eps[:, None, None]))
        return near
    raise TypeError(f"no adversarial parameters for {family.__name__}")


def _concat(*pairs):
    p = tuple(np.concatenate(parts) for parts in zip(*(pair[0] for pair in pairs)))
    q = tuple(np.concatenate(parts) for parts in zip(*(pair[1] for pair in pairs)))
    return p, q


def make(family, params):
    """A (batch of) distribution(s) of ``family`` from canonical parameters."""
    params = [jnp.asarray(x, dtype=jnp.float64) for x in params]
    if family is verify.Normal:
        return verify.Normal(*params)
    if family is verify.MultivariateNormal:
        return verify.MultivariateNormal(params[0], scale_tril=params[1])
    return family(probs=params[0])


def assign(symbolic_family, params_row) -> dict:
    """``{symbol: value}`` for one parameter set (no batch axis) of a SymbolicFamily."""
    out = {}
    for symbol, value in zip(symbolic_family.params, params_row):
        entries = list(symbol) if hasattr(symbol, "shape") else [symbol]
        values = np.asarray(value).ravel().tolist()
        for entry, number in zip(entries, values):
            if entry.is_Symbol:
                out[entry] = number
    return out


def exact_values(derivation, *batches, dps=350) -> np.ndarray:
    """Evaluates ``derivation.expr`` in mpmath at ``dps`` digits, one value per batch row.

    350 digits represent ``1 - p`` exactly for every float64 ``p`` down to 1e-308,
    so the edges of the simplex are evaluated exactly too.

    Args:
        derivation: a :class:`verify.symbolic.Derivation`.
        *batches: canonical parameters of each family, with a leading batch axis.

    Returns:
        float64 values of the exact results (rounded once, at the end).
    """
    import mpmath

    from verify.proving.facts import to_mpmath

    function = to_mpmath(derivation.expr, derivation.symbols)
    n = len(batches[0][0])
    out = np.empty(n)
    with mpmath.workdps(dps):
        for i in range(n):
            values = {}
            for family, params in zip(derivation.families, batches):
                row = assign(family, [np.asarray(x)[i] for x in params])
                row = {s: mpmath.mpf(float(v)) for s, v in row.items()}
                if family.name == "Categorical":
                    # the distribution float probabilities stand for: normalised exactly
                    total = mpmath.fsum(row.values())
                    row = {s: v / total for s, v in row.items()}
                values.update(row)
            args = [values[s] for s in derivation.symbols]
            out[i] = float(function(*args))
    return out

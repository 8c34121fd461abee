"""hypothesis strategies: valid and adversarial parameters of every registered family.

``distributions(verify.Normal)`` draws valid distributions spread over the parameter
space; ``spread="moderate"`` draws Monte Carlo-friendly ones, and
:func:`adversarial_pairs` pairs (P, Q) where naive formulas fail (near-equal, extreme,
at the edges of the domain). Each family in the registry also has a plural shortcut:
``normals()``, ``bernoullis()``, ``categoricals(num_classes=4)``,
``multivariatenormals(dim=3)`` (also ``multivariate_normals``).

The parameters come from the families' own generators (``random_params``,
``adversarial_pairs``) seeded by hypothesis, so a failure replays from its seed.

Example:
    >>> from hypothesis import given, settings
    >>> import jax, verify
    >>> from verify.testing import strategies
    >>> @settings(max_examples=5, deadline=None)
    ... @given(strategies.normals())
    ... def test_entropy_is_finite(p):
    ...     assert bool(verify.entropy(p) > -1e308)
    >>> with jax.enable_x64(True):  # as verify's tests run
    ...     test_entropy_is_finite()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["adversarial_pairs", "distributions", "pairs", "params"]

_SEEDS = st.integers(0, 2**32 - 1)


def _families():
    from verify.families import FAMILIES

    return dict(FAMILIES)


def _make(cls, params):
    """The distribution, in float64 where JAX's 64-bit mode is on (float32 otherwise)."""
    import jax.numpy as jnp

    arrays = [jnp.asarray(np.asarray(p, np.float64)) for p in params]
    return cls.from_params(*arrays)


def params(family, *, spread="wide", **dims):
    """One parameter set (tuple of float64 arrays) of ``family``, in its first parameterisation."""

    def draw(seed):
        batch = family.random_params(np.random.default_rng(seed), 1, spread=spread, **dims)
        return tuple(np.asarray(p)[0] for p in batch)

    return _SEEDS.map(draw)


def distributions(family, *, spread="wide", **dims):
    """Valid distributions of ``family`` (``spread`` "wide" or "moderate")."""
    return params(family, spread=spread, **dims).map(lambda p: _make(family, p))


def adversarial_pairs(family, **dims):
    """Pairs (P, Q) of ``family`` where naive formulas fail (near-equal, extreme, edges)."""

    def draw(args):
        seed, index = args
        rng = np.random.default_rng(seed)
        p, q = family.adversarial_pairs(rng, **dims)
        i = index % len(np.asarray(p[0]))
        return (
            _make(family, [np.asarray(a)[i] for a in p]),
            _make(family, [np.asarray(a)[i] for a in q]),
        )

    return st.tuples(_SEEDS, st.integers(0, 10**6)).map(draw)


def pairs(family, **dims):
    """Pairs (P, Q): independent valid draws, and adversarial pairs."""
    independent = st.tuples(distributions(family, **dims), distributions(family, **dims))
    return st.one_of(independent, adversarial_pairs(family, **dims))


def __getattr__(name):
    """``normals()``, ``categoricals(num_classes=4)``, ...: :func:`distributions` of a family."""
    wanted = name.replace("_", "")
    if wanted.endswith("s"):
        cls = _families().get(wanted[:-1])
        if cls is not None:

            def shortcut(*, spread="wide", **dims):
                return distributions(cls, spread=spread, **dims)

            shortcut.__name__ = name
            shortcut.__doc__ = f"Valid {cls.__name__} distributions; see :func:`distributions`."
            return shortcut
    raise AttributeError(f"module 'verify.testing.strategies' has no attribute {name!r}")

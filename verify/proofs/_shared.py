"""What several proofs need: random and adversarial parameters, exact evaluation.

Parameters are the families' canonical ones (what ``Distribution.canonical``
returns), as float64 NumPy arrays with a leading batch axis.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

import jax
import jax.numpy as jnp
import numpy as np

import verify
from verify import formulas

__all__ = [
    "BATCH",
    "DIMS",
    "SEARCH",
    "FAMILIES",
    "adversarial_pairs",
    "assign",
    "compile_ahead",
    "families_with",
    "derive",
    "evaluate_in_batches",
    "exact_values",
    "make",
    "random_params",
]

#: The families the proofs cover: every registered family.
FAMILIES = tuple(verify.FAMILIES.values())


def families_with(*quantities):
    """The families with a registered closed form of every one of ``quantities``.

    Example:
        >>> verify.Normal in families_with("kl", "entropy")
        True
    """

    def registered(quantity, family):
        try:
            formulas.lookup(quantity, *[family] * formulas.QUANTITIES[quantity])
        except NotImplementedError:
            return False
        return True

    return tuple(f for f in FAMILIES if all(registered(q, f) for q in quantities))


#: Batch sizes of the float64 checks. The formulas compile once per shape, so the
#: proofs share these few sizes instead of each choosing its own.
BATCH = 10_000
SEARCH = 100_000

#: Sizes used for the families that need one (symbolic derivations and samples alike).
DIMS = {cls: {name: dim.default for name, dim in cls.dims.items()} for cls in FAMILIES if cls.dims}


@functools.cache
def derive(quantity, *families):
    """:func:`verify.derive` with this module's sizes."""
    dims = {name: n for family in families for name, n in DIMS.get(family, {}).items()}
    return verify.derive(quantity, *families, **dims)


def random_params(family, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """``n`` random parameter sets of ``family``, spread over its parameter space.

    Example:
        >>> (probs,) = random_params(verify.Bernoulli, np.random.default_rng(0), 4)
        >>> probs.shape, bool(((0 < probs) & (probs < 1)).all())
        ((4,), True)
    """
    return family.random_params(rng, n, spread="wide", **DIMS.get(family, {}))


def adversarial_pairs(family, rng: np.random.Generator):
    """Pairs (params_p, params_q) where naive formulas go wrong (the family's own)."""
    return family.adversarial_pairs(rng, **DIMS.get(family, {}))


def make(family, params):
    """A (batch of) distribution(s) of ``family`` from canonical parameters."""
    return family.from_params(*(jnp.asarray(x, dtype=jnp.float64) for x in params))


def compile_ahead(quantities):
    """Starts compiling every family's closed forms of ``quantities`` on a second thread,
    at the shapes the proofs evaluate them (``BATCH`` float64 parameters); returns a
    function that stops it after the compilation under way and waits for it.

    XLA compiles without holding Python's lock, so on a second core this runs beside the
    proofs' SymPy work, and a proof that evaluates a form later finds it compiled: a cold
    ``verify prove`` on 2 cores took 59 s (56-61) rather than 68 s (67-69), three runs
    each. The thread runs at the lowest priority, behind the proofs.

    Example:
        >>> finish = compile_ahead(["entropy"])
        >>> finish()  # stops after the form being compiled
    """
    stop = threading.Event()

    def work():
        with contextlib.suppress(OSError, AttributeError):  # behind the proofs (Linux: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        with jax.enable_x64(True):  # as the proofs run (the flag is per thread)
            compile_all()

    def compile_all():
        rng = np.random.default_rng(0)
        for quantity in quantities:
            function = getattr(verify, quantity)
            for family in families_with(quantity):
                if stop.is_set():
                    return
                n = formulas.QUANTITIES[quantity]
                try:
                    function(*(make(family, random_params(family, rng, BATCH)) for _ in range(n)))
                except Exception:  # noqa: BLE001 - only compiling: the proof evaluating it reports
                    pass

    thread = threading.Thread(target=work, name="verify-compile-ahead", daemon=True)
    thread.start()

    def finish():
        stop.set()
        thread.join()

    return finish


def evaluate_in_batches(function, family, *params) -> np.ndarray:
    """``function`` of the distributions built from ``params`` (one parameter tuple per
    distribution), evaluated ``BATCH`` rows at a time: a search of ``SEARCH`` rows
    reuses the compilation the ``BATCH``-sized checks make.

    Example:
        >>> p = q = random_params(verify.Normal, np.random.default_rng(0), 3)
        >>> evaluate_in_batches(verify.kl, verify.Normal, p, q).tolist()
        [0.0, 0.0, 0.0]
    """
    n = len(params[0][0])
    chunks = []
    for start in range(0, n, BATCH):
        rows = [make(family, [x[start : start + BATCH] for x in group]) for group in params]
        chunks.append(np.asarray(function(*rows)))
    return np.concatenate(chunks)


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
                if family.assumptions:
                    # on the simplex (sum = 1): the distribution float probabilities
                    # stand for, normalised exactly
                    total = mpmath.fsum(row.values())
                    row = {s: v / total for s, v in row.items()}
                values.update(row)
            args = [values[s] for s in derivation.symbols]
            out[i] = float(function(*args))
    return out

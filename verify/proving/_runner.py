"""Runs proofs: seeds every step, times it, turns exceptions into failed steps."""

from __future__ import annotations

import dataclasses
import numbers
import time
import traceback
import zlib

import jax
import numpy as np

from verify.proving._core import Claim, Evidence, Proof, Verdict, decide

__all__ = [
    "MAX_SEED",
    "Context",
    "ProofResult",
    "StepResult",
    "check_seed",
    "run_proof",
    "run_proofs",
]

#: Seeds are integers from 0 to MAX_SEED (NumPy's and JAX's common range).
MAX_SEED = 2**32 - 1


def check_seed(seed) -> int:
    """``seed`` as an int, or a ValueError naming it.

    Example:
        >>> check_seed(7)
        7
        >>> check_seed(-3)
        Traceback (most recent call last):
        ...
        ValueError: `seed` must be an integer from 0 to 4294967295, got -3
    """
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= seed <= MAX_SEED
    ):
        raise ValueError(f"`seed` must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


class Context:
    """What a step gets: reproducible randomness derived from the run's seed.

    Every step draws from streams named by the claim, the step and a label, so
    adding a step or a draw never changes the numbers another step sees.

    Args:
        seed: the run's seed (``verify prove --seed``).
        claim_id: the claim being proved.
        step: the step's title.

    Example:
        >>> a = Context(0, "C1", "step").rng("x").random()
        >>> b = Context(0, "C1", "step").rng("x").random()
        >>> a == b, a == Context(1, "C1", "step").rng("x").random()
        (True, False)
    """

    def __init__(self, seed: int, claim_id: str, step: str):
        self.seed = check_seed(seed)
        self._stream = [self.seed, _hash(claim_id), _hash(step)]

    def key(self, label: str = "") -> jax.Array:
        """A JAX PRNG key for ``label``."""
        key = jax.random.key(self.seed)
        for part in self._stream[1:] + [_hash(label)]:
            key = jax.random.fold_in(key, part)
        return key

    def rng(self, label: str = "") -> np.random.Generator:
        """A NumPy generator for ``label``."""
        return np.random.default_rng(self._stream + [_hash(label)])


def _hash(text: str) -> int:
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


@dataclasses.dataclass(frozen=True)
class StepResult:
    """The outcome of one step.

    Attributes:
        title, role, text: as declared by the :class:`~verify.proving.Step`.
        evidence: what the step established.
        error: the traceback, if the step raised (then ``evidence`` is empty).
        seconds: wall time of the step.
    """

    title: str
    role: str
    text: str
    evidence: tuple[Evidence, ...]
    error: str | None
    seconds: float

    @property
    def passed(self) -> bool:
        return self.error is None and all(e.passed for e in self.evidence)


@dataclasses.dataclass(frozen=True)
class ProofResult:
    """The outcome of one proof.

    Attributes:
        claim: the claim.
        verdict: the verdict the evidence reached.
        steps: one :class:`StepResult` per step.
        seed: the seed of the run.
        seconds: wall time of the proof.
    """

    claim: Claim
    verdict: Verdict
    steps: tuple[StepResult, ...]
    seed: int
    seconds: float

    @property
    def as_expected(self) -> bool:
        """True if the verdict is the one the proof expects."""
        return self.verdict == self.claim.expected


def run_proof(proof: Proof, seed: int = 0) -> ProofResult:
    """Runs every step of ``proof`` in float64 (``jax.enable_x64``, the global flag untouched).

    A step that raises (or calls ``sys.exit``) is recorded with its traceback and
    makes the verdict ``unsettled``; the remaining steps still run.

    Args:
        proof: the proof.
        seed: seeds every random draw of every step, from 0 to :data:`MAX_SEED`.

    Returns:
        A :class:`ProofResult`.

    Raises:
        ValueError: ``seed`` is not an integer from 0 to :data:`MAX_SEED`.
    """
    seed = check_seed(seed)
    start = time.perf_counter()
    results = []
    for step in proof.steps:
        step_start = time.perf_counter()
        error, evidence = None, ()
        try:
            with jax.enable_x64(True):
                out = step.function(Context(seed, proof.claim.id, step.title))
            evidence = (out,) if isinstance(out, Evidence) else out
            if (
                not isinstance(evidence, (list, tuple))
                or not evidence
                or not all(isinstance(e, Evidence) for e in evidence)
            ):
                raise TypeError(f"step {step.title!r} must return Evidence, got {out!r}")
        except (Exception, SystemExit):  # noqa: BLE001 - a failing step is a result, not a crash
            error, evidence = traceback.format_exc(), ()
        results.append(
            StepResult(
                step.title,
                step.role,
                step.text,
                tuple(evidence),
                error,
                time.perf_counter() - step_start,
            )
        )
    verdict = decide(
        [(r.role, list(r.evidence)) for r in results], failed=any(r.error for r in results)
    )
    return ProofResult(proof.claim, verdict, tuple(results), int(seed), time.perf_counter() - start)


def run_proofs(proofs, seed: int = 0, on_result=None) -> list[ProofResult]:
    """Runs several proofs in order; ``on_result(result)`` is called after each."""
    results = []
    for proof in proofs:
        result = run_proof(proof, seed=seed)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results

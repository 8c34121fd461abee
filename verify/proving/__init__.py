"""The proof framework: claims, steps, evidence, verdicts, and the runner.

Example:
    >>> from verify.proving import Claim, Evidence, Proof, Verdict
    >>> proof = Proof(Claim("X1", "Arithmetic", "2 + 2 = 4", Verdict.PROVED))
    >>> @proof.step("Evaluate exactly")
    ... def evaluate(ctx):
    ...     return Evidence("exact", "2 + 2 == 4", passed=2 + 2 == 4)
    >>> result = proof.run(seed=0)
    >>> result.verdict, result.as_expected
    (<Verdict.PROVED: 'proved'>, True)
"""

from verify.proving._core import ROLES, Claim, Evidence, Proof, Step, Verdict, decide
from verify.proving._runner import (
    MAX_SEED,
    Context,
    ProofResult,
    StepResult,
    check_seed,
    run_proof,
    run_proofs,
)

__all__ = [
    "MAX_SEED",
    "ROLES",
    "Claim",
    "Context",
    "Evidence",
    "Proof",
    "ProofResult",
    "Step",
    "StepResult",
    "Verdict",
    "check_seed",
    "decide",
    "run_proof",
    "run_proofs",
]

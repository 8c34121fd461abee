"""Claims, evidence, steps and verdicts: the vocabulary of a proof.

A :class:`Proof` states a :class:`Claim` (its id, the source's words, the
verdict it expects) and lists steps. Each step is a function of a
:class:`~verify.proving._runner.Context` returning :class:`Evidence`. The
verdict is computed from the evidence alone, never taken from the proof's
expectation:

* **refuted** -- some evidence is a counterexample to the claim, confirmed;
* **unsettled** -- some check failed or was inconclusive (and no counterexample
  was confirmed), or a step raised;
* **verified** -- every check passed, and some part of the claim rests on
  numeric or sampling evidence only (a step with role ``"demonstration"``);
* **proved** -- every check passed and the claim rests on symbolic or exact
  steps (role ``"proof"``); numeric ``"cross-check"`` steps only corroborate.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable

from verify.evidence import Evidence

__all__ = ["ROLES", "Claim", "Evidence", "Proof", "Step", "Verdict", "decide"]

#: What a step contributes: see the module docstring.
ROLES = ("proof", "demonstration", "cross-check")


class Verdict(str, enum.Enum):
    """The outcome of a proof (a ``str``, so it prints and serialises as its value)."""

    PROVED = "proved"
    VERIFIED = "verified"
    REFUTED = "refuted"
    UNSETTLED = "unsettled"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the source note.

    Attributes:
        id: ``"C1"`` ... ``"C13"`` for the source note's claims.
        title: a short name, e.g. ``"Discrete KL divergence"``.
        statement: the claim in the source's words (paraphrased).
        expected: the verdict the evidence is expected to reach.
    """

    id: str
    title: str
    statement: str
    expected: Verdict

    def __post_init__(self):
        for name in ("id", "title", "statement"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"`{name}` must be a str, got {getattr(self, name)!r}")
        if self.expected not in tuple(Verdict):
            words = ", ".join(v.value for v in Verdict)
            raise ValueError(f"`expected` must be a Verdict ({words}), got {self.expected!r}")
        object.__setattr__(self, "expected", Verdict(self.expected))


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a proof.

    Attributes:
        title: what the step shows, in words.
        role: ``"proof"``, ``"demonstration"`` or ``"cross-check"``.
        function: ``function(ctx)`` returning an :class:`Evidence` or a list of them.
        text: the argument of the step, in words (the function's docstring).
    """

    title: str
    role: str
    function: Callable
    text: str = ""


class Proof:
    """A claim and the steps that settle it.

    Args:
        claim: the :class:`Claim`.

    Example:
        >>> proof = Proof(Claim("X1", "Arithmetic", "1 + 1 = 2", Verdict.PROVED))
        >>> @proof.step("Evaluate both sides exactly")
        ... def both_sides(ctx):
        ...     return Evidence("exact", "1 + 1 == 2", passed=1 + 1 == 2)
        >>> [s.title for s in proof.steps]
        ['Evaluate both sides exactly']
    """

    def __init__(self, claim: Claim):
        if not isinstance(claim, Claim):
            raise TypeError(f"`claim` must be a verify.proving.Claim, got {claim!r}")
        self.claim = claim
        self.steps: list[Step] = []

    def step(self, title: str, role: str = "proof"):
        """Decorator adding a step; its docstring becomes the step's text."""
        if role not in ROLES:
            raise ValueError(f"`role` must be one of {ROLES}, got {role!r}")

        def register(function):
            text = " ".join((function.__doc__ or "").split())
            self.steps.append(Step(title, role, function, text))
            return function

        return register

    def run(self, seed: int = 0, **kwargs):
        """Runs the proof; see :func:`verify.proving.run_proof`."""
        from verify.proving._runner import run_proof

        return run_proof(self, seed=seed, **kwargs)

    def main(self, argv=None) -> int:
        """Runs the proof and prints its transcript; the body of a proof script.

        Args:
            argv: command-line arguments (default ``sys.argv[1:]``): ``--seed N``,
                ``--json`` or ``--markdown`` for another format.

        Returns:
            0 if the verdict is the expected one, else 1 (2 for bad arguments).
        """
        import argparse
        import sys

        from verify import report
        from verify.proving._runner import check_seed

        parser = argparse.ArgumentParser(description=f"{self.claim.id}: {self.claim.title}")
        parser.add_argument("--seed", type=int, default=0)
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true")
        output.add_argument("--markdown", action="store_true")
        try:
            args = parser.parse_args(argv)
            check_seed(args.seed)
        except SystemExit as exit_:
            return int(exit_.code or 0)
        except ValueError as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            return 2
        result = self.run(seed=args.seed)
        if args.json:
            print(report.to_json([result]))
        elif args.markdown:
            print(report.to_markdown([result]))
        else:
            print(report.text([result], colour=sys.stdout.isatty()))
        return 0 if result.as_expected else 1

    def __repr__(self):
        return f"Proof({self.claim.id}: {self.claim.title}, {len(self.steps)} steps)"


def decide(evidence_by_role: list[tuple[str, list[Evidence]]], failed: bool = False) -> Verdict:
    """The verdict that a list of (step role, evidence) reaches.

    Args:
        evidence_by_role: one ``(role, evidence list)`` per step.
        failed: a step raised an exception.

    Example:
        >>> ok = Evidence("symbolic", "x - x == 0", passed=True)
        >>> bad = Evidence("numeric", "max error <= 1e-12", passed=False)
        >>> decide([("proof", [ok])]), decide([("proof", [ok]), ("cross-check", [bad])])
        (<Verdict.PROVED: 'proved'>, <Verdict.UNSETTLED: 'unsettled'>)
    """
    everything = [e for _, group in evidence_by_role for e in group]
    if any(e.refutes and e.passed for e in everything):
        return Verdict.REFUTED
    if failed or not everything or not all(e.passed for e in everything):
        return Verdict.UNSETTLED
    if any(role == "demonstration" for role, _ in evidence_by_role):
        return Verdict.VERIFIED
    if any(role == "proof" for role, _ in evidence_by_role):
        return Verdict.PROVED
    return Verdict.VERIFIED

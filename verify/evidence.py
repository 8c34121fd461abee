"""Evidence: one checked fact, with one set of verdict words for checks and proofs alike.

A piece of evidence says *what* was checked (``statement``), *how* (``kind``)
and with what outcome (``verdict``):

* **pass** -- the check was made and it holds;
* **fail** -- the check was made and it does not hold;
* **inconclusive** -- the check could not decide (e.g. Monte Carlo whose
  standard error cannot be trusted, or too few samples to see a discrepancy
  smaller than the value itself).

:func:`verify.check_kl` and its siblings collect evidence about a user's
formula (:class:`verify.CheckReport`); proof steps return evidence about a
claim (:mod:`verify.proving`). Both use this one class.

Numbers are compared by :func:`agreement`: finite values within
``atol + rtol * |expected|``, while infinities and NaNs must match exactly (a
tolerance relative to ``+inf`` would accept every finite value); zeros of either
sign are equal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["KINDS", "VERDICTS", "Evidence", "agreement"]

#: The verdict words of a piece of evidence (see the module docstring).
VERDICTS = ("pass", "fail", "inconclusive")

#: How a fact was established, from strongest to weakest.
KINDS = ("symbolic", "exact", "counterexample", "construction", "numeric", "montecarlo")


@dataclasses.dataclass(frozen=True)
class Evidence:
    """One checked fact.

    Attributes:
        kind: how it was checked, one of :data:`KINDS`.
        statement: what was checked and what came out, in words.
        passed: True (the check holds), False (it does not) or None (it could
            not decide); a ``bool``-like value is stored as a ``bool``.
        name: a short identifier to look the evidence up by (e.g. a check
            report's ``"monte_carlo"``); may be empty.
        formula: the formula checked, pretty-printed (``sympy.pretty``) or plain text.
        latex: the same formula in LaTeX, for Markdown reports.
        figures: the numbers behind the verdict, name -> value, in display order.
        refutes: True for a counterexample *to the claim* (not to its negation):
            when it passes, the claim is refuted.

    Example:
        >>> e = Evidence("numeric", "1 + 1 == 2 in float64", passed=1 + 1 == 2)
        >>> e.verdict, e.passed, e.refutes
        ('pass', True, False)
        >>> print(Evidence("montecarlo", "too few samples", passed=None, name="monte_carlo"))
        [INCONCLUSIVE] monte_carlo: too few samples
    """

    kind: str
    statement: str
    passed: bool | None
    name: str = ""
    formula: str = ""
    latex: str = ""
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    refutes: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, got {self.kind!r}")
        if self.passed is not None:
            object.__setattr__(self, "passed", bool(self.passed))

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"fail"`` or ``"inconclusive"`` (see :data:`VERDICTS`)."""
        return {True: "pass", False: "fail", None: "inconclusive"}[self.passed]

    def __str__(self):
        label = f"{self.name}: " if self.name else f"{self.kind}: "
        return f"[{self.verdict.upper()}] {label}{self.statement}"

    def to_dict(self) -> dict:
        """Everything as JSON-ready data (non-finite floats as strings)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "verdict": self.verdict,
            "passed": self.passed,
            "statement": self.statement,
            "refutes": self.refutes,
            "formula": self.formula,
            "latex": self.latex,
            "figures": jsonable(self.figures),
        }


def agreement(actual, expected, *, rtol=0.0, atol=0.0):
    """Where ``actual`` agrees with ``expected``, and by how much they differ.

    Finite expected values are matched within ``atol + rtol * |expected|``;
    an infinity or a NaN is matched exactly: only the same infinity, or a NaN,
    agrees (a tolerance relative to ``inf`` would accept every finite value).
    Zeros of either sign agree, as IEEE equality has it: both are the exact
    value 0, and the sign of a zero divergence or entropy is an accident of the
    order of operations (``-(0.0)`` is ``-0.0``), not part of the quantity.

    Args:
        actual, expected: arrays that broadcast together.
        rtol, atol: the tolerance for finite values.

    Returns:
        ``(ok, error)``: boolean array, and ``|actual - expected|`` (0 where
        both are the same non-finite value, inf where one is non-finite and
        they differ).

    Example:
        >>> ok, error = agreement([1.0, 5.0, np.inf, -0.0], [np.inf, np.inf, np.inf, 0.0],
        ...                       rtol=1e-9)
        >>> ok.tolist(), error.tolist()
        ([False, False, True, True], [inf, inf, 0.0, 0.0])
    """
    actual, expected = np.broadcast_arrays(
        np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    )
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    finite = np.isfinite(actual) & np.isfinite(expected)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.where(finite, np.abs(actual - expected), np.inf)
        within = finite & (error <= atol + rtol * np.abs(expected))
    return same | within, np.where(same, 0.0, error)


def jsonable(value):
    """``value`` as JSON-ready data: arrays as lists, non-finite floats as strings.

    Example:
        >>> jsonable({"x": np.array([1.0, np.inf]), "n": np.int64(3)})
        {'x': [1.0, 'inf'], 'n': 3}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "__array__") or isinstance(value, np.generic):
        array = np.asarray(value)
        return jsonable(array.tolist()) if array.ndim else jsonable(array.item())
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf/nan
    return value

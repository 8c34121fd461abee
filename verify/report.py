"""Reports of proof runs: a transcript for people, JSON, JUnit XML and Markdown for CI.

Every format is a pure function of a list of :class:`~verify.proving.ProofResult`.
JSON holds everything, and two runs with the same seed give identical JSON
except for the ``seconds`` fields.

Example:
    >>> from verify.proving import Claim, Evidence, Proof, Verdict
    >>> proof = Proof(Claim("X1", "Arithmetic", "2 + 2 = 4", Verdict.PROVED))
    >>> @proof.step("Evaluate exactly")
    ... def evaluate(ctx):
    ...     return Evidence("exact", "2 + 2 == 4", passed=True, figures={"value": 4})
    >>> results = [proof.run()]
    >>> print(summary(results))
    1 claim: 1 as expected, 0 differ
    >>> import json; json.loads(to_json(results))["claims"][0]["verdict"]
    'proved'
"""

from __future__ import annotations

import json
import math
import re
import textwrap
import xml.etree.ElementTree as ET

import numpy as np

__all__ = [
    "legend",
    "summary",
    "summary_table",
    "text",
    "to_dict",
    "to_json",
    "to_junit",
    "to_markdown",
]

_COLOURS = {"green": "\033[32m", "red": "\033[31m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"
#: Text is filled to this many columns; no line of a transcript is wider than 100.
_WIDTH = 88
_ANSI = re.compile("\033\\[[0-9;]*m")


def _paint(text, colour, enabled):
    return f"{_COLOURS[colour]}{text}{_RESET}" if enabled else text


def _value(value):
    """A figure as JSON: numbers stay numbers, non-finite floats become strings."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _figure_text(value):
    value = _value(value)
    if isinstance(value, float):
        return f"{value:.6g}" if value != 0 else "0"
    if isinstance(value, list):
        return "[" + ", ".join(_figure_text(v) for v in value) + "]"
    return str(value)


def summary(results) -> str:
    """One line: how many claims ran and how many reached the expected verdict."""
    good = sum(r.as_expected for r in results)
    noun = "claim" if len(results) == 1 else "claims"
    return f"{len(results)} {noun}: {good} as expected, {len(results) - good} differ"


# --------------------------------------------------------------------- text
#: How to read a transcript: every verdict word, step role and mark, defined once.
LEGEND = """\
How to read this transcript
  A claim's verdict is computed from its evidence, never copied from the expected one:
    proved      every check passed, and the claim rests on symbolic algebra or exact
                arithmetic ([proof] steps)
    verified    every check passed, and part of the claim rests on float64 or sampling
                evidence only ([demonstration] steps): shown for the cases run
    refuted     a counterexample to the claim was found and confirmed
    unsettled   a check failed or could not decide, or a step raised; nothing refutes
  Steps:
    [proof]           symbolic algebra (SymPy) or exact arithmetic (mpmath); a counterexample
                      found by a random search counts once it is confirmed exactly
    [demonstration]   float64 or Monte Carlo evidence the claim rests on
    [cross-check]     independent evidence that corroborates; a failure still unsettles
  Evidence:
    ✔ pass                the check holds
    ✘ fail                the check does not hold
    ? inconclusive        the check could not decide (e.g. too few samples)
    ✘ refutes the claim   a confirmed counterexample to the claim itself
  Kinds: symbolic (SymPy identity), exact (mpmath), counterexample, construction (built
  and checked, e.g. a prefix code), numeric (float64), montecarlo (sampling, with a
  stated false-alarm rate)."""


def legend() -> str:
    """The key to a transcript: verdict words, step roles, evidence marks and kinds."""
    return LEGEND


def _mark(evidence, colour):
    if evidence.refutes and evidence.passed:
        return _paint("✘ refutes the claim", "red", colour)
    return {
        True: _paint("✔ pass", "green", colour),
        False: _paint("✘ fail", "red", colour),
        None: _paint("? inconclusive", "red", colour),
    }[evidence.passed]


def text(results, colour: bool = False, legend: bool = True) -> str:
    """The transcript a student reads: claim, steps with formulas and figures, verdict.

    Args:
        results: proof results.
        colour: ANSI colours (the command line turns them on for a terminal only).
        legend: start with :func:`legend`, the key to the verdict words and marks.
    """
    out = [LEGEND, ""] if legend else []
    for result in results:
        out += _claim_text(result, colour)
    if len(results) > 1:
        out.append(summary_table(results, colour))
    return "\n".join(out)


def _claim_text(result, colour):
    claim = result.claim
    heading = f"══ {claim.id} {claim.title} "
    out = [_paint(heading + "═" * max(4, _WIDTH - len(heading)), "bold", colour)]
    out.append(_wrap(f"Claim: {claim.statement}", ""))
    out.append(f"Expected verdict: {claim.expected}")
    for number, step in enumerate(result.steps, 1):
        out.append("")
        heading = f"Step {number} [{step.role}] {step.title}  ({step.seconds:.2f} s)"
        out.append(_paint(_wrap(heading, ""), "bold", colour))
        if step.text:
            out.append(_wrap(step.text, "  "))
        for evidence in step.evidence:
            mark = _mark(evidence, colour)
            out.append(_wrap(f"{mark} · {evidence.kind}: {evidence.statement}", "  ", colour))
            if evidence.formula:
                out.append(textwrap.indent(evidence.formula, "      "))
            for name, value in evidence.figures.items():
                out.append(_wrap(f"{name} = {_figure_text(value)}", "      "))
        if step.error:
            out.append(_paint("  ✘ the step raised an exception:", "red", colour))
            out.append(textwrap.indent(step.error.rstrip(), "    "))
    verdict = str(result.verdict).upper()
    if result.as_expected:
        line = _paint(f"Verdict: {verdict}, as expected", "green", colour)
    else:
        line = _paint(f"Verdict: {verdict}, but {claim.expected} was expected", "red", colour)
    out += ["", _paint(line, "bold", colour) + f"  ({claim.id} took {result.seconds:.2f} s)", ""]
    return out


def summary_table(results, colour: bool = False) -> str:
    """One line per claim (mark, id, verdict, expected verdict, title), then :func:`summary`
    and the total time."""
    out = [_paint("Summary (✔: the verdict is the expected one)", "bold", colour)]
    for result in results:
        mark = "✔" if result.as_expected else "✘"
        mark = _paint(mark, "green" if result.as_expected else "red", colour)
        line = (
            f"{mark} {result.claim.id:<4} {str(result.verdict):<10} "
            f"(expected {str(result.claim.expected):<9}) {result.claim.title}"
        )
        out.append(_wrap(line, "  ", colour))
    out.append(f"{summary(results)}; total time {_total_seconds(results):.1f} s")
    return "\n".join(out)


def _total_seconds(results):
    return sum(r.seconds for r in results)


def _wrap(line, indent, colour=False):
    """``line`` filled to :data:`_WIDTH` columns (ANSI colour codes do not count)."""
    width = _WIDTH + (len(line) - len(_ANSI.sub("", line)) if colour else 0)
    return textwrap.fill(
        line,
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=True,
        break_on_hyphens=False,
    )


# --------------------------------------------------------------------- JSON
def to_dict(results) -> dict:
    """Everything about a run, as plain data (the JSON report)."""
    from verify import __version__

    claims = []
    for result in results:
        steps = []
        for step in result.steps:
            steps.append(
                {
                    "title": step.title,
                    "role": step.role,
                    "text": step.text,
                    "passed": step.passed,
                    "error": step.error,
                    "seconds": round(step.seconds, 4),
                    "evidence": [
                        {
                            "kind": e.kind,
                            "statement": e.statement,
                            "verdict": e.verdict,
                            "passed": e.passed,
                            "refutes": e.refutes,
                            "formula": e.formula,
                            "latex": e.latex,
                            "figures": {k: _value(v) for k, v in e.figures.items()},
                        }
                        for e in step.evidence
                    ],
                }
            )
        claims.append(
            {
                "id": result.claim.id,
                "title": result.claim.title,
                "statement": result.claim.statement,
                "expected": str(result.claim.expected),
                "verdict": str(result.verdict),
                "as_expected": result.as_expected,
                "seconds": round(result.seconds, 4),
                "steps": steps,
            }
        )
    good = sum(r.as_expected for r in results)
    return {
        "verify_version": __version__,
        "seed": results[0].seed if results else None,
        "summary": {"claims": len(results), "as_expected": good, "differ": len(results) - good},
        "claims": claims,
    }


def to_json(results) -> str:
    """The JSON report (UTF-8 text, keys in a fixed order)."""
    return json.dumps(to_dict(results), indent=2, ensure_ascii=False, allow_nan=False)


# -------------------------------------------------------------------- JUnit
def to_junit(results) -> str:
    """JUnit XML: one test case per claim; a verdict other than the expected one fails.

    The failure's text is the claim's transcript, which CI systems show.
    """
    suite = ET.Element(
        "testsuite",
        name="verify prove",
        tests=str(len(results)),
        failures=str(sum(not r.as_expected for r in results)),
        errors="0",
        skipped="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="verify.proofs",
            name=f"{result.claim.id} {result.claim.title}",
            time=f"{result.seconds:.3f}",
        )
        transcript = text([result], legend=False)
        if not result.as_expected:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"verdict {result.verdict}, expected {result.claim.expected}",
                type="VerdictDiffers",
            )
            failure.text = transcript
        ET.SubElement(case, "system-out").text = transcript
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


# ----------------------------------------------------------------- Markdown
def to_markdown(results) -> str:
    """A summary for a CI job page: a table of verdicts, then each claim's evidence.

    Formulas are LaTeX in ``$$ ... $$`` blocks, which GitHub renders.
    """
    total = f"{summary(results)}; total time {_total_seconds(results):.1f} s"
    out = ["## verify prove", "", total, ""]
    out += ["| claim | verdict | expected | as expected | title |", "|---|---|---|---|---|"]
    for r in results:
        mark = "✅ yes" if r.as_expected else "❌ no"
        out.append(
            f"| {r.claim.id} | **{r.verdict}** | {r.claim.expected} | {mark} | {r.claim.title} |"
        )
    out += ["", "<details><summary>How to read this report</summary>", "", "```", LEGEND]
    out += ["```", "", "</details>"]
    for r in results:
        out += [
            "",
            f"### {r.claim.id} {r.claim.title}: {r.verdict}",
            "",
            f"> {r.claim.statement}",
            "",
        ]
        for number, step in enumerate(r.steps, 1):
            out.append(f"{number}. **{step.title}** _({step.role})_")
            for e in step.evidence:
                mark = _MARKDOWN_MARKS[e.passed]
                if e.refutes and e.passed:
                    mark = "❌ **refutes the claim** ·"
                out.append(f"   - {mark} {e.kind}: {_md(e.statement)}")
                if e.latex:
                    out += ["", f"     $$ {e.latex} $$", ""]
                elif e.formula:  # a table or a plain-text formula
                    out += ["", "     ```", textwrap.indent(e.formula, "     "), "     ```", ""]
                figures = "; ".join(f"{k} = {_figure_text(v)}" for k, v in e.figures.items())
                if figures:
                    out.append(f"     <sub>{_md(figures)}</sub>")
            if step.error:
                out.append(f"   - ❌ raised: `{step.error.strip().splitlines()[-1]}`")
    return "\n".join(out) + "\n"


_MARKDOWN_MARKS = {True: "✅ pass ·", False: "❌ fail ·", None: "❔ inconclusive ·"}


def _md(text):
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

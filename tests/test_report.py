"""Reports: the text transcript, JSON, JUnit XML and Markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import sympy as sp

from verify import report
from verify.proving import Claim, Evidence, Proof, Verdict, facts


def _proof(claim_id, expected, holds, refutes=False):
    proof = Proof(Claim(claim_id, f"title {claim_id}", f"statement {claim_id}", expected))
    x = sp.Symbol("x", positive=True)

    @proof.step("a symbolic step")
    def symbolic(ctx):
        """Why the step shows what it shows."""
        return facts.identity("log x² = 2 log x", sp.log(x**2), 2 * sp.log(x))

    @proof.step("a numeric step", role="cross-check")
    def numeric(ctx):
        return Evidence(
            "counterexample" if refutes else "numeric",
            "the check <with> | special characters",
            passed=holds,
            refutes=refutes,
            figures={"error": 1.5e-17, "limit": float("inf"), "points": 3, "pair": [0.1, 0.2]},
        )

    return proof


@pytest.fixture(scope="module")
def results():
    return [
        _proof("X1", Verdict.PROVED, holds=True).run(),
        _proof("X2", Verdict.PROVED, holds=False).run(),
        _proof("X3", Verdict.REFUTED, holds=True, refutes=True).run(),
    ]


def test_verdicts_of_the_fixture(results):
    assert [str(r.verdict) for r in results] == ["proved", "unsettled", "refuted"]
    assert [r.as_expected for r in results] == [True, False, True]


def test_text_shows_claim_steps_formula_figures_and_verdict(results):
    text = report.text(results)
    assert "══ X1 title X1" in text and "Claim: statement X1" in text
    assert "Step 1 [proof] a symbolic step" in text
    assert "Why the step shows what it shows." in text
    assert "   ⎛ 2⎞" in text  # the pretty-printed formula
    assert "error = 1.5e-17" in text and "limit = inf" in text
    assert "Verdict: PROVED, as expected" in text
    assert "Verdict: UNSETTLED, but proved was expected" in text
    assert "✘ refutes the claim · counterexample: the check" in text
    assert "3 claims: 2 as expected, 1 differ" in text
    assert "\033[" not in text


def test_colour_only_when_asked(results):
    coloured = report.text(results, colour=True)
    assert "\033[32m" in coloured and "\033[31m" in coloured


def test_json_is_strict_json_with_every_field(results):
    text = report.to_json(results)
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert data["summary"] == {"claims": 3, "as_expected": 2, "differ": 1}
    first = data["claims"][0]
    assert {
        "id",
        "title",
        "statement",
        "expected",
        "verdict",
        "as_expected",
        "seconds",
        "steps",
    } <= set(first)
    evidence = first["steps"][1]["evidence"][0]
    assert evidence["figures"] == {
        "error": 1.5e-17,
        "limit": "inf",
        "points": 3,
        "pair": [0.1, 0.2],
    }
    assert (
        first["steps"][0]["evidence"][0]["latex"]
        == r"\log{\left(x^{2} \right)} = 2 \log{\left(x \right)}"
    )


def test_junit_parses_and_fails_exactly_the_unexpected_verdicts(results):
    root = ET.fromstring(report.to_junit(results).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    failure = cases[1].find("failure")
    assert failure.get("message") == "verdict unsettled, expected proved"
    assert "Step 2 [cross-check] a numeric step" in failure.text


def test_markdown_has_a_table_latex_and_escaped_text(results):
    markdown = report.to_markdown(results)
    assert "| X2 | **unsettled** | proved | ❌ no | title X2 |" in markdown
    assert r"$$ \log{\left(x^{2} \right)} = 2 \log{\left(x \right)} $$" in markdown
    assert "&lt;with&gt; \\| special" in markdown
    assert "❌ **refutes the claim** · counterexample:" in markdown


def test_a_step_error_appears_in_every_format():
    proof = Proof(Claim("X9", "t", "s", Verdict.PROVED))
    proof.step("raises")(lambda ctx: 1 / 0)
    result = proof.run()
    assert "ZeroDivisionError" in report.text([result])
    assert (
        "ZeroDivisionError"
        in json.loads(report.to_json([result]))["claims"][0]["steps"][0]["error"]
    )
    assert "raised: `ZeroDivisionError: division by zero`" in report.to_markdown([result])


# ------------------------------------------------- what a student reads (issue 10)
def test_the_legend_defines_every_verdict_word_role_and_mark_once(results):
    text = report.text(results)
    legend = report.legend()
    assert text.startswith(legend) and text.count(legend) == 1
    for word in ("proved", "verified", "refuted", "unsettled"):
        assert sum(line.split()[:1] == [word] for line in legend.splitlines()) == 1, word
    for role in ("[proof]", "[demonstration]", "[cross-check]"):
        assert sum(line.split()[:1] == [role] for line in legend.splitlines()) == 1, role
    for mark in ("✔ pass", "✘ fail", "? inconclusive", "✘ refutes the claim"):
        assert legend.count(mark) == 1, mark
    assert report.legend() not in report.text(results, legend=False)


def test_a_confirmed_counterexample_never_carries_a_check_mark(results):
    refuting = [line for line in report.text(results).splitlines() if "counterexample:" in line]
    assert refuting and all(line.lstrip().startswith("✘ refutes the claim") for line in refuting)
    assert "COUNTEREXAMPLE" not in report.text(results)


def test_every_line_fits_in_100_columns():
    proof = Proof(Claim("X4", "a long title " * 6, "a long statement " * 20, Verdict.PROVED))
    xs = sp.symbols("x0:40", positive=True)

    @proof.step("a very long step title that goes on and on " * 3)
    def wide(ctx):
        """A long explanation that a reader follows word by word, with many words in it, and
        more words after those, so that it cannot fit on one line of a transcript at all."""
        return facts.identity("wide", sp.log(sp.Mul(*xs)), sum(sp.log(x) for x in xs))

    text = report.text([proof.run()] * 2)
    assert max(len(line) for line in text.splitlines()) <= 100


def test_total_time_and_every_markdown_column_titled(results):
    assert "total time" in report.text(results)
    markdown = report.to_markdown(results)
    assert "total time" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| claim"))
    assert all(cell.strip() for cell in header.strip("|").split("|"))

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
    assert "Verdict: PROVED (as expected)" in text
    assert "Verdict: UNSETTLED — expected proved" in text
    assert "COUNTEREXAMPLE" in text
    assert text.rstrip().endswith("3 claims: 2 as expected, 1 differ")
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
    assert "| X2 | **unsettled** | proved | ❌ | title X2 |" in markdown
    assert r"$$ \log{\left(x^{2} \right)} = 2 \log{\left(x \right)} $$" in markdown
    assert "&lt;with&gt; \\| special" in markdown
    assert "**counterexample**" in markdown


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

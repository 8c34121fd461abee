"""The proofs of C1-C13 and the framework that runs them.

One ``verify prove --json --junit`` run of the installed command is shared by the
tests of this module (module-scoped fixture): it is the slow part.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import verify
from verify import proofs
from verify.proofs.c06_coding import PrefixCode
from verify.proving import Claim, Context, Evidence, Proof, Verdict, decide, run_proof

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {f"C{i}": "proved" for i in range(1, 14)} | {"C5": "refuted", "C11": "verified"}


def verify_command() -> str:
    """The console script installed next to this Python (``pip install .``)."""
    path = Path(sys.executable).parent / "verify"
    if not path.exists():
        pytest.fail(f"the `verify` command is not installed at {path}; run `pip install .`")
    return str(path)


def run(*args, cwd, timeout=600):
    return subprocess.run(
        [verify_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """``verify prove --json --junit FILE`` from a directory outside the checkout."""
    where = tmp_path_factory.mktemp("prove")
    junit = where / "junit.xml"
    done = run("prove", "--json", "--junit", str(junit), "--seed", "0", cwd=where)
    return done, json.loads(done.stdout), ET.parse(junit)


# ----------------------------------------------------------- the full run
@pytest.mark.slow
def test_every_claim_reaches_its_expected_verdict(full_run):
    done, report, _ = full_run
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts == EXPECTED, done.stderr
    assert done.returncode == 0
    assert report["summary"] == {"claims": 13, "as_expected": 13, "differ": 0}


@pytest.mark.slow
def test_every_step_passed_and_raised_nothing(full_run):
    _, report, _ = full_run
    for claim in report["claims"]:
        for step in claim["steps"]:
            assert step["error"] is None, (claim["id"], step["error"])
            assert step["evidence"], (claim["id"], step["title"])
            if claim["verdict"] != "refuted":
                assert step["passed"], (claim["id"], step["title"])


@pytest.mark.slow
def test_junit_report_parses_with_one_passing_case_per_claim(full_run):
    _, _, tree = full_run
    suite = tree.getroot().find("testsuite")
    assert suite.get("tests") == "13" and suite.get("failures") == "0"
    cases = suite.findall("testcase")
    assert [c.get("name").split()[0] for c in cases] == list(EXPECTED)
    assert all(c.find("failure") is None for c in cases)
    assert "Verdict: REFUTED, as expected" in cases[4].find("system-out").text


@pytest.mark.slow
def test_every_transcript_fits_in_100_columns_and_labels_its_figures(full_run):
    _, _, tree = full_run
    for case in tree.getroot().iter("testcase"):
        lines = case.find("system-out").text.splitlines()
        assert max(len(line) for line in lines) <= 100, case.get("name")
        assert not any(line.strip() in ("0 = 0", "0 == 0") for line in lines), case.get("name")
        assert "COUNTEREXAMPLE" not in case.find("system-out").text


@pytest.mark.slow
def test_c5_counterexample_is_printed_and_rechecks(full_run):
    _, report, _ = full_run
    (c5,) = [c for c in report["claims"] if c["id"] == "C5"]
    found = [e for s in c5["steps"] for e in s["evidence"] if e["refutes"] and e["passed"]]
    assert found
    for evidence in found:
        if not evidence["statement"].startswith("Bernoulli"):
            continue
        (p,), (q,), (r,) = (evidence["figures"][k] for k in "PQR")
        dp, dq, dr = (verify.Bernoulli(probs=x) for x in (p, q, r))
        assert float(verify.kl(dp, dr)) > float(verify.kl(dp, dq)) + float(verify.kl(dq, dr))
        assert "D(P‖R) =" in evidence["formula"]


@pytest.mark.slow
def test_c6_builds_codes_within_the_shannon_bounds(full_run):
    _, report, _ = full_run
    (c6,) = [c for c in report["claims"] if c["id"] == "C6"]
    built = [e for s in c6["steps"] for e in s["evidence"] if e["kind"] == "construction"]
    assert len(built) >= 3
    for evidence in built:
        figures = evidence["figures"]
        assert figures["prefix-free"] and figures["decoded = sample"]
        assert 0 <= figures["L − (H + D)"] < 1
        assert math.isclose(
            figures["D(P‖Q) bits"],
            figures["D in bits from verify.kl"],
            rel_tol=1e-12,
            abs_tol=1e-15,
        )


@pytest.mark.slow
def test_c11_shows_underflow_with_a_finite_log_likelihood(full_run):
    _, report, _ = full_run
    (c11,) = [c for c in report["claims"] if c["id"] == "C11"]
    heights = c11["steps"][1]["evidence"][0]["figures"]
    assert heights["product in float64"] == 0 and heights["product in float32"] == 0
    assert math.isfinite(heights["float64 Σ log p"])
    assert heights["float64 relative error"] <= 1e-12


# ------------------------------------------------------------ reproducibility
def _without_timings(text):
    data = json.loads(text)
    for claim in data["claims"]:
        claim.pop("seconds")
        for step in claim["steps"]:
            step.pop("seconds")
    return data


def test_same_seed_gives_identical_json_apart_from_timings(capsys):
    from verify.cli import main

    outputs = []
    for seed in (7, 7, 8):
        assert main(["prove", "C5", "C6", "--json", "--seed", str(seed)]) == 0
        outputs.append(capsys.readouterr().out)
    assert _without_timings(outputs[0]) == _without_timings(outputs[1])
    assert _without_timings(outputs[0]) != _without_timings(outputs[2])


def test_proof_main_takes_seed_and_format(capsys):
    proof = proofs.load("C6")
    assert proof.main(["--seed", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 5
    assert proof.main(["--markdown"]) == 0
    assert capsys.readouterr().out.startswith("## verify prove")
    assert proof.main(["--bogus"]) == 2


def test_context_streams_depend_on_seed_claim_step_and_label():
    a = Context(0, "C1", "step")
    assert a.rng("x").random() == Context(0, "C1", "step").rng("x").random()
    draws = {
        Context(s, c, t).rng(label).random()
        for s, c, t, label in [
            (0, "C1", "step", "x"),
            (1, "C1", "step", "x"),
            (0, "C2", "step", "x"),
            (0, "C1", "other", "x"),
            (0, "C1", "step", "y"),
        ]
    }
    assert len(draws) == 5


# ------------------------------------------------------------ verdict logic
def _ok(kind="symbolic"):
    return Evidence(kind, "holds", passed=True)


def test_decide_covers_every_verdict():
    failing = Evidence("numeric", "fails", passed=False)
    counterexample = Evidence("counterexample", "found", passed=True, refutes=True)
    not_found = Evidence("counterexample", "none found", passed=False, refutes=True)
    assert decide([("proof", [_ok()]), ("cross-check", [_ok("numeric")])]) == Verdict.PROVED
    assert decide([("proof", [_ok()]), ("demonstration", [_ok("exact")])]) == Verdict.VERIFIED
    assert decide([("cross-check", [_ok("numeric")])]) == Verdict.VERIFIED
    assert decide([("proof", [_ok(), counterexample])]) == Verdict.REFUTED
    assert decide([("proof", [_ok()]), ("cross-check", [failing])]) == Verdict.UNSETTLED
    assert decide([("proof", [_ok(), not_found])]) == Verdict.UNSETTLED
    assert decide([("proof", [_ok()])], failed=True) == Verdict.UNSETTLED
    assert decide([]) == Verdict.UNSETTLED


def test_a_step_that_raises_makes_the_proof_unsettled_and_the_others_still_run():
    proof = Proof(Claim("X1", "t", "s", Verdict.PROVED))

    @proof.step("raises")
    def raises(ctx):
        raise ZeroDivisionError("boom")

    @proof.step("fine")
    def fine(ctx):
        return _ok()

    result = run_proof(proof)
    assert result.verdict == Verdict.UNSETTLED and not result.as_expected
    assert "ZeroDivisionError: boom" in result.steps[0].error
    assert result.steps[1].passed


def test_a_step_returning_something_else_than_evidence_fails():
    proof = Proof(Claim("X1", "t", "s", Verdict.PROVED))
    proof.step("wrong")(lambda ctx: True)
    assert "must return Evidence" in run_proof(proof).steps[0].error


def test_steps_run_in_float64_without_flipping_the_global_flag():
    import jax
    import jax.numpy as jnp

    proof = Proof(Claim("X1", "t", "s", Verdict.PROVED))
    proof.step("dtype")(lambda ctx: Evidence("exact", "x64", jnp.zeros(1).dtype == jnp.float64))
    before = jax.config.jax_enable_x64
    assert run_proof(proof).verdict == Verdict.PROVED
    assert jax.config.jax_enable_x64 == before


def test_unknown_role_and_kind_are_rejected():
    with pytest.raises(ValueError, match="role"):
        Proof(Claim("X1", "t", "s", Verdict.PROVED)).step("x", role="hunch")
    with pytest.raises(ValueError, match="kind"):
        Evidence("vibes", "x", passed=True)


# ------------------------------------------------------------ the registry
def test_registry_has_thirteen_proofs_with_the_documented_expectations():
    loaded = proofs.load_all()
    assert [p.claim.id for p in loaded] == list(EXPECTED)
    assert {p.claim.id: str(p.claim.expected) for p in loaded} == EXPECTED
    assert all(p.steps for p in loaded)


@pytest.mark.parametrize("text, expected", [("c5", "C5"), ("C05", "C5"), (" c13 ", "C13")])
def test_claim_ids_are_case_insensitive(text, expected):
    assert proofs.normalise_id(text) == expected


@pytest.mark.parametrize("text", ["C0", "C14", "5", "claim", ""])
def test_unknown_claim_ids_are_rejected(text):
    with pytest.raises(KeyError, match="unknown claim"):
        proofs.normalise_id(text)


def test_every_checkout_script_runs_its_packaged_proof():
    scripts = sorted((ROOT / "proofs").glob("c*.py"))
    assert [s.stem for s in scripts] == list(proofs.MODULES.values())
    for script in scripts:
        assert proofs.load_file(script) is proofs.load(script.stem.split("_")[0])


@pytest.mark.slow
def test_a_checkout_script_runs_as_a_program(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "proofs" / "c05_not_a_metric.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "✘ refutes the claim" in done.stdout and "Verdict: REFUTED, as expected" in done.stdout


# ------------------------------------------------------------ C6's codes
def test_shannon_code_lengths_kraft_and_round_trip():
    code = PrefixCode.shannon([0.4, 0.3, 0.2, 0.1])
    assert code.lengths == [2, 2, 3, 4]  # ⌈−log₂ q⌉
    assert code.is_prefix_free()
    symbols = [0, 3, 1, 2, 2, 0, 3]
    assert code.decode(code.encode(symbols)) == symbols


def test_dyadic_probabilities_get_exact_lengths():
    assert PrefixCode.shannon([0.5, 0.25, 0.125, 0.125]).lengths == [1, 2, 3, 3]


def test_lengths_violating_kraft_are_rejected():
    with pytest.raises(ValueError, match="Kraft"):
        PrefixCode.from_lengths([1, 1, 2])


def test_decoding_trailing_bits_fails():
    with pytest.raises(ValueError, match="trailing"):
        PrefixCode.from_lengths([1, 2, 2]).decode("0" + "1")


# ------------------------------------------------ evidence that contradicts
USER_PROOFS = {
    "fails.py": """
        from verify.proving import Claim, Evidence, Proof, Verdict
        proof = Proof(Claim("U1", "Wrong formula", "KL(N(0,1) || N(1,1)) = 1", Verdict.PROVED))

        @proof.step("evaluate")
        def evaluate(ctx):
            import verify
            value = float(verify.kl(verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)))
            return Evidence("numeric", "KL equals 1", passed=abs(value - 1.0) < 1e-12,
                            figures={"KL": value})
        """,
    "refuted.py": """
        from verify.proving import Claim, Evidence, Proof, Verdict
        proof = Proof(Claim("U2", "Symmetry", "KL is symmetric", Verdict.PROVED))

        @proof.step("search")
        def search(ctx):
            import verify
            p, q = verify.Bernoulli(probs=0.1), verify.Bernoulli(probs=0.5)
            gap = float(verify.kl(p, q) - verify.kl(q, p))
            return Evidence("counterexample", "asymmetric pair", passed=gap != 0, refutes=True)
        """,
    "passes.py": """
        from verify.proving import Claim, Evidence, Proof, Verdict
        proof = Proof(Claim("U3", "Half", "KL(N(0,1) || N(1,1)) = 1/2", Verdict.PROVED))

        @proof.step("evaluate")
        def evaluate(ctx):
            import verify
            value = float(verify.kl(verify.Normal(0.0, 1.0), verify.Normal(1.0, 1.0)))
            return Evidence("exact", "KL equals 1/2", passed=value == 0.5)
        """,
}


@pytest.fixture
def user_proofs(tmp_path):
    for name, source in USER_PROOFS.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    return tmp_path


@pytest.mark.slow
def test_evidence_contradicting_the_expected_verdict_makes_the_run_exit_1(user_proofs):
    done = run(
        "prove",
        "--file",
        "fails.py",
        "--file",
        "refuted.py",
        "--file",
        "passes.py",
        "--junit",
        "out.xml",
        cwd=user_proofs,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Verdict: UNSETTLED, but proved was expected" in done.stdout
    assert "Verdict: REFUTED, but proved was expected" in done.stdout
    assert "1 as expected, 2 differ" in done.stdout
    suite = ET.parse(user_proofs / "out.xml").getroot().find("testsuite")
    assert suite.get("failures") == "2"
    failed = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed == ["U1 Wrong formula", "U2 Symmetry"]


@pytest.mark.slow
def test_a_user_proof_that_holds_exits_0(user_proofs):
    done = run("prove", "--file", "passes.py", "--json", cwd=user_proofs)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["claims"][0]["verdict"] == "proved"


def test_compile_ahead_compiles_the_forms_the_proofs_evaluate(monkeypatch):
    """The second thread of ``verify prove`` compiles each form at the proofs' shapes, in
    float64 as the proofs run (``jax.enable_x64`` is per thread, and the command leaves
    the global flag off): a proof evaluating it afterwards compiles nothing. ``finish``
    stops and joins it."""
    import threading

    import jax
    import numpy as np

    from verify import _api, formulas
    from verify.proofs import _shared

    monkeypatch.setattr(_shared, "families_with", lambda *q: (verify.Gamma,))
    quantities = ("entropy", "cross_entropy")
    jax.config.update("jax_enable_x64", False)
    try:
        finish = _shared.compile_ahead(quantities)
        (thread,) = [t for t in threading.enumerate() if t.name == "verify-compile-ahead"]
        thread.join(timeout=300)
        finish()
        assert not thread.is_alive()
        for quantity in quantities:
            n = formulas.QUANTITIES[quantity]
            compiled = _api._compiled(formulas.lookup(quantity, *[verify.Gamma] * n).function)
            before = compiled._cache_size()
            rng = np.random.default_rng(1)
            family = verify.Gamma
            with jax.enable_x64(True):  # as the proof runner evaluates
                params = [_shared.random_params(family, rng, _shared.BATCH) for _ in range(n)]
                getattr(verify, quantity)(*(_shared.make(family, x) for x in params))
            assert before == compiled._cache_size() == 1
    finally:
        jax.config.update("jax_enable_x64", True)

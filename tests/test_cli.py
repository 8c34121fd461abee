"""The ``verify`` command: end to end through the installed script, and in process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import verify
from verify import cli

VERIFY = Path(sys.executable).parent / "verify"


def run(*args, cwd):
    if not VERIFY.exists():
        pytest.fail(f"the `verify` command is not installed at {VERIFY}; run `pip install .`")
    return subprocess.run(
        [str(VERIFY), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


# ------------------------------------------------------------ end to end
@pytest.mark.slow
def test_list_shows_families_closed_forms_and_claims(tmp_path):
    done = run("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for text in (
        "MultivariateNormal",
        "cross_entropy  Categorical, Categorical",
        "C5   refuted",
        "C11  verified",
        "C13  proved",
    ):
        assert text in done.stdout


@pytest.mark.slow
def test_closed_form_in_three_formats(tmp_path):
    pretty = run("kl", "Normal", "NORMAL", cwd=tmp_path)
    latex = run("kl", "normal", "normal", "--latex", cwd=tmp_path)
    python = run(
        "cross-entropy",
        "categorical",
        "categorical",
        "--python",
        "--num-classes",
        "4",
        cwd=tmp_path,
    )
    assert [d.returncode for d in (pretty, latex, python)] == [0, 0, 0]
    assert "KL divergence of Normal ‖ Normal, in nats" in pretty.stdout
    assert "proved equal to the formula verify.kl runs: yes" in pretty.stdout
    assert r"\log{\left(\sigma_p \right)}" in latex.stdout
    assert python.stdout.startswith("from jax.scipy.special import xlogy\n")
    assert "def cross_entropy_categorical_categorical(probs_p_0," in python.stdout
    assert "probs_q_3" in python.stdout


@pytest.mark.slow
def test_check_prints_closed_form_estimate_interval_and_decision(tmp_path):
    done = run(
        "check", "kl", "Normal(0, 1)", "Normal(loc=1, scale=2)", "--samples", "2e5", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("closed form : 0.44314718055994", "estimate", "interval", "decision    : agree"):
        assert label in done.stdout
    assert "200000 samples" in done.stdout


USAGE_ERRORS = [
    (["prove", "C14"], "unknown claim 'C14'"),
    (["prove", "--seed", "x"], "--seed"),
    (["prove", "--json", "--markdown"], "not allowed with"),
    (["prove", "--file", "missing.py"], "no proof file"),
    (["prove", "C5", "--junit", "/nonexistent/dir/out.xml"], "cannot write"),
    (["kl", "Zipf", "Normal"], "unknown family 'Zipf'"),
    (["kl", "Normal", "Bernoulli"], "no closed form for kl between Normal and Bernoulli"),
    (["entropy"], "required"),
    (["check", "kl", "Normal(0, -1)", "Normal(1, 2)"], "`scale` must be > 0"),
    (["check", "kl", "Normal(0, 1", "Normal(1, 2)"], "cannot parse"),
    (["check", "kl", "Normal(0, 1)"], "kl takes 2 distribution(s), got 1"),
    (["check", "kl", "Normal(0, 1)", "Normal(1, 2)", "--samples", "lots"], "--samples"),
    (["check", "kl", "os.system('true')", "Normal(1, 2)"], "must look like Family"),
    (["check", "kurtosis", "Normal(0, 1)"], "invalid choice"),
    (["list", "--bogus"], "unrecognized arguments: --bogus"),
    (["--bogus"], "required: COMMAND"),
    (["entropy", "Poisson", "--python"], "no JAX translation"),  # an infinite sum
]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", USAGE_ERRORS[:6] + USAGE_ERRORS[8:10])
def test_user_mistakes_end_to_end_print_one_line_and_exit_2(tmp_path, args, message):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("verify: error: ") and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", USAGE_ERRORS)
def test_user_mistakes_in_process(capsys, args, message):
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("verify: error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_a_broken_proof_file_is_a_usage_error(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("proof = (\n")
    assert cli.main(["prove", "--file", str(broken)]) == 2
    assert "cannot load" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out


def test_check_exits_1_when_the_closed_form_is_wrong(monkeypatch, capsys):
    """A wrong closed form (a doubled KL) must be caught by the sampling."""
    real = verify.kl
    monkeypatch.setattr(verify, "kl", lambda p, q, **kw: 2 * real(p, q, **kw))
    assert cli.main(["check", "kl", "Normal(0, 1)", "Normal(1, 2)", "--samples", "1e5"]) == 1
    assert "decision    : disagree" in capsys.readouterr().out


def test_check_entropy_in_process(capsys):
    assert cli.main(["check", "entropy", "Bernoulli(probs=0.3)", "--samples", "1e5"]) == 0
    assert "closed form : 0.61086430205" in capsys.readouterr().out


def test_markdown_output(capsys):
    assert cli.main(["prove", "c5", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## verify prove") and "| C5 | **refuted** | refuted | ✅ yes |" in out


# ------------------------------------------------------ distribution specs
@pytest.mark.parametrize(
    "spec, family, canonical",
    [
        ("Normal(0, 1)", verify.Normal, [0.0, 1.0]),
        ("normal(loc=-1.5, scale=2)", verify.Normal, [-1.5, 2.0]),
        ("Bernoulli(probs=0.3)", verify.Bernoulli, [0.3]),
        ("BERNOULLI(logits=0)", verify.Bernoulli, [0.5]),
        ("Categorical(probs=[0.2, 0.8])", verify.Categorical, [[0.2, 0.8]]),
        (
            "MVN([0, 1], scale_tril=[[1, 0], [0.5, 2]])",
            verify.MultivariateNormal,
            [[0.0, 1.0], [[1.0, 0.0], [0.5, 2.0]]],
        ),
    ],
)
def test_parse_distribution(spec, family, canonical):
    dist = cli.parse_distribution(spec)
    assert type(dist) is family
    for actual, expected in zip(dist.canonical(), canonical, strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-7)


@pytest.mark.parametrize(
    "spec",
    [
        "Normal",
        "Normal(0, 1).loc",
        "Normal(x, 1)",
        "Normal('0', 1)",
        "Normal(True, 1)",
        "Normal(0, abs(-1))",
        "Normal(**{'loc': 0})",
        "Categorical(probs=[])",
        "Normal(0, 1",
        "__import__('os').system('true')",
        "Normal(0, 1, 2)",
        "Normal(0, 1, bogus=3)",
        "Normal([1, [2]], 1)",
        "Categorical(probs=[[0.5, 0.5], [1.0]])",
    ],
)
def test_parse_distribution_rejects_anything_but_literal_calls(spec):
    with pytest.raises(cli.UsageError):
        cli.parse_distribution(spec)


# ------------------------------------------- user mistakes found by hand (issue 10)
def _one_line_usage_error(capsys, argv, *fragments):
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.out + captured.err
    assert captured.err.startswith("verify: error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.out + captured.err
    for fragment in fragments:
        assert fragment in captured.err
    return captured


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--samples", "1e999"], ["--samples", "1e999"]),
        (["--samples", "inf"], ["--samples", "'inf'"]),
        (["--samples", "nan"], ["--samples"]),
        (["--samples", "1"], ["--samples", "2"]),
        (["--samples", "1e13"], ["--samples"]),
        (["--seed", "99999999999999999999999"], ["--seed", "99999999999999999999999"]),
        (["--seed", "-3"], ["--seed", "-3"]),
        (["--alpha", "nan"], ["--alpha"]),
    ],
)
def test_check_flags_out_of_range_are_usage_errors_naming_the_flag(capsys, argv, fragments):
    _one_line_usage_error(
        capsys, ["check", "kl", "Normal(0, 1)", "Normal(1, 2)", *argv], *fragments
    )


@pytest.mark.parametrize("seed", ["-3", "99999999999999999999999", "4294967296", "1.5"])
def test_prove_seed_out_of_range_is_a_usage_error_before_any_proof_runs(capsys, seed):
    captured = _one_line_usage_error(capsys, ["prove", "C5", "--seed", seed], "--seed", seed)
    assert captured.out == ""


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("Normal(0, scale=1, scale=2)", ["`scale` given twice"]),
        ("Normal(loc=0, loc=1)", ["`loc` given twice"]),
        ("Normal(0, -1, validate_args=0)", ["validate_args", "loc, scale"]),
        ("Normal(0, -1, validate_args=False)", ["validate_args"]),
        ("Bernoulli(p=0.3)", ["`p`", "probs, logits"]),
    ],
)
def test_distribution_keywords_are_the_family_parameters_each_at_most_once(spec, fragments):
    with pytest.raises(cli.UsageError) as raised:
        cli.parse_distribution(spec)
    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.fixture
def proof_files(tmp_path):
    files = {
        "answer.py": "proof = 42\n",
        "no_claim.py": "from verify.proving import Proof\nproof = Proof(None)\n",
        "exits.py": "import sys\nsys.exit(3)\n",
        "notes.txt": "some notes\n",
        "empty.py": "",
    }
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    return tmp_path


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("answer.py", ["`proof`", "42", "verify.proving.Proof"]),
        ("no_claim.py", ["`claim`", "None", "Claim"]),
        ("exits.py", ["sys.exit(3)"]),
        ("notes.txt", ["notes.txt", ".py"]),
        ("empty.py", ["defines no `proof`"]),
    ],
)
def test_a_bad_proof_file_is_a_one_line_usage_error(proof_files, capsys, name, fragments):
    _one_line_usage_error(capsys, ["prove", "--file", str(proof_files / name)], *fragments)


def test_an_empty_junit_path_is_a_usage_error(capsys):
    _one_line_usage_error(capsys, ["prove", "C5", "--junit", ""], "cannot write ''")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_junit_file_that_cannot_be_written_is_a_usage_error(capsys):
    captured = _one_line_usage_error(
        capsys, ["prove", "C5", "--junit", "/dev/full"], "cannot write '/dev/full'"
    )
    assert "Verdict" in captured.out  # the transcript came first


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["list"], ["--help"], ["--version"]])
def test_output_that_cannot_be_written_is_one_line_exit_2(tmp_path, args):
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [str(VERIFY), *args], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("verify: error: ") and done.stderr.count("\n") == 1
    assert "No space left" in done.stderr


def test_a_proof_step_calling_sys_exit_is_a_failed_step_not_an_exit():
    from verify.proving import Claim, Evidence, Proof, Verdict

    proof = Proof(Claim("U2", "Exits", "a step exits", Verdict.PROVED))

    @proof.step("exit")
    def leave(ctx):
        raise SystemExit(3)

    @proof.step("holds")
    def holds(ctx):
        return Evidence("exact", "1 == 1", passed=True)

    result = proof.run()
    assert result.verdict == Verdict.UNSETTLED
    assert "SystemExit: 3" in result.steps[0].error and result.steps[1].passed


# ------------------------------------------------------------- help and output
@pytest.mark.parametrize("argv", [[], ["--help"]])
def test_bare_verify_and_help_print_the_help(capsys, argv):
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    for text in ("usage: verify", "prove", "check", "list", "Exit codes"):
        assert text in out


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"verify {verify.__version__}"


@pytest.mark.parametrize(
    "argv, texts",
    [
        (
            ["check", "--help"],
            [
                "QUANTITY",
                "cross-entropy",
                "--seed",
                "Normal(loc, scale)",
                "Categorical(probs | logits)",
                "MultivariateNormal(loc, covariance_matrix | scale_tril)",
                "about 1 s",
            ],
        ),
        (["kl", "--help"], ["1 to 4", "2 to 8", "Normal", "Bernoulli"]),
        (["prove", "--help"], ["--seed", "0 to 4294967295", "C1", "proof"]),
    ],
)
def test_help_names_quantities_families_ranges_and_defaults(capsys, argv, texts):
    assert cli.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in texts:
        assert text in out, text


def test_check_prints_plain_numbers_and_no_negative_zero(capsys):
    assert cli.main(["check", "entropy", "Bernoulli(1.)", "--samples", "1e3"]) == 0
    out = capsys.readouterr().out
    assert "closed form : 0 nats" in out
    assert "np.float64" not in out and "-0 " not in out


def test_check_reason_prints_plain_numbers(capsys):
    cli.main(["check", "kl", "Bernoulli(0.3)", "Bernoulli(0.4)", "--samples", "100"])
    assert "np.float64" not in capsys.readouterr().out


def test_python_source_runs_as_printed(capsys):
    assert cli.main(["kl", "normal", "normal", "--python"]) == 0
    source = capsys.readouterr().out
    namespace = {}
    exec(source, namespace)  # noqa: S102 - the generated code, as a user would paste it
    value = namespace["kl_normal_normal"](0.0, 1.0, 1.0, 2.0)
    np.testing.assert_allclose(value, verify.kl(verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)))


def test_list_shows_parameters_without_markup(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out
    assert "Normal(loc, scale)" in out


@pytest.mark.parametrize("spec", ["Normal([1, [2]], 1)", "Categorical(probs=[[0.5, 0.5], [1.0]])"])
def test_a_ragged_list_is_named_as_such(spec):
    with pytest.raises(cli.UsageError, match="rectangular lists of numbers"):
        cli.parse_distribution(spec)


def test_an_undecidable_check_says_so_in_words(capsys):
    assert cli.main(["check", "kl", "Normal(0, 1)", "Normal(1, 2)", "--samples", "2e3"]) == 1
    out = capsys.readouterr().out
    assert "decision    : inconclusive" in out
    assert "larger than inf" not in out and "detectable  : none" in out


@pytest.mark.parametrize("seed", ["-3", "99999999999999999999999"])
def test_a_proof_script_rejects_a_seed_out_of_range_in_one_line(capsys, seed):
    from verify import proofs

    assert proofs.load("C5").main(["--seed", seed]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "`seed` must be an integer from 0 to 4294967295" in captured.err


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--samples", "1e12"], ["--samples", "over the budget of --max-seconds = 600 s"]),
        (["--samples", "1e9", "--max-seconds", "1"], ["--max-seconds = 1 s"]),
        (["--max-seconds", "0"], ["--max-seconds", "> 0"]),
        (["--max-seconds", "soon"], ["--max-seconds", "'soon'"]),
    ],
)
def test_check_budget_is_a_flag_and_a_refusal_names_the_flags(capsys, extra, fragments):
    code = cli.main(["check", "kl", "Normal(0, 1)", "Normal(1, 2)", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "`num_samples`" not in err and "`max_seconds`" not in err
    for fragment in fragments:
        assert fragment in err


# ------------------------------------------------- verify check --formula (your own formula)
FORMULAS = """
import jax.numpy as jnp


def my_kl(p, q):
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - jnp.log(r)


def off_kl(p, q):  # 0.2 % off: refuted with a counterexample
    r = p.scale / q.scale
    return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - 0.998 * jnp.log(r)


def my_entropy(p):
    return -(p.probs * jnp.log(p.probs) + (1 - p.probs) * jnp.log1p(-p.probs))
"""


@pytest.fixture
def formulas_file(tmp_path):
    path = tmp_path / "formulas.py"
    path.write_text(FORMULAS)
    return path


def test_check_formula_proves_a_right_one(formulas_file, capsys):
    code = cli.main(["check", "entropy", "--formula", f"{formulas_file}:my_entropy", "bernoulli",
                     "--samples", "1e4"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "SymPy proves my_entropy" in out and "Verdict: PROVED, as expected" in out


def test_check_formula_refutes_a_wrong_one_in_every_format(formulas_file, capsys, tmp_path):
    import json

    spec = f"{formulas_file}:off_kl"
    junit = tmp_path / "report.xml"
    argv = ["check", "kl", "--formula", spec, "normal", "normal", "--samples", "1e4"]
    assert cli.main([*argv, "--json", "--junit", str(junit)]) == 1
    report = json.loads(capsys.readouterr().out)
    (claim,) = report["claims"]
    assert claim["verdict"] == "refuted"
    symbolic = claim["steps"][0]["evidence"][0]
    assert symbolic["kind"] == "counterexample" and symbolic["refutes"]
    assert "counterexample" in symbolic["figures"]
    assert "failure" in junit.read_text()
    assert cli.main([*argv, "--markdown"]) == 1
    assert "refuted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "kl", "--formula", "{file}:nope", "normal", "normal"], "defines no function"),
        (["check", "kl", "--formula", "{file}", "normal", "normal"], "PATH.py:FUNCTION"),
        (["check", "kl", "--formula", "missing.py:f", "normal", "normal"], "no file"),
        (["check", "kl", "--formula", "{file}:my_kl", "normal", "cauchy"], "family names"),
        (["check", "kl", "--formula", "{file}:my_kl", "normal", "gamma"], "no closed form"),
        (["check", "kl", "--json", "Normal(0, 1)", "Normal(1, 2)"], "--json goes with --formula"),
    ],
)
def test_check_formula_usage_errors(formulas_file, capsys, argv, message):
    argv = [a.replace("{file}", str(formulas_file)) for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1


@pytest.mark.slow
def test_check_formula_end_to_end(formulas_file, tmp_path):
    done = run("check", "kl", "--formula", f"{formulas_file}:off_kl", "normal", "normal",
               "--samples", "1e4", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Verdict: REFUTED" in done.stdout and "off_kl is not kl(Normal || Normal)" in done.stdout

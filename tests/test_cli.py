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
    assert python.stdout.startswith("def cross_entropy_categorical_categorical(probs_p_0,")
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
    (["kl", "Poisson", "Normal"], "unknown family 'Poisson'"),
    (["kl", "Normal", "Bernoulli"], "no closed form for kl between Normal and Bernoulli"),
    (["entropy"], "required"),
    (["check", "kl", "Normal(0, -1)", "Normal(1, 2)"], "`scale` must be > 0"),
    (["check", "kl", "Normal(0, 1", "Normal(1, 2)"], "cannot parse"),
    (["check", "kl", "Normal(0, 1)"], "kl takes 2 distribution(s), got 1"),
    (["check", "kl", "Normal(0, 1)", "Normal(1, 2)", "--samples", "lots"], "--samples"),
    (["check", "kl", "os.system('true')", "Normal(1, 2)"], "must look like Family"),
    (["check", "kurtosis", "Normal(0, 1)"], "invalid choice"),
    (["list", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "required: COMMAND"),
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
    assert out.startswith("## verify prove") and "| C5 | **refuted** | refuted | ✅ |" in out


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
    ],
)
def test_parse_distribution_rejects_anything_but_literal_calls(spec):
    with pytest.raises(cli.UsageError):
        cli.parse_distribution(spec)

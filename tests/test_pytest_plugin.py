"""The pytest plugin: inert by default, proofs as test items with --verify-proofs."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

PASSING_TEST = "def test_trivial():\n    assert 1 + 1 == 2\n"
FAILING_PROOF = """
    from verify.proving import Claim, Evidence, Proof, Verdict
    proof = Proof(Claim("U1", "Wrong", "1 + 1 = 3", Verdict.PROVED))

    @proof.step("add")
    def add(ctx):
        return Evidence("exact", "1 + 1 == 3", passed=False, figures={"1 + 1": 2})
    """


def pytest_run(*args, cwd):
    """``python -m pytest`` in ``cwd``: the plugin through its pytest11 entry point
    when the package is installed, else loaded with -p."""
    registered = any(
        e.value == "verify.pytest_plugin" for e in importlib.metadata.entry_points(group="pytest11")
    )
    extra = [] if registered else ["-p", "verify.pytest_plugin"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *extra, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_entry_point_is_declared():
    from pathlib import Path

    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"] == {"verify": "verify.pytest_plugin"}


@pytest.mark.slow
def test_inert_without_the_option(tmp_path):
    (tmp_path / "test_one.py").write_text(PASSING_TEST)
    done = pytest_run(cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "verify" not in done.stdout


@pytest.mark.slow
def test_selected_proofs_run_as_items_and_a_failing_proof_shows_its_transcript(tmp_path):
    (tmp_path / "wrong.py").write_text(textwrap.dedent(FAILING_PROOF))
    done = pytest_run("--verify-proofs=c5,C7,wrong.py", "-rA", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "1 failed" in done.stdout
    assert "verify-proofs::C5 PASSED" in done.stdout or "PASSED verify-proofs::C5" in done.stdout
    assert "Verdict: UNSETTLED, but proved was expected" in done.stdout
    assert "1 + 1 = 2" in done.stdout  # the figure of the failing step


@pytest.mark.slow
def test_unknown_claim_is_a_usage_error(tmp_path):
    done = pytest_run("--verify-proofs=C42", cwd=tmp_path)
    assert done.returncode == 4  # pytest's usage-error exit code
    assert "unknown claim 'C42'" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--verify-proofs=C5", "--verify-seed=-3"], "--verify-seed: `seed` must be an integer"),
        (["--verify-proofs=answer.py"], "`proof` in 'answer.py' must be a verify.proving.Proof"),
    ],
)
def test_bad_seed_and_bad_proof_file_are_usage_errors(tmp_path, args, message):
    (tmp_path / "answer.py").write_text("proof = 42\n")
    done = pytest_run(*args, cwd=tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr

"""README.md stays true: every code block runs, and every figure a test can recompute is checked.

* ``python`` blocks run, each on its own in a fresh namespace (as a reader pastes one), in a
  scratch directory. A block whose first line is ``# NAME.py`` is also saved there as NAME.py
  (a proof file the shell blocks use). An expression statement followed by a comment that
  starts with a number, ``True``/``False`` or ``shape (...)`` is checked against that
  comment; ``print(x)  # text`` checks what is printed (``...`` matches anything).
* ``bash`` blocks must parse (``bash -n``); each ``verify ...`` command in them must parse
  as the command line it is, and those that are cheap (everything but a run of all the
  proofs) run in the scratch directory and must exit 0.
* ``text`` blocks of error messages are produced by the calls listed here.
* Figures of the proofs quoted in the README (C5's triple, C11's first zeros, C3's and C9's
  search sizes) come from the proofs' own evidence.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import math
import os
import re
import shlex
import subprocess
import sys
import tokenize
from pathlib import Path

import jax
import numpy as np
import pytest

import verify
from verify import cli, proofs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def blocks(language):
    """``(first line number, text)`` of every fenced block in ``language``."""
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M):
        if match.group(1) == language:
            found.append((README.count("\n", 0, match.start()) + 2, match.group(2)))
    return found


PYTHON = blocks("python")
BASH = blocks("bash")
FILES = {text.split("\n", 1)[0][2:].strip(): text for _, text in PYTHON if text.startswith("# ")}
FILES = {name: text for name, text in FILES.items() if name.endswith(".py")}


# ------------------------------------------------------------------ python blocks
def _comments(source):
    """Line number -> the comment on that line."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string[1:].strip()
    return found


def _check_against_comment(value, comment, printed, where):
    if isinstance(value, type(None)) and printed is not None:  # print(x)  # expected text
        pattern = ".*".join(re.escape(part) for part in comment.split("..."))
        assert re.fullmatch(pattern, printed.strip()), f"{where}: printed {printed!r}"
        return
    number = re.match(r"[-+]?\d[\d.]*(e[-+]?\d+)?", comment)
    if comment.startswith(("True", "False")):
        expected = comment.startswith("True")
        assert bool(value) is expected, f"{where}: got {value!r}, README says {comment!r}"
    elif comment.startswith("shape ("):
        shape = tuple(int(n) for n in re.findall(r"\d+", comment.split(")")[0]))
        assert np.shape(value) == shape, f"{where}: shape {np.shape(value)}, README {comment!r}"
    elif number:
        text = number.group(0)
        digits = len(text.split("e")[0].replace(".", "").replace("-", "").lstrip("0"))
        assert math.isclose(float(value), float(text), rel_tol=0.6 * 10 ** (1 - digits)), (
            f"{where}: got {float(value)!r}, README says {text}"
        )


def run_python_block(source, line, namespace):
    """Runs ``source`` statement by statement, checking commented results."""
    comments = _comments(source)
    tree = ast.parse(source)
    checked = 0
    for statement in tree.body:
        end = statement.end_lineno
        comment = comments.get(end) if statement.lineno == end else None
        code = ast.Module([statement], type_ignores=[])
        if isinstance(statement, ast.Expr) and comment:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                value = eval(
                    compile(ast.Expression(statement.value), "<README>", "eval"), namespace
                )  # noqa: S307
            is_print = (
                isinstance(statement.value, ast.Call)
                and getattr(statement.value.func, "id", None) == "print"
            )
            _check_against_comment(
                value,
                comment,
                printed.getvalue() if is_print else None,
                f"README line {line + end - 1}",
            )
            checked += 1
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "<README>", "exec"), namespace)  # noqa: S102
    return checked


@pytest.mark.slow
@pytest.mark.parametrize("line, source", PYTHON, ids=[f"line{n}" for n, _ in PYTHON])
def test_python_block_runs_and_its_commented_results_hold(
    tmp_path, monkeypatch, isolated_registry, line, source
):
    monkeypatch.chdir(tmp_path)
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        run_python_block(source, line, {"__name__": "__readme__"})


def test_the_readme_has_python_and_bash_blocks_and_a_proof_file():
    assert len(PYTHON) >= 5 and len(BASH) >= 2
    assert "my_proof.py" in FILES


def test_the_comment_checker_can_fail():
    with pytest.raises(AssertionError):
        _check_against_comment(0.4431, "0.44314718 nats", None, "x")
    with pytest.raises(AssertionError):
        _check_against_comment(np.zeros((3, 4)), "shape (4, 3)", None, "x")
    with pytest.raises(AssertionError):
        _check_against_comment(None, "agree: ... 0.24 %", "disagree: 1 %", "x")
    _check_against_comment(0.44314718055, "0.44314718 nats", None, "x")
    _check_against_comment(None, "agree: ... 0.24 %", "agree: it detects 0.24 %", "x")


# -------------------------------------------------------------------- bash blocks
def _commands(source):
    """The commands of a bash block (``a && b`` gives two), comments and blank lines dropped."""
    for raw in source.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            yield from (part.strip() for part in line.split("&&"))


def _verify_argv(command):
    """The argv of a ``verify ...`` command (redirections dropped), or None."""
    words = shlex.split(command)
    if not words or Path(words[0]).name != "verify":
        return None
    argv = []
    for word in words[1:]:
        if word in (">", "|"):
            break
        argv.append(word)
    return argv


def _expensive(argv):
    """A run of every proof (tens of seconds; test_proofs.py runs one)."""
    return (
        argv[0] == "prove"
        and not [a for a in argv[1:] if re.fullmatch(r"[cC]\d+", a)]
        and ("--file" not in argv or argv.count("--file") * 2 != len(argv) - 1)
    )


VERIFY_COMMANDS = [argv for _, text in BASH for c in _commands(text) if (argv := _verify_argv(c))]


@pytest.mark.parametrize("line, source", BASH, ids=[f"line{n}" for n, _ in BASH])
def test_bash_block_parses(line, source):
    done = subprocess.run(["bash", "-n"], input=source, capture_output=True, text=True)
    assert done.returncode == 0, f"README line {line}: {done.stderr}"


@pytest.mark.parametrize("argv", VERIFY_COMMANDS, ids=[" ".join(a) for a in VERIFY_COMMANDS])
def test_every_verify_command_parses(argv):
    cli.build_parser().parse_args(argv)


CHEAP = [
    c for _, text in BASH for c in _commands(text) if (a := _verify_argv(c)) and not _expensive(a)
]


@pytest.mark.slow
@pytest.mark.parametrize("command", CHEAP)
def test_cheap_verify_commands_run(tmp_path, command):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr


# --------------------------------------------------------------- error messages
ERRORS = {
    "ValueError: `scale` must be > 0, got -1.0": lambda: verify.Normal(0.0, -1.0),
    "ValueError: `probs` must sum to 1": lambda: verify.Categorical(probs=[0.5, 0.6]),
    "ValueError: `covariance_matrix` must be positive definite": lambda: verify.MultivariateNormal(
        np.zeros(2), covariance_matrix=np.array([[0.0, 1.0], [1.0, 0.0]])
    ),
    "ValueError: `scale` = 1e+308 overflows float32": lambda: verify.Normal(np.float32(0.0), 1e308),
    "TypeError: `loc` must be an array of numbers, got None": lambda: verify.Normal(None, 1.0),
    "NotImplementedError: no closed form for kl of `p` (Normal) and `q` (Bernoulli)": lambda: (
        verify.kl(verify.Normal(0.0, 1.0), verify.Bernoulli(probs=0.5))
    ),
}


def test_the_bad_input_messages_are_the_ones_raised():
    (block,) = [text for _, text in blocks("text") if "ValueError: `scale`" in text]
    lines = block.strip().splitlines()
    assert len(lines) == len(ERRORS)
    for line, (start, call) in zip(lines, ERRORS.items(), strict=True):
        assert line.startswith(start)
        kind, message = line.split(": ", 1)
        with pytest.raises(getattr(builtins, kind)) as raised:
            call()
        assert str(raised.value) == message


# ------------------------------------------------------------- proofs' figures
@pytest.mark.slow
def test_c11_first_zeros_in_the_readme_are_the_proofs():
    result = proofs.load("C11").run(seed=0)
    (heights,) = [
        e for s in result.steps for e in s.evidence if e.statement.startswith("n = 1000:")
    ]
    n32 = heights.figures["float32 product first 0 at n"]
    n64 = heights.figures["float64 product first 0 at n"]
    assert f"densities is 0 from n = {n32} (float32) / {n64} (float64)" in README


@pytest.mark.slow
def test_c5_triple_in_the_readme_is_the_proofs():
    result = proofs.load("C5").run(seed=0)
    (found,) = [
        e
        for s in result.steps
        for e in s.evidence
        if e.refutes and e.statement.startswith("Bernoulli")
    ]
    p, q, r = (found.figures[k][0] for k in "PQR")
    dists = [verify.Bernoulli(probs=x) for x in (p, q, r)]
    d_pr, d_pq, d_qr = (float(verify.kl(dists[i], dists[j])) for i, j in [(0, 2), (0, 1), (1, 2)])
    row = f"Bernoulli({p:g}), ({q:g}), ({r:g}): D(P‖R) = {d_pr:.4f} > {d_pq:.4f} + {d_qr:.4f}"
    assert row in README, row


@pytest.mark.slow
@pytest.mark.parametrize(
    "claim_id, figure, phrase",
    [
        ("C3", "pairs", "a search over {:,} pairs per family finds no negative value"),
        ("C9", "points", "float64 on {:,} pairs"),
    ],
)
def test_search_sizes_in_the_readme_are_the_proofs(claim_id, figure, phrase):
    result = proofs.load(claim_id).run(seed=0)
    sizes = {e.figures[figure] for s in result.steps for e in s.evidence if figure in e.figures}
    (size,) = sizes  # one size for every family
    assert phrase.format(size).replace(",", " ") in README

"""Fuzzing the command line: generated argument lists and distribution strings.

Every outcome must be exit 0 or 1 with a report on stdout, or exit 2 with one line on
stderr; never a traceback, never an exception out of ``main``, never a hang (each case
runs under an alarm). The default run is short and in process (plus a few cases through
the installed command); ``-m slow`` adds a longer profile. Generated sample counts stay
small and claims are cheap ones, so that a valid command finishes in seconds.
"""

from __future__ import annotations

import contextlib
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify import cli

VERIFY = Path(sys.executable).parent / "verify"
SECONDS_PER_CASE = 120

# ------------------------------------------------------------------ strategies
NUMBERS = st.one_of(
    st.sampled_from(
        ["0", "1", "-1", "0.5", "1e-300", "1e308", "1e999", "-1e999", "inf", "nan", "-0.", "2**3"]
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
LISTS = st.lists(NUMBERS, min_size=0, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
MATRICES = st.lists(LISTS, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
VALUES = st.one_of(NUMBERS, LISTS, MATRICES, st.sampled_from(["True", "None", "'a'", "x", "()"]))
NAMES = st.sampled_from(
    ["Normal", "normal", "MVN", "MultivariateNormal", "Bernoulli", "CATEGORICAL", "Poisson", "os"]
)
KEYWORDS = st.sampled_from(
    ["loc", "scale", "probs", "logits", "covariance_matrix", "scale_tril", "validate_args", "p"]
)


PLAUSIBLE = {
    "Normal": ["loc", "scale"],
    "Bernoulli": ["probs", "logits"],
    "Categorical": ["probs", "logits"],
    "MVN": ["loc", "scale_tril", "covariance_matrix"],
}
SMALL = st.one_of(
    st.floats(-3, 3).map(lambda x: f"{x:.3g}"), st.sampled_from(["0", "1", "0.5", "-1", "1e-9"])
)


@st.composite
def distributions(draw):
    """A distribution string: half plausible calls (right names, small numbers), half anything;
    some truncated or garbled."""
    if draw(st.booleans()):
        family = draw(st.sampled_from(sorted(PLAUSIBLE)))
        names = draw(st.lists(st.sampled_from(PLAUSIBLE[family]), max_size=2))
        value = st.one_of(
            SMALL, st.lists(SMALL, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
        )
        args = draw(st.lists(value, max_size=2))
        kwargs = [(name, draw(value)) for name in names]
    else:
        family = draw(NAMES)
        args = draw(st.lists(VALUES, max_size=3))
        kwargs = draw(st.lists(st.tuples(KEYWORDS, VALUES), max_size=3))
    text = f"{family}({', '.join(args + [f'{k}={v}' for k, v in kwargs])})"
    if draw(st.integers(0, 4)):
        return text
    cut = draw(st.integers(0, len(text)))
    return text[:cut] + draw(st.sampled_from(["", ")", "((", "\x00"]))


FLAG_VALUES = {
    "--samples": st.one_of(st.sampled_from(["1", "2", "1e3", "1e13", "inf", "x", "-5", "1.5"])),
    "--seed": st.sampled_from(
        ["0", "3", "-3", "99999999999999999999999", "1.5", "x", "4294967295"]
    ),
    "--alpha": st.sampled_from(["0.01", "0", "1", "nan", "x", "1e-300"]),
    "--dim": st.sampled_from(["1", "2", "0", "5", "-1", "x"]),
    "--num-classes": st.sampled_from(["2", "3", "1", "9", "x"]),
    "--junit": st.sampled_from(["", "/nonexistent/dir/x.xml", "/dev/full"]),
    "--file": st.sampled_from(["missing.py", "notes.txt", ""]),
    "--colour": st.sampled_from(["never", "always", "sometimes"]),
}
SWITCHES = ["--json", "--markdown", "--latex", "--python", "--help", "--version", "--bogus", "-"]


FLAGS_OF = {
    "check": ["--samples", "--seed", "--alpha"],
    "kl": ["--dim", "--num-classes", "--latex", "--python"],
    "prove": ["--seed", "--junit", "--file", "--colour", "--json", "--markdown"],
    "list": [],
}
FLAGS_OF["entropy"] = FLAGS_OF["cross-entropy"] = FLAGS_OF["kl"]


@st.composite
def argvs(draw):
    """An argument list: a command, its positionals, and mostly its own flags with odd values."""
    command = draw(st.sampled_from(["check", "kl", "entropy", "cross-entropy", "prove", "list"]))
    argv = [command]
    if command == "check":
        quantity = draw(st.sampled_from(["kl", "entropy", "cross-entropy", "kurtosis"]))
        arity = draw(st.sampled_from([1 if quantity == "entropy" else 2] * 4 + [0, 3]))
        argv += [quantity, *draw(st.lists(distributions(), min_size=arity, max_size=arity))]
        argv += ["--samples", draw(st.sampled_from(["2", "1e3", "2e4"]))]  # a valid run is short
    elif command in ("kl", "entropy", "cross-entropy"):
        arity = 1 if command == "entropy" else 2
        argv += draw(st.lists(NAMES, min_size=arity, max_size=arity))
    elif command == "prove":
        argv += draw(st.lists(st.sampled_from(["C5", "c5", "C05", "C99", "x", "C0"]), min_size=1))
    for _ in range(draw(st.integers(0, 3))):
        own = FLAGS_OF[command]
        flag = draw(st.sampled_from(own if own and draw(st.integers(0, 4)) else SWITCHES))
        argv += [flag, draw(FLAG_VALUES[flag])] if flag in FLAG_VALUES else [flag]
    return argv


# ------------------------------------------------------------------- the check
class HangError(Exception):
    pass


def _alarm(signum, frame):
    raise HangError(f"no answer within {SECONDS_PER_CASE} s")


def run_in_process(argv):
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_CASE)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def assert_well_behaved(argv, code, out, err):
    where = f"verify {' '.join(map(repr, argv))}"
    assert "Traceback" not in out + err, f"{where}: a traceback\n{err}"
    assert code in (0, 1, 2), f"{where}: exit {code}"
    if code == 2:
        assert err.startswith("verify: error: ") and err.count("\n") == 1, f"{where}: {err!r}"
    else:
        assert out.strip(), f"{where}: exit {code} with no report"


def fuzz(max_examples):
    """Hypothesis settings of these tests: reproducible, no example database, no deadline."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture
def in_scratch_dir(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("not a proof\n")
    monkeypatch.chdir(tmp_path)


@fuzz(40)
@given(argv=argvs())
def test_generated_command_lines_answer_cleanly(in_scratch_dir, argv):
    assert_well_behaved(argv, *run_in_process(argv))


@fuzz(60)
@given(spec=distributions())
def test_generated_distribution_strings_parse_or_raise_a_usage_error(spec):
    try:
        cli.parse_distribution(spec)
    except cli.UsageError as error:
        assert "\n" not in str(error)


@pytest.mark.slow
@fuzz(400)
@given(argv=argvs())
def test_generated_command_lines_answer_cleanly_long(in_scratch_dir, argv):
    assert_well_behaved(argv, *run_in_process(argv))


@pytest.mark.slow
@fuzz(4)
@given(argv=argvs())
def test_generated_command_lines_through_the_installed_command(tmp_path, argv):
    argv = [a.replace("\x00", "") for a in argv]  # a process argument cannot hold NUL
    (tmp_path / "notes.txt").write_text("not a proof\n")
    done = subprocess.run(
        [str(VERIFY), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_CASE,
        stdin=subprocess.DEVNULL,
    )
    assert_well_behaved(argv, done.returncode, done.stdout, done.stderr)

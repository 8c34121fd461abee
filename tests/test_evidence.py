"""One evidence type for checks and proofs, and the comparison rule every evidence uses."""

import json

import numpy as np
import pytest

import verify
from verify import proving
from verify.evidence import VERDICTS, Evidence, agreement


def test_checks_and_proofs_share_one_evidence_class():
    assert verify.Evidence is proving.Evidence is Evidence


@pytest.mark.parametrize(
    ("passed", "verdict"), [(True, "pass"), (False, "fail"), (None, "inconclusive")]
)
def test_three_verdict_words(passed, verdict):
    evidence = Evidence("numeric", "x", passed)
    assert evidence.verdict == verdict and verdict in VERDICTS
    assert str(evidence) == f"[{verdict.upper()}] numeric: x"


def test_bool_like_outcomes_are_stored_as_bool_and_kinds_are_checked():
    assert Evidence("exact", "x", np.bool_(True)).passed is True
    with pytest.raises(ValueError, match="`kind` must be one of"):
        Evidence("hunch", "x", True)


def test_to_dict_is_json_ready():
    evidence = Evidence(
        "montecarlo", "m", None, name="monte_carlo", figures={"v": np.array([1.0, np.inf])}
    )
    data = json.loads(json.dumps(evidence.to_dict(), allow_nan=False))
    assert data["verdict"] == "inconclusive" and data["passed"] is None
    assert data["figures"]["v"] == [1.0, "inf"] and data["name"] == "monte_carlo"


def test_the_proofs_evidence_module_is_not_named_like_the_checker():
    import importlib.util

    assert importlib.util.find_spec("verify.proving.checks") is None
    assert importlib.util.find_spec("verify.proving.facts") is not None


# ---------------------------------------------------------------- agreement
INF, NAN = np.inf, np.nan


@pytest.mark.parametrize(
    ("actual", "expected", "ok"),
    [
        (1.0 + 1e-12, 1.0, True),
        (1.1, 1.0, False),
        (1e300, INF, False),  # rtol * |inf| = inf must not accept finite values
        (5.0, INF, False),
        (INF, INF, True),
        (-INF, INF, False),
        (INF, 1e300, False),
        (NAN, NAN, True),
        (NAN, 1.0, False),
        (1.0, NAN, False),
        (0.0, 0.0, True),
        (-0.0, 0.0, True),  # both are the exact value 0
        (0.0, -0.0, True),
        (1e-13, 0.0, True),  # a nonzero value near zero is judged by atol
    ],
)
def test_agreement_compares_infinities_and_nans_exactly(actual, expected, ok):
    got, error = agreement(actual, expected, rtol=1e-9, atol=1e-12)
    assert bool(got) is ok
    assert error >= 0 or np.isnan(error)


def test_the_proofs_close_uses_the_same_rule():
    from verify.proving import facts

    assert not facts.close("inf", [1e300], [INF], rtol=1e-9).passed
    assert facts.close("zeros", [-0.0], [0.0]).passed
    assert facts.close("inf", [INF, 1.0], [INF, 1.0]).passed

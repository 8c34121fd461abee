"""Evidence makers the proofs share: symbolic identities, numeric and Monte Carlo checks.

SymPy and mpmath are imported on first use, so importing :mod:`verify.proving`
stays cheap.
"""

from __future__ import annotations

import numpy as np

from verify.evidence import Evidence, agreement

__all__ = [
    "close",
    "identity",
    "montecarlo_decision",
    "pretty",
    "symbolic_fact",
    "to_mpmath",
]

#: Displayed formulas longer than this many characters are elided.
MAX_FORMULA_CHARS = 1500

#: Formulas wrap at this width: indented by 6 in a transcript, they fit in 100 columns.
FORMULA_COLUMNS = 94


def pretty(expr) -> str:
    """A SymPy expression as a student reads it (``sympy.pretty``, Unicode).

    Example:
        >>> import sympy as sp
        >>> print(pretty(sp.Symbol("x") ** 2))
         2
        x
    """
    import sympy as sp

    text = sp.pretty(expr, use_unicode=True, num_columns=FORMULA_COLUMNS)
    if len(text) > MAX_FORMULA_CHARS:
        text = text[:MAX_FORMULA_CHARS] + " ... (elided)"
    return text


def latex(expr, names=None) -> str:
    """LaTeX of ``expr`` with display names for symbols (``{symbol: latex}``)."""
    import sympy as sp

    return sp.latex(expr, symbol_names=names or {})


def identity(statement, lhs, rhs, relations=(), display=None, names=None) -> Evidence:
    """Symbolic evidence that ``lhs == rhs`` for all parameter values.

    Args:
        statement: the identity in words.
        lhs, rhs: SymPy expressions.
        relations: expressions known to be zero (e.g. ``sum(probs) - 1``).
        display: what to print instead of ``Eq(lhs, rhs)`` when that is too long.
        names: LaTeX names for symbols.

    Example:
        >>> import sympy as sp
        >>> x = sp.Symbol("x", positive=True)
        >>> identity("log of a square", sp.log(x**2), 2 * sp.log(x)).passed
        True
    """
    import sympy as sp

    from verify.symbolic import is_identically_zero

    holds = is_identically_zero(sp.sympify(lhs) - sp.sympify(rhs), tuple(relations))
    shown = display if display is not None else sp.Eq(lhs, rhs, evaluate=False)
    return Evidence("symbolic", statement, holds, formula=pretty(shown), latex=latex(shown, names))


def symbolic_fact(statement, holds, shown, names=None, figures=None) -> Evidence:
    """Symbolic evidence computed by the caller (``holds``: True or False), displaying ``shown``."""
    return Evidence(
        "symbolic",
        statement,
        bool(holds),
        formula=pretty(shown),
        latex=latex(shown, names),
        figures=dict(figures or {}),
    )


def close(
    statement,
    actual,
    expected,
    *,
    rtol=0.0,
    atol=0.0,
    kind="numeric",
    figures=None,
    report_errors=True,
):
    """Evidence that ``|actual - expected| <= atol + rtol |expected|`` everywhere.

    Infinities and NaNs must match exactly
    (:func:`verify.evidence.agreement`), except that NaN never passes.

    Returns:
        Evidence with the number of points, the largest absolute and relative
        errors among finite points, and the tolerance.

    Example:
        >>> close("sum", [0.1 + 0.2], [0.3], rtol=1e-15).passed
        True
        >>> close("an infinite value", [1e300], [float("inf")], rtol=1e-9).passed
        False
    """
    actual = np.asarray(actual, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    actual, expected = np.broadcast_arrays(actual, expected)
    ok, _ = agreement(actual, expected, rtol=rtol, atol=atol)
    holds = bool(np.all(ok)) and not np.isnan(actual).any()
    finite = np.isfinite(expected)
    error = np.abs(actual[finite] - expected[finite])
    nonzero = expected[finite] != 0
    relative = error[nonzero] / np.abs(expected[finite][nonzero])
    out = {"points": int(actual.size)}
    if error.size and report_errors:
        out["max abs error"] = float(error.max())
        if relative.size:
            out["max rel error"] = float(relative.max())
    if (~finite).any():
        infinite_match = bool(np.all(ok[~finite]))
        out["infinite values matched"] = int((~finite).sum()) if infinite_match else "no"
    if report_errors:
        out["tolerance"] = f"atol={atol:g}, rtol={rtol:g}"
    out.update(figures or {})
    return Evidence(kind, statement, holds, figures=out)


def montecarlo_decision(statement, decision, expect="agree", figures=None) -> Evidence:
    """Evidence from a :func:`verify.montecarlo.compare` decision.

    Args:
        statement: what the comparison checks.
        decision: the ``Decision``.
        expect: the verdict that makes the check pass (``"disagree"`` for a
            planted wrong formula the test must catch); an inconclusive
            decision gives inconclusive evidence.
    """
    out = {
        "closed form": float(decision.closed_form),
        "estimate": float(decision.estimate.value),
        "estimator": str(getattr(decision.estimate, "estimator", "")),
        "stderr": float(decision.estimate.stderr),
        "samples": int(decision.estimate.num_samples),
        "interval": [float(v) for v in decision.interval],
        "false-alarm rate": float(decision.alpha),
        "decision": decision.verdict,
    }
    detectable = getattr(decision, "detectable", None)
    if detectable is not None:
        out["smallest detectable error"] = float(detectable)
    out.update(figures or {})
    passed = None if decision.verdict == "inconclusive" else decision.verdict == expect
    return Evidence("montecarlo", statement, passed, figures=out)


def to_mpmath(expr, symbols):
    """Compiles a SymPy expression into an mpmath function of ``symbols``.

    ``xlogy`` keeps its convention ``0 log(.) = 0``, so the function is exact
    at the edges of the simplex.

    Example:
        >>> import sympy as sp, mpmath
        >>> from verify.symbolic import xlogy
        >>> p = sp.Symbol("p")
        >>> f = to_mpmath(xlogy(p, p), [p])
        >>> f(mpmath.mpf(0)), float(f(mpmath.mpf("0.5")))
        (mpf('0.0'), -0.34657359027997264)

    A JAX function's twin (:mod:`verify.symbolic.functions`) is evaluated through
    its elementary form:

        >>> from verify.symbolic.functions import log_sinhc
        >>> t = sp.Symbol("t", positive=True)
        >>> float(to_mpmath(log_sinhc(t), [t])(mpmath.mpf(1)))  # log(sinh(1) / 1)
        0.16143936157...
    """
    import mpmath
    import sympy as sp

    def xlogy(x, y):
        return mpmath.mpf(0) if x == 0 else x * mpmath.log(y)

    def xlog1py(x, y):
        return mpmath.mpf(0) if x == 0 else x * mpmath.log1p(y)

    from verify.symbolic.functions import _Twin

    # A JAX function's twin has no mpmath counterpart: its elementary form (nested twins too).
    while expr.has(_Twin):
        expr = expr.replace(lambda e: isinstance(e, _Twin), lambda e: e.elementary(*e.args))
    table = {"xlogy": xlogy, "xlog1py": xlog1py}
    return sp.lambdify(symbols, expr, modules=[table, "mpmath"])

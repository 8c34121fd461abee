"""The SymPy backend: the same densities and closed forms, as exact expressions.

See :mod:`verify._ops` for the contract. Vectors are column matrices, matrices
are square :class:`sympy.Matrix` objects, and elementwise functions apply entry
by entry (a scalar argument broadcasts against a matrix one).
"""

from __future__ import annotations

import functools

import sympy as sp

from verify._special import DOMINANT
from verify.symbolic import functions
from verify.symbolic.functions import (
    kl_div_delta,
    kl_div_log,
    kl_div_unit,
    log1pmx,
    log_mul,
    xlog1py,
    xlogx,
    xlogy,
)

__all__ = ["sympy_ops"]


def _elementwise(function):
    """Lifts a scalar SymPy function to act entry by entry on matrices."""

    @functools.wraps(function)
    def lifted(*args):
        shapes = {a.shape for a in args if isinstance(a, sp.MatrixBase)}
        if not shapes:
            return function(*args)
        if len(shapes) > 1:
            raise ValueError(f"elementwise arguments have different shapes {sorted(shapes)}")
        (shape,) = shapes

        def entry(i, j):
            return function(*(a[i, j] if isinstance(a, sp.MatrixBase) else a for a in args))

        return sp.Matrix(*shape, entry)

    return lifted


def _entries(a):
    return list(a) if isinstance(a, sp.MatrixBase) else [a]


def _log_softmax(logits):
    total = sp.log(sp.Add(*(sp.exp(x) for x in logits)))
    return sp.Matrix([x - total for x in logits])


def _softmax_kl(a, b):
    """The form :func:`verify._special.softmax_kl` evaluates near equality, F + log1pmx(A).

    With p = softmax(a), delta = b - a, t = delta - E_p[delta]: F = E_p[e^t - 1 - t],
    A = E_p[e^t - 1]. Its far branch, LSE(log p + t) - E_p[t], is proved equal in
    ``tests/test_logits.py``.
    """
    p = [sp.exp(x) for x in _log_softmax(a)]
    delta = [y - x for x, y in zip(a, b)]
    mu = sp.Add(*(pk * dk for pk, dk in zip(p, delta)))
    t = [dk - mu for dk in delta]
    gap = sp.Add(*(pk * (sp.exp(tk) - 1 - tk) for pk, tk in zip(p, t)))
    excess = sp.Add(*(pk * (sp.exp(tk) - 1) for pk, tk in zip(p, t)))
    return gap + log1pmx(excess)


def _softmax_cross_entropy(a, b):
    """``sum_k p_k (LSE(b) - b_k)``, the non-negative terms :mod:`verify._special` sums."""
    total_b = sp.log(sp.Add(*(sp.exp(x) for x in b)))
    p = [sp.exp(x) for x in _log_softmax(a)]
    return sp.Add(*(pk * (total_b - y) for pk, y in zip(p, b)))


def _softmax_entropy(a):
    return _softmax_cross_entropy(a, a)


def _ratio_gap(a_p, b_p, a_q, b_q):
    return 1 - a_p * b_q / (a_q * b_p)


def _twin(name):
    """The SymPy twin of the special function ``name`` of :mod:`verify._special`, entry by entry."""
    return staticmethod(_elementwise(getattr(functions, name)))


class _SympyOps:
    """Backend namespace over SymPy; see :mod:`verify._ops`."""

    name = "sympy"
    pi = sp.pi

    log = staticmethod(_elementwise(sp.log))
    xlogy = staticmethod(_elementwise(xlogy))
    xlog1py = staticmethod(_elementwise(xlog1py))
    kl_div_delta = staticmethod(_elementwise(kl_div_delta))
    kl_div_unit = staticmethod(_elementwise(kl_div_unit))
    kl_div_log = staticmethod(_elementwise(kl_div_log))
    # Exact arithmetic has no range to leave: the JAX versions' rescalings vanish.
    diff_ratio = staticmethod(_elementwise(lambda x, y, s: (x - y) / s))
    log_ratio = staticmethod(_elementwise(lambda x, y: sp.log(x / y)))
    # Factored, so that the logarithm of a product of parameters expands into a sum.
    log1p = staticmethod(_elementwise(lambda x: sp.log(sp.factor(sp.cancel(1 + x)))))
    log_mul = staticmethod(_elementwise(log_mul))
    divide = staticmethod(_elementwise(lambda x, y: sp.S(x) / y))  # 1 / 2 is 1/2, not 0.5
    exp = staticmethod(_elementwise(sp.exp))
    abs = staticmethod(_elementwise(sp.Abs))
    minimum = staticmethod(_elementwise(sp.Min))
    expm1 = staticmethod(_elementwise(lambda x: sp.exp(x) - 1))
    sqrt = staticmethod(_elementwise(sp.sqrt))
    lgamma = staticmethod(_elementwise(sp.loggamma))
    digamma = staticmethod(_elementwise(sp.digamma))
    polygamma = staticmethod(_elementwise(sp.polygamma))
    erf = staticmethod(_elementwise(sp.erf))
    log_sigmoid = staticmethod(_elementwise(lambda x: -sp.log(1 + sp.exp(-x))))

    @staticmethod
    @_elementwise
    def where(condition, x, y):
        """A branch of a stable form: SymPy proves the form on each branch's domain."""
        return sp.Piecewise((x, condition), (y, True))

    def fast_when_moderate(self, form, *params):
        """``form(xp, *params)``: exact arithmetic has one version of the range helpers."""
        return form(self, *params)

    def in_chunks(self, form, ranks, *params):
        """``form(xp, *params)``: the chunks are the same expression."""
        del ranks
        return form(self, *params)

    @staticmethod
    def unless_nan(value, fallback):
        """``value``: an exact expression is never NaN (the fallback is for rounding)."""
        del fallback
        return value

    mean_difference = staticmethod(
        _elementwise(lambda x_p, r_p, x_q, r_q: sp.S(x_q) / (x_q + r_q) - sp.S(x_p) / (x_p + r_p))
    )
    # Exact arithmetic has no subnormal range: no scaling (its homogeneity is proved apart).
    tiny_scale = staticmethod(lambda *xs: sp.Integer(1))
    # An exact positive quantity is positive.
    positive_or_nan = staticmethod(lambda x: x)

    @staticmethod
    def accurate_sum(scalars, events, error=None, tolerance=None):
        """The exact sum: the rounding bound of the JAX version is 0 here."""
        return sp.Add(*scalars, *(sp.Add(*_entries(t)) for t in events))

    @staticmethod
    def within_rounding(value, scalars, events, tolerance=None, error=None):
        """``value``: exact, its rounding bound is 0."""
        del scalars, events, tolerance, error
        return value

    @staticmethod
    def kl_div_delta_error(y, delta, size):
        """0: an exact difference has no rounding error."""
        del y, delta, size
        return sp.S.Zero

    xlogx = staticmethod(_elementwise(xlogx))
    softplus = staticmethod(_elementwise(lambda x: sp.log(1 + sp.exp(x))))
    log_softmax = staticmethod(_log_softmax)
    softmax_kl = staticmethod(_softmax_kl)
    softmax_entropy = staticmethod(_softmax_entropy)
    softmax_cross_entropy = staticmethod(_softmax_cross_entropy)

    @staticmethod
    def logit_pair(logits):
        return sp.Matrix([0, logits])

    sqrt_2pi = sp.sqrt(2 * sp.pi)
    sqrt_2pie = sp.sqrt(2 * sp.pi * sp.E)

    @staticmethod
    def sum(a):
        return sp.Add(*_entries(a))

    @staticmethod
    def sum_others(a):
        entries = _entries(a)
        return sp.Matrix([sp.Add(*entries[:k], *entries[k + 1 :]) for k in range(len(entries))])

    @staticmethod
    def take(a, index):
        return a[int(index)]

    @staticmethod
    def event_size(vector):
        return vector.shape[0]

    @staticmethod
    def diagonal(matrix):
        return sp.Matrix([matrix[i, i] for i in range(matrix.shape[0])])

    @staticmethod
    def transpose(matrix):
        return matrix.T

    @staticmethod
    def unit_ldl(m):
        n = m.shape[0]
        g = sp.zeros(n, n)
        delta = [sp.S.Zero] * n
        for j in range(n):
            pivot = [1 + delta[k] for k in range(j)]
            delta[j] = sp.cancel(m[j, j] - sum(g[j, k] ** 2 * pivot[k] for k in range(j)))
            for i in range(j + 1, n):
                total = m[i, j] - sum(g[i, k] * g[j, k] * pivot[k] for k in range(j))
                g[i, j] = sp.cancel(total / (1 + delta[j]))
        weighted = [(1 + delta[k]) * sum(g[i, k] ** 2 for i in range(n)) for k in range(n)]
        return sp.Matrix(delta), sp.Matrix(weighted)

    @staticmethod
    def row_diagonal(matrix):
        n = matrix.shape[0]
        return sp.Matrix(n, n, lambda i, j: matrix[i, i])

    @staticmethod
    def half_squared_norm(vector):
        return sp.Add(*(e**2 for e in vector)) / 2

    half_squared_frobenius = half_squared_norm

    @staticmethod
    def solve_lower(tril, rhs):
        return tril.lower_triangular_solve(rhs)

    solve_lower_vector = solve_lower

    # Gamma family: Stirling's series and exact constants
    lgamma_stirling = _twin("lgamma_stirling")
    digamma_stirling = _twin("digamma_stirling")
    stirling_bregman = _twin("stirling_bregman")
    ratio_gap = staticmethod(_elementwise(_ratio_gap))
    e_inv = sp.exp(-1)
    sqrt_pi_2 = sp.sqrt(sp.pi / 2)
    sqrt_pie_2 = sp.sqrt(sp.pi * sp.E / 2)
    log_full_range = staticmethod(_elementwise(sp.log))

    # Beta, Dirichlet, ContinuousBernoulli
    lgamma_bregman = _twin("lgamma_bregman")
    digamma_diff = _twin("digamma_diff")
    binet_bregman = _twin("binet_bregman")
    ratio_kl = _twin("ratio_kl")
    log_sinhc = _twin("log_sinhc")
    langevin = _twin("langevin")
    log_sinhc_bregman = _twin("log_sinhc_bregman")
    logit = _twin("logit")
    logit_gap = _twin("logit_gap")

    @staticmethod
    def lgamma_bregman_share(*args):
        """The share (the twin) and its rounding bound, 0."""
        return _elementwise(functions.lgamma_bregman_share)(*args), sp.S.Zero

    @staticmethod
    def nearly_all(x, r, x_q, r_q):
        """The conditions, a list of them for vectors (a Matrix holds expressions only)."""

        def holds(x, r, x_q, r_q):
            return sp.And(r <= 1, DOMINANT * r <= x, DOMINANT * r_q <= x_q)

        args = (x, r, x_q, r_q)
        sizes = {len(a) for a in args if isinstance(a, sp.MatrixBase)}
        if not sizes:
            return holds(*args)
        (size,) = sizes
        entries = [a if isinstance(a, sp.MatrixBase) else [a] * size for a in args]
        return [holds(*(e[k] for e in entries)) for k in range(size)]

    @staticmethod
    def declined(value):
        """True: the branch a rounding bound selects is proved like every other (an exact
        value is never declined, but the form taken when a float one is must hold too)."""
        del value
        return sp.true

    @staticmethod
    def any(condition):
        return sp.Or(*condition) if isinstance(condition, list) else condition

    @staticmethod
    def in_regime(condition, form, args, harmless, otherwise, event=False):
        """A branch, as ``where``: SymPy proves ``form`` and ``otherwise`` each."""
        del harmless, event
        return sp.Piecewise((form(*args), condition), (otherwise, True))

    @staticmethod
    def together(function, *calls, event=False):
        """``[function(*args) for args in calls]``: one expression per call."""
        del event
        return [function(*args) for args in calls]

    multiply = staticmethod(_elementwise(lambda x, y: x * y))
    # A scalar already broadcasts against a column of entries.
    expand_event = staticmethod(lambda value: value)

    # the discrete families
    sigmoid = staticmethod(_elementwise(lambda x: 1 / (1 + sp.exp(-x))))
    sigmoid_diff = _twin("sigmoid_diff")
    log_sigmoid_diff = _twin("log_sigmoid_diff")
    poisson_entropy = _twin("poisson_entropy")
    binomial_entropy = _twin("binomial_entropy")


sympy_ops = _SympyOps()

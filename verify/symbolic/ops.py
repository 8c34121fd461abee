"""The SymPy backend: the same densities and closed forms, as exact expressions.

See :mod:`verify._ops` for the contract. Vectors are column matrices, matrices
are square :class:`sympy.Matrix` objects, and elementwise functions apply entry
by entry (a scalar argument broadcasts against a matrix one).
"""

from __future__ import annotations

import functools

import sympy as sp

from verify.symbolic.functions import (
    kl_div_delta,
    kl_div_log,
    kl_div_unit,
    log_mul,
    xlog1py,
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
    divide = staticmethod(_elementwise(lambda x, y: x / y))

    @staticmethod
    def sum_diff(a, b):
        return sp.Add(*(x - y for x, y in zip(_entries(a), _entries(b))))

    sqrt_2pi = sp.sqrt(2 * sp.pi)
    sqrt_2pie = sp.sqrt(2 * sp.pi * sp.E)

    @staticmethod
    def sum(a):
        return sp.Add(*_entries(a))

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
    def squared_norm(vector):
        return sp.Add(*(e**2 for e in vector))

    squared_frobenius = squared_norm

    @staticmethod
    def solve_lower(tril, rhs):
        return tril.lower_triangular_solve(rhs)

    solve_lower_vector = solve_lower


sympy_ops = _SympyOps()

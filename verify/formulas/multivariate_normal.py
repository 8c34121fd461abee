"""Closed forms for the multivariate normal in any dimension d, in nats, in stable form.

Written with Cholesky factors ``L`` (covariance ``L L^T``): triangular solves
instead of inverses. SymPy derives the divergence from the density with
explicit symbolic matrices for d = 1, 2, 3, and these general-d forms are proved
equal to it at those sizes (``tests/test_formulas.py``).

Why this KL form: with ``E = L_q^-1 (L_p - L_q)`` (lower triangular) and
``z = L_q^-1 (loc_p - loc_q)``, ``L_q^-1 L_p = I + E`` and

    KL = (|z|^2 + |E|_F^2) / 2 + sum_i kl_div(1, a_i),  a_i = L_p[i, i] / L_q[i, i],

with ``kl_div(1, a) = a - 1 - log a >= 0`` evaluated by
:func:`verify._special.kl_div_unit` from ``a_i`` and ``-E[i, i] = 1 - a_i``.
Every term is ``>= 0``, and ``E`` is solved from the difference ``L_p - L_q``
(exact when the factors are close) instead of being ``L_q^-1 L_p - I``, which
would lose every digit of a small ``E``. What remains is the error of the
triangular solves, a few ulp times the condition number of ``L_q`` (about
``sqrt(cond(cov_q))``); ``benchmarks/accuracy.py`` measures it. The textbook
form ``tr(S_q^-1 S_p) - d - log det(S_q^-1 S_p)`` cancels ``d``-sized terms to a
result that may be ``1e-20``.

Over the whole finite range: every solve runs on the system with its rows
divided by the diagonal of ``L_q`` (``D^-1 L_q`` has a unit diagonal, ``D =
diag(L_q)``), and the right-hand sides are formed by
:func:`verify._special.diff_ratio` -- ``(loc_p - loc_q) / L_q[i, i]`` and ``(L_p -
L_q) / L_q[i, i]`` rescaled by exact powers of two before the subtraction -- so
scales near the largest float or below the smallest normal one (subnormal, read
as zero by XLA on CPU) neither overflow nor vanish; ``log a_i`` comes from
:func:`verify._special.log_ratio` and the summands from
:func:`verify._special.kl_div_log`, finite where ``a_i`` itself is not.

The entropy ``sum_i log(L[i, i] sqrt(2 pi e))`` and the cross-entropy use
:func:`verify._special.log_mul` for terms that may cross zero.
"""

from __future__ import annotations

from verify.families.multivariate_normal import MultivariateNormal
from verify.formulas import (
    fast_when_moderate,
    register_cross_entropy,
    register_entropy,
    register_kl,
)


def _unit_system(xp, scale_tril_q):
    """``D^-1 L_q`` with ``D = diag(L_q)``: the triangular system with a unit diagonal."""
    return xp.diff_ratio(scale_tril_q, 0, xp.row_diagonal(scale_tril_q))


def _whitened_loc(xp, unit, loc_p, loc_q, scale_tril_q):
    """z = L_q^-1 (loc_p - loc_q), solved as (D^-1 L_q) z = D^-1 (loc_p - loc_q)."""
    rhs = xp.diff_ratio(loc_p, loc_q, xp.diagonal(scale_tril_q))
    return xp.solve_lower_vector(unit, rhs)


def _whitened(xp, unit, matrix_p, matrix_q, scale_tril_q):
    """L_q^-1 (matrix_p - matrix_q), solved as (D^-1 L_q) X = D^-1 (matrix_p - matrix_q)."""
    return xp.solve_lower(unit, xp.diff_ratio(matrix_p, matrix_q, xp.row_diagonal(scale_tril_q)))


@register_kl(MultivariateNormal, MultivariateNormal)
@fast_when_moderate
def kl(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """KL(N(loc_p, L_p L_p^T) || N(loc_q, L_q L_q^T))."""
    unit = _unit_system(xp, scale_tril_q)
    z = _whitened_loc(xp, unit, loc_p, loc_q, scale_tril_q)
    gap = _whitened(xp, unit, scale_tril_p, scale_tril_q, scale_tril_q)
    log_ratio = xp.log_ratio(xp.diagonal(scale_tril_p), xp.diagonal(scale_tril_q))
    quadratic = xp.half_squared_norm(z) + xp.half_squared_frobenius(gap)
    return quadratic + xp.sum(xp.kl_div_log(log_ratio, -xp.diagonal(gap)))


@register_entropy(MultivariateNormal)
def entropy(xp, loc, scale_tril):
    """Differential entropy of N(loc, L L^T)."""
    return xp.sum(xp.log_mul(xp.diagonal(scale_tril), xp.sqrt_2pie))


@register_cross_entropy(MultivariateNormal, MultivariateNormal)
@fast_when_moderate
def cross_entropy(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """Cross-entropy H(N(loc_p, L_p L_p^T), N(loc_q, L_q L_q^T))."""
    unit = _unit_system(xp, scale_tril_q)
    z = _whitened_loc(xp, unit, loc_p, loc_q, scale_tril_q)
    whitened_scale = _whitened(xp, unit, scale_tril_p, 0, scale_tril_q)
    quadratic = xp.half_squared_norm(z) + xp.half_squared_frobenius(whitened_scale)
    return quadratic + xp.sum(xp.log_mul(xp.diagonal(scale_tril_q), xp.sqrt_2pi))


def kl_from_covariances(xp, loc_p, covariance_p, loc_q, covariance_q, scale_tril_q):
    """KL(N(loc_p, S_p) || N(loc_q, S_q)) from the covariances themselves.

    Used when both distributions were given by ``covariance_matrix``: their
    Cholesky factors, computed apart, each carry rounding errors of ``eps``
    relative, which swamp ``L_p - L_q`` when the covariances differ by 1e-9
    (the KL, about 1e-18, then has a relative error of 1e-7). Here the exact
    difference ``S_p - S_q`` (Sterbenz) is whitened, ``M = L_q^-1 (S_p - S_q)
    L_q^-T``, and ``I + M = (I + G) diag(1 + delta) (I + G)^T`` is factored
    (LDL^T, :meth:`verify._ops` ``unit_ldl``) from ``M`` without forming
    ``I + M``. With ``w_k = (1 + delta_k) sum_i G[i, k]**2``,

        KL = (|z|^2 + sum_k w_k + sum_k kl_div(1, 1 + delta_k)) / 2,

    every term ``>= 0``: ``tr(M) - log det(I + M)`` without the cancellation
    of its ``d``-sized parts. Its relative error is about ``d * cond(S_q) *
    eps`` (the whitening solves); ``benchmarks/accuracy.py`` measures it.
    """
    z = xp.solve_lower_vector(scale_tril_q, loc_p - loc_q)
    half = xp.solve_lower(scale_tril_q, covariance_p - covariance_q)
    whitened = xp.solve_lower(scale_tril_q, xp.transpose(half))
    delta, weighted = xp.unit_ldl(whitened)
    unit = xp.sum(xp.kl_div_log(xp.log1p(delta), -delta))
    return xp.half_squared_norm(z) + (xp.sum(weighted) + unit) / 2

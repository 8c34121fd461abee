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

The entropy ``sum_i log(L[i, i] sqrt(2 pi e))`` and the cross-entropy use
:func:`verify._special.log_mul` for terms that may cross zero.
"""

from __future__ import annotations


def _whitened_loc(xp, loc_p, loc_q, scale_tril_q):
    """z = L_q^-1 (loc_p - loc_q)."""
    return xp.solve_lower_vector(scale_tril_q, loc_p - loc_q)


def kl(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """KL(N(loc_p, L_p L_p^T) || N(loc_q, L_q L_q^T))."""
    z = _whitened_loc(xp, loc_p, loc_q, scale_tril_q)
    gap = xp.solve_lower(scale_tril_q, scale_tril_p - scale_tril_q)
    ratio = xp.divide(xp.diagonal(scale_tril_p), xp.diagonal(scale_tril_q))
    quadratic = xp.squared_norm(z) + xp.squared_frobenius(gap)
    return quadratic / 2 + xp.sum(xp.kl_div_unit(ratio, -xp.diagonal(gap)))


def entropy(xp, loc, scale_tril):
    """Differential entropy of N(loc, L L^T)."""
    return xp.sum(xp.log_mul(xp.diagonal(scale_tril), xp.sqrt_2pie))


def cross_entropy(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """Cross-entropy H(N(loc_p, L_p L_p^T), N(loc_q, L_q L_q^T))."""
    z = _whitened_loc(xp, loc_p, loc_q, scale_tril_q)
    whitened_scale = xp.solve_lower(scale_tril_q, scale_tril_p)
    quadratic = xp.squared_norm(z) + xp.squared_frobenius(whitened_scale)
    return quadratic / 2 + xp.sum(xp.log_mul(xp.diagonal(scale_tril_q), xp.sqrt_2pi))

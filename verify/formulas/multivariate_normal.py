"""Closed forms for the multivariate normal in any dimension d, in nats.

Written with Cholesky factors ``L`` (covariance ``L L^T``): triangular solves
instead of inverses, log-determinants as sums of ``log diag L``. SymPy derives
the divergence from the density with explicit symbolic matrices for d = 1, 2, 3,
and these general-d forms are proved equal to it at those sizes
(``tests/test_formulas.py``).
"""

from __future__ import annotations


def _log_det(xp, scale_tril):
    """log det(L) = half the log-determinant of the covariance."""
    return xp.sum(xp.log(xp.diagonal(scale_tril)))


def _quadratic_terms(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """tr(S_q^-1 S_p) + (mu_p - mu_q)^T S_q^-1 (mu_p - mu_q), via L_q^-1."""
    whitened_scale = xp.solve_lower(scale_tril_q, scale_tril_p)
    whitened_loc = xp.solve_lower_vector(scale_tril_q, loc_p - loc_q)
    return xp.squared_frobenius(whitened_scale) + xp.squared_norm(whitened_loc)


def kl(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """KL(N(loc_p, L_p L_p^T) || N(loc_q, L_q L_q^T))."""
    d = xp.event_size(loc_p)
    quadratic = _quadratic_terms(xp, loc_p, scale_tril_p, loc_q, scale_tril_q)
    return (quadratic - d) / 2 + _log_det(xp, scale_tril_q) - _log_det(xp, scale_tril_p)


def entropy(xp, loc, scale_tril):
    """Differential entropy of N(loc, L L^T)."""
    d = xp.event_size(loc)
    return d * (1 + xp.log(2 * xp.pi)) / 2 + _log_det(xp, scale_tril)


def cross_entropy(xp, loc_p, scale_tril_p, loc_q, scale_tril_q):
    """Cross-entropy H(N(loc_p, L_p L_p^T), N(loc_q, L_q L_q^T))."""
    d = xp.event_size(loc_p)
    quadratic = _quadratic_terms(xp, loc_p, scale_tril_p, loc_q, scale_tril_q)
    return (quadratic + d * xp.log(2 * xp.pi)) / 2 + _log_det(xp, scale_tril_q)

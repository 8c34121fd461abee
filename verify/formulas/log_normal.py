"""Closed forms for the log-normal distribution, in nats.

``X = exp(Y)`` with ``Y`` normal is a bijection, so the KL divergence of two
log-normals is that of the two normals (:func:`verify.formulas.normal.kl`,
accurate for close parameters and over the whole finite range). Entropy and
cross-entropy add ``E[log X] = loc_p`` (the log of the Jacobian) to the normal
ones: ``loc + log(scale * sqrt(2 pi e))`` and ``loc_p + H(N_p, N_q)``, each a
sum of accurate terms (where ``loc`` and the rest cancel, the error is a few ulp
of ``|loc|``).
"""

from __future__ import annotations

from verify.families.log_normal import LogNormal
from verify.formulas import normal, register_cross_entropy, register_entropy, register_kl


@register_kl(LogNormal, LogNormal)
def kl(xp, loc_p, scale_p, loc_q, scale_q):
    """KL(LogNormal(loc_p, scale_p) || LogNormal(loc_q, scale_q)): the normal pair's.

    Example:
        >>> from verify._ops import jax_ops
        >>> float(kl(jax_ops, 0.0, 1.0, 1.0, 1.0))  # (loc_p - loc_q)**2 / 2
        0.5
    """
    return normal.kl(xp, loc_p, scale_p, loc_q, scale_q)


@register_entropy(LogNormal)
def entropy(xp, loc, scale):
    """Differential entropy ``loc + log(scale * sqrt(2 pi e))``.

    Example:
        >>> from verify._ops import jax_ops
        >>> round(float(entropy(jax_ops, 0.0, 1.0)), 6)  # that of N(0, 1)
        1.418939
    """
    return loc + normal.entropy(xp, loc, scale)


@register_cross_entropy(LogNormal, LogNormal)
def cross_entropy(xp, loc_p, scale_p, loc_q, scale_q):
    """Cross-entropy ``loc_p + H(N(loc_p, scale_p), N(loc_q, scale_q))``."""
    return loc_p + normal.cross_entropy(xp, loc_p, scale_p, loc_q, scale_q)

"""verify: derived, proved and checked closed forms of information theory in JAX.

Example:
    >>> import verify
    >>> p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
    >>> float(verify.kl(p, q))
    0.4431471...
"""

from verify import montecarlo
from verify._api import cross_entropy, entropy, kl
from verify.checks import CheckReport, check_cross_entropy, check_entropy, check_kl
from verify.evidence import Evidence
from verify.families import FAMILIES, Distribution, Independent
from verify.formulas import register_cross_entropy, register_entropy, register_kl
from verify.montecarlo import random_distribution

# Every family, as verify.Normal, verify.Gamma, ...: adding a family module adds it here.
globals().update({cls.__name__: cls for cls in FAMILIES.values()})

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "Distribution",
    "Evidence",
    "FAMILIES",
    "Independent",
    "check_cross_entropy",
    "check_entropy",
    "check_kl",
    "cross_entropy",
    "derive",
    "entropy",
    "kl",
    "montecarlo",
    "random_distribution",
    "register_cross_entropy",
    "register_entropy",
    "register_kl",
    *sorted(cls.__name__ for cls in FAMILIES.values()),
]


def derive(quantity, *families, **dims):
    """Derives a closed form with SymPy from the families' densities.

    See :func:`verify.symbolic.derive`; SymPy is imported on first use only.
    """
    from verify.symbolic.derive import derive as _derive

    return _derive(quantity, *families, **dims)

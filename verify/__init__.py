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
from verify.families import Bernoulli, Categorical, Distribution, MultivariateNormal, Normal
from verify.montecarlo import random_distribution

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Categorical",
    "CheckReport",
    "Distribution",
    "Evidence",
    "MultivariateNormal",
    "Normal",
    "check_cross_entropy",
    "check_entropy",
    "check_kl",
    "cross_entropy",
    "derive",
    "entropy",
    "kl",
    "montecarlo",
    "prove_formula",
    "random_distribution",
]


def derive(quantity, *families, **dims):
    """Derives a closed form with SymPy from the families' densities.

    See :func:`verify.symbolic.derive`; SymPy is imported on first use only.
    """
    from verify.symbolic.derive import derive as _derive

    return _derive(quantity, *families, **dims)


def prove_formula(function, quantity, *families, **options):
    """Proves a user's JAX formula equal to the derived closed form, or refutes it.

    See :func:`verify.proving.formula.prove_formula`; SymPy is imported on first use only.
    """
    from verify.proving.formula import prove_formula as _prove_formula

    return _prove_formula(function, quantity, *families, **options)

"""SymPy side of verify: derivations from densities, proofs, compilation to JAX.

Importing this package imports SymPy; ``import verify`` alone does not.
"""

from verify.symbolic.derive import Derivation, derive, expected_log, is_identically_zero
from verify.symbolic.functions import to_elementary, xlogy
from verify.symbolic.jaxify import JAX_FUNCTIONS, to_jax
from verify.symbolic.ops import sympy_ops

__all__ = [
    "JAX_FUNCTIONS",
    "Derivation",
    "derive",
    "expected_log",
    "is_identically_zero",
    "sympy_ops",
    "to_elementary",
    "to_jax",
    "xlogy",
]

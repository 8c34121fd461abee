"""Probability families: parameters, JAX log-densities, samplers, SymPy densities.

Every module of this package that defines a family registers it
(:data:`FAMILIES`, by lower-case name): adding a family is adding its module.
"""

import importlib
import pkgutil

from verify.families import supports
from verify.families._distribution import FAMILIES, Dim, Distribution, SymbolicFamily

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

globals().update({cls.__name__: cls for cls in FAMILIES.values()})
from verify.families.independent import Independent  # noqa: E402 - a wrapper, not a family

__all__ = [
    "FAMILIES",
    "Dim",
    "Independent",
    "Distribution",
    "SymbolicFamily",
    "by_name",
    "supports",
    *sorted(cls.__name__ for cls in FAMILIES.values()),
]


def by_name(name: str) -> type:
    """The family called ``name`` (case-insensitive; aliases such as ``"mvn"`` too).

    Raises:
        KeyError: no such family.

    Example:
        >>> by_name("MVN").__name__
        'MultivariateNormal'
    """
    key = name.lower()
    for cls in FAMILIES.values():
        if key == cls.__name__.lower() or key in cls.aliases:
            return cls
    raise KeyError(name)

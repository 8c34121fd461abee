"""The registry of closed forms: one place maps families to their formulas.

A closed form is a backend-generic function (see :mod:`verify._ops`) of the
families' canonical parameters, first those of P, then those of Q.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from verify.families import Bernoulli, Categorical, MultivariateNormal, Normal
from verify.formulas import bernoulli, categorical, multivariate_normal, normal

__all__ = ["QUANTITIES", "ClosedForm", "lookup", "registered"]

#: The quantities with closed forms, and how many distributions each takes.
QUANTITIES = {"kl": 2, "entropy": 1, "cross_entropy": 2}


@dataclasses.dataclass(frozen=True)
class ClosedForm:
    """One registered closed form.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        families: the family classes it takes, in argument order.
        function: ``function(xp, *params_p[, *params_q])``, in nats.
    """

    quantity: str
    families: tuple[type, ...]
    function: Callable


_MODULES = {
    Normal: normal,
    MultivariateNormal: multivariate_normal,
    Bernoulli: bernoulli,
    Categorical: categorical,
}

_REGISTRY: dict[tuple[str, tuple[type, ...]], ClosedForm] = {}
for _family, _module in _MODULES.items():
    for _quantity, _arity in QUANTITIES.items():
        _families = (_family,) * _arity
        _REGISTRY[_quantity, _families] = ClosedForm(
            _quantity, _families, getattr(_module, _quantity)
        )


def registered() -> list[ClosedForm]:
    """Every registered closed form, in a stable order."""
    return list(_REGISTRY.values())


def lookup(quantity: str, *families: type) -> ClosedForm:
    """The closed form of ``quantity`` for these family classes.

    Raises:
        ValueError: unknown quantity.
        NotImplementedError: no closed form for this combination of families.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"`quantity` must be one of {sorted(QUANTITIES)}, got {quantity!r}")
    try:
        return _REGISTRY[quantity, tuple(families)]
    except KeyError:
        names = " and ".join(f.__name__ for f in families)
        raise NotImplementedError(f"no closed form for {quantity} between {names}") from None

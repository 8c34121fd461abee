"""The registry of closed forms: one place maps families and parameterisations to formulas.

A closed form is a backend-generic function (see :mod:`verify._ops`) of the
families' parameters, first those of P, then those of Q, in the
parameterisation each distribution was given (``Categorical(logits=...)``
takes the logits forms; a pair of probs and logits, the logits forms with the
probs side as ``log(probs)``).
"""

from __future__ import annotations

import dataclasses
import itertools
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
        parameterisations: the parameterisation of each family, e.g.
            ``("probs", "logits")``.
    """

    quantity: str
    families: tuple[type, ...]
    function: Callable
    parameterisations: tuple[str, ...]


_MODULES = {
    Normal: normal,
    MultivariateNormal: multivariate_normal,
    Bernoulli: bernoulli,
    Categorical: categorical,
}


def _mixed(module, quantity, parameterisations):
    """The logits form, with each probs argument turned into logits first."""
    logits_form = getattr(module, f"{quantity}_logits")

    def form(xp, *params):
        return logits_form(
            xp,
            *(
                x if kind == "logits" else module.logits_from_probs(xp, x)
                for x, kind in zip(params, parameterisations)
            ),
        )

    form.__name__ = f"{quantity}_{'_'.join(parameterisations)}"
    form.__doc__ = f"{quantity} from {' and '.join(parameterisations)}, via the logits form."
    return form


def _function(module, quantity, parameterisations):
    if len(set(parameterisations)) == 1 and parameterisations[0] != "logits":
        return getattr(module, quantity)
    if set(parameterisations) == {"logits"}:
        return getattr(module, f"{quantity}_logits")
    return _mixed(module, quantity, parameterisations)


_REGISTRY: dict[tuple[str, tuple[type, ...], tuple[str, ...]], ClosedForm] = {}
for _family, _module in _MODULES.items():
    for _quantity, _arity in QUANTITIES.items():
        _families = (_family,) * _arity
        for _kinds in itertools.product(_family.parameterisations, repeat=_arity):
            _REGISTRY[_quantity, _families, _kinds] = ClosedForm(
                _quantity, _families, _function(_module, _quantity, _kinds), _kinds
            )


def module_of(family: type):
    """The module of ``family``'s closed forms (e.g. for ``logits_from_probs``)."""
    return _MODULES[family]


def registered() -> list[ClosedForm]:
    """Every registered closed form, in a stable order."""
    return list(_REGISTRY.values())


def lookup(quantity: str, *families: type, parameterisations=None) -> ClosedForm:
    """The closed form of ``quantity`` for these family classes and parameterisations.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        *families: the family classes, P first.
        parameterisations: one name per family (e.g. ``("logits", "probs")``);
            default: each family's first (``"probs"`` for the discrete families).

    Raises:
        ValueError: unknown quantity or parameterisation.
        NotImplementedError: no closed form for this combination of families.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"`quantity` must be one of {sorted(QUANTITIES)}, got {quantity!r}")
    if parameterisations is None:
        parameterisations = tuple(f.parameterisations[0] for f in families)
    for family, kind in zip(families, parameterisations):
        if kind not in getattr(family, "parameterisations", (kind,)):
            raise ValueError(
                f"{family.__name__} has parameterisations {family.parameterisations}, got {kind!r}"
            )
    try:
        return _REGISTRY[quantity, tuple(families), tuple(parameterisations)]
    except KeyError:
        names = " and ".join(f.__name__ for f in families)
        raise NotImplementedError(f"no closed form for {quantity} between {names}") from None

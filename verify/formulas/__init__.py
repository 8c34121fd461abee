"""The registry of closed forms: families and parameterisations to formulas.

A closed form is a backend-generic function (see :mod:`verify._ops`) of the
families' parameters, first those of P, then those of Q, in the
parameterisation each distribution was given. Each module of this package
registers its forms with the decorators below; :func:`lookup` finds a form
through the classes' MROs (a subclass of ``Normal`` takes ``Normal``'s forms),
and a pair of parameterisations with no form of its own (P from probs, Q from
logits) runs a registered form after :meth:`Distribution.convert`.

Example:
    >>> import verify
    >>> from verify.formulas import lookup
    >>> lookup("kl", verify.Bernoulli, verify.Bernoulli,
    ...        parameterisations=("probs", "logits")).parameterisations
    ('probs', 'logits')
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import itertools
import pkgutil
from collections.abc import Callable

from verify.families import Distribution

__all__ = [
    "QUANTITIES",
    "ClosedForm",
    "fast_when_moderate",
    "in_chunks",
    "lookup",
    "register_cross_entropy",
    "register_entropy",
    "register_kl",
    "registered",
]

#: The quantities with closed forms, and how many distributions each takes.
QUANTITIES = {"kl": 2, "entropy": 1, "cross_entropy": 2}


@dataclasses.dataclass(frozen=True)
class ClosedForm:
    """One closed form, as :func:`lookup` returns it.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        families: the family classes it takes, in argument order.
        function: ``function(xp, *params_p[, *params_q])``, in nats, taking
            each family's parameters in ``parameterisations``.
        parameterisations: the parameterisation of each family, e.g.
            ``("probs", "logits")``.
    """

    quantity: str
    families: tuple[type, ...]
    function: Callable
    parameterisations: tuple[str, ...]


_REGISTRY: dict[tuple[str, tuple[type, ...], tuple[str, ...]], ClosedForm] = {}


def _register(quantity, families, parameterisations):
    if len(families) != QUANTITIES[quantity]:
        raise TypeError(f"{quantity} takes {QUANTITIES[quantity]} families, got {len(families)}")
    for family in families:
        if not (isinstance(family, type) and issubclass(family, Distribution)):
            raise TypeError(f"expected family classes such as verify.Normal, got {family!r}")
    if parameterisations is None:
        parameterisations = tuple(f.parameterisations[0] for f in families)
    parameterisations = tuple(parameterisations)
    for family, kind in zip(families, parameterisations):
        family._check_parameterisation(kind)

    def decorator(function):
        key = quantity, tuple(families), parameterisations
        _REGISTRY[key] = ClosedForm(quantity, tuple(families), function, parameterisations)
        return function

    return decorator


def register_kl(p_family: type, q_family: type, *, parameterisations=None):
    """Registers ``function(xp, *params_p, *params_q)`` as KL(P || Q) for these families.

    The function is written against a backend ``xp`` (:mod:`verify._ops`), so
    that the code that runs is the code SymPy proves equal to
    ``verify.derive("kl", p_family, q_family)``. A later registration for the
    same families and parameterisations replaces the earlier one.

    Args:
        p_family, q_family: family classes (subclasses inherit the form).
        parameterisations: one name per family (default: each family's first).

    Example:
        >>> import verify
        >>> class Scaled(verify.Normal):
        ...     pass
        >>> @verify.register_kl(Scaled, Scaled)
        ... def kl(xp, loc_p, scale_p, loc_q, scale_q):
        ...     return verify.formulas.normal.kl(xp, loc_p, scale_p, loc_q, scale_q)
        >>> float(verify.kl(Scaled(0.0, 1.0), Scaled(1.0, 1.0)))
        0.5
    """
    return _register("kl", (p_family, q_family), parameterisations)


def register_entropy(family: type, *, parameterisations=None):
    """Registers ``function(xp, *params)`` as the entropy of ``family``; see :func:`register_kl`."""
    return _register("entropy", (family,), parameterisations)


def register_cross_entropy(p_family: type, q_family: type, *, parameterisations=None):
    """Registers the cross-entropy H(P, Q) for these families; see :func:`register_kl`."""
    return _register("cross_entropy", (p_family, q_family), parameterisations)


def fast_when_moderate(form: Callable) -> Callable:
    """Decorates a closed form that uses the range helpers (``xp.diff_ratio``,
    ``xp.log_ratio``, ``xp.log_mul``): where every parameter of the batch is moderate
    (:func:`verify._special.moderate`: 0, or between ``2**-31`` and ``2**31`` in float32,
    ``2**-255`` and ``2**255`` in float64), it runs with their plain arithmetic, the same
    values at a fraction of the cost (a normal KL in float32: 1.9x faster at 10**6 pairs);
    elsewhere with the helpers that read exponents as integers. SymPy proves the one form
    for both.

    A decorated form may call another with its own parameters or constants (the
    log-normal KL is the normal one); it must not pass computed values, which may leave
    the moderate range where the parameters do not.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._ops import jax_ops
        >>> @fast_when_moderate
        ... def half_ratio(xp, x, s):
        ...     return xp.diff_ratio(x, 0, s) / 2
        >>> float(half_ratio(jax_ops, jnp.float32(3.0), jnp.float32(0.5)))  # the plain division
        3.0
        >>> float(half_ratio(jax_ops, jnp.float32(3.0), jnp.float32(2.0**-100)))  # not moderate
        1.9014759...e+30
    """

    @functools.wraps(form)
    def run(xp, *params):
        return xp.fast_when_moderate(form, *params)

    return run


def in_chunks(*ranks: int) -> Callable[[Callable], Callable]:
    """Decorates a heavy closed form: over a batch of at least two chunks of
    :data:`verify._ops.CHUNK` members it runs chunk by chunk (``lax.map``), the same values.

    ``ranks``: the event rank of each parameter (0 for a scalar per member, 1 for a
    Dirichlet's concentration vector). A stable form keeps many intermediate arrays the
    size of its batch, which XLA on CPU writes to memory and reads back (it fuses an
    expensive value used twice into neither use); chunk by chunk they stay in the cache,
    and each chunk computes only the regimes its members need. A light form loses by it
    (XLA splits a large computation between the cores, not a loop's body: the exponential
    KL ran 1.6x slower in chunks), so only the heavy ones are decorated.

    Example:
        >>> import jax.numpy as jnp
        >>> from verify._ops import jax_ops
        >>> @in_chunks(0, 0)
        ... def ratio(xp, x, y):
        ...     return x / y
        >>> float(ratio(jax_ops, 3.0, 2.0))
        1.5
    """

    def decorate(form):
        @functools.wraps(form)
        def run(xp, *params, **options):
            return xp.in_chunks(functools.partial(form, **options), ranks, *params)

        return run

    return decorate


def registered() -> list[ClosedForm]:
    """Every closed form the registry holds, and every mixed pair it converts to one."""
    forms = list(_REGISTRY.values())
    for quantity, families, _ in {(k[0], k[1], None) for k in _REGISTRY}:
        kinds = itertools.product(*(f.parameterisations for f in families))
        for kind in kinds:
            if (quantity, families, kind) not in _REGISTRY:
                try:
                    forms.append(lookup(quantity, *families, parameterisations=kind))
                except NotImplementedError:
                    pass
    return sorted(
        forms, key=lambda f: (f.quantity, [c.__name__ for c in f.families], f.parameterisations)
    )


def lookup(quantity: str, *families: type, parameterisations=None) -> ClosedForm:
    """The closed form of ``quantity`` for these family classes and parameterisations.

    Searches the classes' MROs, the nearest registration first (least total
    distance, then P's MRO before Q's); for each, a form in exactly these
    parameterisations, else one reached by converting some of them.

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
    parameterisations = tuple(parameterisations)
    for family, kind in zip(families, parameterisations):
        family._check_parameterisation(kind)
    for ancestors in _by_distance(families):
        form = _REGISTRY.get((quantity, ancestors, parameterisations))
        if form is not None:
            return ClosedForm(quantity, tuple(families), form.function, parameterisations)
        converted = _converted(quantity, ancestors, families, parameterisations)
        if converted is not None:
            return converted
    names = " and ".join(f.__name__ for f in families)
    raise NotImplementedError(f"no closed form for {quantity} between {names}")


def _by_distance(families):
    """Tuples of ancestors (Distribution subclasses), nearest first."""
    mros = [
        [c for c in f.__mro__ if issubclass(c, Distribution) and c is not Distribution]
        for f in families
    ]
    candidates = itertools.product(*(enumerate(m) for m in mros))
    ordered = sorted(candidates, key=lambda c: (sum(i for i, _ in c), [i for i, _ in c]))
    return [tuple(cls for _, cls in c) for c in ordered]


def _converted(quantity, ancestors, families, parameterisations):
    """A registered form of ``ancestors`` reached by converting parameters, or None."""
    for (q, fams, kinds), form in _REGISTRY.items():
        if (q, fams) == (quantity, ancestors) and all(
            given == wanted or (given, wanted) in family.conversions
            for family, given, wanted in zip(families, parameterisations, kinds)
        ):
            function = _via(form, families, parameterisations)
            return ClosedForm(quantity, tuple(families), function, parameterisations)
    return None


def _via(form, families, parameterisations):
    """``form`` with each distribution's parameters first converted to the form's."""

    def converted(xp, *params):
        args, start = [], 0
        for family, given, wanted in zip(families, parameterisations, form.parameterisations):
            count = len(family._param_event_ranks)
            group = tuple(params[start : start + count])
            start += count
            args.extend(family.convert(xp, group, given, wanted))
        return form.function(xp, *args)

    converted.__name__ = f"{form.quantity}_{'_'.join(parameterisations)}"
    converted.__doc__ = (
        f"{form.quantity} from {' and '.join(parameterisations)}, via the "
        f"{' and '.join(form.parameterisations)} form."
    )
    return converted


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

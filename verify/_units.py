"""Units of information: the ``base=`` argument of every formula."""

from __future__ import annotations

import math
import numbers

__all__ = ["UNIT_NAMES", "log_base"]

#: Names accepted for ``base``, with the logarithm base each stands for.
UNIT_NAMES = {"nats": math.e, "bits": 2, "hartleys": 10}
_ALIASES = {
    "nat": "nats",
    "bit": "bits",
    "shannons": "bits",
    "hartley": "hartleys",
    "bans": "hartleys",
}


def log_base(base) -> float | None:
    """Natural logarithm of ``base``, or None for nats (no conversion needed).

    ``base`` is a unit name (``"nats"``, ``"bits"``, ``"hartleys"``) or a number
    > 0 other than 1. A value in nats divided by ``log_base(base)`` is in that unit.

    Example:
        >>> log_base("bits") == math.log(2), log_base("nats"), log_base(math.e)
        (True, None, None)
    """
    if isinstance(base, str):
        unit = _ALIASES.get(base.lower(), base.lower())
        if unit not in UNIT_NAMES:
            raise ValueError(
                f"`base` must be a number > 0 other than 1 or one of {sorted(UNIT_NAMES)}, "
                f"got {base!r}"
            )
        base = UNIT_NAMES[unit]
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"`base` must be a number or a unit name, got {base!r}")
    if isinstance(base, numbers.Integral):
        # math.log takes integers of any size exactly (base=10**400 is a valid unit).
        if base <= 0 or base == 1:
            raise ValueError(f"`base` must be finite, > 0 and other than 1, got {base!r}")
        return math.log(int(base))
    base = float(base)
    if not (math.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"`base` must be finite, > 0 and other than 1, got {base!r}")
    return None if base == math.e else math.log(base)

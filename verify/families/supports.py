"""Supports as values: where a family puts its mass.

A support says whether it is discrete, which values it contains (for
``log_prob``, which is ``-inf`` outside it, and for the support checks of KL:
``KL(P || Q) = +inf`` where P puts mass outside Q's support), and, for the
symbolic derivations, the range to integrate or sum over.

Example:
    >>> from verify.families import supports
    >>> supports.positive, supports.unit_interval, supports.integers(0, 2)
    (Interval(0, inf), Interval(0, 1), Integers(0, 2))
    >>> list(supports.integers(0, 2)), supports.nonnegative_integers.finite
    ([0, 1, 2], False)
    >>> supports.positive.within(supports.real), supports.real.within(supports.positive)
    (True, False)
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

__all__ = [
    "Integers",
    "Interval",
    "RealVector",
    "Simplex",
    "Support",
    "integers",
    "nonnegative_integers",
    "positive",
    "real",
    "unit_interval",
]


class Support:
    """Base of the supports. ``discrete``: summed over, else integrated over."""

    discrete: bool = False

    def contains(self, x):
        """Boolean array: which of ``x`` (shape ``(..., *event)``) lie in the support."""
        raise NotImplementedError

    @property
    def point(self) -> float:
        """A point inside (each entry of a vector one): ``log_prob`` evaluates the density
        there in place of a value outside, so that neither it nor its gradient is NaN."""
        raise NotImplementedError

    def within(self, other: Support) -> bool:
        """True if this support is a subset of ``other`` (decided from the values)."""
        return self == other

    @property
    def finite(self) -> bool:
        return False


def _number(v):
    """Bounds print as ints where they are whole (``Interval(0, inf)``); a symbol as itself."""
    if not isinstance(v, (int, float)):
        return v
    return int(v) if math.isfinite(v) and float(v).is_integer() else v


@dataclasses.dataclass(frozen=True)
class Interval(Support):
    """The real numbers in ``[low, high]`` (``low``/``high`` may be infinite).

    Open or closed makes no difference to a density; ``contains`` takes the
    closed interval.
    """

    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"an interval needs low < high, got [{self.low}, {self.high}]")

    def contains(self, x):
        x = jnp.asarray(x)
        return (x >= self.low) & (x <= self.high)

    @property
    def point(self):
        if math.isinf(self.low):
            return 0.0 if math.isinf(self.high) else self.high - 1.0
        return self.low + 1.0 if math.isinf(self.high) else (self.low + self.high) / 2

    def within(self, other):
        if isinstance(other, Interval):
            return other.low <= self.low and self.high <= other.high
        return False

    def bounds(self):
        """The integration bounds as SymPy numbers (``-oo``/``oo`` for infinite ones)."""
        import sympy as sp

        return tuple(
            sp.oo if b == math.inf else -sp.oo if b == -math.inf else sp.nsimplify(b)
            for b in (self.low, self.high)
        )

    def __repr__(self):
        return f"Interval({_number(self.low)}, {_number(self.high)})"


@dataclasses.dataclass(frozen=True)
class Integers(Support):
    """The integers ``low, low + 1, ..., high`` (``high`` may be ``inf``)."""

    low: int = 0
    high: float = math.inf
    discrete = True

    def __post_init__(self):
        if isinstance(self.high, (int, float)) and not self.low <= self.high:
            raise ValueError(f"an integer range needs low <= high, got {self.low}..{self.high}")

    @property
    def finite(self):
        """Finite, also when ``high`` is a SymPy symbol (a Binomial's ``total_count``)."""
        return not isinstance(self.high, (int, float)) or math.isfinite(self.high)

    def contains(self, x):
        x = jnp.asarray(x)
        return (x >= self.low) & (x <= self.high) & (x == jnp.floor(x)) & jnp.isfinite(x)

    @property
    def point(self):
        return float(self.low)

    def within(self, other):
        if isinstance(other, Integers):
            return other.low <= self.low and self.high <= other.high
        return False

    def __iter__(self):
        if not self.finite:
            raise TypeError(f"{self!r} is infinite: sum over it symbolically, not point by point")
        return iter(range(self.low, int(self.high) + 1))

    def __len__(self):
        return len(range(self.low, int(self.high) + 1))

    def bounds(self):
        """The summation bounds as SymPy numbers (``oo`` for an infinite range)."""
        import sympy as sp

        if not self.finite:
            return sp.Integer(self.low), sp.oo
        return sp.Integer(self.low), sp.sympify(self.high)

    def __repr__(self):
        return f"Integers({self.low}, {_number(self.high)})"


@dataclasses.dataclass(frozen=True)
class RealVector(Support):
    """``R^d``: vectors of ``dim`` real numbers."""

    dim: int

    def contains(self, x):
        return jnp.all(jnp.isfinite(jnp.asarray(x)), axis=-1)

    point = 0.0

    def __repr__(self):
        return f"RealVector({self.dim})"


@dataclasses.dataclass(frozen=True)
class Simplex(Support):
    """The probability simplex: ``dim`` non-negative numbers summing to 1."""

    dim: int

    def contains(self, x):
        x = jnp.asarray(x)
        total = jnp.sum(x, axis=-1)
        tolerance = 4 * self.dim * jnp.finfo(jnp.result_type(x, float)).eps
        return jnp.all(x >= 0, axis=-1) & (jnp.abs(total - 1) <= tolerance)

    @property
    def point(self):
        return 1 / self.dim

    def __repr__(self):
        return f"Simplex({self.dim})"


real = Interval()
positive = Interval(0, math.inf)
unit_interval = Interval(0, 1)
nonnegative_integers = Integers(0, math.inf)


def integers(low: int, high) -> Integers:
    """``Integers(low, high)``: ``integers(0, n)`` is {0, ..., n}."""
    return Integers(low, high)

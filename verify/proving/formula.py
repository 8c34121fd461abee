"""Proving a user's own JAX formula equal to the derived closed form, or refuting it.

:func:`prove_formula` reads the user's function as SymPy
(:mod:`verify.symbolic.from_jaxpr`) over the symbols of the families'
parameters and compares it with :func:`verify.derive`'s closed form, for each
size the families take (Categorical K = 2, 3, 4; MultivariateNormal d = 1, 2, 3):

1. **Proof, branch by branch.** A ``jnp.where`` makes the formula a
   piecewise expression; each branch is proved equal to the derivation for
   all parameter values (:func:`verify.symbolic.derive.is_identically_zero`,
   with the families' relations such as ``sum(probs) = 1``). A maximum or
   minimum the formula takes (the shift of a ``logsumexp``) is replaced by a
   free symbol first: a branch equal to the derivation whatever that symbol
   is, is equal at the maximum too. Failing that, each maximum, minimum and
   absolute value is resolved every possible way (``max(x, 0)`` as ``x`` and
   as ``0``), and every case is proved: at each point one of them is the value.
2. **Search for a counterexample** in every branch not proved: valid
   parameters drawn at random, near-equal pairs (Q = P perturbed by relative
   amounts 1e-1 ... 1e-12, and Q = P), values near the special points of each
   parameter (0, 1/2, 1, tiny and huge); each point is sorted into the branch
   whose condition holds there, and both expressions are evaluated in mpmath.
   A point where they differ by more than ``rtol`` relative is re-evaluated
   at 50 digits (plus the point's dynamic range: ``1 - 1e-300`` needs 300)
   and returned, with the user's float64 value and verify's, unless the
   user's function itself, run in float64, gives the derived value there.
   SymPy's identity test is not tried on expressions whose expansion would
   exceed :data:`verify.symbolic.derive.MAX_EXPANSION` terms (a truncated
   series in a branch): those branches go to the search.

A branch that is not proved and where no point differs is *inconclusive*: a
truncated Taylor series agrees to float64 precision without being equal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import inspect
import itertools
import math
import signal
import threading
import time
from fractions import Fraction

import jax
import mpmath
import numpy as np
import sympy as sp

from verify import _api
from verify.evidence import Evidence
from verify.symbolic import from_jaxpr
from verify.symbolic.derive import derive, is_identically_zero
from verify.symbolic.functions import to_elementary

__all__ = ["FormulaProof", "prove_formula"]

#: How many values of each symbolic size (d, K) a proof covers by default, from the least.
SIZES_TRIED = 3

_QUANTITY_FUNCTIONS = {"kl": _api.kl, "entropy": _api.entropy, "cross_entropy": _api.cross_entropy}


# ----------------------------------------------------------------- reading the formula
def _size_settings(families, sizes):
    """Every combination of sizes to prove at, as dicts (one empty dict if none).

    A size not given takes three values from the least the family allows
    (``Dim.least``): MultivariateNormal d = 1, 2, 3; Categorical K = 2, 3, 4.
    """
    least = {name: dim.least for cls in families for name, dim in cls.dims.items()}
    choices = []
    for name in sorted(least):
        value = sizes.get(name, range(least[name], least[name] + SIZES_TRIED))
        choices.append(tuple(value) if isinstance(value, (tuple, list, range)) else (value,))
    return [dict(zip(sorted(least), combo)) for combo in itertools.product(*choices)]


def sizes_of(distribution) -> dict:
    """The symbolic sizes of a concrete distribution (``{"dim": 3}``), read from its parameters.

    A size is the length of the last event axis of the first parameter that
    has one (the d of a ``loc``, the K of ``probs``), or else the parameter of
    that name (a binomial's ``total_count``), one value over the batch.

    Raises:
        ValueError: a size that varies over the batch (one proof per size).

    Example:
        >>> import verify
        >>> sizes_of(verify.Categorical(probs=[0.2, 0.3, 0.5])), sizes_of(verify.Normal(0.0, 1.0))
        ({'num_classes': 3}, {})
        >>> sizes_of(verify.Binomial(5, probs=[0.2, 0.3]))
        {'total_count': 5}
    """
    cls = type(distribution)
    names = tuple(cls.dims)
    if not names:
        return {}
    params = distribution.params()
    lengths = [np.shape(v)[-1] for v, r in zip(params, cls._param_event_ranks) if r >= 1]
    if lengths:
        return {name: int(lengths[0]) for name in names}
    out = {}
    for name in names:
        values = np.unique(np.asarray(getattr(distribution, name)))
        if len(values) != 1:
            raise ValueError(f"`{name}` takes {len(values)} values over the batch, not one")
        out[name] = int(values[0])
    return out


def _symbol_array(param, rank):
    """A SymPy parameter (symbol or matrix) as an object array of its JAX shape."""
    if rank == 0:
        array = np.empty((), dtype=object)
        array[()] = param
        return array
    entries = np.array(param.tolist(), dtype=object)
    return entries.reshape(-1) if rank == 1 else entries


def build(cls, parameterisation, params):
    """A distribution of ``cls`` from parameters in ``parameterisation`` (checked if concrete)."""
    return cls.from_params(*params, parameterisation=parameterisation)


def _takes_distributions(function, families, counts):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return True
    if len(positional) == len(families):
        return True
    if len(positional) == sum(counts):
        return False
    raise TypeError(
        f"`function` must take {len(families)} distributions or their {sum(counts)} parameters, "
        f"got a function of {len(positional)} arguments"
    )


def _caller(function, families, parameterisations):
    """A function of the flat parameter arrays that calls ``function`` as the user wrote it."""
    counts = [len(cls._param_event_ranks) for cls in families]
    as_distributions = _takes_distributions(function, families, counts)

    def call(*arrays):
        if not as_distributions:
            return function(*arrays)
        dists, start = [], 0
        for cls, kind, count in zip(families, parameterisations, counts):
            dists.append(build(cls, kind, arrays[start : start + count]))
            start += count
        return function(*dists)

    return call


def read_formula(function, derivation, families):
    """The user's ``function`` as a SymPy expression in the derivation's symbols."""
    kinds = [f.parameterisation for f in derivation.families]
    symbols, examples = [], []
    for cls, family in zip(families, derivation.families):
        for param, rank in zip(family.params, cls._param_event_ranks):
            array = _symbol_array(param, rank)
            symbols.append(array)
            examples.append(np.ones(array.shape, np.float64))
    out = from_jaxpr.function_to_sympy(_caller(function, families, kinds), examples, symbols)
    if out.shape != ():
        raise ValueError(
            f"`function` must return one value for one distribution of each family, got shape "
            f"{out.shape}"
        )
    return out[()]


# ----------------------------------------------------------------- proof
def _free_extrema(expr):
    """``expr`` with each Max / Min replaced by a fresh real symbol (see the module docstring)."""
    extrema = sorted(expr.atoms(sp.Max, sp.Min), key=sp.default_sort_key)
    shifts = {e: sp.Symbol(f"shift_{i}", real=True) for i, e in enumerate(extrema)}
    return expr.xreplace(shifts)


#: The most cases a proof splits a formula into (each max, min or |.| chooses one argument).
MAX_CASES = 64


def _switch(atom):
    """(expression whose sign decides ``atom``, +1 or -1) in a canonical sign."""
    a, b = (atom.args[0], sp.S.Zero) if isinstance(atom, sp.Abs) else atom.args
    switch = sp.expand(a - b)
    return (-switch, -1) if switch.could_extract_minus_sign() else (switch, 1)


def _resolve(atom, positive):
    """``atom`` where the first argument's excess over the second is >= 0 (or < 0)."""
    if isinstance(atom, sp.Abs):
        return atom.args[0] if positive else -atom.args[0]
    larger, smaller = atom.args if positive else atom.args[::-1]
    return larger if isinstance(atom, sp.Max) else smaller


def _cases(expr):
    """``expr`` for each sign of what decides its Max, Min and Abs (None if too many).

    Each two-argument Max or Min and each Abs is decided by the sign of one
    expression; one case per sign pattern of those expressions, so the cases
    cover every parameter value and an expression zero in each case is zero.
    """
    atoms = [
        a for a in expr.atoms(sp.Max, sp.Min, sp.Abs) if isinstance(a, sp.Abs) or len(a.args) == 2
    ]
    switches = sorted({_switch(a)[0] for a in atoms}, key=sp.default_sort_key)
    if not switches or 2 ** len(switches) > MAX_CASES:
        return None
    out = []
    for signs in itertools.product((1, -1), repeat=len(switches)):
        chosen = dict(zip(switches, signs))
        resolved = {}
        for atom in atoms:
            switch, orientation = _switch(atom)
            resolved[atom] = _resolve(atom, chosen[switch] * orientation > 0)
        out.append(expr.xreplace(resolved))
    return out


def _split_logarithms(expr):
    """Logarithms of products and quotients made visible to ``expand_log``."""
    return expr.replace(
        lambda e: isinstance(e, sp.log),
        lambda e: sp.log(sp.factor_terms(sp.together(sp.expand(e.args[0])))),
    )


def _is_zero(expr, relations):
    try:
        return is_identically_zero(_split_logarithms(expr), relations)
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        return False


def _proves_zero(expr, relations):
    """True if ``expr`` is proved zero for all parameter values (see the module docstring)."""
    expr = to_elementary(expr)
    if _is_zero(_free_extrema(expr), relations):
        return True
    cases = _cases(expr)
    return cases is not None and all(_is_zero(case, relations) for case in cases)


def branches(expr):
    """``[(expression, condition), ...]`` of a piecewise expression, in order (else one)."""
    folded = sp.piecewise_fold(expr)
    if isinstance(folded, sp.Piecewise):
        return [(e, c) for e, c in folded.args]
    return [(folded, sp.true)]


# ----------------------------------------------------------------- search
@dataclasses.dataclass(frozen=True)
class _Point:
    values: dict  # symbol -> float
    arrays: tuple  # one tuple of parameter arrays per family


def _family_arrays(family, cls, values):
    arrays = []
    for param, rank in zip(family.params, cls._param_event_ranks):
        entries = _symbol_array(param, rank)
        arrays.append(
            np.vectorize(lambda e: values.get(e, float(e) if e.is_number else 0.0), otypes=[float])(
                entries
            )
        )
    return tuple(arrays)


def _random_values(cls, family, size, rng, count, parameterisation):
    """``count`` random valid parameter sets as symbol -> value dicts."""
    out = []
    own = {k: v for k, v in size.items() if k in cls.dims}
    for spread in ("wide", "moderate"):
        params = cls.random_params(rng, count, spread=spread, **own)
        params = _convert(cls, params, cls.parameterisations[0], parameterisation)
        out += [_bind(family, cls, [p[i] for p in params]) for i in range(count)]
    return out


def _convert(cls, params, given, wanted):
    if given == wanted:
        return params
    with jax.enable_x64(True):
        dist = build(cls, given, [np.asarray(p) for p in params])
        return [np.asarray(p) for p in dist.params_as(wanted)]


def _bind(family, cls, arrays):
    values = {}
    for param, rank, array in zip(family.params, cls._param_event_ranks, arrays):
        entries = _symbol_array(param, rank)
        for entry, value in zip(entries.ravel(), np.asarray(array, np.float64).ravel()):
            if isinstance(entry, sp.Symbol):
                values[entry] = float(value)
    return values


def _perturbed(family, values, rng, eps):
    """``values`` moved by relative amounts of about ``eps`` (and renormalised on a simplex)."""
    out = {}
    for symbol, value in values.items():
        if symbol.is_positive:
            out[symbol] = value * float(np.exp(eps * rng.standard_normal()))
        else:
            out[symbol] = value + eps * rng.standard_normal() * (1 + abs(value))
    return _renormalised(family, out)


def _renormalised(family, values):
    if not family.assumptions:
        return values
    symbols = sorted(values, key=str)
    total = sum(values[s] for s in symbols)
    return {s: values[s] / total for s in symbols}


_SPECIAL = [0.5, 1.0]


def _special_values(family, values, rng):
    """``values`` with one entry moved to (or next to) a special point of its domain."""
    out = []
    for symbol in values:
        for k in (1, 2, 4, 8, 12, 100, 300):
            tiny = 10.0**-k
            choices = [tiny] + [s + sign * tiny for s in _SPECIAL for sign in (-1, 1)]
            choices += [s for s in _SPECIAL] + ([10.0**k] if k < 300 else [])
            if not symbol.is_positive:
                choices += [-c for c in choices] + [0.0]
            for choice in choices:
                moved = dict(values)
                moved[symbol] = choice
                out.append(_renormalised(family, moved))
    rng.shuffle(out)
    return out


def _valid(cls, family, values):
    try:
        with jax.enable_x64(True):
            arrays = _family_arrays(family, cls, values)
            build(cls, family.parameterisation, arrays)
        return all(np.isfinite(v) for v in values.values())
    except (ValueError, TypeError):
        return False


def _candidate_points(families, symbolic, size, rng, budget):
    """Valid parameter points (symbol -> value): random, near-equal, special, adversarial."""
    kinds = [f.parameterisation for f in symbolic]
    randoms = [
        _random_values(cls, fam, size, rng, budget, kind)
        for cls, fam, kind in zip(families, symbolic, kinds)
    ]
    points = []
    if len(families) == 1:
        (fam,) = symbolic
        points += [dict(v) for v in randoms[0]]
        for base in randoms[0][:4]:
            points += [v for v in _special_values(fam, base, rng)[: budget // 2]]
    else:
        p_cls, q_cls = families
        p_fam, q_fam = symbolic
        same = p_cls is q_cls and kinds[0] == kinds[1]
        points += [{**p, **q} for p, q in zip(randoms[0], randoms[1])]
        for p in randoms[0][:8]:
            if same:
                q = _renamed(p, p_fam, q_fam)
                points.append({**p, **q})
                for k in range(1, 13):
                    points.append({**p, **_perturbed(q_fam, q, rng, 10.0**-k)})
        for p, q in zip(randoms[0][:4], randoms[1][:4]):
            for moved in _special_values(p_fam, p, rng)[: budget // 4]:
                points.append({**moved, **q})
                if same:
                    near = _perturbed(q_fam, _renamed(moved, p_fam, q_fam), rng, 1e-6)
                    points.append({**moved, **near})
            for moved in _special_values(q_fam, q, rng)[: budget // 4]:
                points.append({**p, **moved})
        if same:
            points += _adversarial_points(p_cls, p_fam, q_fam, size, rng)
    valid = []
    for point in points:
        if all(
            _valid(cls, fam, {s: point[s] for s in fam.symbols()})
            for cls, fam in zip(families, symbolic)
        ):
            valid.append(_exact(point, symbolic))
    return valid


def _exact(point, symbolic):
    """``point`` with each family's relations made exact (as in the proof, ``sum(probs) = 1``).

    A float point sums to 1 only to rounding, and 1e-16 off the simplex is a
    different (unnormalised) KL: the relation's last symbol becomes its exact
    rational solution from the others.
    """
    point = dict(point)
    for family in symbolic:
        for relation in family.assumptions:
            symbol = sorted(relation.free_symbols, key=str)[-1]
            (solution,) = sp.solve(relation, symbol)
            others = {s: sp.Rational(point[s]) for s in solution.free_symbols}
            point[symbol] = Fraction(str(solution.xreplace(others)))
    return point


def _adversarial_points(cls, p_family, q_family, size, rng):
    """The family's own adversarial pairs (near-equal, extreme), as points."""
    own = {k: v for k, v in size.items() if k in cls.dims}
    try:
        pairs = cls.adversarial_pairs(rng, **own)
    except NotImplementedError:
        return []
    kind = p_family.parameterisation
    p, q = (_convert(cls, params, cls.parameterisations[0], kind) for params in pairs)
    count = len(np.asarray(p[0]))
    return [
        {**_bind(p_family, cls, [a[i] for a in p]), **_bind(q_family, cls, [a[i] for a in q])}
        for i in range(count)
    ]


def _renamed(values, source, target):
    mapping = dict(zip(source.symbols(), target.symbols()))
    return {mapping[s]: v for s, v in values.items()}


def _measure(user_function, derived_function, point, dps):
    """(user, derived, relative difference beyond the rounding of ``dps`` digits).

    Each expression is evaluated at ``dps`` and ``2 dps`` digits; the change is
    the rounding error of the first (cancellation at P = Q leaves 1e-50 where
    the exact value is 0), and only a difference beyond ten times that counts.
    Both precisions start above the point's dynamic range (``1 - p`` at
    ``p = 1e-300`` needs 300 digits to differ from 1: below that, both
    evaluations would agree on the same wrong value).
    """
    dps += _dynamic_range(point)
    user, derived = (_evaluate(f, point, dps) for f in (user_function, derived_function))
    user_fine, derived_fine = (
        _evaluate(f, point, 2 * dps) for f in (user_function, derived_function)
    )
    if mpmath.isnan(derived) or mpmath.isnan(derived_fine):
        return user, derived, mpmath.mpf(0)  # the derived form is undefined here: no judgement
    if not all(mpmath.isfinite(v) for v in (user, derived, user_fine, derived_fine)):
        same = user == derived and user_fine == derived_fine
        return user_fine, derived_fine, mpmath.mpf(0) if same else mpmath.inf
    noise = abs(user - user_fine) + abs(derived - derived_fine)
    excess = abs(user_fine - derived_fine) - 10 * noise
    if excess <= 0:
        return user_fine, derived_fine, mpmath.mpf(0)
    scale = abs(derived_fine)
    return user_fine, derived_fine, excess / scale if scale > 10 * noise else mpmath.inf


def _dynamic_range(point):
    """Decimal digits between the largest and smallest nonzero magnitudes of ``point``, and 1.

    Example:
        >>> _dynamic_range({"p": 1e-300, "q": 0.5})
        300
    """
    exponents = [0]
    for value in point.values():
        value = abs(float(value))
        if 0 < value < math.inf:
            exponents.append(math.floor(math.log10(value)))
    return max(exponents) - min(exponents)


def _mpf(value):
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpf(value)


def _evaluate(function, point, dps):
    with mpmath.workdps(dps):
        try:
            value = function(*[_mpf(point[s]) for s in function.symbols])
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return mpmath.nan
        if isinstance(value, mpmath.mpc):
            return (
                value.real
                if abs(value.imag) <= abs(value) * mpmath.mpf(10) ** (-dps + 5)
                else mpmath.nan
            )
        return mpmath.mpf(value) if not isinstance(value, bool) else mpmath.mpf(int(value))


def _lambdify(symbols, expr):
    function = sp.lambdify(symbols, expr, modules="mpmath")
    function.symbols = symbols
    return function


def _active_branch(conditions, point, dps=30):
    for index, condition in enumerate(conditions):
        if condition is sp.true or bool(_evaluate(condition, point, dps)):
            return index
    return None


def _boundary_points(located, conditions, status, symbolic, rng, pairs=6, steps=40):
    """Points of each unproved branch close to its edge, where a series is least accurate.

    From a point inside the branch towards one outside, bisection finds the
    last point inside; the points at 1/2, 9/10, 99/100 and all of the way there
    are returned with their branch.
    """
    out = []
    for index, state in enumerate(status):
        inside = [p for p, i in located if i == index]
        outside = [p for p, i in located if i != index]
        if state != "unsettled" or not inside or not outside or conditions[index] is sp.true:
            continue
        for _ in range(pairs):
            start = inside[int(rng.integers(len(inside)))]
            end = outside[int(rng.integers(len(outside)))]

            def at(t, start=start, end=end):
                mixed = {s: (1 - t) * start[s] + t * end[s] for s in start}
                for family in symbolic:
                    own = {s: mixed[s] for s in family.symbols()}
                    mixed.update(_renormalised(family, own))
                return _exact(mixed, symbolic)

            low, high = 0.0, 1.0
            for _ in range(steps):
                middle = (low + high) / 2
                low, high = (
                    (middle, high)
                    if _active_branch(conditions, at(middle)) == index
                    else (
                        low,
                        middle,
                    )
                )
            for fraction in (0.5, 0.9, 0.99, 1.0):
                point = at(low * fraction)
                out.append((point, _active_branch(conditions, point)))
    return out


# ----------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True)
class FormulaProof:
    """The outcome of :func:`prove_formula` at one setting of the sizes.

    Attributes:
        size: the sizes (e.g. ``{"num_classes": 3}``), empty if none.
        branches: one entry per branch: ``"proved"``, ``"refuted"`` or ``"unsettled"``.
        conditions: each branch's condition, as text.
        counterexample: None, or a dict: the branch, its condition, the
            parameters, the user's and the derived value at 50 digits, their
            relative difference, and the float64 values of the user's function and of verify's.
        points: how many points the search evaluated in each branch.
    """

    size: dict
    branches: tuple
    conditions: tuple
    counterexample: dict | None
    points: tuple


class _OutOfTimeError(Exception):
    """SymPy's time at one size ran out (raised by :func:`_time_limit`)."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Raises :class:`_OutOfTimeError` inside the block once ``seconds`` have passed.

    SymPy cannot be asked to stop, and one ``simplify`` can run for hours: a
    timer signal interrupts it, once. Only in the main thread, where signals
    arrive; elsewhere (or where the signal lands in a garbage-collector
    callback, which would swallow it) unlimited.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def out_of_time(signum, frame):
        if not _swallows_exceptions(frame):  # there Python would report it as unraisable
            raise _OutOfTimeError

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        _stop_timer(previous)


def _stop_timer(previous):
    """Stops the timer and restores the handler, also if one more signal lands meanwhile."""
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            return
        except _OutOfTimeError:
            continue


def _swallows_exceptions(frame):
    """True inside a garbage-collector callback or a ``__del__``, where Python reports an
    exception as unraisable and goes on."""
    callbacks = {getattr(c, "__code__", None) for c in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _read_in_time(function, derivation, families, seconds):
    try:
        with _time_limit(seconds):
            return branches(read_formula(function, derivation, families))
    except _OutOfTimeError:
        raise from_jaxpr.UnsupportedPrimitiveError(
            f"reading the formula into SymPy took over {seconds:g} s (max_seconds): too many "
            "branches to read"
        ) from None


def _prove_branches(parts, derived, relations, seconds):
    """Each branch "proved" or "unsettled"; those not reached in ``seconds`` stay unsettled."""
    status = ["unsettled"] * len(parts)
    try:
        with _time_limit(seconds):
            for index, (expr, _) in enumerate(parts):
                if _proves_zero(expr - derived, relations):
                    status[index] = "proved"
    except _OutOfTimeError:
        pass
    return status


def _prove_at(function, quantity, families, parameterisations, size, rtol, rng, budget, seconds):
    derivation = derive(quantity, *families, parameterisations=parameterisations, **size)
    started = time.perf_counter()
    parts = _read_in_time(function, derivation, families, seconds)
    derived = to_elementary(derivation.expr)
    relations = [r for family in derivation.families for r in family.assumptions]
    left = None if seconds is None else max(seconds - (time.perf_counter() - started), 0.01)
    status = _prove_branches(parts, derived, relations, left)
    counts = [0] * len(parts)
    counterexample = None
    if "unsettled" in status:
        symbols = derivation.symbols
        conditions = [sp.true if c is sp.true else _lambdify(symbols, c) for _, c in parts]
        user_functions = [_lambdify(symbols, e) for e, _ in parts]
        derived_function = _lambdify(symbols, derived)
        worst = {}
        points = _candidate_points(families, derivation.families, size, rng, budget)
        located = [(point, _active_branch(conditions, point)) for point in points]
        located += _boundary_points(located, conditions, status, derivation.families, rng)
        for point, index in located:
            if index is None or status[index] != "unsettled":
                continue
            counts[index] += 1
            _, _, difference = _measure(user_functions[index], derived_function, point, 20)
            if difference > rtol and (index not in worst or difference > worst[index][0]):
                worst[index] = (difference, point)
        for index, (_, point) in sorted(worst.items()):
            found = _confirm(
                function, quantity, families, derivation, parts, index, point,
                user_functions[index], derived_function, rtol,
            )  # fmt: skip
            if found is not None:
                status[index] = "refuted"
                counterexample = counterexample or found
    return FormulaProof(
        dict(size), tuple(status), tuple(str(c) for _, c in parts), counterexample, tuple(counts)
    )


def _confirm(
    function, quantity, families, derivation, parts, index, point, user_fn, derived_fn, rtol
):
    """The counterexample at ``point``, re-evaluated at 50 digits, or None if it vanishes."""
    user, derived, difference = _measure(user_fn, derived_fn, point, 50)
    if not difference > rtol:
        return None
    params, arrays = {}, []
    for cls, family in zip(families, derivation.families):
        family_arrays = _family_arrays(family, cls, {s: point[s] for s in family.symbols()})
        arrays.append(family_arrays)
        for symbol in family.symbols():
            params[str(symbol)] = float(point[symbol])
    with jax.enable_x64(True):
        dists = [
            build(cls, family.parameterisation, [np.asarray(a) for a in arr])
            for cls, family, arr in zip(families, derivation.families, arrays)
        ]
        caller = _caller(function, families, [f.parameterisation for f in derivation.families])
        flat = [np.asarray(a) for arr in arrays for a in arr]
        user_float = float(np.asarray(jax.jit(caller)(*flat)))  # one compilation, not per op
        reference = float(np.asarray(_QUANTITY_FUNCTIONS[quantity](*dists)))
    if _agrees(user_float, derived, rtol):
        return None  # the reading differs, but the function itself is right at this point
    return {
        "branch": index,
        "condition": str(parts[index][1]),
        "parameters": params,
        "candidate (100 digits)": mpmath.nstr(user, 20),
        "derived (100 digits)": mpmath.nstr(derived, 20),
        "relative difference": float(difference),
        "candidate float64": user_float,
        "verify float64": reference,
    }


def _agrees(value, exact, rtol):
    """True if the float ``value`` is the mpmath ``exact`` one (the same infinity, or within rtol).

    Example:
        >>> _agrees(float("inf"), mpmath.inf, 1e-9), _agrees(1.0, mpmath.mpf(2), 1e-9)
        (True, False)
    """
    if not mpmath.isfinite(exact) or not math.isfinite(value):
        return not mpmath.isnan(exact) and value == exact
    return abs(value - exact) <= rtol * abs(exact)


# ----------------------------------------------------------------- the API
def prove_formula(
    function,
    quantity,
    *families,
    parameterisations=None,
    sizes=None,
    rtol=1e-9,
    seed=0,
    search_points=48,
    max_seconds=60.0,
) -> Evidence:
    """Proves a user's JAX formula equal to the closed form derived from the densities.

    Args:
        function: the formula, a JAX function of the distributions
            (``my_kl(p, q)``) or of their parameters in order
            (``my_kl(loc_p, scale_p, loc_q, scale_q)``), written with the
            operations :mod:`verify.symbolic.from_jaxpr` reads.
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        *families: family classes, e.g. ``verify.Normal, verify.Normal``.
        parameterisations: one per family (default: each family's first;
            ``("logits", "logits")`` for a formula reading ``p.logits``).
        sizes: sizes to prove at, e.g. ``{"num_classes": (2, 5)}`` (default
            K = 2, 3, 4 and d = 1, 2, 3).
        rtol: relative difference (exact arithmetic) above which a point of an
            unproved branch is a counterexample.
        seed: seed of the counterexample search.
        search_points: random parameter sets per family in the search.
        max_seconds: SymPy's time at each size, reading and proving (None:
            unlimited). A branch not proved by then goes to the search; a
            formula not read by then raises UnsupportedPrimitiveError.

    Returns:
        A :class:`~verify.evidence.Evidence` named ``"symbolic"``: passed (every
        branch proved at every size, kind ``"symbolic"``), failed (kind
        ``"counterexample"``, the counterexample in ``figures``), or
        inconclusive (a branch neither proved nor refuted).

    Raises:
        verify.symbolic.from_jaxpr.UnsupportedPrimitiveError: the function uses an
            operation with no SymPy translation (named in the message).
        NotImplementedError: no closed form for these families.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> def my_kl(p, q):
        ...     r = p.scale / q.scale
        ...     return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) / 2 - jnp.log(r)
        >>> verify.prove_formula(my_kl, "kl", verify.Normal, verify.Normal).verdict
        'pass'
        >>> def typo(p, q):  # 0.499 for 1/2 on the variance term
        ...     r = p.scale / q.scale
        ...     return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - jnp.log(r)
        >>> evidence = verify.prove_formula(typo, "kl", verify.Normal, verify.Normal)
        >>> evidence.verdict, evidence.kind
        ('fail', 'counterexample')
    """
    if not callable(function):
        raise TypeError(f"`function` must be callable, got {function!r}")
    start = time.perf_counter()
    families = tuple(families)
    if parameterisations is None:
        parameterisations = tuple(cls.parameterisations[0] for cls in families)
    rng = np.random.default_rng(seed)
    results = []
    for size in _size_settings(families, dict(sizes or {})):
        results.append(
            _prove_at(function, quantity, families, tuple(parameterisations), size, rtol, rng,
                      search_points, max_seconds)
        )  # fmt: skip
        if results[-1].counterexample is not None:
            break
    return _evidence(function, quantity, families, results, rtol, time.perf_counter() - start)


def _describe(size):
    return ", ".join(f"{k} = {v}" for k, v in size.items()) or "all parameters"


def _evidence(function, quantity, families, results, rtol, seconds):
    name = getattr(function, "__qualname__", repr(function))
    pair = " || ".join(cls.__name__ for cls in families)
    figures = {
        "sizes": [r.size for r in results],
        "branches": [list(r.branches) for r in results],
        "conditions": [list(r.conditions) for r in results],
        "points searched": [list(r.points) for r in results],
        "rtol": rtol,
        "seconds": seconds,
    }
    refuted = next((r for r in results if r.counterexample is not None), None)
    if refuted is not None:
        c = refuted.counterexample
        figures["counterexample"] = c
        where = "" if len(refuted.branches) == 1 else f" in branch {c['branch']} ({c['condition']})"
        statement = (
            f"{name} is not {quantity}({pair}) at {_describe(refuted.size)}: at "
            + ", ".join(f"{k}={v:.17g}" for k, v in c["parameters"].items())
            + f"{where} it is {c['candidate (100 digits)']}, the derived form "
            f"{c['derived (100 digits)']} (relative difference {c['relative difference']:.3g}, "
            f"mpmath at 50 and 100 digits; float64: candidate {c['candidate float64']!r}, verify "
            f"{c['verify float64']!r})"
        )
        return Evidence("counterexample", statement, False, name="symbolic", figures=figures)
    sizes = "; ".join(_describe(r.size) for r in results)
    if all(s == "proved" for r in results for s in r.branches):
        count = max(len(r.branches) for r in results)
        branches_text = f" (each of its {count} branches)" if count > 1 else ""
        statement = (
            f"SymPy proves {name}{branches_text} equal to {quantity}({pair}) derived from the "
            f"densities, for {sizes}"
        )
        return Evidence("symbolic", statement, True, name="symbolic", figures=figures)
    open_branches = [
        f"{_describe(r.size)} branch {i} ({r.conditions[i]}, {r.points[i]} points)"
        for r in results
        for i, s in enumerate(r.branches)
        if s != "proved"
    ]
    statement = (
        f"not proved: SymPy cannot show {name} equal to the derived {quantity}({pair}) in "
        + "; ".join(open_branches)
        + f", and no point of the search differs by more than rtol {rtol:g} there"
    )
    return Evidence("symbolic", statement, None, name="symbolic", figures=figures)


# ----------------------------------------------------------------- as a proof
def formula_proof(function, quantity, *families, batch=8, **options):
    """A :class:`verify.proving.Proof` that ``function`` computes ``quantity``.

    Its claim expects *proved*. The proof step is :func:`prove_formula` (a
    counterexample refutes the claim); the cross-check runs
    :func:`verify.checks.check` (closed form, gradients, Monte Carlo) on
    ``batch`` random distributions of each family drawn from the run's seed.
    ``verify check --formula`` runs it and reports it like ``verify prove``.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> def my_entropy(p):
        ...     return jnp.log(p.scale) + 0.5 * jnp.log(2 * jnp.pi * jnp.e)
        >>> proof = formula_proof(my_entropy, "entropy", verify.Normal, monte_carlo=False)
        >>> str(proof.run(seed=0).verdict)
        'proved'
    """
    from verify.checks import check
    from verify.proving import Claim, Proof, Verdict

    name = getattr(function, "__qualname__", repr(function))
    pair = " || ".join(cls.__name__ for cls in families)
    claim = Claim(
        name,
        f"{quantity}({pair})",
        f"{name} equals the {quantity} of {pair} derived from the densities, for all parameters",
        Verdict.PROVED,
    )
    proof = Proof(claim)
    sizes = options.pop("sizes", None)
    kinds = options.pop("parameterisations", None)

    @proof.step(f"SymPy reads {name} from its jaxpr and compares it with the derivation")
    def symbolic(ctx):
        """Each branch proved equal to the derived form, or a counterexample in mpmath."""
        evidence = prove_formula(
            function, quantity, *families, parameterisations=kinds, sizes=sizes, seed=ctx.seed
        )
        if evidence.kind == "counterexample":  # a confirmed counterexample to the claim
            return dataclasses.replace(evidence, passed=True, refutes=True)
        return evidence

    @proof.step("closed form, gradients and Monte Carlo on random distributions", "cross-check")
    def numeric(ctx):
        """verify's evidence on a user's formula (verify.check_kl and siblings)."""
        from verify.testing import _distributions

        dists = _distributions(families, batch, ctx.seed, {})
        report = check(quantity, function, *dists, key=ctx.key("check"), symbolic=False, **options)
        return list(report.evidence)

    return proof

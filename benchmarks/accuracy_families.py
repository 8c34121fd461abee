"""Accuracy of every registered family's closed forms against mpmath, side by side with peers.

Usage::

    python benchmarks/accuracy_families.py [--points 100] [--families gamma beta ...]
        [--output benchmarks/results/accuracy_families.md]

For each registered closed form (each family's first parameterisation), in
float64 and float32, two regions of parameters come from the family itself:
``random`` (``random_params(spread="wide")``, spread over the parameter space)
and ``adversarial`` (``adversarial_pairs``: near-equal pairs with relative
differences 1e-3 ... 1e-12, and extreme parameters; in float32 only the points whose
parameters are float32 numbers the family accepts). The reference is the exact
value for the given floating-point inputs: the inputs converted exactly to
mpmath numbers and the closed form SymPy derived from the densities evaluated
with 50 significant digits (an infinite series, as in a Poisson entropy, summed
term by term where its window has at most ``SERIES_TERMS`` terms; a row says how
many of its points have a reference where not all do). Cells: median / max
relative error ``|computed - exact| / |exact|`` (absolute error where the exact
value is 0; ``inf``: an infinite result where the exact value is finite; ``k NaN``: k points
where the form declined, a NaN, for which ``verify.kl`` raises; an
exact value below the normal range is met by any result below it, which XLA on
CPU flushes to 0). Peers (torch.distributions, TFP on JAX) take the same
parameters by their torch/TFP names, where they have
the pair; ``—``: no such form (or peer not installed).
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import platform
import sys
from pathlib import Path

import jax
import mpmath as mp
import numpy as np
from sympy import Dummy, Sum, oo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
jax.config.update("jax_enable_x64", True)

import verify  # noqa: E402
from verify import formulas  # noqa: E402
from verify.proving.facts import to_mpmath  # noqa: E402

DIGITS = 50
SERIES_TERMS = 50000  # the widest window of a series summed term by term
DTYPES = ("float64", "float32")
FIRST_FOUR = {"normal", "multivariatenormal", "bernoulli", "categorical"}


# --------------------------------------------------------------- parameters
def parameter_names(cls):
    """The constructor's names of the parameters ``from_params`` takes (torch/TFP names)."""
    names = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    return names[: len(cls._param_event_ranks)]


def regions(form, points, rng):
    """``{region: [params of each distribution]}`` from the families' own draws."""
    dims = [{n: d.default for n, d in cls.dims.items()} for cls in form.families]
    random = [cls.random_params(rng, points, **d) for cls, d in zip(form.families, dims)]
    out = {"random": random}
    if len(set(form.families)) == 1:
        p, q = form.families[0].adversarial_pairs(rng, **dims[0])
        out["adversarial"] = [p, q][: len(form.families)]
    return out


def representable(params, dtype):
    """The points (leading axis) whose every parameter is a finite normal number in ``dtype``
    or 0: a float64 extreme (1e-300, 1e300) is no float32 parameter."""
    tiny, huge = np.finfo(dtype).tiny, np.finfo(dtype).max
    keep = None
    for x in params:
        x = np.abs(np.asarray(x, np.float64))
        ok = (x == 0) | ((x >= tiny) & (x <= huge))
        ok = ok.reshape(len(ok), -1).all(axis=1)
        keep = ok if keep is None else keep & ok
    return keep


def accepted(family, params, dtype):
    """The points (leading axis) whose parameters, rounded to ``dtype``, the family accepts:
    a probability of ``1 - 2**-53`` is 1 in float32, outside the ContinuousBernoulli's domain
    (a float64 extreme, which rounds to inf, is refused too)."""
    ok = []
    for i in range(len(params[0])):
        try:
            with np.errstate(over="ignore"):
                point = [np.asarray(x[i], dtype) for x in params]
            family.from_params(*point)
            ok.append(True)
        except ValueError:
            ok.append(False)
    return np.array(ok)


def cast(params, dtype):
    """Parameters in ``dtype``, and the float64 values the cast stands for exactly."""
    cast_params = [np.asarray(x, dtype) for x in params]
    return cast_params, [np.asarray(x, np.float64) for x in cast_params]


# ---------------------------------------------------------------- reference
def exact(form, params64):
    """The derived closed form in mpmath, at the exact values of the inputs, per point."""
    dims = {n: d.default for cls in form.families for n, d in cls.dims.items()}
    derivation = verify.derive(form.quantity, *form.families, **dims)
    function = mpmath_function(derivation.expr, derivation.symbols)
    n = len(params64[0][0])
    out = np.empty(n)
    for i in range(n):
        values = {}
        for family, params in zip(derivation.families, params64):
            flat = [np.asarray(x[i]).ravel() for x in params]
            for entry, (j, k) in family._entries():
                if entry.is_Symbol:
                    values[entry] = float(flat[j][k])
        out[i] = converged(function, [values[s] for s in derivation.symbols])
    return out


def mpmath_function(expr, symbols):
    """:func:`to_mpmath`, with each infinite series ``Sum(term, (k, a, oo))`` summed by
    :func:`series` at the point (a Poisson entropy's ``E[log k!]``)."""
    sums = sorted(expr.atoms(Sum), key=str)
    if not sums:
        return to_mpmath(expr, symbols)
    values = [Dummy() for _ in sums]
    outer = to_mpmath(expr.xreplace(dict(zip(sums, values))), [*symbols, *values])
    series_terms = []
    for s in sums:
        ((k, lower, upper),) = s.limits
        if upper != oo or not lower.is_Integer:
            raise NotImplementedError(f"a sum other than from an integer to oo: {s}")
        used = [i for i, x in enumerate(symbols) if x in s.function.free_symbols]
        series_terms.append((to_mpmath(s.function, [k, *symbols]), int(lower), used))

    def function(*args):
        sums = []
        for term, lower, used in series_terms:
            # at the precision its own arguments need (the textbook form's others may need
            # hundreds of digits more, which a window of terms would pay for each term)
            with mp.workdps(min(mp.mp.dps, precision([float(args[i]) for i in used]))):
                sums.append(series(lambda k, t=term: t(k, *args), lower))
        return outer(*args, *sums)

    return function


def series(term, lower):
    """``sum(term(k) for k >= lower)`` at the working precision, for a term whose log
    magnitude rises to one peak and then falls (an expectation under a unimodal pmf).

    The peak is found over the reals (doubling, then golden section), then the window
    around it outside which the terms are below ``10^-(dps + 17)`` of the peak; its
    integers are summed one by one. A window of more than ``SERIES_TERMS`` integers (a
    Poisson rate above about 1e6), or a peak beyond ``SERIES_TERMS**2`` (there a Poisson
    term's window would be wider), raises ``NotImplementedError``: no reference there.
    """

    def size(x):  # log |term(x)|; -inf at a zero (log 0! = log 1! = 0)
        t = term(x)
        return mp.log(abs(t)) if t else -mp.inf

    x = mp.mpf(lower + 2)
    while size(2 * x) >= size(x):
        x *= 2
        if x > SERIES_TERMS**2:
            raise NotImplementedError(f"a series whose terms peak beyond {SERIES_TERMS**2}")
    a, b = x / 2, 2 * x  # the peak, by log-concavity
    golden = (mp.sqrt(5) - 1) / 2
    while b - a > 1:
        c, d = b - golden * (b - a), a + golden * (b - a)
        a, b = (a, d) if size(c) >= size(d) else (c, b)
    peak = (a + b) / 2
    cut = size(peak) - (mp.mp.dps + 17) * mp.log(10)
    left, right = peak, peak
    while size(left) > cut and left > lower:
        left = peak - 2 * (peak - left) - 1
    while size(right) > cut:
        right = peak + 2 * (right - peak) + 1
    if right - left > SERIES_TERMS:
        raise NotImplementedError(f"a series of {int(right - left)} terms")
    first = max(lower, int(mp.ceil(left)))
    return mp.fsum(term(k) for k in range(first, int(mp.floor(right)) + 1))


def precision(args):
    """Significant digits for the derived form at ``args``: ``DIGITS`` and 10 more, and two
    for each decade of the largest or smallest argument (see :func:`converged`)."""
    decades = max((abs(np.log10(abs(a))) for a in args if a != 0 and np.isfinite(a)), default=0)
    return DIGITS + 10 + 2 * int(decades)


def converged(function, args):
    """``function(*args)`` to ``DIGITS`` correct digits.

    The derived (textbook) form cancels: ``1 - p`` needs as many digits as ``p``
    has decades, ``loc**2`` twice as many; so the precision starts there and
    doubles until two evaluations agree.
    """
    start = precision(args)
    previous = None
    for dps in (start, 2 * start, 4 * start, 8 * start):
        with mp.workdps(dps):
            try:
                value = function(*(mp.mpf(a) for a in args))
            except (ValueError, ZeroDivisionError, OverflowError, NotImplementedError):
                return np.nan  # outside the form's domain, or beyond the reference
            if isinstance(value, mp.mpc):  # log of a negative, in terms whose i pi cancel
                if abs(value.imag) > abs(value) * mp.mpf(10) ** -DIGITS:
                    return np.nan
                value = value.real
            if previous is not None and abs(value - previous) <= abs(value) * mp.mpf(10) ** -DIGITS:
                return float(value)
            previous = value
    return float(previous)


def relative_errors(values, reference, dtype="float64"):
    """``|values - reference| / |reference|``; a reference below the normal range of ``dtype``
    counts as met by any value below it too (XLA on CPU flushes subnormal results to 0)."""
    values = np.asarray(values, np.float64)
    tiny = np.finfo(dtype).tiny
    flushed = (np.abs(reference) < tiny) & (np.abs(values) < tiny)
    values = np.where(flushed, reference, values)
    finite = np.isfinite(reference)
    err = np.full(values.shape, np.nan)
    same = (values == reference) | (np.isnan(values) & np.isnan(reference))
    scale = np.where(reference == 0, 1.0, np.abs(reference))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(finite, np.abs(values - reference) / scale, np.where(same, 0.0, np.inf))
    err = np.where(finite & np.isinf(values), np.inf, err)
    err = np.where(finite & np.isnan(values), np.nan, err)  # declined (verify.kl raises)
    return err[~np.isnan(reference)]


# -------------------------------------------------------------- implementations
def run_verify(form, params, dtype):
    """Jitted, so that a point the form declines is a NaN rather than an error for the batch."""
    del dtype
    function = getattr(verify, form.quantity)

    def run(*params):
        return function(*(cls.from_params(*p) for cls, p in zip(form.families, params)))

    return np.asarray(jax.jit(run)(*params), np.float64)


def run_torch(form, params, dtype):
    import torch
    import torch.distributions as td

    if form.quantity == "cross_entropy":
        return None
    dists = []
    for cls, p in zip(form.families, params):
        peer = getattr(td, cls.__name__, None)
        if peer is None:
            return None
        kwargs = {n: torch.from_numpy(np.asarray(x)) for n, x in zip(parameter_names(cls), p)}
        dists.append(peer(**kwargs, validate_args=False))
    try:
        value = td.kl_divergence(*dists) if form.quantity == "kl" else dists[0].entropy()
    except NotImplementedError:
        return None
    return value.double().numpy()


def run_tfp(form, params, dtype):
    from tensorflow_probability.substrates import jax as tfp

    tfd = tfp.distributions
    dists = []
    for cls, p in zip(form.families, params):
        peer = getattr(tfd, cls.__name__, None)
        if peer is None:
            return None
        kwargs = {n: np.asarray(x) for n, x in zip(parameter_names(cls), p)}
        dists.append(peer(**kwargs))
    try:
        if form.quantity == "kl":
            value = tfd.kl_divergence(*dists)
        elif form.quantity == "entropy":
            value = dists[0].entropy()
        else:
            value = dists[0].cross_entropy(dists[1])
    except NotImplementedError:
        return None
    return np.asarray(value, np.float64)


IMPLEMENTATIONS = {"verify": run_verify, "torch": run_torch, "TFP-JAX": run_tfp}


def available():
    out = {"verify": run_verify}
    for name, module in (("torch", "torch"), ("TFP-JAX", "tensorflow_probability")):
        try:
            __import__(module)
            out[name] = IMPLEMENTATIONS[name]
        except ImportError:
            print(f"note: {name} not installed, skipped", file=sys.stderr)
    return out


# --------------------------------------------------------------------- table
def _fmt(errors):
    if errors is None or errors.size == 0:
        return "—"
    declined = np.isnan(errors)
    errors = errors[~declined]
    cell = f"{np.median(errors):.0e} / {np.max(errors):.0e}" if errors.size else ""
    count = np.count_nonzero(declined)
    return "; ".join(filter(None, [cell, f"{count} NaN" if count else ""]))


def rows(families, points, seed):
    implementations = available()
    for form in formulas.registered():
        if any(f.parameterisations[0] != k for f, k in zip(form.families, form.parameterisations)):
            continue
        names = [f.__name__.lower() for f in form.families]
        if not set(names) & set(families):
            continue
        rng = np.random.default_rng(seed)
        for region, params in regions(form, points, rng).items():
            for dtype in DTYPES:
                keep = np.all(
                    [
                        representable(p, dtype) & accepted(f, p, dtype)
                        for f, p in zip(form.families, params)
                    ],
                    axis=0,
                )
                kept = [[np.asarray(x)[keep] for x in p] for p in params]
                cast_params, params64 = zip(*(cast(p, dtype) for p in kept))
                reference = exact(form, params64)
                label = f"{' ‖ '.join(f.__name__ for f in form.families)} {form.quantity}"
                cells = []
                for run in implementations.values():
                    try:
                        values = run(form, cast_params, dtype)
                    except Exception as error:  # a peer's failure is a result, not a crash
                        print(f"note: {run.__name__} {form.quantity}: {error!r}", file=sys.stderr)
                        values = None
                    cells.append(
                        None if values is None else relative_errors(values, reference, dtype)
                    )
                where = f"{dtype}, {region}"
                if np.isnan(reference).any():  # outside the domain, or beyond the reference
                    where += (
                        f"; {np.count_nonzero(~np.isnan(reference))} of {reference.size} points"
                    )
                yield [f"{label} ({where})", *(_fmt(c) for c in cells)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100, help="random points per region")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--families",
        nargs="*",
        default=sorted(set(verify.FAMILIES) - FIRST_FOUR),
        help="families (registry names) whose forms to measure; default: all but the first four",
    )
    parser.add_argument("--output", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args(argv)
    columns = list(available())
    lines = [
        f"Generated by `python benchmarks/accuracy_families.py --points {args.points}` on "
        f"{datetime.date.today()} ({platform.machine()}); jax {jax.__version__}.",
        "",
        "| form (dtype, region) | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in rows(args.families, args.points, args.seed):
        line = "| " + " | ".join(row) + " |"
        print(line, flush=True)
        lines.append(line)
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

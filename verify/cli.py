"""The ``verify`` command: prove the claims, print derived closed forms, check by sampling.

Usage::

    verify prove [CLAIM ...] [--json | --markdown] [--junit FILE] [--seed N] [--file PROOF.py]
    verify kl FAMILY FAMILY [--latex | --python] [--dim D] [--num-classes K]
    verify entropy FAMILY [...]
    verify cross-entropy FAMILY FAMILY [...]
    verify check {kl,entropy,cross-entropy} "Normal(0, 1)" ["Normal(1, 2)"] [--samples 1e7]
    verify list
    verify [--help | --version]          (``verify`` alone prints the help)

Exit codes:
    0: every verdict as expected (``prove``); the sampling agrees (``check``); success.
    1: a verdict differs from the expected one or a proof failed (``prove``); the
       sampling disagrees or is inconclusive (``check``).
    2: usage error (unknown claim, family or flag; a value out of range; a malformed
       distribution or proof file; output that cannot be written). One line on
       stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import math
import os
import re
import sys

__all__ = ["main", "parse_distribution", "UsageError"]

EXIT_OK, EXIT_DIFFERS, EXIT_USAGE = 0, 1, 2

_QUANTITIES = {
    "kl": "kl",
    "entropy": "entropy",
    "cross-entropy": "cross_entropy",
    "cross_entropy": "cross_entropy",
}


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


# ----------------------------------------------------------------- parsing
def family_class(name: str):
    """A family class from a case-insensitive name (``normal``, ``MVN``, ``multivariate-normal``).

    Example:
        >>> family_class("BERNOULLI").__name__, family_class("mvn").__name__
        ('Bernoulli', 'MultivariateNormal')
    """
    from verify.families import FAMILIES, by_name

    try:
        return by_name(name.lower().replace("-", "").replace("_", ""))
    except KeyError:
        known = ", ".join(c.__name__ for c in FAMILIES.values())
        raise UsageError(f"unknown family {name!r}; choose from {known}") from None


def parse_distribution(spec: str):
    """A distribution from text like ``"Normal(0, 1)"`` or ``"Bernoulli(probs=0.3)"``.

    Only a call of a family name with literal numbers (or lists of numbers) as
    arguments is accepted; nothing is evaluated as code.

    Raises:
        UsageError: anything else, or parameters the family rejects.

    Example:
        >>> parse_distribution("Categorical(probs=[0.2, 0.8])")
        Categorical(probs=[0.2..., 0.8...])
        >>> parse_distribution("__import__('os')")
        Traceback (most recent call last):
        ...
        verify.cli.UsageError: unknown family '__import__'; choose from ...
    """
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError:
        raise UsageError(f"cannot parse distribution {spec!r}; write e.g. 'Normal(0, 1)'") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise UsageError(
            f"distribution {spec!r} must look like Family(arguments), e.g. 'Normal(0, 1)'"
        )
    cls = family_class(call.func.id)
    names = [k.arg for k in call.keywords]
    if None in names:
        raise UsageError(f"arguments of {spec!r} must be numbers or lists of numbers")
    allowed = parameter_names(cls)
    for name in names:
        if name not in allowed:
            raise UsageError(
                f"{spec}: {cls.__name__} has no parameter `{name}`; its parameters are "
                + ", ".join(allowed)
            )
        if names.count(name) > 1:
            raise UsageError(f"{spec}: `{name}` given twice")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise UsageError(f"arguments of {spec!r} must be numbers or lists of numbers") from None
    for value in [*args, *kwargs.values()]:
        if not _is_numeric(value):
            raise UsageError(
                f"arguments of {spec!r} must be numbers or rectangular lists of numbers"
            )
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError, OverflowError) as error:
        raise UsageError(f"{spec}: {error}") from None


def parameter_names(cls) -> list[str]:
    """The parameters a family takes from the command line, in order.

    Example:
        >>> parameter_names(family_class("mvn"))
        ['loc', 'covariance_matrix', 'scale_tril']
    """
    return [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


def family_signature(cls) -> str:
    """How to write a family: required parameters, then alternatives joined by ``|``.

    Example:
        >>> family_signature(family_class("mvn"))
        'MultivariateNormal(loc, covariance_matrix | scale_tril)'
    """
    required, either = [], []
    for name in parameter_names(cls):
        default = inspect.signature(cls).parameters[name].default
        (required if default is inspect.Parameter.empty else either).append(name)
    return f"{cls.__name__}({', '.join(required + ([' | '.join(either)] if either else []))})"


def _is_numeric(value):
    """A number, or a non-empty rectangular (not ragged) nest of lists of numbers."""
    return _shape(value) is not None


def _shape(value):
    """The shape of a number or rectangular nest of lists; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return ()
    if not isinstance(value, (list, tuple)) or not value:
        return None
    shapes = {_shape(v) for v in value}
    if len(shapes) != 1 or None in shapes:
        return None
    return (len(value), *shapes.pop())


MAX_SAMPLES = 10**12


def _sample_count(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value == int(value) and 2 <= value <= MAX_SAMPLES):
        raise argparse.ArgumentTypeError(
            f"expected a whole number of samples from 2 to 1e12 (e.g. 1e7), got {text!r}"
        )
    return int(value)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


#: The Monte Carlo engine's argument names, as the flags of `verify check` say them.
_FLAG_NAMES = {"`num_samples`": "--samples", "`max_seconds`": "--max-seconds"}


def _in_flag_names(message):
    for name, flag in _FLAG_NAMES.items():
        message = message.replace(name, flag)
    return message


def _seed(text):
    from verify.proving import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text!r}")
    return value


def _families_help() -> str:
    from verify.families import FAMILIES

    lines = [f"  {family_signature(cls)}" for cls in FAMILIES.values()]
    return "families (case-insensitive; MVN for MultivariateNormal):\n" + "\n".join(lines)


_EXIT_CODES = """Exit codes:
  0  every verdict as expected (prove); the sampling agrees (check); success
  1  a verdict differs or a proof failed (prove); disagree or inconclusive (check)
  2  a usage error: one line on stderr"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``verify`` command (help texts included)."""
    from verify import __version__
    from verify.proving import MAX_SEED

    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="verify",
        description="Derived, proved and Monte Carlo-checked KL divergence, entropy and "
        "cross-entropy.",
        epilog=_EXIT_CODES,
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    seed_help = f"seed of every random draw, an integer from 0 to {MAX_SEED} (default 0)"

    prove = sub.add_parser(
        "prove",
        help="run the proofs of the claims C1-C13",
        description="Run the proofs of the source note's claims and print their transcripts.",
        epilog="A proof file is a Python file defining `proof`, a verify.proving.Proof "
        "(see the README).\n\n" + _EXIT_CODES,
        formatter_class=raw,
    )
    prove.add_argument(
        "claims", nargs="*", metavar="CLAIM", help="C1 to C13, any case (default: all)"
    )
    fmt = prove.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the JSON report")
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown summary")
    prove.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    prove.add_argument("--seed", type=_seed, default=0, help=seed_help)
    prove.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PROOF.py",
        help="also run the proof defined in this file (repeatable); alone, only the files' "
        "proofs run",
    )
    prove.add_argument(
        "--colour",
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text transcript (auto: on a terminal)",
    )

    for name, arity in (("kl", 2), ("entropy", 1), ("cross-entropy", 2)):
        p = sub.add_parser(
            name,
            help=f"print the derived closed form of {name}",
            description=f"Print the closed form of {name} that SymPy derives from the "
            "densities, and whether it is proved equal to the formula verify runs.",
            epilog=_families_help(),
            formatter_class=raw,
        )
        p.add_argument("families", nargs=arity, metavar="FAMILY", help="a family name")
        out = p.add_mutually_exclusive_group()
        out.add_argument("--latex", action="store_true", help="print LaTeX")
        out.add_argument(
            "--python", action="store_true", help="print the derived JAX function, imports included"
        )
        for name, owners in _sizes().items():
            ranges = (f"{c}: {d.least} to {d.most} (default {d.default})" for c, d in owners)
            p.add_argument(f"--{name.replace('_', '-')}", type=int, help="; ".join(ranges))
        p.add_argument(
            "--logits",
            action="store_true",
            help=f"{' / '.join(_with_logits())} given by logits: the logits form",
        )

    check = sub.add_parser(
        "check",
        help="compare a closed form with a Monte Carlo estimate",
        description="Evaluate verify's closed form for the given distributions, estimate the "
        "same quantity by sampling, and decide agree / disagree / inconclusive.",
        epilog=_families_help()
        + '\n  e.g. "Normal(0, 1)", "Bernoulli(probs=0.3)", "MVN([0, 0], scale_tril=[[1, 0], '
        '[0, 2]])"\n\n' + _EXIT_CODES,
        formatter_class=raw,
    )
    check.add_argument(
        "quantity",
        choices=("kl", "entropy", "cross-entropy"),
        metavar="QUANTITY",
        help="kl or cross-entropy (two distributions), entropy (one)",
    )
    check.add_argument(
        "distributions",
        nargs="+",
        metavar="DISTRIBUTION",
        help='a family call with literal numbers, e.g. "Normal(0, 1)"',
    )
    check.add_argument(
        "--samples",
        type=_sample_count,
        default=None,
        help="number of samples from 2 to 1e12, e.g. 1e7 (default: the engine's choice, a "
        "count sized for about 1 s of sampling; the count used is printed)",
    )
    check.add_argument("--seed", type=_seed, default=0, help=seed_help)
    check.add_argument(
        "--max-seconds",
        type=_seconds,
        default=None,
        help="refuse a run whose planned sampling time is longer (default 600; 'inf' for none); "
        "Ctrl-C stops a run between blocks and reports the samples drawn so far",
    )
    check.add_argument(
        "--alpha",
        type=_probability,
        default=1e-6,
        help="false-alarm probability of a 'disagree' (default 1e-6)",
    )
    check.add_argument(
        "--formula",
        metavar="PATH.py:FUNCTION",
        help="check your own formula, FUNCTION(p, q) (or (p) for entropy) in the file PATH.py, "
        "written with jax.numpy: proved or refuted symbolically against the derived closed "
        "form, and compared with it and with Monte Carlo on random distributions; the "
        "DISTRIBUTIONs are then family names (e.g. normal normal); reported like verify prove",
    )
    formats = check.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="with --formula: the JSON report")
    formats.add_argument(
        "--markdown", action="store_true", help="with --formula: a Markdown summary"
    )
    check.add_argument("--junit", metavar="FILE", help="with --formula: also write JUnit XML")
    check.add_argument(
        "--colour",
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="with --formula: colour the text transcript (auto: on a terminal)",
    )

    sub.add_parser(
        "list",
        help="list the families, the closed forms and the claims",
        description="List the families, the closed forms and the claims.",
    )
    return parser


# ----------------------------------------------------------------- commands
def _prove(args, out) -> int:
    from verify import proofs

    try:
        ids = [proofs.normalise_id(c) for c in args.claims] or list(proofs.CLAIM_IDS)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    ids = list(dict.fromkeys(ids))
    selected = [] if (args.file and not args.claims) else [proofs.load(i) for i in ids]
    for path in args.file:
        try:
            selected.append(proofs.load_file(path))
        except proofs.ProofFileError as error:
            raise UsageError(str(error)) from None
    finish = proofs.compile_ahead([p.claim.id for p in selected if p.claim.id in ids])
    try:
        return _run_and_report(selected, args, out)
    finally:
        finish()


def _run_and_report(selected, args, out) -> int:
    """Runs proofs and prints their report as ``args`` asks (text, JSON, Markdown, JUnit)."""
    from verify import report
    from verify.proving import run_proofs

    junit = None
    if args.junit is not None:  # open it now, so that a bad path fails before the proofs run
        try:
            junit = open(args.junit, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            raise UsageError(f"cannot write {args.junit!r}: {error.strerror}") from None
    streaming = not (args.json or args.markdown)
    colour = args.colour == "always" or (args.colour == "auto" and out.isatty())

    def show(result):
        if streaming:
            print(report.text([result], colour=colour, legend=False), file=out, flush=True)

    if streaming:
        print(report.legend() + "\n", file=out, flush=True)

    try:
        results = run_proofs(selected, seed=args.seed, on_result=show)
    finally:
        if junit is not None and sys.exc_info()[0] is not None:
            junit.close()
    if junit is not None:
        try:
            with junit:
                junit.write(report.to_junit(results))
        except OSError as error:
            raise UsageError(f"cannot write {args.junit!r}: {error.strerror}") from None
    if args.json:
        print(report.to_json(results), file=out)
    elif args.markdown:
        print(report.to_markdown(results), file=out)
    elif len(results) > 1:
        print(report.summary_table(results, colour=colour), file=out)
    return EXIT_OK if all(r.as_expected for r in results) else EXIT_DIFFERS


def _closed_form(args, out) -> int:
    import sympy as sp

    import verify

    quantity = _QUANTITIES[args.command]
    classes = [family_class(name) for name in args.families]
    dims = {}
    for cls in classes:
        for name, dim in cls.dims.items():
            value = getattr(args, name)
            if value is not None and not dim.least <= value <= dim.most:
                option = f"--{name.replace('_', '-')}"
                raise UsageError(
                    f"{option} must be between {dim.least} and {dim.most}, got {value}"
                )
            dims[name] = dim.default if value is None else value
    if args.logits:
        if any("logits" not in c.parameterisations for c in classes):
            raise UsageError(f"--logits applies to {', '.join(_with_logits())} only")
        dims["parameterisations"] = ("logits",) * len(classes)
    try:
        derivation = verify.derive(quantity, *classes, **dims)
    except NotImplementedError as error:
        raise UsageError(str(error)) from None
    if args.latex:
        print(derivation.latex, file=out)
    elif args.python:
        try:
            source = derivation.jax_function.__source__
        except NotImplementedError as error:  # e.g. an infinite sum of log-factorials
            raise UsageError(
                f"--python: the derived form has no JAX translation ({error}); "
                f"verify.{quantity} evaluates it, by the formula proved equal to it"
            ) from None
        print(_imports(source) + "\n\n\n" + source, file=out, end="")
    else:
        names = (
            " ‖ ".join(c.__name__ for c in classes) if len(classes) == 2 else classes[0].__name__
        )
        label = {"kl": "KL divergence", "entropy": "Entropy", "cross_entropy": "Cross-entropy"}[
            quantity
        ]
        print(f"{label} of {names}, in nats", file=out)
        print(f"derived by SymPy: {derivation.route}", file=out)
        print("arguments: " + ", ".join(str(s) for s in derivation.symbols), file=out)
        print("", file=out)
        print(sp.pretty(derivation.expr, use_unicode=True, wrap_line=False), file=out)
        print("", file=out)
        proved = derivation.proves_evaluation_form()
        print(
            f"proved equal to the formula verify.{quantity} runs: {'yes' if proved else 'NO'}",
            file=out,
        )
    return EXIT_OK


def _imports(source: str) -> str:
    """The import lines that make generated JAX source run on its own.

    Example:
        >>> print(_imports("return log(x) + xlogy(x, x) + pi"))
        from jax.numpy import log, pi
        from jax.scipy.special import xlogy
    """
    from verify.symbolic.jaxify import JAX_FUNCTIONS

    modules = {}
    for name in sorted(set(re.findall(r"[A-Za-z_]\w*", source)) & set(JAX_FUNCTIONS)):
        function = JAX_FUNCTIONS[name]
        if callable(function):
            module = function.__module__.replace("jax._src.scipy.special", "jax.scipy.special")
            imported = function.__name__
        else:  # a constant: pi, E
            module, imported = "jax.numpy", {"E": "e"}.get(name, name)
        alias = imported if imported == name else f"{imported} as {name}"
        modules.setdefault(module, []).append(alias)
    return "\n".join(f"from {m} import {', '.join(names)}" for m, names in sorted(modules.items()))


def _number(value) -> str:
    """A float for people: 15 significant digits, no ``np.float64(...)``, no ``-0``."""
    return f"{float(value) + 0.0:.15g}"


def _check(args, out) -> int:
    import jax

    import verify

    quantity = _QUANTITIES[args.quantity]
    arity = 1 if quantity == "entropy" else 2
    if len(args.distributions) != arity:
        raise UsageError(
            f"{args.quantity} takes {arity} distribution(s), got {len(args.distributions)}"
        )
    if args.formula is not None:
        return _check_formula(args, quantity, out)
    for flag, given in (("--json", args.json), ("--markdown", args.markdown),
                        ("--junit", args.junit is not None)):  # fmt: skip
        if given:
            raise UsageError(f"{flag} goes with --formula (the check of your own formula)")
    with jax.enable_x64(True):
        dists = [parse_distribution(spec) for spec in args.distributions]
        function = {
            "kl": verify.kl,
            "entropy": verify.entropy,
            "cross_entropy": verify.cross_entropy,
        }[quantity]
        try:
            closed = function(*dists)
        except (ValueError, NotImplementedError, TypeError) as error:
            raise UsageError(str(error)) from None
        if jax.numpy.ndim(closed) != 0:
            raise UsageError("check takes single distributions, not batches")
        from verify import montecarlo

        budget = {} if args.max_seconds is None else {"max_seconds": args.max_seconds}
        try:
            decision = montecarlo.compare(
                quantity,
                closed,
                *dists,
                key=jax.random.key(args.seed),
                num_samples=args.samples,
                alpha=args.alpha,
                **budget,
            )
        except (ValueError, TypeError) as error:
            raise UsageError(_in_flag_names(str(error))) from None
    names = " ‖ ".join(repr(d) for d in dists)
    estimate = decision.estimate
    low, high = (_number(v) for v in decision.interval)
    print(f"{args.quantity}({names})", file=out)
    print(f"  closed form : {_number(closed)} nats", file=out)
    print(
        f"  estimate    : {_number(estimate.value)} ± {float(estimate.stderr):.3g} "
        f"(standard error, {int(estimate.num_samples)} samples)",
        file=out,
    )
    print(f"  interval    : [{low}, {high}] (false-alarm rate {decision.alpha:g})", file=out)
    if getattr(decision, "detectable", None) is not None:
        detectable = float(decision.detectable)
        print(
            "  detectable  : "
            + (
                f"errors larger than {detectable:.3g}"
                if math.isfinite(detectable)
                else "none: the standard error cannot be trusted (see the reason)"
            ),
            file=out,
        )
    print(f"  decision    : {decision.verdict}", file=out)
    if getattr(decision, "reason", None):
        print(f"  reason      : {decision.reason}", file=out)
    return EXIT_OK if decision.verdict == "agree" else EXIT_DIFFERS


def _load_formula(spec):
    """The function named by ``PATH.py:FUNCTION`` (a usage error if there is none)."""
    import importlib.util

    path, colon, name = spec.rpartition(":")
    if not colon or not path or not name:
        raise UsageError(f"--formula must be PATH.py:FUNCTION, got {spec!r}")
    if not os.path.isfile(path):
        raise UsageError(f"--formula: no file {path!r}")
    module_name = "_verify_formula_" + re.sub(r"\W", "_", os.path.abspath(path))
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None:
        raise UsageError(f"--formula: {path!r} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - the user's file: say what went wrong, briefly
        message = f"--formula: cannot import {path!r}: {type(error).__name__}: {error}"
        raise UsageError(message) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"--formula: {path!r} defines no function {name!r}")
    return function


def _check_formula(args, quantity, out) -> int:
    from verify import formulas
    from verify.families import FAMILIES, by_name
    from verify.proving.formula import formula_proof

    function = _load_formula(args.formula)
    families = []
    for name in args.distributions:
        try:
            families.append(by_name(name))
        except KeyError:
            raise UsageError(
                f"with --formula, give family names ({', '.join(FAMILIES)}), got {name!r}"
            ) from None
    try:
        formulas.lookup(quantity, *families)
    except NotImplementedError as error:
        raise UsageError(f"with --formula: {error}; `verify list` shows the pairs") from None
    options = {"alpha": args.alpha, "num_samples": args.samples}
    if args.max_seconds is not None:
        options["max_seconds"] = args.max_seconds
    proof = formula_proof(function, quantity, *families, **options)
    return _run_and_report([proof], args, out)


def _sizes():
    """Every size a family takes: ``{name: [(family name, Dim), ...]}`` (one option each)."""
    from verify.families import FAMILIES

    sizes = {}
    for cls in FAMILIES.values():
        for name, dim in cls.dims.items():
            sizes.setdefault(name, []).append((cls.__name__, dim))
    return sizes


def _with_logits():
    from verify.families import FAMILIES

    return [c.__name__ for c in FAMILIES.values() if "logits" in c.parameterisations]


def _list(args, out) -> int:
    from verify import formulas, proofs
    from verify.families import FAMILIES

    print("Families:", file=out)
    for cls in FAMILIES.values():
        summary = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")
        print(f"  {family_signature(cls)}\n      {summary}", file=out)
    print("\nClosed forms (derived from the densities, proved equal to the formulas):", file=out)
    for form in formulas.registered():
        names = ", ".join(f.__name__ for f in form.families)
        kinds = set(form.parameterisations) - {"canonical"}
        given = f"  (from {', '.join(form.parameterisations)})" if kinds else ""
        print(f"  {form.quantity:<14} {names}{given}", file=out)
    print("\nClaims (verify prove):", file=out)
    for claim_id in proofs.CLAIM_IDS:
        claim = proofs.load(claim_id).claim
        print(f"  {claim.id:<4} {str(claim.expected):<9} {claim.title}", file=out)
    return EXIT_OK


_COMMANDS = {
    "prove": _prove,
    "kl": _closed_form,
    "entropy": _closed_form,
    "cross-entropy": _closed_form,
    "check": _check,
    "list": _list,
}


class _Output:
    """Standard output whose write failures (a full disk) become a usage error."""

    def __init__(self, stream):
        self._stream = stream

    def _guard(self, method, *args):
        try:
            return method(*args)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise UsageError(f"cannot write the output: {error.strerror or error}") from None

    def write(self, text):
        return self._guard(self._stream.write, text)

    def flush(self):
        return self._guard(self._stream.flush)

    def isatty(self):
        return self._stream.isatty()


def _silence_stdout():
    """Points file descriptor 1 at /dev/null, so that Python's final flush cannot fail."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv=None) -> int:
    """Runs the command line; returns the exit code (see the module docstring).

    ``verify`` alone prints the help.

    Example:
        >>> main(["prove", "C99"])
        2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    out = _Output(sys.stdout)
    try:
        with contextlib.redirect_stdout(out):
            parser = build_parser()
            if not argv:
                parser.print_help()
                code = EXIT_OK
            else:
                args = parser.parse_args(argv)
                code = _COMMANDS[args.command](args, out)
            out.flush()
        return code
    except UsageError as error:
        print(f"verify: error: {error}", file=sys.stderr)
        if str(error).startswith("cannot write the output"):
            _silence_stdout()
        return EXIT_USAGE
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `verify prove | head`: the reader left, say nothing more
        _silence_stdout()
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

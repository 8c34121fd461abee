"""The ``verify`` command: prove the claims, print derived closed forms, check by sampling.

Usage::

    verify prove [CLAIM ...] [--json | --markdown] [--junit FILE] [--seed N] [--file PROOF.py]
    verify kl FAMILY FAMILY [--latex | --python] [--dim D] [--num-classes K]
    verify entropy FAMILY [...]
    verify cross-entropy FAMILY FAMILY [...]
    verify check {kl,entropy,cross-entropy} "Normal(0, 1)" ["Normal(1, 2)"] [--samples 1e7]
    verify list

Exit codes:
    0: every verdict as expected (``prove``); the sampling agrees (``check``); success.
    1: a verdict differs from the expected one or a proof failed (``prove``); the
       sampling disagrees or is inconclusive (``check``).
    2: usage error (unknown claim, family or flag; malformed distribution). One
       line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import ast
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
    from verify.families import BY_NAME

    key = name.lower().replace("-", "").replace("_", "")
    key = {"mvn": "multivariatenormal", "gaussian": "normal"}.get(key, key)
    if key not in BY_NAME:
        known = ", ".join(c.__name__ for c in BY_NAME.values())
        raise UsageError(f"unknown family {name!r}; choose from {known}")
    return BY_NAME[key]


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
        verify.cli.UsageError: unknown family '__import__'; choose from Normal, ...
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
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (ValueError, TypeError, SyntaxError):
        raise UsageError(f"arguments of {spec!r} must be numbers or lists of numbers") from None
    if any(k is None for k in kwargs):
        raise UsageError(f"arguments of {spec!r} must be numbers or lists of numbers")
    for value in [*args, *kwargs.values()]:
        if not _is_numeric(value):
            raise UsageError(f"arguments of {spec!r} must be numbers or lists of numbers")
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{spec}: {error}") from None


def _is_numeric(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return (
        isinstance(value, (list, tuple)) and len(value) > 0 and all(_is_numeric(v) for v in value)
    )


def _positive_count(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of samples, got {text!r}") from None
    if not value >= 1 or value != int(value) or value > 1e12:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(value)


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="verify",
        description="Derived, proved and Monte Carlo-checked KL divergence, entropy and "
        "cross-entropy.",
        epilog="Exit codes: 0 as expected / agree, 1 a verdict differs / disagree, 2 usage error.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    prove = sub.add_parser("prove", help="run the proofs of the claims C1-C13")
    prove.add_argument("claims", nargs="*", metavar="CLAIM", help="e.g. C1 c5 (default: all)")
    fmt = prove.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the JSON report")
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown summary")
    prove.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    prove.add_argument("--seed", type=int, default=0, help="seed of every random draw (0)")
    prove.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PROOF.py",
        help="also run the `proof` defined in this file (repeatable)",
    )
    prove.add_argument(
        "--colour",
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text transcript (auto: on a terminal)",
    )

    for name, arity in (("kl", 2), ("entropy", 1), ("cross-entropy", 2)):
        p = sub.add_parser(name, help=f"print the derived closed form of {name}")
        p.add_argument("families", nargs=arity, metavar="FAMILY")
        out = p.add_mutually_exclusive_group()
        out.add_argument("--latex", action="store_true", help="print LaTeX")
        out.add_argument("--python", action="store_true", help="print the generated JAX code")
        p.add_argument("--dim", type=int, default=2, help="MultivariateNormal dimension (2)")
        p.add_argument("--num-classes", type=int, default=3, help="Categorical classes (3)")
        p.add_argument(
            "--logits",
            action="store_true",
            help="Bernoulli / Categorical given by logits: the logits form",
        )

    check = sub.add_parser("check", help="compare a closed form with a Monte Carlo estimate")
    check.add_argument("quantity", choices=sorted(set(_QUANTITIES) - {"cross_entropy"}))
    check.add_argument(
        "distributions",
        nargs="+",
        metavar="DISTRIBUTION",
        help='e.g. "Normal(0, 1)" "Bernoulli(probs=0.3)"',
    )
    check.add_argument(
        "--samples",
        type=_positive_count,
        default=None,
        help="number of samples, e.g. 1e7 (default: the engine's choice)",
    )
    check.add_argument("--seed", type=int, default=0)
    check.add_argument(
        "--alpha",
        type=_probability,
        default=1e-6,
        help="false-alarm probability of a 'disagree' (1e-6)",
    )

    sub.add_parser("list", help="list the families, the closed forms and the claims")
    return parser


# ----------------------------------------------------------------- commands
def _prove(args, out) -> int:
    from verify import proofs, report
    from verify.proving import run_proofs

    try:
        ids = [proofs.normalise_id(c) for c in args.claims] or list(proofs.CLAIM_IDS)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    ids = list(dict.fromkeys(ids))
    selected = [] if (args.file and not args.claims) else [proofs.load(i) for i in ids]
    for path in args.file:
        try:
            selected.append(proofs.load_file(path))
        except (FileNotFoundError, AttributeError) as error:
            raise UsageError(str(error)) from None
        except Exception as error:  # noqa: BLE001 - the user's file is broken: say so in one line
            raise UsageError(f"cannot load {path!r}: {type(error).__name__}: {error}") from None
    junit = None
    if args.junit:  # open it now, so that a bad path fails before the proofs run
        try:
            junit = open(args.junit, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            raise UsageError(f"cannot write {args.junit!r}: {error.strerror}") from None
    streaming = not (args.json or args.markdown)
    colour = args.colour == "always" or (args.colour == "auto" and out.isatty())

    def show(result):
        if streaming:
            print(report.text([result], colour=colour), file=out, flush=True)

    try:
        results = run_proofs(selected, seed=args.seed, on_result=show)
        if junit is not None:
            junit.write(report.to_junit(results))
    finally:
        if junit is not None:
            junit.close()
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
    if classes[0] is verify.MultivariateNormal and not 1 <= args.dim <= 4:
        raise UsageError(f"--dim must be between 1 and 4, got {args.dim}")
    if classes[0] is verify.Categorical and not 2 <= args.num_classes <= 8:
        raise UsageError(f"--num-classes must be between 2 and 8, got {args.num_classes}")
    dims = {}
    if classes[0] is verify.MultivariateNormal:
        dims["dim"] = args.dim
    if classes[0] is verify.Categorical:
        dims["num_classes"] = args.num_classes
    if args.logits:
        if any("logits" not in c.parameterisations for c in classes):
            raise UsageError("--logits applies to Bernoulli and Categorical only")
        dims["parameterisations"] = ("logits",) * len(classes)
    try:
        derivation = verify.derive(quantity, *classes, **dims)
    except NotImplementedError as error:
        raise UsageError(str(error)) from None
    if args.latex:
        print(derivation.latex, file=out)
    elif args.python:
        print(derivation.jax_function.__source__, file=out, end="")
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


def _check(args, out) -> int:
    import jax

    import verify

    quantity = _QUANTITIES[args.quantity]
    arity = 1 if quantity == "entropy" else 2
    if len(args.distributions) != arity:
        raise UsageError(
            f"{args.quantity} takes {arity} distribution(s), got {len(args.distributions)}"
        )
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

        try:
            decision = montecarlo.compare(
                quantity,
                closed,
                *dists,
                key=jax.random.key(args.seed),
                num_samples=args.samples,
                alpha=args.alpha,
            )
        except (ValueError, TypeError) as error:
            raise UsageError(str(error)) from None
    names = " ‖ ".join(repr(d) for d in dists)
    estimate = decision.estimate
    low, high = (float(v) for v in decision.interval)
    print(f"{args.quantity}({names})", file=out)
    print(f"  closed form : {float(closed):.15g} nats", file=out)
    print(
        f"  estimate    : {float(estimate.value):.15g} ± {float(estimate.stderr):.3g} "
        f"(standard error, {int(estimate.num_samples)} samples)",
        file=out,
    )
    print(
        f"  interval    : [{low:.12g}, {high:.12g}] (false-alarm rate {decision.alpha:g})", file=out
    )
    if getattr(decision, "detectable", None) is not None:
        print(f"  detectable  : errors larger than {float(decision.detectable):.3g}", file=out)
    print(f"  decision    : {decision.verdict}", file=out)
    if getattr(decision, "reason", None):
        print(f"  reason      : {decision.reason}", file=out)
    return EXIT_OK if decision.verdict == "agree" else EXIT_DIFFERS


def _list(args, out) -> int:
    from verify import formulas, proofs
    from verify.families import BY_NAME

    print("Families:", file=out)
    for cls in BY_NAME.values():
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {cls.__name__:<20} {summary}", file=out)
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


def main(argv=None) -> int:
    """Runs the command line; returns the exit code (see the module docstring).

    Example:
        >>> main(["prove", "C99"])
        2
    """
    out = sys.stdout
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args, out)
    except UsageError as error:
        print(f"verify: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `verify prove | head`: the reader left, say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

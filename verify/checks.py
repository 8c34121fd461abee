"""Checking a user's own closed form: one piece of evidence per line of attack.

``check_kl(candidate, p, q)`` runs the user's ``candidate(p, q)`` in float64
and collects:

* ``closed_form``: agreement with :func:`verify.kl` (derived from the
  density, proved equal to the derivation) within ``rtol``/``atol``;
* ``symbolic``: the candidate read from its jaxpr into SymPy and proved equal
  to the derived closed form for all parameter values, or refuted with a
  counterexample (:func:`verify.prove_formula`); inconclusive when it cannot
  be read;
* ``monte_carlo``: the Monte Carlo decision (:func:`verify.montecarlo.compare`),
  which shares nothing with any derivation;
* ``gradient_closed_form``: ``jax.grad`` of the candidate against that of the
  closed form, w.r.t. every parameter of P and Q;
* ``gradient_monte_carlo``: ``jax.grad`` of the candidate against an unbiased
  Monte Carlo gradient estimate (:func:`verify.montecarlo.compare_gradient`).

The statistical evidence shares the false-alarm budget ``alpha``: it is split
evenly between the Monte Carlo value and gradient checks, and within each over
the batch elements or gradient components (Bonferroni), so a correct candidate
fails the report with probability at most ``alpha``.

The inputs are validated and cast to float64 once, into a :class:`CheckContext`;
each line of evidence is a small function of that context, and :data:`LINES`
is the one list that names them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from verify import _api
from verify.evidence import Evidence, agreement
from verify.families import Distribution
from verify.montecarlo import _decision, _estimate, _gradient

__all__ = ["CheckReport", "check_cross_entropy", "check_entropy", "check_kl"]

_REFERENCE = {"kl": _api.kl, "entropy": _api.entropy, "cross_entropy": _api.cross_entropy}


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """The evidence about one candidate formula.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        candidate: the candidate's name.
        evidence: the :class:`~verify.evidence.Evidence`, one per line of attack
            (looked up by name: ``report["monte_carlo"]``).
        alpha: the false-alarm budget of the statistical evidence.
    """

    quantity: str
    candidate: str
    evidence: tuple
    alpha: float

    @property
    def passed(self) -> bool:
        """No evidence fails and at least one passes."""
        return self.verdict == "pass"

    @property
    def verdict(self) -> str:
        """``"fail"`` if any evidence fails, else ``"pass"`` if any passes, else inconclusive."""
        verdicts = [e.verdict for e in self.evidence]
        if "fail" in verdicts:
            return "fail"
        return "pass" if "pass" in verdicts else "inconclusive"

    def __getitem__(self, name) -> Evidence:
        for item in self.evidence:
            if item.name == name:
                return item
        raise KeyError(f"no evidence named {name!r}; have {[e.name for e in self.evidence]}")

    def __str__(self):
        lines = [f"check of {self.candidate} as {self.quantity}: {self.verdict.upper()}"]
        lines += [f"  {item}" for item in self.evidence]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "quantity": self.quantity,
            "candidate": self.candidate,
            "verdict": self.verdict,
            "passed": self.passed,
            "alpha": self.alpha,
            "evidence": [item.to_dict() for item in self.evidence],
        }


def _name(candidate):
    return getattr(candidate, "__qualname__", None) or repr(candidate)


def _call_candidate(candidate, dists, batch_shape):
    value = np.asarray(candidate(*dists))
    if not _decision._broadcasts_to(value.shape, batch_shape):
        raise ValueError(
            f"`candidate` must return an array of the batch shape {batch_shape} (or one that "
            f"broadcasts to it), got shape {value.shape} from {_name(candidate)}"
        )
    value = np.broadcast_to(value, batch_shape)
    if not np.issubdtype(value.dtype, np.floating):
        raise TypeError(f"`candidate` must return floating values, got dtype {value.dtype}")
    bad = np.isnan(value)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at batch index {index}" if index else ""
        raise ValueError(
            f"`candidate` returned nan{where} for "
            + ", ".join(f"{n}={d!r}" for n, d in zip("pq", dists))
        )
    return value


def _closed_form_evidence(value, reference, rtol, atol, missing=""):
    if reference is None:
        return Evidence("numeric", missing, None, name="closed_form")
    ok, error = agreement(value, reference, rtol=rtol, atol=atol)
    worst = int(np.argmax(np.where(ok, -1.0, error) if not ok.all() else error))
    where = np.unravel_index(worst, value.shape) if value.ndim else ()
    figures = {
        "max_abs_error": float(np.max(error)) if error.size else 0.0,
        "rtol": rtol,
        "atol": atol,
        "value": value,
        "reference": reference,
    }
    at = f" at batch index {tuple(int(i) for i in where)}" if where else ""
    if ok.all():
        statement = (
            f"matches the derived closed form within rtol {rtol:g}, atol {atol:g} "
            f"(largest |difference| {figures['max_abs_error']:.3g})"
        )
        return Evidence("numeric", statement, True, name="closed_form", figures=figures)
    statement = (
        f"differs from the derived closed form{at}: candidate {float(value[where])!r}, derived "
        f"{float(reference[where])!r} (|difference| {error[where]:.3g} > atol + rtol*|derived|, "
        f"or not the same infinity; {int((~ok).sum())} of {ok.size} settings fail)"
    )
    return Evidence("numeric", statement, False, name="closed_form", figures=figures)


def _decision_evidence(name, decision, components=None, compared=None):
    verdicts = np.asarray(decision.verdict)
    if compared is not None:  # judge the compared components only
        verdicts = verdicts[compared]
    overall = next((v for v in ("disagree", "inconclusive") if (verdicts == v).any()), "agree")
    if not verdicts.size:
        overall = "inconclusive"
    passed = {"agree": True, "disagree": False, "inconclusive": None}[overall]
    figures = {
        "decision": overall,
        "alpha": decision.alpha,
        "estimate": decision.estimate.value,
        "stderr": decision.estimate.stderr,
        "num_samples": decision.estimate.num_samples,
        "tested": decision.closed_form,
        "detectable": decision.detectable,
        "power": decision.power,
    }
    statement = str(decision)
    verdicts = np.asarray(decision.verdict)
    if components is not None:
        figures["components"] = components
        bad = np.flatnonzero(verdicts == "disagree")
        if bad.size:
            i = int(bad[0])
            statement += (
                f"; first disagreeing component {components[i]}: candidate "
                f"{np.ravel(decision.closed_form)[i]:.6g}, Monte Carlo "
                f"{np.ravel(decision.estimate.value)[i]:.6g}"
            )
    return Evidence("montecarlo", statement, passed, name=name, figures=figures)


def _gradients(function, dists):
    def total(*args):
        return jnp.sum(function(*args))

    return jax.grad(total, argnums=tuple(range(len(dists))))(*dists)


# ----------------------------------------------------------------- the context
@dataclasses.dataclass
class CheckContext:
    """Everything the lines of evidence read, prepared once by :func:`check`.

    Attributes:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        candidate: the user's formula.
        dists: the distributions in float64, validated once (P, and Q unless entropy).
        batch_shape: their broadcast batch shape.
        value: the candidate's value on ``dists``.
        reference: verify's closed form there (None if there is none).
        missing: why ``reference`` is None: no closed form for these families, or one that
            declined a setting it is not accurate at in floating point.
        options: the options of :func:`check` (``rtol``, ``atol``, ``alpha``,
            ``num_samples``, ...), with ``share`` the alpha of each statistical line.
        value_key, gradient_key: the random keys of the value and gradient sampling.
        decision: the Monte Carlo decision on the value, once that line has run.
    """

    quantity: str
    candidate: object
    dists: tuple
    batch_shape: tuple
    value: np.ndarray
    reference: np.ndarray | None
    options: dict
    value_key: object
    gradient_key: object
    decision: object = None
    missing: str = ""

    @functools.cached_property
    def candidate_gradients(self):
        """``jax.grad`` of the candidate's sum w.r.t. every distribution, or the exception."""
        try:
            return _gradients(self.candidate, self.dists)
        except Exception as error:  # noqa: BLE001 - any failure to differentiate is reported
            return error

    @functools.cached_property
    def gradient_components(self):
        """(names, projected candidate gradient, components with no finite exact derivative)."""
        names = _gradient.gradient_components(self.dists)
        vector = np.asarray(_gradient.project_gradient(self.dists, self.candidate_gradients))
        return names, vector, _gradient.undefined_components(self.quantity, self.dists)


# ----------------------------------------------------------------- the lines of evidence
def _closed_form_line(ctx):
    return _closed_form_evidence(
        ctx.value, ctx.reference, ctx.options["rtol"], ctx.options["atol"], ctx.missing
    )


#: SymPy's time for the symbolic line (verify.prove_formula's max_seconds).
SYMBOLIC_SECONDS = 20.0


def _symbolic_line(ctx):
    """The candidate read as SymPy and proved equal to the derivation, or refuted.

    Proved at the sizes of the distributions checked (a formula may be written for one
    d or K).
    """
    from verify.proving.formula import SIZES_TRIED, prove_formula, sizes_of

    families = tuple(type(d) for d in ctx.dists)
    kinds = tuple(d.parameterisation for d in ctx.dists)
    try:
        sizes = {k: v for d in ctx.dists for k, v in sizes_of(d).items()}  # the sizes checked
    except ValueError as error:
        return Evidence("symbolic", f"not read symbolically: {error}", None, name="symbolic")
    least = {k: dim.least for cls in families for k, dim in getattr(cls, "dims", {}).items()}
    beyond = {k: v for k, v in sizes.items() if v >= least.get(k, 1) + SIZES_TRIED}
    if beyond:  # SymPy's time grows fast with d and K: the proof covers the smallest ones
        shown = ", ".join(f"{k} = {v}" for k, v in beyond.items())
        statement = (
            f"not read symbolically at {shown}: the proof covers the {SIZES_TRIED} smallest "
            "sizes (verify.prove_formula at those)"
        )
        return Evidence("symbolic", statement, None, name="symbolic")
    try:
        return prove_formula(
            ctx.candidate, ctx.quantity, *families, parameterisations=kinds, sizes=sizes,
            max_seconds=SYMBOLIC_SECONDS,
        )  # fmt: skip
    except NotImplementedError as error:  # an operation with no translation, no closed form
        statement = f"the candidate cannot be read symbolically: {error}"
    except Exception as error:  # noqa: BLE001 - a candidate that cannot be traced is reported
        statement = f"the candidate cannot be traced: {type(error).__name__}: {error}"
    return Evidence("symbolic", statement, None, name="symbolic")


def _monte_carlo_line(ctx):
    ctx.decision = _decision.compare(
        ctx.quantity,
        ctx.value,
        *ctx.dists,
        key=ctx.value_key,
        num_samples=ctx.options["num_samples"],
        alpha=ctx.options["share"] / max(1, math.prod(ctx.batch_shape)),
        progress=ctx.options["progress"],
        max_seconds=ctx.options["max_seconds"],
    )
    return _decision_evidence("monte_carlo", ctx.decision)


def _gradient_note(names, undefined):
    skipped = [n for n, u in zip(names, undefined) if u]
    if not skipped:
        return skipped, ""
    shown = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    return skipped, (
        f"; {len(skipped)} components not compared, their exact derivative being infinite or "
        f"undefined (a probability at 0: {shown})"
    )


def _gradient_closed_form_line(ctx):
    if isinstance(ctx.candidate_gradients, Exception):
        error = ctx.candidate_gradients
        statement = f"jax.grad of the candidate failed: {type(error).__name__}: {error}"
        return Evidence("numeric", statement, None, name="gradient_closed_form")
    names, vector, undefined = ctx.gradient_components
    skipped, note = _gradient_note(names, undefined)
    figures = {"components": names, "gradient": vector, "not_compared": skipped}
    bad = ~np.isfinite(vector) & ~undefined
    if bad.any():
        statement = f"the candidate's gradient is not finite in {names[int(np.argmax(bad))]}"
        return _gradient_closed_form(False, statement, figures)
    if ctx.reference is None:
        return None
    if undefined.all():
        statement = "no component has a finite exact derivative" + note
        return _gradient_closed_form(None, statement, figures)
    rtol, atol = ctx.options["rtol"], ctx.options["atol"]
    reference_grads = _gradients(_REFERENCE[ctx.quantity], ctx.dists)
    reference = np.asarray(_gradient.project_gradient(ctx.dists, reference_grads))
    grad_rtol = max(rtol, 1e-8)
    ok, error = agreement(vector, reference, rtol=grad_rtol, atol=max(atol, 1e-10))
    ok, error = ok | undefined, np.where(undefined, 0.0, error)
    figures["reference"] = reference
    compared = int((~undefined).sum())
    if ok.all():
        statement = (
            f"jax.grad matches the derived closed form's in all {compared} compared "
            f"components within rtol {grad_rtol:g} (largest |difference| "
            f"{np.max(error):.3g})" + note
        )
        return _gradient_closed_form(True, statement, figures)
    i = int(np.argmax(np.where(ok, -1.0, error)))
    statement = (
        f"jax.grad differs from the derived closed form's in {int((~ok).sum())} of "
        f"{compared} compared components; first {names[i]}: candidate "
        f"{vector[i]:.10g}, derived {reference[i]:.10g}" + note
    )
    return _gradient_closed_form(False, statement, figures)


def _gradient_monte_carlo_line(ctx):
    if isinstance(ctx.candidate_gradients, Exception):
        return None
    names, vector, undefined = ctx.gradient_components
    if (~np.isfinite(vector) & ~undefined).any():
        return None
    # After Ctrl-C (a partial value estimate), no further sampling starts.
    if ctx.decision is not None and ctx.decision.estimate.interrupted:
        return None
    decision = _gradient.compare_gradient(
        ctx.quantity,
        ctx.candidate_gradients,
        *ctx.dists,
        key=ctx.gradient_key,
        num_samples=ctx.options["gradient_samples"],
        alpha=ctx.options["share"],
        progress=ctx.options["progress"],
        max_seconds=ctx.options["max_seconds"],
    )
    return _decision_evidence("gradient_monte_carlo", decision, names, ~undefined)


#: The lines of evidence, in report order: (name, the option that enables it, function of
#: the context returning Evidence, or None where the line does not apply). The only place
#: that names them: a new line of evidence is one function and one entry here.
LINES = (
    ("closed_form", None, _closed_form_line),
    ("symbolic", "symbolic", _symbolic_line),
    ("monte_carlo", "monte_carlo", _monte_carlo_line),
    ("gradient_closed_form", "gradients", _gradient_closed_form_line),
    ("gradient_monte_carlo", ("gradients", "monte_carlo"), _gradient_monte_carlo_line),
)


def _enabled(switch, options):
    switches = () if switch is None else (switch,) if isinstance(switch, str) else switch
    return all(options[s] for s in switches)


def check(
    quantity,
    candidate,
    p,
    q=None,
    *,
    key=None,
    num_samples=None,
    gradient_samples=None,
    alpha=_decision.DEFAULT_ALPHA,
    rtol=1e-9,
    atol=1e-12,
    gradients=True,
    monte_carlo=True,
    symbolic=True,
    progress=None,
    max_seconds=_estimate.DEFAULT_MAX_SECONDS,
) -> CheckReport:
    """Checks a candidate formula for ``quantity``; see :func:`check_kl`."""
    options = _check_options(
        candidate, alpha, num_samples, gradient_samples, rtol, atol, gradients, monte_carlo,
        symbolic, progress, max_seconds,
    )  # fmt: skip
    batch_shape = _estimate.check_distributions(quantity, p, q)
    if monte_carlo:
        _check_budgets(quantity, p, q, num_samples, gradient_samples, gradients, max_seconds)
    value_key, gradient_key = jax.random.split(_estimate.resolve_key(key))
    with jax.enable_x64(True):
        p64, q64 = _estimate.to_float64((p, q))
        dists = (p64,) if quantity == "entropy" else (p64, q64)
        value = _call_candidate(candidate, dists, batch_shape)
        reference, missing = None, ""
        try:
            reference = np.asarray(_REFERENCE[quantity](*dists))
        except NotImplementedError as error:  # none registered, or a value it declined
            missing = str(error).split(";")[0]
        ctx = CheckContext(
            quantity, candidate, dists, batch_shape, value, reference, options, value_key,
            gradient_key, missing=missing,
        )  # fmt: skip
        evidence = [function(ctx) for _, switch, function in LINES if _enabled(switch, options)]
    evidence = tuple(e for e in evidence if e is not None)
    return CheckReport(quantity, _name(candidate), evidence, options["alpha"])


def _check_options(
    candidate, alpha, num_samples, gradient_samples, rtol, atol, gradients, monte_carlo,
    symbolic, progress, max_seconds,
):  # fmt: skip
    """The options, checked (errors name the argument), with each statistical line's alpha."""
    if not callable(candidate):
        raise TypeError(f"`candidate` must be callable, got {candidate!r}")
    alpha = _decision.check_alpha(alpha)
    for name, value in (("num_samples", num_samples), ("gradient_samples", gradient_samples)):
        if value is not None:
            try:
                _estimate.check_num_samples(value)
            except (TypeError, ValueError) as error:
                raise type(error)(str(error).replace("`num_samples`", f"`{name}`")) from None
    for name, value in (("rtol", rtol), ("atol", atol)):
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not number:
            raise TypeError(f"`{name}` must be a finite number >= 0, got {value!r}")
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}")
    switches = {"gradients": gradients, "monte_carlo": monte_carlo, "symbolic": symbolic}
    for name, value in switches.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {value!r}")
    num_statistical = int(monte_carlo) * (1 + int(gradients))
    return {
        **switches,
        "alpha": alpha,
        "share": alpha / max(1, num_statistical),
        "num_samples": num_samples,
        "gradient_samples": gradient_samples,
        "rtol": rtol,
        "atol": atol,
        "progress": progress,
        "max_seconds": max_seconds,
    }


def _check_budgets(quantity, p, q, num_samples, gradient_samples, gradients, max_seconds):
    """Refuses, before any work, a check whose Monte Carlo runs exceed ``max_seconds``."""
    batch_size = math.prod(_estimate.check_distributions(quantity, p, q))
    value_samples = _estimate.default_num_samples(p) if num_samples is None else num_samples
    _estimate.check_budget(p, value_samples, batch_size, max_seconds)
    if gradients:
        dists = (p,) if quantity == "entropy" else (p, q)
        components = len(_gradient.gradient_components(dists))
        if gradient_samples is None:
            gradient_samples = _gradient.default_gradient_samples(batch_size)
        _estimate.check_budget(p, gradient_samples, components, max_seconds, "gradient_samples")


def _gradient_closed_form(passed, statement, figures):
    return Evidence("numeric", statement, passed, name="gradient_closed_form", figures=figures)


def check_kl(candidate, p: Distribution, q: Distribution, **options) -> CheckReport:
    """Checks a user's KL divergence formula ``candidate(p, q)`` on distributions ``p``, ``q``.

    The candidate is called with float64 copies of ``p`` and ``q`` (one
    distribution each or a batch, e.g. from
    :func:`verify.random_distribution`) and must return an array of their
    broadcast batch shape; it should be written in JAX for the gradient
    evidence. See the module docstring for the evidence collected.

    Args:
        candidate: the formula, ``candidate(p, q) -> array``.
        p, q: distributions of one family.
        key: a JAX random key (default ``jax.random.key(0)``).
        num_samples: Monte Carlo samples per distribution for the value
            (default: about a second of work).
        gradient_samples: Monte Carlo samples for the gradient (default 2**20
            divided among the batch).
        alpha: probability that a correct candidate fails on statistical
            evidence (default 1e-6).
        rtol, atol: tolerance against the derived closed form (float64).
        gradients: check gradients (default True).
        monte_carlo: collect Monte Carlo evidence (default True).
        symbolic: read the candidate into SymPy and prove or refute it (default
            True; a few seconds, SymPy imported on first use).
        progress: progress bar (``None``: only on a terminal).
        max_seconds: the budget of each Monte Carlo run (default 600 s planned,
            :func:`verify.montecarlo.estimate`): a check that would exceed it
            is refused before any work. Ctrl-C stops sampling with a partial,
            marked result and starts no further sampling.

    Returns:
        A :class:`CheckReport`; ``report.passed``, ``report["monte_carlo"]``,
        ``str(report)``, ``report.to_dict()``.

    Raises:
        TypeError: ``candidate`` is not callable; an option of the wrong type.
        ValueError: ``candidate`` returns the wrong shape or nan; bad
            ``num_samples``, ``alpha``, ``rtol`` or ``atol``; P and Q of
            different families or event sizes; a plan over ``max_seconds``.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> def my_kl(p, q):  # forgot the 1/2 on the variance-ratio term
        ...     r = p.scale / q.scale
        ...     return ((p.loc - q.loc) / q.scale) ** 2 / 2 + (r**2 - 1) - jnp.log(r)
        >>> report = verify.check_kl(my_kl, verify.Normal(0.0, 1.0), verify.Normal(0.5, 2.0),
        ...                          num_samples=2**18, gradient_samples=2**14)
        >>> report.passed, report["monte_carlo"].verdict
        (False, 'fail')
    """
    return check("kl", candidate, p, q, **options)


def check_entropy(candidate, p: Distribution, **options) -> CheckReport:
    """Checks a user's entropy formula ``candidate(p)``; options as for :func:`check_kl`.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> def my_entropy(p):
        ...     return jnp.log(p.scale) + (1 + jnp.log(2 * jnp.pi)) / 2
        >>> verify.check_entropy(my_entropy, verify.Normal(0.0, 2.0), num_samples=2**16,
        ...                      gradient_samples=2**12).passed
        True
    """
    return check("entropy", candidate, p, None, **options)


def check_cross_entropy(candidate, p: Distribution, q: Distribution, **options) -> CheckReport:
    """Checks a user's cross-entropy formula ``candidate(p, q)``; options as for :func:`check_kl`.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> def my_xent(p, q):
        ...     return -jnp.sum(p.probs * jnp.log(q.probs), axis=-1)
        >>> p = verify.Categorical(probs=[0.2, 0.3, 0.5])
        >>> q = verify.Categorical(probs=[0.4, 0.4, 0.2])
        >>> verify.check_cross_entropy(my_xent, p, q, num_samples=2**16).passed
        True
    """
    return check("cross_entropy", candidate, p, q, **options)

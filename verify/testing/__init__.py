"""Testing helpers for users' CI: assert that a formula is right, with proof and evidence.

``assert_kl(my_kl, verify.Normal, verify.Normal)`` (and :func:`assert_entropy`,
:func:`assert_cross_entropy`) runs, on the user's JAX function:

1. the **symbolic proof** (:func:`verify.prove_formula`): the function read from its
   jaxpr into SymPy, proved equal to the closed form derived from the densities for
   all parameter values (Categorical K = 2, 3, 4; MultivariateNormal d = 1, 2, 3), or
   refuted with a counterexample confirmed in mpmath;
2. the **numeric comparison** with verify's closed form and its gradients, on a batch
   of random distributions;
3. **Monte Carlo** on the same batch, with the stated false-alarm rate ``alpha``
   (shared, Bonferroni, by the value and gradient checks and the batch members).

It raises :class:`FormulaAssertionError` (an ``AssertionError``, so pytest shows it as
a failure) with the whole readable report when any line of evidence fails; with
``strict=True`` also when one is inconclusive. A correct formula fails with
probability at most ``alpha`` (the symbolic and numeric lines are deterministic).

Fixtures for pytest (``verify_key``, ``verify_rng``) are in
:mod:`verify.testing.fixtures`; hypothesis strategies of valid and adversarial
parameters of every family in :mod:`verify.testing.strategies`.

Example:
    >>> import jax.numpy as jnp, verify
    >>> from verify.testing import assert_entropy
    >>> def my_entropy(p):
    ...     return 0.5 + 0.5 * jnp.log(2 * jnp.pi) + jnp.log(p.scale)
    >>> report = assert_entropy(my_entropy, verify.Normal, num_samples=2**14,
    ...                         gradient_samples=2**12)
    >>> report["symbolic"].verdict, report["closed_form"].verdict
    ('pass', 'pass')
"""

from __future__ import annotations

import jax

from verify.checks import CheckReport, check
from verify.evidence import Evidence

__all__ = ["FormulaAssertionError", "assert_cross_entropy", "assert_entropy", "assert_kl"]


class FormulaAssertionError(AssertionError):
    """A formula failed :func:`assert_kl` or a sibling; the message is the report.

    Attributes:
        report: the :class:`verify.CheckReport`, the symbolic evidence first.
    """

    def __init__(self, report: CheckReport):
        super().__init__(str(report))
        self.report = report


def _distributions(families, batch, seed, sizes):
    """Random float64 distributions of each family (instances are used as given)."""
    from verify.montecarlo import random_distribution

    keys = jax.random.split(jax.random.key(seed), len(families))
    out = []
    for cls, key in zip(families, keys):
        if not isinstance(cls, type):
            out.append(cls)
            continue
        own = {k: v for k, v in sizes.items() if k in ("dim", "num_classes")}
        out.append(random_distribution(cls, key, (batch,), **own))
    return tuple(out)


def assert_formula(
    quantity,
    function,
    *families,
    alpha=1e-6,
    batch=8,
    seed=0,
    sizes=None,
    parameterisations=None,
    strict=False,
    **options,
) -> CheckReport:
    """Asserts ``function`` computes ``quantity``; see the module docstring.

    Args:
        quantity: ``"kl"``, ``"entropy"`` or ``"cross_entropy"``.
        function: the user's formula, a function of distributions.
        *families: family classes (random distributions are drawn) or distributions.
        alpha: false-alarm probability of the statistical evidence.
        batch: how many random distributions of each family.
        seed: seed of the random distributions and of the sampling.
        sizes: sizes of the proof (default K = 2, 3, 4; d = 1, 2, 3) and of the random
            distributions (the first of each, e.g. ``{"dim": 3}``).
        parameterisations: of the proof (default: each family's first).
        strict: also fail on inconclusive evidence.
        **options: passed to :func:`verify.checks.check` (``num_samples``, ``rtol``, ...).

    Returns:
        The report, when nothing failed.

    Raises:
        FormulaAssertionError: a line of evidence failed (or, strict, was inconclusive).
    """
    from verify.proving.formula import prove_formula

    classes = tuple(f if isinstance(f, type) else type(f) for f in families)
    symbolic = prove_formula(
        function, quantity, *classes, parameterisations=parameterisations, sizes=sizes, seed=seed
    )
    sizes = dict(sizes or {})
    first = {k: v[0] if isinstance(v, (tuple, list, range)) else v for k, v in sizes.items()}
    dists = _distributions(families, batch, seed, first)
    report = check(
        quantity, function, *dists, key=jax.random.key(seed), alpha=alpha, symbolic=False,
        **options,
    )  # fmt: skip
    report = CheckReport(report.quantity, report.candidate, (symbolic, *report.evidence), alpha)
    failed = report.verdict == "fail" or (strict and _any_inconclusive(report.evidence))
    if failed:
        raise FormulaAssertionError(report)
    return report


def _any_inconclusive(evidence: tuple[Evidence, ...]) -> bool:
    return any(e.verdict == "inconclusive" for e in evidence)


def assert_kl(function, p, q, **options) -> CheckReport:
    """Asserts ``function(p, q)`` is the KL divergence; see :func:`assert_formula`.

    Example:
        >>> import jax.numpy as jnp, verify
        >>> from verify.testing import assert_kl, FormulaAssertionError
        >>> def my_kl(p, q):  # 0.499 for 1/2: 0.2 % off, proved wrong
        ...     r = p.scale / q.scale
        ...     return ((p.loc - q.loc) / q.scale) ** 2 / 2 + 0.499 * (r**2 - 1) - jnp.log(r)
        >>> try:
        ...     assert_kl(my_kl, verify.Normal, verify.Normal, monte_carlo=False)
        ... except FormulaAssertionError as error:
        ...     print(error.report["symbolic"].verdict)
        fail
    """
    return assert_formula("kl", function, p, q, **options)


def assert_entropy(function, p, **options) -> CheckReport:
    """Asserts ``function(p)`` is the entropy; see :func:`assert_formula`."""
    return assert_formula("entropy", function, p, **options)


def assert_cross_entropy(function, p, q, **options) -> CheckReport:
    """Asserts ``function(p, q)`` is the cross-entropy; see :func:`assert_formula`."""
    return assert_formula("cross_entropy", function, p, q, **options)

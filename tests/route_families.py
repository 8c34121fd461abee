"""Symbolic families built from densities typed here, for the derivation routes' tests.

Until the family classes exist, these are the inputs of :func:`derive_from`:
each density is written against the SymPy backend as a family file writes it
(``log_density(xp, x, *params)``), with its support as a value. SciPy's
distributions (``SCIPY``) are the independent side of the checks.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import sympy as sp

from verify.families import supports
from verify.families._distribution import SymbolicFamily

N = sp.Symbol("n", integer=True, positive=True)  # a Binomial's total_count, shared by P and Q


def _positive(name, suffix):
    return sp.Symbol(f"{name}_{suffix}" if suffix else name, positive=True)


def _real(name, suffix):
    return sp.Symbol(f"{name}_{suffix}" if suffix else name, real=True)


def exponential(suffix=""):
    def log_density(xp, x, rate):
        return xp.log(rate) - rate * x

    return SymbolicFamily(
        "Exponential",
        (_positive("rate", suffix),),
        sp.Symbol("x", positive=True),
        log_density,
        supports.positive,
    )


def gamma(suffix=""):
    def log_density(xp, x, concentration, rate):
        return (
            xp.xlogy(concentration - 1, x)
            - rate * x
            + concentration * xp.log(rate)
            - xp.lgamma(concentration)
        )

    params = (_positive("concentration", suffix), _positive("rate", suffix))
    return SymbolicFamily(
        "Gamma", params, sp.Symbol("x", positive=True), log_density, supports.positive
    )


def beta(suffix=""):
    def log_density(xp, x, c1, c0):
        log_beta = xp.lgamma(c1) + xp.lgamma(c0) - xp.lgamma(c1 + c0)
        return xp.xlogy(c1 - 1, x) + xp.xlogy(c0 - 1, 1 - x) - log_beta

    params = (_positive("concentration1", suffix), _positive("concentration0", suffix))
    return SymbolicFamily(
        "Beta", params, sp.Symbol("x", positive=True), log_density, supports.unit_interval
    )


def log_normal(suffix=""):
    def log_density(xp, x, loc, scale):
        z = (xp.log(x) - loc) / scale
        return -(z**2) / 2 - xp.log(x) - xp.log(scale) - xp.log(2 * xp.pi) / 2

    params = (_real("loc", suffix), _positive("scale", suffix))
    return SymbolicFamily(
        "LogNormal", params, sp.Symbol("x", positive=True), log_density, supports.positive
    )


def half_normal(suffix=""):
    def log_density(xp, x, scale):
        return -(x**2) / (2 * scale**2) - xp.log(scale) + xp.log(2 / xp.pi) / 2

    return SymbolicFamily(
        "HalfNormal",
        (_positive("scale", suffix),),
        sp.Symbol("x", positive=True),
        log_density,
        supports.positive,
    )


def continuous_bernoulli(suffix=""):
    def log_density(xp, x, probs):
        log_norm = xp.log(2 * sp.atanh(1 - 2 * probs) / (1 - 2 * probs))
        return xp.xlogy(x, probs) + xp.xlogy(1 - x, 1 - probs) + log_norm

    return SymbolicFamily(
        "ContinuousBernoulli",
        (_positive("probs", suffix),),
        sp.Symbol("x", positive=True),
        log_density,
        supports.unit_interval,
    )


def _count():
    return sp.Symbol("x", integer=True, nonnegative=True)


def poisson(suffix=""):
    def log_density(xp, x, rate):
        return xp.xlogy(x, rate) - rate - xp.lgamma(x + 1)

    return SymbolicFamily(
        "Poisson",
        (_positive("rate", suffix),),
        _count(),
        log_density,
        supports.nonnegative_integers,
    )


def geometric(suffix=""):
    """Failures before the first success (torch's convention)."""

    def log_density(xp, x, probs):
        return xp.xlogy(x, 1 - probs) + xp.log(probs)

    return SymbolicFamily(
        "Geometric",
        (_positive("probs", suffix),),
        _count(),
        log_density,
        supports.nonnegative_integers,
    )


def binomial(suffix=""):
    def log_density(xp, x, probs):
        log_choose = xp.lgamma(N + 1) - xp.lgamma(x + 1) - xp.lgamma(N - x + 1)
        return log_choose + xp.xlogy(x, probs) + xp.xlogy(N - x, 1 - probs)

    return SymbolicFamily(
        "Binomial", (_positive("probs", suffix),), _count(), log_density, supports.integers(0, N)
    )


def dirichlet(suffix="", dim=3):
    def log_density(xp, x, concentration):
        log_beta = sum(xp.lgamma(c) for c in concentration) - xp.lgamma(sum(concentration))
        return sum(xp.xlogy(c - 1, xi) for c, xi in zip(concentration, x)) - log_beta

    s = f"_{suffix}" if suffix else ""
    concentration = sp.Matrix(
        [sp.Symbol(f"concentration{s}_{i}", positive=True) for i in range(dim)]
    )
    x = sp.Matrix([sp.Symbol(f"x_{i}", positive=True) for i in range(dim)])
    return SymbolicFamily("Dirichlet", (concentration,), x, log_density, supports.Simplex(dim))


#: name -> (symbolic family builder, scipy distribution from parameter values, random parameters)
SCIPY = {
    "exponential": (exponential, lambda r: scipy.stats.expon(scale=1 / r)),
    "gamma": (gamma, lambda a, b: scipy.stats.gamma(a, scale=1 / b)),
    "beta": (beta, lambda a, b: scipy.stats.beta(a, b)),
    "log_normal": (log_normal, lambda m, s: scipy.stats.lognorm(s, scale=np.exp(m))),
    "half_normal": (half_normal, lambda s: scipy.stats.halfnorm(scale=s)),
    "continuous_bernoulli": (continuous_bernoulli, None),
    "poisson": (poisson, lambda r: scipy.stats.poisson(r)),
    "geometric": (geometric, lambda p: scipy.stats.geom(p, loc=-1)),
    "binomial": (binomial, lambda p, n=7: scipy.stats.binom(n, p)),
    "dirichlet": (dirichlet, lambda a: scipy.stats.dirichlet(a)),
}

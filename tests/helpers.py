"""Random members of each family, and literature closed forms typed from textbooks.

The literature values here are *independent* of the package: typed from
standard references (and SciPy), never used as the source of a formula.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.special
import scipy.stats

import verify


def random_normal(rng):
    return verify.Normal(rng.normal(0, 2), rng.uniform(0.2, 3.0))


def random_bernoulli(rng):
    return verify.Bernoulli(probs=rng.uniform(0.01, 0.99))


def random_categorical(rng, num_classes=4):
    return verify.Categorical(probs=rng.dirichlet(np.ones(num_classes)))


def random_tril(rng, dim):
    tril = np.tril(rng.normal(0, 0.5, (dim, dim)), -1)
    return tril + np.diag(rng.uniform(0.3, 2.0, dim))


def random_mvn(rng, dim=3):
    return verify.MultivariateNormal(rng.normal(0, 1, dim), scale_tril=random_tril(rng, dim))


#: The first four families, with hand-written draws and the literature values below.
LITERATURE = {
    "normal": (verify.Normal, {}, random_normal),
    "bernoulli": (verify.Bernoulli, {}, random_bernoulli),
    "categorical": (verify.Categorical, {"num_classes": 4}, random_categorical),
    "multivariate_normal": (verify.MultivariateNormal, {"dim": 3}, random_mvn),
}


def registry_draw(cls):
    """A random member of a registered family, from its ``random_params(spread="moderate")``."""

    def draw(rng):
        params = cls.random_params(rng, 1, spread="moderate")
        return cls.from_params(*(np.asarray(x[0], np.float64) for x in params))

    return draw


def _every_family():
    known = {cls for cls, _, _ in LITERATURE.values()}
    others = {
        name: (cls, {}, registry_draw(cls))
        for name, cls in verify.FAMILIES.items()
        if cls not in known
    }
    return {**LITERATURE, **others}


#: family name -> (class, dims for verify.derive, random member): every registered family.
FAMILIES = _every_family()


def _mvn_arrays(dist):
    if not isinstance(dist, verify.MultivariateNormal):
        raise TypeError(f"no literature value typed for {type(dist).__name__}")
    loc = np.asarray(dist.loc, np.float64)
    tril = np.asarray(dist.scale_tril, np.float64)
    return loc, tril @ tril.T


def literature_kl(p, q):
    """KL from textbook formulas / SciPy (Cover & Thomas; Wikipedia's table)."""
    if isinstance(p, verify.Normal):
        m1, s1, m2, s2 = (float(v) for v in (p.loc, p.scale, q.loc, q.scale))
        return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    if isinstance(p, verify.Bernoulli):
        a, b = float(p.canonical()[0]), float(q.canonical()[0])
        return scipy.stats.entropy([a, 1 - a], [b, 1 - b])
    if isinstance(p, verify.Categorical):
        return scipy.stats.entropy(np.asarray(p.canonical()[0]), np.asarray(q.canonical()[0]))
    mu0, s0 = _mvn_arrays(p)
    mu1, s1 = _mvn_arrays(q)
    inv1 = np.linalg.inv(s1)
    diff = mu1 - mu0
    logdet = np.linalg.slogdet(s1)[1] - np.linalg.slogdet(s0)[1]
    return 0.5 * (np.trace(inv1 @ s0) + diff @ inv1 @ diff - len(mu0) + logdet)


def literature_entropy(p):
    """Entropy from SciPy's distributions."""
    if isinstance(p, verify.Normal):
        return scipy.stats.norm(float(p.loc), float(p.scale)).entropy()
    if isinstance(p, verify.Bernoulli):
        return scipy.stats.bernoulli(float(p.canonical()[0])).entropy()
    if isinstance(p, verify.Categorical):
        return scipy.stats.entropy(np.asarray(p.canonical()[0]))
    mean, cov = _mvn_arrays(p)
    return scipy.stats.multivariate_normal(mean, cov).entropy()


def literature_cross_entropy(p, q):
    """Cross-entropy by quadrature or direct summation of -P(x) log Q(x)."""
    if isinstance(p, verify.Normal):
        dp = scipy.stats.norm(float(p.loc), float(p.scale))
        dq = scipy.stats.norm(float(q.loc), float(q.scale))
        lo, hi = dp.ppf(1e-15), dp.ppf(1 - 1e-15)
        value, _ = scipy.integrate.quad(lambda x: -dp.pdf(x) * dq.logpdf(x), lo, hi, epsabs=1e-13)
        return value
    if isinstance(p, verify.Bernoulli | verify.Categorical):
        probs_p = np.atleast_1d(np.asarray(p.canonical()[0], np.float64))
        probs_q = np.atleast_1d(np.asarray(q.canonical()[0], np.float64))
        if isinstance(p, verify.Bernoulli):
            probs_p = np.concatenate([probs_p, 1 - probs_p])
            probs_q = np.concatenate([probs_q, 1 - probs_q])
        return -np.sum(scipy.special.xlogy(probs_p, probs_q))
    mu0, s0 = _mvn_arrays(p)
    mu1, s1 = _mvn_arrays(q)
    inv1 = np.linalg.inv(s1)
    diff = mu1 - mu0
    d = len(mu0)
    logdet = np.linalg.slogdet(s1)[1]
    return 0.5 * (d * np.log(2 * np.pi) + logdet + np.trace(inv1 @ s0) + diff @ inv1 @ diff)

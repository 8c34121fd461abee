"""The implementations the benchmarks compare, behind one interface.

Every implementation is a function ``make(family, quantity, dtype)`` returning
a callable of the canonical parameters as NumPy arrays (batched on the leading
axis; Normal ``(loc, scale)``, Bernoulli ``(probs,)``, Categorical ``(probs,)``
with classes last, MultivariateNormal ``(loc, scale_tril)``; P's parameters then
Q's) that returns a NumPy array, or ``None`` when the library has no such
closed form. Peers are optional: an implementation whose library is not
installed is reported as missing, with the import error, and skipped.

Each callable also has ``.prepare(*arrays)`` (convert once, outside the timed
region) and ``.run(prepared)`` (compute, blocking until done) for the throughput
benchmark.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Before torch is loaded: its OpenMP threads otherwise spin after each call, taking the CPU
# from the implementation timed next (see benchmarks/vocab.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

FAMILIES = ("normal", "bernoulli", "categorical", "multivariate_normal")
QUANTITIES = ("kl", "entropy", "cross_entropy")


class Kernel:
    """A batched implementation: ``prepare`` converts, ``run`` computes, ``__call__`` does both."""

    def __init__(self, prepare, run):
        self.prepare = prepare
        self.run = run

    def __call__(self, *arrays):
        return np.asarray(self.run(self.prepare(*arrays)), dtype=np.float64)


def _jax_kernel(function):
    compiled = jax.jit(function)

    def prepare(*arrays):
        return [jnp.asarray(a) for a in arrays]

    def run(args):
        return compiled(*args).block_until_ready()

    return Kernel(prepare, run)


# ---------------------------------------------------------------- this project
def make_verify(family, quantity, dtype):
    import verify

    classes = {
        "normal": lambda loc, scale: verify.Normal(loc, scale, validate_args=False),
        "bernoulli": lambda probs: verify.Bernoulli(probs=probs, validate_args=False),
        "categorical": lambda probs: verify.Categorical(probs=probs, validate_args=False),
        "multivariate_normal": lambda loc, tril: verify.MultivariateNormal(
            loc, scale_tril=tril, validate_args=False
        ),
    }
    make, arity = classes[family], _ARITY[family]
    function = getattr(verify, quantity)

    def evaluate(*params):
        dists = [make(*params[i : i + arity]) for i in range(0, len(params), arity)]
        return function(*dists)

    return _jax_kernel(evaluate)


_ARITY = {"normal": 2, "bernoulli": 1, "categorical": 1, "multivariate_normal": 2}


# --------------------------------------------------- textbook formulas in JAX
def _textbook(xp, family, quantity):
    """The textbook closed forms, written with array namespace ``xp`` (jnp or np)."""
    log, pi = xp.log, np.pi

    def xlogy(x, y):
        return xp.where(x == 0, 0, x * log(xp.where(x == 0, 1, y)))

    if family == "normal":
        forms = {
            "kl": lambda mp, sp, mq, sq: (
                ((mp - mq) / sq) ** 2 / 2 + ((sp / sq) ** 2 - 1) / 2 - log(sp / sq)
            ),
            "entropy": lambda m, s: log(s) + (1 + log(2 * pi)) / 2,
            "cross_entropy": lambda mp, sp, mq, sq: (
                log(sq) + log(2 * pi) / 2 + (((mp - mq) / sq) ** 2 + (sp / sq) ** 2) / 2
            ),
        }
    elif family == "bernoulli":
        forms = {
            "kl": lambda p, q: (
                xlogy(p, p) - xlogy(p, q) + xlogy(1 - p, 1 - p) - xlogy(1 - p, 1 - q)
            ),
            "entropy": lambda p: -(xlogy(p, p) + xlogy(1 - p, 1 - p)),
            "cross_entropy": lambda p, q: -(xlogy(p, q) + xlogy(1 - p, 1 - q)),
        }
    elif family == "categorical":
        forms = {
            "kl": lambda p, q: xp.sum(xlogy(p, p) - xlogy(p, q), axis=-1),
            "entropy": lambda p: -xp.sum(xlogy(p, p), axis=-1),
            "cross_entropy": lambda p, q: -xp.sum(xlogy(p, q), axis=-1),
        }
    else:
        return None
    return forms[quantity]


def make_textbook_jax(family, quantity, dtype):
    if family == "multivariate_normal":
        return _mvn_textbook_jax(quantity)
    return _jax_kernel(_textbook(jnp, family, quantity))


def _mvn_textbook_jax(quantity):
    import jax.scipy.linalg as jsl

    def pieces(mp, lp, mq, lq):
        w = jsl.solve_triangular(lq, lp, lower=True)
        z = jsl.solve_triangular(lq, (mp - mq)[..., None], lower=True)[..., 0]
        logdet = lambda t: jnp.sum(jnp.log(jnp.diagonal(t, axis1=-2, axis2=-1)), -1)  # noqa: E731
        return jnp.sum(w**2, (-2, -1)), jnp.sum(z**2, -1), logdet(lp), logdet(lq)

    def kl(mp, lp, mq, lq):
        tr, maha, ldp, ldq = pieces(mp, lp, mq, lq)
        return (tr + maha - mp.shape[-1]) / 2 + ldq - ldp

    def entropy(m, lt):
        d = m.shape[-1]
        return d * (1 + jnp.log(2 * jnp.pi)) / 2 + jnp.sum(
            jnp.log(jnp.diagonal(lt, axis1=-2, axis2=-1)), -1
        )

    def cross_entropy(mp, lp, mq, lq):
        tr, maha, _, ldq = pieces(mp, lp, mq, lq)
        return (tr + maha + mp.shape[-1] * jnp.log(2 * jnp.pi)) / 2 + ldq

    return _jax_kernel({"kl": kl, "entropy": entropy, "cross_entropy": cross_entropy}[quantity])


def make_numpy(family, quantity, dtype):
    if family == "multivariate_normal":
        return None
    form = _textbook(np, family, quantity)

    def run(args):
        with np.errstate(all="ignore"):
            return form(*args)

    return Kernel(lambda *a: [np.asarray(x) for x in a], run)


# ------------------------------------------------------------------------ torch
def make_torch(family, quantity, dtype):
    import torch
    import torch.distributions as td

    torch.set_num_threads(os.cpu_count() or 1)
    build = {
        "normal": lambda m, s: td.Normal(m, s, validate_args=False),
        "bernoulli": lambda p: td.Bernoulli(probs=p, validate_args=False),
        "categorical": lambda p: td.Categorical(probs=p, validate_args=False),
        "multivariate_normal": lambda m, lt: td.MultivariateNormal(
            m, scale_tril=lt, validate_args=False
        ),
    }[family]
    arity = _ARITY[family]
    if quantity == "cross_entropy":
        return None  # torch.distributions has no cross-entropy between distributions

    def run(args):
        with torch.no_grad():
            dists = [build(*args[i : i + arity]) for i in range(0, len(args), arity)]
            if quantity == "kl":
                return td.kl_divergence(*dists).numpy()
            return dists[0].entropy().numpy()

    def prepare(*arrays):
        return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]

    return Kernel(prepare, run)


# ----------------------------------------------------- TFP's JAX substrate
def make_tfp(family, quantity, dtype):
    from tensorflow_probability.substrates import jax as tfp

    tfd = tfp.distributions
    build = {
        "normal": lambda m, s: tfd.Normal(m, s),
        "bernoulli": lambda p: tfd.Bernoulli(probs=p, dtype=p.dtype),
        "categorical": lambda p: tfd.Categorical(probs=p),
        "multivariate_normal": lambda m, lt: tfd.MultivariateNormalTriL(m, scale_tril=lt),
    }[family]
    return _jax_kernel(_method_caller(build, _ARITY[family], quantity))


def _method_caller(build, arity, quantity):
    def evaluate(*params):
        dists = [build(*params[i : i + arity]) for i in range(0, len(params), arity)]
        if quantity == "kl":
            return dists[0].kl_divergence(dists[1])
        if quantity == "cross_entropy":
            return dists[0].cross_entropy(dists[1])
        return dists[0].entropy()

    return evaluate


# ---------------------------------------------------------------------- distrax
def make_distrax(family, quantity, dtype):
    import distrax

    build = {
        "normal": lambda m, s: distrax.Normal(m, s),
        "bernoulli": lambda p: distrax.Bernoulli(probs=p, dtype=p.dtype),
        "categorical": lambda p: distrax.Categorical(probs=p),
        "multivariate_normal": lambda m, lt: distrax.MultivariateNormalTri(m, scale_tri=lt),
    }[family]
    return _jax_kernel(_method_caller(build, _ARITY[family], quantity))


# ---------------------------------------------------------------------- numpyro
def make_numpyro(family, quantity, dtype):
    import numpyro.distributions as nd
    from numpyro.distributions.kl import kl_divergence

    build = {
        "normal": lambda m, s: nd.Normal(m, s),
        "bernoulli": lambda p: nd.BernoulliProbs(p),
        "categorical": lambda p: nd.CategoricalProbs(p),
        "multivariate_normal": lambda m, lt: nd.MultivariateNormal(m, scale_tril=lt),
    }[family]
    arity = _ARITY[family]
    if quantity == "cross_entropy":
        return None
    probe = [np.full((1,) + s, v, dtype) for s, v in _PROBE[family]]
    dists = [build(*probe[i : i + arity]) for i in range(0, len(probe), arity)]
    try:
        if quantity == "kl":
            kl_divergence(dists[0], dists[0])
        else:
            dists[0].entropy()
    except NotImplementedError:
        return None

    def evaluate(*params):
        ds = [build(*params[i : i + arity]) for i in range(0, len(params), arity)]
        return kl_divergence(*ds) if quantity == "kl" else ds[0].entropy()

    return _jax_kernel(evaluate)


_PROBE = {
    "normal": [((), 0.0), ((), 1.0)],
    "bernoulli": [((), 0.5)],
    "categorical": [((2,), 0.5)],
    "multivariate_normal": [((1,), 0.0), ((1, 1), 1.0)],
}


# ------------------------------------------------------------------------ scipy
def make_scipy(family, quantity, dtype):
    import scipy.stats as st

    if family == "categorical" and quantity in ("kl", "entropy"):
        if quantity == "kl":
            return Kernel(lambda p, q: (p, q), lambda a: st.entropy(a[0], a[1], axis=-1))
        return Kernel(lambda p: (p,), lambda a: st.entropy(a[0], axis=-1))
    if family == "bernoulli" and quantity in ("kl", "entropy"):

        def pair(p):
            return np.stack([p, 1 - p], axis=-1)

        if quantity == "kl":
            return Kernel(lambda p, q: (pair(p), pair(q)), lambda a: st.entropy(*a, axis=-1))
        return Kernel(lambda p: (pair(p),), lambda a: st.entropy(a[0], axis=-1))
    if family == "normal" and quantity == "entropy":
        return Kernel(lambda m, s: (m, s), lambda a: st.norm.entropy(a[0], a[1]))
    return None


#: column name -> factory, in the order of the tables.
IMPLEMENTATIONS = {
    "verify": make_verify,
    "textbook JAX": make_textbook_jax,
    "numpy": make_numpy,
    "torch": make_torch,
    "TFP-JAX": make_tfp,
    "distrax": make_distrax,
    "numpyro": make_numpyro,
    "scipy": make_scipy,
}


def load(name, family, quantity, dtype):
    """(kernel or None, note): ``None`` with a note when missing or unsupported."""
    try:
        kernel = IMPLEMENTATIONS[name](family, quantity, dtype)
    except ImportError as error:
        return None, f"not installed ({error.name})"
    return kernel, "" if kernel is not None else "no closed form"


def versions():
    """Installed versions of every library, for the report header."""
    import importlib.metadata as md

    out = {}
    packages = (
        "jax",
        "numpy",
        "torch",
        "tfp-nightly",
        "tensorflow-probability",
        "distrax",
        "numpyro",
        "scipy",
    )
    for package in packages:
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = None
    return {k: v for k, v in out.items() if v is not None}

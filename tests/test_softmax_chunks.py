"""The GPU's one-pass KL from logits (verify._softmax_chunks): its join, proved; its kernel,
run in Pallas's interpreter here, against the CPU's forms (tests/test_logits.py also runs
it through ``verify.kl`` with gradients, and on a GPU it is the path every KL of logits
takes)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from verify import _softmax_chunks, _special


def _g(x):
    return sp.exp(x) - 1 - x


def _symbolic_chunk(a, b, top_a, top_b, centre, correction, by_series):
    """A chunk's STATISTICS (less the count of infinite classes) in SymPy, about any centre
    and correction (the kernel's are rounded), every class by the Taylor series' side
    (``by_series``) or by the tilted weights' side."""
    weights = [sp.exp(x - top_a) for x in a]
    t = [y - x - centre - correction for x, y in zip(a, b)]
    residual = sp.Add(*(w * tk for w, tk in zip(weights, t)))
    if by_series:
        series, tilted, linear = sp.Add(*(w * _g(tk) for w, tk in zip(weights, t))), 0, 0
    else:
        series = 0
        tilted = sp.Add(*(sp.exp(y - top_b) for y in b))
        linear = sp.Add(*(w * (1 + tk) for w, tk in zip(weights, t)))
    normaliser_b = sp.Add(*(sp.exp(y - top_b) for y in b))
    normaliser = sp.Add(*weights)
    return (
        top_a,
        top_b,
        normaliser,
        normaliser_b,
        centre,
        correction,
        residual,
        series,
        tilted,
        linear,
    )


def test_the_join_of_the_chunks_is_the_rows_near_statistics_proved():
    """combine()'s joins, written in SymPy for two chunks of two classes (one by each side
    of the series' split), with arbitrary shifts for the maxima, arbitrary chunk centres and
    corrections and an arbitrary first mean mu_hi: the mean, and F and A about any centre."""
    a, b = sp.symbols("a1:5", real=True), sp.symbols("b1:5", real=True)
    shifts, centres = sp.symbols("m1:5", real=True), sp.symbols("c1:5", real=True)
    top, top_q, mu_hi = sp.symbols("M M_q mu", real=True)
    chunks = [
        _symbolic_chunk(a[:2], b[:2], shifts[0], shifts[1], *centres[:2], by_series=True),
        _symbolic_chunk(a[2:], b[2:], shifts[2], shifts[3], *centres[2:], by_series=False),
    ]
    scale = [sp.exp(c[0] - top) for c in chunks]
    total = sp.Add(*(c[2] * s for c, s in zip(chunks, scale)))
    offsets = [(c[4] - mu_hi) + c[5] for c in chunks]
    mean = (
        mu_hi + sp.Add(*(s * (c[6] + c[2] * o) for c, s, o in zip(chunks, scale, offsets))) / total
    )
    # F and A hold about any second part mu_lo of the centre (the code's: mean - mu_hi).
    mu_lo = sp.Symbol("mu_lo", real=True)
    tilt = (top_q - top - mu_hi) - mu_lo
    terms, mean_t = 0, 0
    for chunk, s, offset in zip(chunks, scale, offsets):
        top_a, top_b, n, _, _, _, residual, series, tilted, linear = chunk
        d = offset - mu_lo
        terms += s * (n * _g(d) + (sp.exp(d) - 1) * residual)
        terms += sp.exp(top_a - top + d) * (series - linear) + sp.exp(top_b - top_q + tilt) * tilted
        mean_t += s * (residual + n * d)
    gap = terms / total
    p = [sp.exp(x) / sp.Add(*(sp.exp(y) for y in a)) for x in a]
    t = [y - x - mu_hi - mu_lo for x, y in zip(a, b)]
    row = {
        "mu": (mean, sp.Add(*(pk * (y - x) for pk, x, y in zip(p, a, b)))),
        "F": (gap, sp.Add(*(pk * _g(tk) for pk, tk in zip(p, t)))),
        "A": (mean_t / total + gap, sp.Add(*(pk * (sp.exp(tk) - 1) for pk, tk in zip(p, t)))),
    }
    for name, (joined, direct) in row.items():
        difference = sp.expand(sp.powsimp(sp.expand(joined - direct), combine="exp"))
        assert sp.simplify(difference) == 0, name


def _rows(vocab, rng):
    """Rows for each of the kernel's branches: near with every logit finite (the series
    alone), far (the general sums), masked classes (-inf), p > 0 = q (+inf), q underflowing."""
    a = rng.normal(size=(6, vocab)) * 2
    b = a + rng.normal(size=a.shape) * np.array([[1e-5], [1e-2], [2.0], [1e-3], [1e-3], [0.1]])
    a[3, :3] = -np.inf  # masked classes of p
    b[3, 5] = -np.inf
    a[3, 5] = -np.inf  # masked in both
    b[4, 1] = -np.inf  # p > 0 = q: +inf
    b[5] -= 300 * (np.arange(vocab) == 2)  # q underflows where p has mass
    return a, b


def _slow_unless(dtype, chunk):
    """float32 and bfloat16 in chunks of 8 (the last one short) in the quick run."""
    quick = chunk == 8 and dtype in (jnp.float32, jnp.bfloat16)
    return pytest.param(dtype, chunk, marks=[] if quick else [pytest.mark.slow])


@pytest.mark.parametrize(
    "dtype, chunk",
    [
        _slow_unless(dtype, chunk)
        for dtype in (jnp.float64, jnp.float32, jnp.bfloat16, jnp.float16)
        for chunk in (8, 64)
    ],
)
def test_the_kernel_gives_the_cpu_values(dtype, chunk):
    """Through Pallas's interpreter: 37 classes in chunks of 8 (the last one short) or one
    chunk of 64; every dtype, against the CPU's forms on the same inputs in float64."""
    a0, b0 = _rows(37, np.random.default_rng(5))
    a, b = jnp.asarray(a0, dtype), jnp.asarray(b0, dtype)
    exact = np.asarray(_special.softmax_kl(a.astype(jnp.float64), b.astype(jnp.float64)))
    value, _ = _special._kl_forward_in_chunks(a, b, chunk=chunk, interpret=True)
    assert value.dtype == dtype and value.shape == (6,)  # the inputs' dtype, a value per row
    value = np.asarray(value, np.float64)
    assert np.isinf(value[4]) and np.isinf(exact[4])
    finite = np.isfinite(exact)
    if jnp.finfo(dtype).bits < 32:  # within an ulp of the value rounded to the dtype
        rounded = jnp.asarray(exact[finite], dtype)
        ulp = np.asarray(jnp.nextafter(rounded, jnp.asarray(np.inf, dtype)) - rounded, np.float64)
        assert np.all(np.abs(value[finite] - np.asarray(rounded, np.float64)) <= ulp)
    else:
        error = np.abs(value[finite] - exact[finite]) / exact[finite]
        assert np.all(error <= 8 * float(jnp.finfo(dtype).eps))


def test_the_kernel_is_taken_only_where_it_ran():
    """The kernel is the NVIDIA GPU's path on the JAX versions it ran on (else the XLA forms)."""
    version = tuple(int(x) for x in jax.__version__.split(".")[:2])
    lo, hi = _softmax_chunks.JAX_VERSIONS
    assert _softmax_chunks.jax_version_ran() == (lo <= version < hi)
    on_cuda = any(d.platform == "gpu" for d in jax.devices())
    assert _softmax_chunks.available() == (on_cuda and lo <= version < hi)


def _literal_outputs_of_conds(jaxpr, where="kernel"):
    """Branches of a ``lax.cond`` (at any depth) that return a constant: Pallas's Triton
    lowering yields only computed values ('Operand 4 of operation "scf.yield" must be a
    Value', seen on an H200), which the interpreter here does not check."""
    from jax.extend import core

    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "cond":
            for i, branch in enumerate(eqn.params["branches"]):
                outs = branch.jaxpr.outvars
                found += [(where, i, k) for k, v in enumerate(outs) if isinstance(v, core.Literal)]
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = sub if hasattr(sub, "eqns") else getattr(sub, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    found += _literal_outputs_of_conds(inner, f"{where}/{eqn.primitive.name}")
    return found


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_no_branch_of_the_kernel_returns_a_constant(dtype):
    x = jnp.zeros((2, 5000), dtype)
    jaxpr = jax.make_jaxpr(_softmax_chunks.chunk_statistics)(x, x)
    assert "pallas_call" in str(jaxpr)
    assert _literal_outputs_of_conds(jaxpr.jaxpr) == []

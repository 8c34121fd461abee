"""KL(softmax(a) || softmax(b)) in one pass over the logits: statistics per chunk of a row.

On a GPU the KL from ``[..., V]`` logits is bound by memory. The XLA forms of
:func:`verify._special.softmax_kl` read each logit three times (the maxima, the
normalisers, the near pass), as every ``log_softmax`` form does. Here each row is
cut into chunks of ``CHUNK`` logits, and one program of a kernel (Pallas, lowered
through Triton) reads a chunk of ``a`` and of ``b`` once and keeps it in
registers while it takes the chunk's maxima, its normalisers and, about the
chunk's own mean ``mu_c = E_p[b - a | chunk]``, the near sums. A few numbers per
chunk go back to memory, and :func:`combine` joins them exactly into the row's
statistics.

With ``delta = b - a``, the row's ``mu = E_p[delta]``, ``t = delta - mu``,
``d_c = mu_c - mu``, ``t_c = delta - mu_c`` inside chunk ``c`` and
``g(x) = e^x - 1 - x >= 0``, the identity

    g(t) = g(d_c + t_c) = e^{d_c} g(t_c) + g(d_c) + (e^{d_c} - 1) t_c

gives ``F = E_p[g(t)]`` as a sum of the chunks' ``E[g(t_c)]`` (non-negative
terms, from the series or the tilted weights as in :mod:`verify._special`), their
``g(d_c)`` (non-negative) and a residual ``E[t_c]``, which is 0 up to rounding
(its own sum: the mean's rounding is not dropped, as the near pass keeps it).
Nothing cancels that the three-pass form does not cancel, and ``mu`` enters only
through ``d_c``: the value is the near pass's ``F + log1pmx(A)`` or the far
``log E_p[e^t]``, chosen by the same rule. The centres are kept to below their
rounding, for logits that differ by an offset (see ``verify._special._centred``):
``b - a`` exact (TwoSum), each chunk's centre refined once and written as two
numbers (``centre``, ``correction``), and the row's ``mu`` joined as two numbers, with
its ``E_p[t]`` about them as a third (for the gradient).
``tests/test_softmax_chunks.py`` proves the identity in SymPy and runs the kernel in
Pallas's interpreter on the CPU, against the CPU's forms.
"""

from __future__ import annotations

import functools
import importlib

import jax
import jax.numpy as jnp

from verify import _special

#: The versions of JAX whose Pallas-on-Triton lowering ran this kernel (0.11.2 on an H200,
#: 0.10.2 in the interpreter). JAX 0.11 deprecates that backend (for Mosaic GPU or
#: jax_triton); other versions take the XLA forms.
JAX_VERSIONS = ((0, 10), (0, 12))

#: Logits of a row that one program reads (a power of two: Triton's blocks).
CHUNK = 2048
#: Warps per program.
WARPS = 4
#: Whether a chunk may take the sums without masks or the series alone (see _chunk_kernel).
BRANCHES = True

#: The per-chunk statistics the kernel writes, in order.
STATISTICS = (
    "top_a",  # max a
    "top_b",  # max b
    "normaliser",  # sum w, w = exp(a - top_a)
    "normaliser_b",  # sum exp(b - top_b)
    "centre",  # sum w delta / sum w, rounded (delta over classes with a > -inf and b > -inf)
    "correction",  # E[t | chunk] about centre: the chunk's mean is centre + correction
    "residual",  # sum w t_c, t_c = delta - centre - correction: 0 up to rounding
    "series",  # sum w g(t_c) over |t_c| <= 1, from the Taylor series of g
    "tilted",  # sum exp(b - top_b) over the other classes (also those with p = 0)
    "linear",  # sum w (1 + t_c) over |t_c| > 1: their g = tilted - linear
    "infinite",  # the count of classes with a > -inf = b
)


def jax_version_ran() -> bool:
    """Whether this JAX's version is one the kernel ran on (:data:`JAX_VERSIONS`)."""
    version = tuple(int(part) for part in jax.__version__.split(".")[:2])
    return JAX_VERSIONS[0] <= version < JAX_VERSIONS[1]


@functools.cache
def available() -> bool:
    """Whether the KL of logits takes the kernel: a CUDA device, and this JAX has the Pallas
    Triton backend the kernel ran on. Elsewhere the kernel is not even traced (it would add
    about 50 ms to each compilation of the KL on the CPU).

    Example:
        >>> available() in (True, False)
        True
    """
    if not jax_version_ran():
        return False
    try:
        jax.devices("cuda")
        importlib.import_module("jax.experimental.pallas.triton")
    except (RuntimeError, ImportError):
        return False
    return True


def _working_dtype(dtype):
    return jnp.float32 if jnp.finfo(dtype).bits < 32 else dtype


def _near_statistics(zero, weights, weights_b, t, masks=None, small_only=False):
    """``residual, series, tilted, linear, infinite`` of a chunk, given ``t = delta - mean``.

    ``zero``: 0 as a computed value (a branch of a ``lax.cond`` that returns a constant
    does not lower through Triton). ``masks``: ``(a > -inf, b > -inf)``, or None where
    every logit of the chunk is finite. ``small_only``: every ``|t| <= 1`` (the series for
    every class; no tilted terms).
    """
    residual = jnp.sum(weights * t)
    if small_only:
        return residual, jnp.sum(weights * (t * t * _special._expm1mx_series(t))), zero, zero, zero
    both = True if masks is None else masks[0] & masks[1]
    small = both & (jnp.abs(t) <= 1)
    u = jnp.where(small, t, 0)
    if masks is None:
        infinite = zero
    else:
        infinite = jnp.sum(jnp.where(masks[0] & ~masks[1], 1, 0).astype(t.dtype))
    return (
        residual,
        jnp.sum(weights * (u * u * _special._expm1mx_series(u))),
        jnp.sum(jnp.where(small, 0, weights_b)),
        jnp.sum(jnp.where(both & ~small, weights * (1 + t), 0)),
        infinite,
    )


def _chunk_kernel(a_ref, b_ref, *out_refs, chunk, vocab, dtype, branches, rounded):
    """One chunk of one row: the statistics of :data:`STATISTICS`, from one read.

    A chunk whose logits are all finite (most) takes the sums without masks, and one
    whose ``|t| <= 1`` everywhere (near rows) the series alone: half the arithmetic of
    the general sums, which the kernel is bound by in 16 bits.
    """
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import triton as plgpu

    column = pl.program_id(0) * chunk + jnp.arange(chunk, dtype=jnp.int32)
    inside = column < vocab  # the last chunk of a row may be short: read as -inf
    a = plgpu.load(a_ref.at[column], mask=inside, other=-jnp.inf).astype(dtype)
    b = plgpu.load(b_ref.at[column], mask=inside, other=-jnp.inf).astype(dtype)
    top_a, top_b = jnp.max(a), jnp.max(b)
    weights = jnp.exp(a - jnp.where(top_a > -jnp.inf, top_a, 0))
    weights_b = jnp.exp(b - jnp.where(top_b > -jnp.inf, top_b, 0))
    normaliser = jnp.sum(weights)
    delta = b - a
    weighted = jnp.sum(weights * delta)  # inf or NaN (0 * inf) where some logit is -inf
    zero = (pl.program_id(0) * 0).astype(dtype)

    def unmasked():
        centre = weighted / normaliser
        t = _special._centred(b, a, centre, rounded)
        correction = jnp.sum(weights * t) / normaliser
        t = t - correction
        near = functools.partial(_near_statistics, zero, weights, weights_b, t)
        small_only = functools.partial(near, small_only=True)
        sums = jax.lax.cond(jnp.max(jnp.abs(t)) <= 1, small_only, near)
        return (centre, correction, *sums)

    def masked():
        live, finite_b = a > -jnp.inf, b > -jnp.inf
        both = live & finite_b
        occupied = normaliser > 0
        per_weight = 1 / jnp.where(occupied, normaliser, 1)
        centre = jnp.where(occupied, jnp.sum(weights * jnp.where(both, delta, 0)) * per_weight, 0)
        t = jnp.where(both, _special._centred(b, a, centre, rounded), 0)
        correction = jnp.sum(weights * t) * per_weight
        t = jnp.where(both, t - correction, 0)
        sums = _near_statistics(zero, weights, weights_b, t, (live, finite_b))
        return (centre, correction, *sums)

    sums = jax.lax.cond(jnp.isfinite(weighted), unmasked, masked) if branches else masked()
    values = (top_a, top_b, normaliser, jnp.sum(weights_b), *sums)
    for ref, value in zip(out_refs, values):
        ref[...] = value


def chunk_statistics(a, b, *, chunk=None, warps=None, branches=None, interpret=False):
    """The :data:`STATISTICS` of each chunk of each row: arrays ``(..., ceil(V / chunk))``.

    Args:
        a, b: logits of one shape ``(..., V)``, finite or ``-inf``.
        chunk: logits per program, a power of two (default :data:`CHUNK`).
        warps: warps per program (default :data:`WARPS`).
        branches: let a chunk take the cheaper sums it can (default :data:`BRANCHES`).
        interpret: run the kernel in Pallas's interpreter (any platform; for tests).

    Example:
        >>> import jax.numpy as jnp
        >>> stats = chunk_statistics(jnp.zeros((1, 5)), jnp.zeros((1, 5)), chunk=4, interpret=True)
        >>> [float(x) for x in stats[2][0]]  # the normaliser of each chunk: 4 logits, then 1
        [4.0, 1.0]
    """
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import triton as plgpu

    chunk = chunk or CHUNK
    vocab = a.shape[-1]
    dtype = _working_dtype(a.dtype)
    count = pl.cdiv(vocab, chunk)
    call = pl.pallas_call(
        functools.partial(
            _chunk_kernel,
            chunk=chunk,
            vocab=vocab,
            dtype=dtype,
            branches=BRANCHES if branches is None else branches,
            rounded=_special._rounded(a.dtype),
        ),
        grid=(count,),
        out_specs=[pl.BlockSpec((None,), lambda j: (j,))] * len(STATISTICS),
        out_shape=[jax.ShapeDtypeStruct((count,), dtype)] * len(STATISTICS),
        interpret=interpret,
        compiler_params=plgpu.CompilerParams(num_warps=warps or WARPS),
        name="softmax_kl_chunks",
    )
    lead = a.shape[:-1]
    rows = jax.vmap(call)(a.reshape(-1, vocab), b.reshape(-1, vocab))
    return tuple(x.reshape(*lead, count) for x in rows)


def _row_sum(x):
    return jnp.sum(x, axis=-1, keepdims=True)


def combine(stats):
    """The row statistics of :func:`verify._special._kl_forward` from the chunks' (exact joins).

    Returns ``(log_normaliser, mu, log_normaliser_b, log_mean, big_a, gap)``, each
    ``(..., 1)``: ``LSE(a)`` (as ``(max a, log N_a)``), ``E_p[delta]`` (as three numbers:
    ``hi + lo`` and ``E_p[t]`` about it), ``LSE(b)`` (as ``(max b, log N_b)``), the far value
    ``log E_p[e^t]`` (``+inf`` where a class has ``a > -inf = b``), ``A = E_p[e^t - 1]`` and
    ``F``.
    """
    top_a, top_b, normaliser, normaliser_b, centre, correction, residual = stats[:7]
    series, tilted, linear, infinite = stats[7:]
    top, top_q = jnp.max(top_a, -1, keepdims=True), jnp.max(top_b, -1, keepdims=True)
    scale = jnp.exp(top_a - top)  # a chunk's weights in the row's: 0 for a chunk of -inf
    total = _row_sum(normaliser * scale)
    total_b = _row_sum(normaliser_b * jnp.exp(top_b - top_q))
    # mu = mu_hi + mu_lo: the chunks' centres about a first, rounded mean, then their mean,
    # so that the centres d (chunk's less row's) keep the digits below ulp(mu).
    mu_hi = _row_sum(normaliser * scale * centre) / total
    offset = (centre - mu_hi) + correction
    mu_lo = _row_sum(scale * (residual + normaliser * offset)) / total
    d = offset - mu_lo
    tilt = _special._tilt(top_q, top, mu_hi, mu_lo)
    log_mean = jnp.where(_row_sum(infinite) > 0, jnp.inf, tilt + jnp.log(total_b / total))

    # g(t) = e^d g(t_c) + g(d) + (e^d - 1) t_c; tilted terms are exp(b - top - mu) in the row.
    terms = (
        scale * (normaliser * _special._expm1mx(d) + jnp.expm1(d) * residual)
        + jnp.exp(top_a - top + d) * (series - linear)
        + jnp.exp(top_b - top_q + tilt) * tilted
    )
    gap = _row_sum(terms) / total
    mean_t = _row_sum(scale * (residual + normaliser * d)) / total  # E_p[t] about mu_hi + mu_lo
    big_a = mean_t + gap
    log_normaliser, log_normaliser_b = (top, jnp.log(total)), (top_q, jnp.log(total_b))
    # The centre as three numbers, E_p[t] the third (see verify._special._kl_forward); 0 where
    # it is not a number (a row of +inf, whose terms are masked).
    mu = (mu_hi, mu_lo, jnp.where(jnp.isfinite(mean_t), mean_t, 0))
    return log_normaliser, mu, log_normaliser_b, log_mean, big_a, gap

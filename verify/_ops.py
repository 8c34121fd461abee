"""The JAX array backend that densities and closed forms are written against.

Every log-density and every closed form in `verify` is written once, as a plain
Python function whose first argument ``xp`` is a backend: a namespace of the
few operations the formula needs. Called with :data:`jax_ops` it computes with
JAX arrays (batched, jittable, differentiable); called with the SymPy backend
(:mod:`verify.symbolic.ops`) the *same code* builds a SymPy expression, which
is how the code that runs is proved equal to the closed form derived from the
density. One piece of code, two interpretations: nothing is typed twice.

Conventions shared by both backends:

* elementwise functions act on scalars and on arrays alike;
* vectors are the last axis, matrices the last two axes (``(..., d)`` and
  ``(..., d, d)``); leading axes are batch axes and broadcast;
* constants are written as integer arithmetic (``x / 2``, ``xp.log(2 * xp.pi)``)
  so that the SymPy backend stays exact; constants that a stable form needs to
  more than float precision (``xp.sqrt_2pi``, ``xp.sqrt_2pie``) are exact SymPy
  numbers on one backend and :class:`verify._special.ExactConstant` on the other;
* the accurate special functions of the stable forms (``log1pmx``,
  ``kl_div_delta``, ``kl_div_unit``, ``kl_div_log``, ``diff_ratio``, ``log_ratio``,
  ``log_mul``, ``xlog1py``, ``xlogx``, and the ``softmax_*`` forms of
  logits) are :mod:`verify._special` here and :mod:`verify.symbolic.functions` / their
  defining expressions on the SymPy backend.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from verify import _special

__all__ = ["jax_ops", "moderate_ops"]


# Jitted so that eager calls reuse the compiled loop: `fori_loop` in eager mode
# traces its body, a fresh closure at each call, and compiles it again every time.
@jax.jit
def _solve_lower(tril, rhs):
    """Solves ``tril @ out = rhs`` for lower-triangular ``tril``, ``rhs`` of shape ``(..., d, k)``.

    Forward substitution written in ``jax.numpy`` (row ``i`` from the rows above
    it), the same arithmetic as LAPACK's ``trsm``. Not ``jax.scipy.linalg``'s
    solver: on XLA's CPU backend (jax 0.10) two of its batched solves running in
    one computation can deadlock the intra-op thread pool (e.g. ``p.log_prob(x)
    - q.log_prob(x)`` for batches of distributions, under ``jit``).
    Entries above the diagonal are never read. Once an entry overflows, the
    ``nan`` of ``0 * inf`` or ``inf - inf`` in later rows is reported as ``inf``:
    every closed form uses the solution through its squared norm, which has
    overflowed; ``nan`` inputs still give ``nan``.
    """
    batch = jnp.broadcast_shapes(tril.shape[:-2], rhs.shape[:-2])
    tril = jnp.broadcast_to(tril, batch + tril.shape[-2:])
    rhs = jnp.broadcast_to(rhs, batch + rhs.shape[-2:])
    d = tril.shape[-1]
    strictly_lower = jnp.tril(tril, -1)
    diagonal = jnp.diagonal(tril, axis1=-2, axis2=-1)

    def row(i, out):
        # Rows >= i of `out` are still zero, so the full product only adds rows < i.
        done = jnp.einsum(
            "...j,...jk->...k", jax.lax.dynamic_index_in_dim(strictly_lower, i, -2, False), out
        )
        value = (
            jax.lax.dynamic_index_in_dim(rhs, i, -2, False) - done
        ) / jax.lax.dynamic_index_in_dim(diagonal, i, -1, True)
        # An entry overflowed earlier (the solution's norm is then beyond the range):
        # 0 * inf or inf - inf here is that overflow, not an undefined value.
        overflowed = jnp.any(jnp.isinf(out), axis=-2)
        value = jnp.where(jnp.isnan(value) & overflowed, jnp.inf, value)
        return jax.lax.dynamic_update_index_in_dim(out, value, i, -2)

    return jax.lax.fori_loop(0, d, row, jnp.zeros_like(rhs))


@jax.jit
def _cholesky(matrix):
    """The lower Cholesky factor of the symmetric positive definite ``matrix`` (``(..., d, d)``).

    Column by column (Cholesky-Crout), the arithmetic of LAPACK's unblocked ``potrf``;
    NaN where ``matrix`` is not positive definite. Not :func:`jax.numpy.linalg.cholesky`:
    on XLA's CPU backend (jax 0.10) its LAPACK call in one computation with the forms'
    solves hung the thread pool at random (a jitted KL of covariance-given normals, 10^5
    pairs, within some 100 calls; ``tests/test_formulas.py``). Only the lower triangle
    is read.
    """
    d = matrix.shape[-1]
    rows = jnp.arange(d)

    def column(j, factor):
        row_j = jax.lax.dynamic_index_in_dim(factor, j, -2, False)  # entries k < j so far
        m_j = jax.lax.dynamic_index_in_dim(matrix, j, -1, False)  # column j
        pivot = jnp.sqrt(jax.lax.dynamic_index_in_dim(m_j, j, -1, False) - jnp.sum(row_j**2, -1))
        below = (m_j - jnp.sum(factor * row_j[..., None, :], axis=-1)) / pivot[..., None]
        value = jnp.where(rows > j, below, jnp.where(rows == j, pivot[..., None], 0))
        return jax.lax.dynamic_update_index_in_dim(factor, value, j, -1)

    return jax.lax.fori_loop(0, d, column, jnp.zeros_like(matrix))


def _solve_lower_vector(tril, vector):
    """Solves ``tril @ out = vector`` for ``vector`` of shape ``(..., d)``.

    Leading axes of ``vector`` beyond the batch of ``tril`` (e.g. a sample axis)
    become columns of one right-hand side, rather than copies of ``tril``: one
    solve per distribution instead of one per sample.
    """
    d = vector.shape[-1]
    shape = jnp.broadcast_shapes(tril.shape[:-2], vector.shape[:-1])
    extra = len(shape) - (tril.ndim - 2)
    lead, batch = shape[:extra], shape[extra:]
    columns = jnp.broadcast_to(vector, shape + (d,)).reshape((-1,) + batch + (d,))
    columns = jnp.moveaxis(columns, 0, -1)  # (*batch, d, n)
    out = _solve_lower(tril, columns)
    return jnp.moveaxis(out, -1, 0).reshape(lead + batch + (d,))


@jax.jit
def _unit_ldl(m):
    """(delta, w) with ``I + m = (I + G) diag(1 + delta) (I + G)^T``, ``G`` strictly lower,
    and ``w_k = (1 + delta_k) sum_i G[i, k]**2``; ``I + m`` is never formed.

    Column ``j`` of the LDL^T recurrence: ``delta_j = m_jj - sum_{k<j} G_jk**2 d_k``
    and ``G_ij = (m_ij - sum_{k<j} G_ik G_jk d_k) / d_j`` for ``i > j``, ``d = 1 + delta``.
    """
    d = m.shape[-1]
    rows = jnp.arange(d)

    def column(j, carry):
        g, delta = carry
        pivot = 1 + delta
        g_j = jax.lax.dynamic_index_in_dim(g, j, -2, False)  # row j: entries k < j so far
        m_j = jax.lax.dynamic_index_in_dim(m, j, -1, False)  # column j of m
        delta_j = jax.lax.dynamic_index_in_dim(m_j, j, -1, False) - jnp.sum(
            g_j * g_j * pivot, axis=-1
        )
        below = (m_j - jnp.einsum("...ik,...k->...i", g, g_j * pivot)) / (1 + delta_j)[..., None]
        g = jax.lax.dynamic_update_index_in_dim(g, jnp.where(rows > j, below, 0), j, -1)
        delta = jax.lax.dynamic_update_index_in_dim(delta, delta_j, j, -1)
        return g, delta

    zeros = jnp.zeros(m.shape[:-1], m.dtype)
    g, delta = jax.lax.fori_loop(0, d, column, (jnp.zeros_like(m), zeros))
    return delta, (1 + delta) * jnp.sum(g * g, axis=-2)


#: Batch members per chunk of a heavy form (:meth:`_JaxOps.in_chunks`): its intermediate
#: arrays stay in the cache (64 K members: 512 KB in float64).
CHUNK = 1 << 16


def _chunk_length(sizes):
    """How many batch members :meth:`_JaxOps.together` gives ``function`` at a time.

    The smallest call's where it divides the others' (no padding: the Dirichlet KL's
    Binet divergences of ``B x K`` parameters and ``B`` totals run as ``K + 1`` chunks of
    ``B``), unless that makes many small chunks; else the largest call's, the others padded
    to it (a KL to one distribution from a batch: one chunk each, not one per member).

    Example:
        >>> _chunk_length([300, 100]), _chunk_length([5, 1]), _chunk_length([4096, 1])
        (100, 1, 4096)
    """
    smallest = min(sizes)
    chunks = sum(sizes) // smallest
    if all(size % smallest == 0 for size in sizes) and (
        chunks <= 4 * len(sizes) or smallest >= 256
    ):
        return smallest
    return max(sizes)


class _JaxOps:
    """Backend namespace over :mod:`jax.numpy`; see the module docstring."""

    name = "jax"
    pi = jnp.pi

    log = staticmethod(jnp.log)
    xlogy = staticmethod(jss.xlogy)
    xlog1py = staticmethod(_special.xlog1py)
    kl_div_delta = staticmethod(_special.kl_div_delta)
    kl_div_unit = staticmethod(_special.kl_div_unit)
    kl_div_log = staticmethod(_special.kl_div_log)
    log1p = staticmethod(_special.log1p)
    unit_ldl = staticmethod(_unit_ldl)
    diff_ratio = staticmethod(_special.diff_ratio)
    log_ratio = staticmethod(_special.log_ratio)
    log_mul = staticmethod(_special.log_mul)
    xlogx = staticmethod(_special.xlogx)
    softplus = staticmethod(jax.nn.softplus)
    softmax_kl = staticmethod(_special.softmax_kl)
    softmax_entropy = staticmethod(_special.softmax_entropy)
    softmax_cross_entropy = staticmethod(_special.softmax_cross_entropy)
    divide = staticmethod(jnp.divide)
    exp = staticmethod(jnp.exp)
    abs = staticmethod(jnp.abs)
    minimum = staticmethod(jnp.minimum)
    expm1 = staticmethod(jnp.expm1)
    sqrt = staticmethod(jnp.sqrt)
    lgamma = staticmethod(_special.lgamma)  # relative accuracy at its zeros 1 and 2
    digamma = staticmethod(_special.digamma)  # its derivative beyond 1e154
    polygamma = staticmethod(_special.polygamma)
    erf = staticmethod(jss.erf)
    log_sigmoid = staticmethod(jax.nn.log_sigmoid)
    where = staticmethod(jnp.where)

    @staticmethod
    def fast_when_moderate(form, *params):
        """``form(xp, *params)``, with the plain arithmetic of :data:`moderate_ops` where
        every parameter is moderate (:func:`verify._special.moderate`), else with the range
        helpers that read exponents as integers; see
        :func:`verify.formulas.fast_when_moderate`.

        Under ``jit`` the test is a ``lax.cond`` on the data, and under ``vmap`` too (the
        test is over the whole batch); called eagerly, a Python ``if``
        (:func:`verify._special._branch`). Derivatives are those of the range helpers'
        form: a ``lax.cond`` under ``grad`` would keep the residuals of both branches.

        Example:
            >>> def form(xp, x, s):
            ...     return xp.diff_ratio(x, 1.0, s)
            >>> float(jax_ops.fast_when_moderate(form, 3.0, 2.0))
            1.0
        """
        return _fast_when_moderate(form, *params)

    def in_chunks(self, form, ranks, *params):
        """``form(xp, *params)``, over the batch in chunks of :data:`CHUNK` members
        (``lax.map``) where it holds at least two; see :func:`verify.formulas.in_chunks`.

        ``ranks``: each parameter's event rank. Parameters with one batch member are passed
        whole to each chunk; members that fill the last chunk repeat the first. Under
        ``vmap`` the batch traced is one member's: one call.

        Example:
            >>> import jax.numpy as jnp
            >>> def form(xp, x, y):
            ...     return x * y
            >>> x = jnp.arange(3.0 * CHUNK)
            >>> bool(jnp.all(jax_ops.in_chunks(form, (0, 0), x, 2.0) == 2 * x))
            True
        """
        params = [jnp.asarray(x) for x in params]
        events = [x.shape[x.ndim - rank :] for x, rank in zip(params, ranks)]
        batches = [x.shape[: x.ndim - len(e)] for x, e in zip(params, events)]
        shape = jnp.broadcast_shapes(*batches)
        size = math.prod(shape)
        if size < 2 * CHUNK:
            return form(self, *params)
        count = -(-size // CHUNK)
        batched = [math.prod(batch) > 1 for batch in batches]

        def chunks(x, event):
            x = jnp.broadcast_to(x, shape + event).reshape((size, *event))
            x = jnp.concatenate([x, jnp.repeat(x[:1], count * CHUNK - size, axis=0)])
            return x.reshape((count, CHUNK, *event))

        def call(*pieces):  # the batched parameters' chunks, then the others whole
            pieces, whole = iter(pieces[: sum(batched)]), iter(pieces[sum(batched) :])
            return form(self, *(next(pieces) if b else next(whole) for b in batched))

        mapped = [chunks(x, e) for x, e, b in zip(params, events, batched) if b]
        whole = [x.reshape(e) for x, e, b in zip(params, events, batched) if not b]
        return _map(call, mapped, whole).reshape(-1)[:size].reshape(shape)

    @staticmethod
    def unless_nan(value, fallback):
        """``value``, and ``fallback()`` where it is NaN, computed only if some element is.

        Under ``jit`` the test is a ``lax.cond`` on the data (under ``vmap`` on the whole
        batch: :func:`verify._special.some`; called eagerly, a Python ``if``:
        :func:`verify._special._branch`).

        Example:
            >>> import jax.numpy as jnp
            >>> jax_ops.unless_nan(jnp.array([1.0, jnp.nan]), lambda: jnp.array([5.0, 6.0]))
            Array([1., 6.], dtype=float64)
        """
        nan = jnp.isnan(value)
        return _special._branch(
            _special.some(nan), lambda: jnp.where(nan, fallback(), value), lambda: value
        )

    @staticmethod
    def mean_difference(x_p, r_p, x_q, r_q):
        """``x_q / (x_q + r_q) - x_p / (x_p + r_p)``: the change of a class's mean, given its
        concentration ``x`` and the sum ``r`` of the others, for P and Q.

        From the means, or where both exceed 1/2 from their complements ``r / s``, so
        that the terms subtracted are the smaller ones: the rounding error is eps times
        the smaller of a mean and its complement (``1e-100`` for means ``1 - 1e-100``
        and ``1 - 1e-200``, where the means themselves round to 1). A caller that
        takes P's mean as ``x_p / (x_p + r_p)``, as here, gets ``mean + difference >= 0``.

        Example:
            >>> float(jax_ops.mean_difference(1e300, 1e100, 1e100, 1.0))  # 1e-200 - 1e-100
            -1e-100
        """
        s_p, s_q = x_p + r_p, x_q + r_q
        mean_p, mean_q = x_p / s_p, x_q / s_q
        large = (mean_p > 0.5) & (mean_q > 0.5)
        return jnp.where(large, r_p / s_p - r_q / s_q, mean_q - mean_p)

    @staticmethod
    def tiny_scale(*xs):
        """A power of two ``s`` that lifts ``xs`` away from the subnormal range where all of
        them are below ``2**k`` times the smallest normal number (``k`` = the dtype's
        mantissa bits + 11: 2**-959 in float64, 2**-92 in float32); 1 elsewhere.

        For a sum ``H + KL`` whose KL may be subnormal where ``H`` is not (XLA on CPU
        flushes it to 0; at Poisson rates near the smallest normal number that lost up to
        1e-3 of the cross-entropy): ``(s H + s KL) / s`` with ``s KL`` from a form
        homogeneous in ``xs``. Scaling by a power of two is exact.

        Example:
            >>> import numpy as np
            >>> float(jax_ops.tiny_scale(np.float64(1e-280), 3e-308))  # one is not tiny
            1.0
            >>> float(jax_ops.tiny_scale(np.float64(3e-308))) == 2.0**63
            True
        """
        dtype = jnp.result_type(*xs)
        info = jnp.finfo(dtype)
        k = info.nmant + 11
        bound = float(info.tiny) * 2.0**k
        tiny = functools.reduce(jnp.logical_and, [jnp.abs(x) < bound for x in xs])
        return jnp.where(tiny, jnp.asarray(2.0**k, dtype), jnp.asarray(1, dtype))

    @staticmethod
    def positive_or_nan(x):
        """``x`` where it is positive, else NaN: a positive quantity flushed to 0 (or below
        the float range) that a form must not take for an exact 0.

        Example:
            >>> import jax.numpy as jnp
            >>> jax_ops.positive_or_nan(jnp.array([2.0, 0.0]))
            Array([ 2., nan], dtype=float64)
        """
        return jnp.where(x > 0, x, jnp.nan)

    @staticmethod
    def accurate_sum(scalars, events, error=0, tolerance=1e-6):
        """The sum of ``scalars`` and of each of ``events`` over the last axis, or NaN.

        NaN where the sum is not finite or its rounding error may exceed ``tolerance`` of
        it (:meth:`within_rounding`, with ``error`` the terms' own bound; 64 ulp where that
        is more: float32 and narrower). For a form whose terms may cancel or overflow: a NaN
        (which ``verify.kl`` reports as an error) rather than a number that means nothing.

        Example:
            >>> import jax.numpy as jnp
            >>> big = jnp.array([1e20, 1e20])
            >>> jax_ops.accurate_sum([big, -big], [jnp.array([[1.0, 2.0], [0.0, 3.0]])])
            Array([nan, nan], dtype=float64)
            >>> jax_ops.accurate_sum([jnp.array(1.5)], [jnp.array([1.0, 2.0])])
            Array(4.5, dtype=float64)
        """
        value = sum(scalars) + sum(jnp.sum(t, axis=-1) for t in events)
        checked = jax_ops.within_rounding(value, scalars, events, tolerance, error)
        return jnp.where(jnp.isfinite(value), checked, jnp.nan)

    @staticmethod
    def kl_div_delta_error(y, delta, size):
        """How far ``kl_div_delta(y, delta)`` may move when ``delta`` is off by up to ``e =
        4 eps size`` (a difference rounded from terms of that size).

        Its derivative in ``delta`` is ``log(x / y)`` (``x = y + delta``) and its second
        ``1 / x``: the change is at most about ``e (|log(x / y)| + e / x)``. Where ``e >= x``
        (``x`` lost to rounding) it is at most ``e (|log(e / y)| + 1)``, the whole of
        ``x log(x / y) - x`` at ``x <= e``. One logarithm: ``e (|log(max(x, e) / y)| +
        min(e / x, 1))``.

        Example:
            >>> err = jax_ops.kl_div_delta_error(0.3, 1e-17, 0.14)  # a gap lost to rounding
            >>> bool(err > jax_ops.kl_div_delta(0.3, 1e-17))
            True
            >>> float(jax_ops.kl_div_delta_error(0.5, 0.25, 0.5)) < 1e-15  # a gap that is not
            True
        """
        dtype = jnp.result_type(y, delta, size)
        info = jnp.finfo(dtype)
        e = 4 * info.eps * jnp.abs(size)
        x = jnp.maximum(y + delta, info.tiny)
        return e * (jnp.abs(jnp.log(jnp.maximum(x, e) / y)) + jnp.minimum(e / x, 1))

    @staticmethod
    def within_rounding(value, scalars, events, tolerance=1e-4, error=0):
        """``value``, a sum of ``scalars`` and ``events`` (summed over the last axis) in
        some order, where its rounding error may not exceed ``tolerance`` of it, else NaN.

        The bound is ``4 n eps`` times the sum of the terms' sizes (``n`` terms, each
        within a few ulp of its exact value), plus ``error``, a bound the caller has for
        the terms that are not (:meth:`kl_div_delta_error`); the tolerance is at least
        ``64 eps`` (of the default 1e-4, that raises float16's and bfloat16's). ``+inf`` is
        kept: the caller's terms do not overflow to a wrong one.

        Example:
            >>> import jax.numpy as jnp
            >>> x = jnp.array([1e10, 1e20])  # the sums cancel by 1e10 and 1e20
            >>> jax_ops.within_rounding(x - x + 1.0, [x, -x, 1.0], [])
            Array([ 1., nan], dtype=float64)
        """
        count = len(scalars) + sum(jnp.shape(t)[-1] for t in events)
        eps = jnp.finfo(value.dtype).eps
        ulps = 4 * count * eps  # scaled first: the sizes may overflow
        bound = sum(ulps * jnp.abs(t) for t in scalars) + sum(
            jnp.sum(ulps * jnp.abs(t), axis=-1) for t in events
        )
        accurate = bound + error <= max(tolerance, 64 * eps) * jnp.abs(value)
        return jnp.where(accurate | (value == jnp.inf), value, jnp.nan)

    sqrt_2pi = _special.SQRT_2PI
    sqrt_2pie = _special.SQRT_2PIE

    @staticmethod
    def together(function, *calls, event=False):
        """``[function(*args) for args in calls]``, as one loop of ``function`` over equal
        chunks of the calls' batch members: one copy of it to trace and compile, not one per
        call (XLA compiled the three Binet divergences of the Beta KL in two thirds of the
        time: the Beta KL in 1.9 s rather than 2.6 s).

        ``function`` acts on each batch member alone (elementwise, or on the vector of the
        last axis with ``event=True``) and returns an array or a tuple of arrays. Each call's
        arguments are broadcast together and their batch members joined end to end; calls
        may have different shapes (:func:`_chunk_length` says how they are cut). A loop
        (``lax.map``), not one call on the joined members: XLA on CPU cut that call's
        computation into some thirty separate passes over memory when its result was split
        back (the Beta cross-entropy's digamma differences ran 4x slower than two calls).

        Example:
            >>> import jax.numpy as jnp
            >>> sums = jax_ops.together(jnp.add, (1.0, 2.0), (jnp.ones(3), jnp.zeros(3)))
            >>> [x.tolist() for x in sums]
            [3.0, [1.0, 1.0, 1.0]]
        """
        calls = [jnp.broadcast_arrays(*args) for args in calls]
        batches = [args[0].shape[: args[0].ndim - event] for args in calls]
        sizes = [math.prod(batch) for batch in batches]
        if len(calls) == 1 or not all(sizes):
            return [function(*args) for args in calls]
        chunk = _chunk_length(sizes)
        padded = [-(-size // chunk) * chunk for size in sizes]

        def joined(column):  # each call's members, padded with its first to whole chunks
            parts = []
            for x, batch, size, length in zip(column, batches, sizes, padded):
                x = x.reshape((size, *x.shape[len(batch) :]))
                parts += [x] if length == size else [x, jnp.repeat(x[:1], length - size, axis=0)]
            flat = jnp.concatenate(parts)
            return flat.reshape((-1, chunk, *flat.shape[1:]))

        def split(chunks):
            flat = chunks.reshape((-1, *chunks.shape[2:]))
            starts = np.cumsum([0, *padded[:-1]])
            return [
                flat[start : start + size].reshape(batch + flat.shape[1:])
                for start, size, batch in zip(starts, sizes, batches)
            ]

        out = _map(function, [joined(c) for c in zip(*calls)])
        if isinstance(out, tuple):  # several outputs: a tuple per call
            return list(zip(*(split(x) for x in out)))
        return split(out)

    @staticmethod
    def sum(a):
        """Sum over the last (event) axis."""
        return jnp.sum(a, axis=-1)

    @staticmethod
    def sum_others(a):
        """``sum_j a_j - a_k`` for each ``k`` of the last axis, summed without ``a_k``.

        The sums before and after ``k`` (exclusive cumulative sums), so that no
        large ``a_k`` is added and taken away again.

        Example:
            >>> import jax.numpy as jnp
            >>> jax_ops.sum_others(jnp.array([1e20, 1.0, 2.0])).tolist()
            [3.0, 1e+20, 1e+20]
        """
        zero = jnp.zeros_like(a[..., :1])
        before = jnp.cumsum(jnp.concatenate([zero, a[..., :-1]], axis=-1), axis=-1)
        after = jnp.flip(jnp.cumsum(jnp.concatenate([zero, jnp.flip(a, -1)[..., :-1]], -1), -1), -1)
        return before + after

    @staticmethod
    def log_softmax(logits):
        """Log-probabilities of the logits over the last axis."""
        return jax.nn.log_softmax(logits, axis=-1)

    @staticmethod
    def logit_pair(logits):
        """Two-class logits ``[0, l]`` of a Bernoulli logit ``l``, shape ``(..., 2)``.

        Shifted by ``-max(l, 0)`` (a softmax does not see a common shift), so that
        ``l = +inf`` gives ``[-inf, 0]`` instead of an infinite largest logit; the
        difference of two pairs is still the exact difference of the logits.
        """
        logits = jnp.asarray(logits)
        return jnp.stack([-jnp.maximum(logits, 0), jnp.minimum(logits, 0)], axis=-1)

    @staticmethod
    def take(a, index):
        """``a[..., index]`` for an integer array ``index`` broadcast against the batch."""
        index = jnp.asarray(index)
        batch = jnp.broadcast_shapes(a.shape[:-1], index.shape)
        a = jnp.broadcast_to(a, batch + a.shape[-1:])
        index = jnp.broadcast_to(index, batch)
        return jnp.take_along_axis(a, index[..., None], axis=-1)[..., 0]

    @staticmethod
    def event_size(vector):
        """Length ``d`` of the last axis, as a Python int."""
        return vector.shape[-1]

    @staticmethod
    def diagonal(matrix):
        """Diagonal of the last two axes, shape ``(..., d)``."""
        return jnp.diagonal(matrix, axis1=-2, axis2=-1)

    @staticmethod
    def transpose(matrix):
        """Transpose of the last two axes."""
        return jnp.swapaxes(matrix, -1, -2)

    @staticmethod
    def row_diagonal(matrix):
        """The diagonal as a column, shape ``(..., d, 1)``: ``matrix[i, i]`` against row ``i``."""
        return jnp.diagonal(matrix, axis1=-2, axis2=-1)[..., None]

    @staticmethod
    def half_squared_norm(vector):
        """Half the squared Euclidean norm over the last axis, as ``sum(v * (v / 2))``.

        Each term is one rounding of ``v**2 / 2`` (``v / 2`` is exact), so no term
        overflows where its half does not: ``v = 1.5e19`` in float32 gives
        ``1.125e38``, where ``v**2 / 2`` would be ``inf / 2``.
        """
        return jnp.sum(vector * (vector / 2), axis=-1)

    @staticmethod
    def half_squared_frobenius(matrix):
        """Half the squared Frobenius norm over the last two axes; see ``half_squared_norm``."""
        return jnp.sum(matrix * (matrix / 2), axis=(-2, -1))

    solve_lower = staticmethod(_solve_lower)
    solve_lower_vector = staticmethod(_solve_lower_vector)

    # Gamma family: Stirling's series and exact constants
    lgamma_stirling = staticmethod(_special.lgamma_stirling)
    digamma_stirling = staticmethod(_special.digamma_stirling)
    stirling_bregman = staticmethod(_special.stirling_bregman)
    ratio_gap = staticmethod(_special.ratio_gap)
    e_inv = _special.E_INV
    sqrt_pi_2 = _special.SQRT_PI_2
    sqrt_pie_2 = _special.SQRT_PIE_2
    log_full_range = staticmethod(_special.log_full_range)

    # Beta, Dirichlet, ContinuousBernoulli
    lgamma_bregman = staticmethod(_special.lgamma_bregman)
    digamma_diff = staticmethod(_special.digamma_diff)
    binet_bregman = staticmethod(_special.binet_bregman)
    ratio_kl = staticmethod(_special.ratio_kl)
    log_sinhc = staticmethod(_special.log_sinhc)
    langevin = staticmethod(_special.langevin)
    log_sinhc_bregman = staticmethod(_special.log_sinhc_bregman)
    logit = staticmethod(_special.logit)
    logit_gap = staticmethod(_special.logit_gap)
    lgamma_bregman_share = staticmethod(_special.lgamma_bregman_share)
    multiply = staticmethod(jnp.multiply)

    @staticmethod
    def nearly_all(x, r, x_q, r_q):
        """Whether a class of concentration ``x`` holds nearly all of the total ``x + r`` in P
        and in Q (the others ``r <= x / 100``, ``r_q <= x_q / 100``), the others at most 1:
        where :func:`verify._special.lgamma_bregman_share` pairs the class with the total.

        Example:
            >>> bool(jax_ops.nearly_all(11.9, 1e-8, 11.9, 2e-8))
            True
        """
        dominant = _special.DOMINANT
        return (r <= 1) & (dominant * r <= x) & (dominant * r_q <= x_q)

    @staticmethod
    def declined(value):
        """Whether a rounding bound declined ``value`` (:meth:`within_rounding`'s NaN)."""
        return jnp.isnan(value)

    @staticmethod
    def any(condition):
        """Whether ``condition`` holds for some entry of the last (event) axis."""
        return jnp.any(condition, axis=-1)

    in_regime = staticmethod(_special.in_regime)

    @staticmethod
    def expand_event(value):
        """A per-distribution value (shape ``(...)``) as ``(..., 1)``, against an event axis."""
        return jnp.asarray(value)[..., None]

    # the discrete families
    sigmoid = staticmethod(_special.sigmoid)
    sigmoid_diff = staticmethod(_special.sigmoid_diff)
    log_sigmoid_diff = staticmethod(_special.log_sigmoid_diff)
    poisson_entropy = staticmethod(_special.poisson_entropy)
    binomial_entropy = staticmethod(_special.binomial_entropy)


jax_ops = _JaxOps()


def _map(function, mapped, unmapped=()):
    """``function(*m, *unmapped)`` for each ``m`` along the leading axis of ``mapped``, as
    one loop (``lax.map``), differentiated by a rule of its own (the loop's JVP).

    JAX 0.10 differentiates a ``custom_jvp`` function (the special functions of the forms)
    inside a loop wrongly under reverse mode over reverse mode where the loop's output
    enters the cotangent: ``grad(grad(lambda x: lax.map(f, x)[0] ** 2 / 2))`` took the
    derivative of ``f``'s body, not its rule, and ``grad(grad(lambda a: kl(Beta(a, 5.9),
    Beta(5.1, 5.4)) ** 2))`` was 0.9875 for 0.8399. Behind a rule of its own the loop is
    right (``tests/test_ops.py``). A rule through ``vmap`` was right too, but compiled the
    Beta KL's gradient in 20 s rather than 12 s: one copy per chunk.

    Example:
        >>> import jax.numpy as jnp
        >>> _map(lambda x, y: x * y, [jnp.arange(4.0).reshape(2, 2)], [3.0]).tolist()
        [[0.0, 3.0], [6.0, 9.0]]
    """

    def loop(mapped, unmapped):
        return jax.lax.map(lambda m: function(*m, *unmapped), mapped)

    looped = jax.custom_jvp(loop)

    @looped.defjvp
    def rule(primals, tangents):
        return looped(*primals), jax.jvp(loop, primals, tangents)[1]

    return looped(tuple(mapped), tuple(jnp.asarray(x) for x in unmapped))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _fast_when_moderate(form, *params):
    return _special._branch(
        _special.moderate(*params),
        lambda: form(moderate_ops, *params),
        lambda: form(range_ops, *params),
    )


@_fast_when_moderate.defjvp
def _fast_when_moderate_jvp(form, primals, tangents):
    return jax.jvp(lambda *params: form(range_ops, *params), primals, tangents)


class _RangeJaxOps(_JaxOps):
    """:class:`_JaxOps` inside a form that :meth:`~_JaxOps.fast_when_moderate` runs: a form
    it calls runs with the same backend, with no second test."""

    def fast_when_moderate(self, form, *params):
        """``form(xp, *params)`` with this backend: a form called from another one with that
        one's parameters or constants, which are moderate wherever the caller's are."""
        return form(self, *params)


class _ModerateJaxOps(_RangeJaxOps):
    """:class:`_JaxOps` for moderate arguments (:func:`verify._special.moderate`): the range
    helpers as plain arithmetic, the same values (``diff_ratio`` and ``log_mul`` bit for
    bit, ``log_ratio`` as accurate) at a fraction of the cost."""

    diff_ratio = staticmethod(_special.diff_ratio_moderate)
    log_ratio = staticmethod(_special.log_ratio_moderate)
    log_mul = staticmethod(_special.log_mul_moderate)


#: The backend of a form's branch for parameters that are not all moderate.
range_ops = _RangeJaxOps()
#: The backend of a form's branch for moderate parameters.
moderate_ops = _ModerateJaxOps()

"""Streams chunks of samples through one jitted scan per device.

The sample stream is cut into chunks of ``chunk_size`` samples. Chunk ``i`` is
drawn with ``jax.random.fold_in(key, i)``, so which samples a run sees depends
on the key, the sample count and the chunk size only, never on the number of
devices or on how the work is split into blocks. Each device runs a
``fori_loop`` over its chunks (chunk ``step * num_devices + device``) and keeps
one :class:`~verify.montecarlo._moments.Moments` summary, so device memory is one
chunk plus a summary however many samples are drawn. The host merges the
per-device summaries at the end; the device count therefore changes the
result only through the order of the (exact-in-exact-arithmetic) merges.

The host loop runs the scan in blocks of about :data:`BLOCK_SAMPLES` samples
to drive the progress bar; each block is one call of the same compiled
function (loop bounds are traced), so nothing retraces.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from verify.montecarlo import _moments
from verify.montecarlo._moments import Moments
from verify.montecarlo._progress import ProgressBar

__all__ = ["BLOCK_SAMPLES", "default_chunk_size", "stream"]

_AXIS = "chunks"
#: Samples times batch elements per chunk when the chunk size is not given.
TARGET_CHUNK_ELEMENTS = 2**16
#: Terms up to which each term's moments are reduced separately (faster on CPU).
_MAX_UNROLLED_TERMS = 8
#: Samples per host round trip (the progress bar's granularity).
BLOCK_SAMPLES = 2**23


def default_chunk_size(num_samples: int, batch_size: int = 1) -> int:
    """A power of two near ``2**16 / batch_size`` and no larger than needed.

    Example:
        >>> default_chunk_size(10**9), default_chunk_size(1000), default_chunk_size(10**6, 100)
        (65536, 1024, 512)
    """
    per_chunk = max(1, TARGET_CHUNK_ELEMENTS // max(1, batch_size))
    size = 1 << (per_chunk.bit_length() - 1)
    needed = 1 << max(0, (num_samples - 1).bit_length())
    return max(1, min(size, needed))


@functools.cache
def _mesh(devices: tuple) -> Mesh:
    return Mesh(np.array(devices, dtype=object), (_AXIS,))


@functools.cache
def _block_function(integrand, chunk_size: int, mesh: Mesh):
    """The compiled block: ``(summaries, args, key, start, stop, n) -> summaries``."""
    num_devices = mesh.size

    def local(summary, args, key, start, stop, num_samples):
        device = jax.lax.axis_index(_AXIS).astype(jnp.int64)
        offsets = jnp.arange(chunk_size, dtype=jnp.int64)

        def body(step, acc):
            chunk = step.astype(jnp.int64) * num_devices + device
            values = integrand(args, jax.random.fold_in(key, chunk), chunk_size)
            valid = chunk * chunk_size + offsets < num_samples
            # Only the last chunk is partial: full chunks skip the masking.
            full = (chunk + 1) * chunk_size <= num_samples
            summary = jax.lax.cond(
                full, lambda v: _summarise(v, None), lambda v: _summarise(v, valid), values
            )
            return _moments.merge(jnp, acc, summary)

        acc = Moments(*(field[0] for field in summary))
        acc = jax.lax.fori_loop(start, stop, body, acc)
        return Moments(*(field[None] for field in acc))

    sharded = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(P(_AXIS), P(), P(), P(), P(), P()),
        out_specs=P(_AXIS),
        check_vma=False,
    )
    return jax.jit(sharded)


def _summarise(values, valid):
    # One summary per term, then stacked: reducing a stacked (terms, chunk)
    # array is several times slower on CPU than reducing each row alone.
    if values.shape[0] <= _MAX_UNROLLED_TERMS:
        per_term = [_moments.chunk_moments(jnp, row[None], valid) for row in values]
        return Moments(*(jnp.concatenate(f) for f in zip(*per_term)))
    return _moments.chunk_moments(jnp, values, valid)


def stream(
    integrand,
    args,
    key,
    num_samples: int,
    *,
    chunk_size: int,
    out_shape: tuple,
    dtype=jnp.float64,
    devices=None,
    progress=None,
) -> Moments:
    """Moments of ``integrand`` over ``num_samples`` samples, streamed in chunks.

    Args:
        integrand: a hashable callable ``integrand(args, key, chunk_size)``
            returning an array of shape ``(out_shape[0], chunk_size,
            *out_shape[1:])``: one or more per-sample terms. It must be the same
            (equal) object across calls for the compiled function to be reused.
        args: a pytree of arrays (e.g. the distributions).
        key: a JAX random key.
        num_samples: samples to draw; the last chunk is masked.
        chunk_size: samples per chunk.
        out_shape: ``(num_terms, *batch_shape)`` of the summary.
        dtype: accumulation dtype.
        devices: the devices to spread chunks over (default ``jax.devices()``).
        progress: show a progress bar (``None``: only on a terminal).

    Returns:
        :class:`Moments` as NumPy arrays of shape ``out_shape``.
    """
    devices = tuple(jax.devices() if devices is None else devices)
    mesh = _mesh(devices)
    num_devices = len(devices)
    num_chunks = math.ceil(num_samples / chunk_size)
    num_steps = math.ceil(num_chunks / num_devices)
    steps_per_block = max(1, BLOCK_SAMPLES // (chunk_size * num_devices))
    sharding = NamedSharding(mesh, P(_AXIS))
    summary = Moments(
        *(
            jax.device_put(field, sharding)
            for field in _moments.zeros(jnp, (num_devices, *out_shape), dtype)
        )
    )
    block = _block_function(integrand, chunk_size, mesh)
    bar = ProgressBar(num_samples, enabled=progress)
    try:
        for start in range(0, num_steps, steps_per_block):
            stop = min(num_steps, start + steps_per_block)
            summary = block(summary, args, key, *(np.int64(v) for v in (start, stop, num_samples)))
            if bar.enabled:
                jax.block_until_ready(summary)
                bar.update(min(num_samples, stop * num_devices * chunk_size))
    finally:
        bar.close()
    if jax.process_count() > 1:  # pragma: no cover - needs a multi-host cluster
        from jax.experimental import multihost_utils

        summary = multihost_utils.process_allgather(summary, tiled=True)
    host = Moments(*(np.asarray(field) for field in summary))
    return _moments.merge_all(np, host)

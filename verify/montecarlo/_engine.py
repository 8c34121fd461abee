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

The host loop runs the scan in blocks, each one call of the same compiled
function (loop bounds are traced, so nothing retraces) and waited for before
the next starts. A block is one chunk per device at first and doubles while
it takes less than :data:`BLOCK_SECONDS` (up to :data:`BLOCK_SAMPLES`
samples), so Ctrl-C is answered within about one block however slow a chunk:
the run stops between blocks and returns the summary of the samples done
(fewer than asked: a partial result, which callers mark as such).

Memory: a chunk holds at most :data:`MAX_CHUNK_ELEMENTS` numbers of the
largest per-sample array (samples x batch elements x event size, e.g. the K
Gumbel draws of a Categorical sample), one sample at the least.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import time

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
#: The most numbers per chunk in one per-sample array: samples x batch x event size.
MAX_CHUNK_ELEMENTS = 2**22
#: The most samples per host round trip (the progress bar's granularity).
BLOCK_SAMPLES = 2**23
#: Blocks grow while they take less than this (the latency of Ctrl-C).
BLOCK_SECONDS = 0.25


def default_chunk_size(num_samples: int, batch_size: int = 1, event_size: int = 1) -> int:
    """A power of two near ``2**16 / batch_size``, within memory, no larger than needed.

    Args:
        num_samples: samples to draw.
        batch_size: distributions (or gradient components) per sample.
        event_size: numbers per sample and distribution in the largest
            per-sample array (K for a Categorical, d^2 for a MultivariateNormal).

    Example:
        >>> default_chunk_size(10**9), default_chunk_size(1000), default_chunk_size(10**6, 100)
        (65536, 1024, 512)
        >>> default_chunk_size(10**9, event_size=10**6)  # Categorical with K = 10^6
        4
    """
    batch_size = max(1, batch_size)
    per_chunk = min(
        TARGET_CHUNK_ELEMENTS // batch_size,
        MAX_CHUNK_ELEMENTS // (batch_size * max(1, event_size)),
    )
    per_chunk = max(1, per_chunk)
    size = 1 << (per_chunk.bit_length() - 1)
    needed = 1 << max(0, (num_samples - 1).bit_length())
    return max(1, min(size, needed))


@contextlib.contextmanager
def _ctrl_c_noted():
    """An event set by Ctrl-C (SIGINT) inside the block, when run in the main thread.

    Python's own handler raises KeyboardInterrupt wherever the interpreter is, and
    one raised inside a finalizer (a JAX array freed, a GC callback) is printed and
    dropped: the Ctrl-C is lost and the run goes on. A handler that only notes it,
    read between blocks, loses none. In another thread, or where SIGINT is not
    Python's own (ignored under ``nohup``, or the caller's handler), nothing changes.
    """
    noted = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield noted  # Ctrl-C ignored (nohup) or handled by the caller: left as it is
        return
    signal.signal(signal.SIGINT, lambda signum, frame: noted.set())
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
        :class:`Moments` as NumPy arrays of shape ``out_shape``; after Ctrl-C,
        those of the samples done (``n`` < ``num_samples``: a partial result).
    """
    devices = tuple(jax.devices() if devices is None else devices)
    mesh = _mesh(devices)
    num_devices = len(devices)
    num_chunks = math.ceil(num_samples / chunk_size)
    num_steps = math.ceil(num_chunks / num_devices)
    max_steps_per_block = max(1, BLOCK_SAMPLES // (chunk_size * num_devices))
    sharding = NamedSharding(mesh, P(_AXIS))
    summary = Moments(
        *(
            jax.device_put(field, sharding)
            for field in _moments.zeros(jnp, (num_devices, *out_shape), dtype)
        )
    )
    block = _block_function(integrand, chunk_size, mesh)
    bar = ProgressBar(num_samples, enabled=progress)
    start, steps = 0, 1
    try:
        with _ctrl_c_noted() as ctrl_c:
            while start < num_steps and not ctrl_c.is_set():
                stop = min(num_steps, start + steps)
                began = time.perf_counter()
                bounds = (np.int64(v) for v in (start, stop, num_samples))
                summary = jax.block_until_ready(block(summary, args, key, *bounds))
                if time.perf_counter() - began < BLOCK_SECONDS / 2:
                    steps = min(2 * steps, max_steps_per_block)
                start = stop
                bar.update(min(num_samples, stop * num_devices * chunk_size))
        if ctrl_c.is_set() and start == 0:
            raise KeyboardInterrupt  # nothing done: nothing to report
    except KeyboardInterrupt:
        if start == 0:
            raise
    finally:
        bar.close()
    if jax.process_count() > 1:  # pragma: no cover - needs a multi-host cluster
        from jax.experimental import multihost_utils

        summary = multihost_utils.process_allgather(summary, tiled=True)
    host = Moments(*(np.asarray(field) for field in summary))
    return _moments.merge_all(np, host)

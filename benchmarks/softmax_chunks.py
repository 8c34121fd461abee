"""The KL of [B, V] logits on an NVIDIA GPU: the one-pass kernel against the three XLA passes.

``verify._softmax_chunks`` reads each logit once (statistics per chunk of a row, one
Pallas program per chunk); the XLA forms (``verify._special._kl_forward``, the other
platforms' path) read it three times. For each size and dtype this times the
forward of both, the kernel at several chunk lengths and warp counts, and a
hand-written ``log_softmax`` form as the peer, interleaved; and gives each form's
largest relative error against the same inputs in float64 (the XLA forms). The
fastest chunk length becomes ``CHUNK``. Needs a CUDA GPU.

    python benchmarks/softmax_chunks.py --repeat 5 --calls 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from verify import _special  # noqa: E402

SIZES = ((128, 32768), (2048, 32768), (256, 262144))
#: (chunk, warps, branches): see verify._softmax_chunks.chunk_statistics.
CONFIGS = ((1024, 4, True), (2048, 4, True), (2048, 4, False), (2048, 8, True), (4096, 8, True))


def _kernel(chunk, warps, branches):
    def kl(a, b):
        options = {"chunk": chunk, "warps": warps, "branches": branches}
        return _special._kl_forward_in_chunks(a, b, **options)[0]

    return kl


def _xla(a, b):
    return _special._kl_forward(a, b, on_cpu=False)[0]


def _handwritten(a, b):
    la, lb = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
    return jnp.sum(jnp.exp(la) * (la - lb), axis=-1)


def _timed(function, a, b, repeat, calls):
    function(a, b).block_until_ready()
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready([function(a, b) for _ in range(calls)])
        rates.append(a.size * calls / (time.perf_counter() - start) / 1e9)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}; G logits/s min / median / max")
    print("| dtype | B x V | form | G logits/s | max rel. error |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for dtype in (jnp.float32, jnp.bfloat16):
        for batch, vocab in SIZES:
            a = rng.normal(size=(batch, vocab)).astype(np.float32) * 2
            noise = np.geomspace(1e-4, 1, batch)[:, None]  # near rows to far ones
            b = a + rng.normal(size=a.shape).astype(np.float32) * noise
            a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
            exact = np.asarray(jax.jit(_xla)(a.astype(jnp.float64), b.astype(jnp.float64)))
            forms = {"XLA, three passes": _xla, "hand-written": _handwritten}
            forms |= {
                f"kernel {c}/{w}" + ("" if branched else ", no branches"): _kernel(c, w, branched)
                for c, w, branched in CONFIGS
            }
            forms = {name: jax.jit(f) for name, f in forms.items()}
            rates = {name: [] for name in forms}
            for _ in range(args.repeat):
                for name, form in forms.items():
                    rates[name] += _timed(form, a, b, 1, args.calls)
            for name, form in forms.items():
                value = np.asarray(form(a, b), np.float64)
                error = np.max(np.abs(value - exact) / np.abs(exact))
                r = np.asarray(rates[name])
                text = f"{r.min():.0f} / {np.median(r):.0f} / {r.max():.0f}"
                cells = (jnp.dtype(dtype).name, f"{batch} x {vocab}", name, text, f"{error:.1e}")
                print("| " + " | ".join(cells) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()

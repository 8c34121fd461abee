"""KL divergence between categorical distributions given by logits, at vocabulary size.

``verify.kl(Categorical(logits=a), Categorical(logits=b))`` for ``a, b`` of shape
``[B, V]`` (V = 32k, 128k, 256k), float32 and bfloat16, forward and forward +
backward (gradients w.r.t. both logit arrays), side by side in one run with:

* optax: ``losses.kl_divergence_with_log_targets(log_softmax(b), log_softmax(a))``;
* a hand-written jitted ``log_softmax`` form, ``sum(exp(la) * (la - lb))``;
* torch: ``F.kl_div(log_softmax(b), log_softmax(a), log_target=True, reduction="none").sum(-1)``
  (on the GPU where there is one, synchronised before the clock stops);
* TFP-JAX: ``tfd.Categorical(logits=a).kl_divergence(tfd.Categorical(logits=b))``.

Timings are interleaved (one call of each implementation per round, the order
rotated from round to round), repeated, and reported as min / median / max
throughput in M logits/s (``B * V`` per call). torch's OpenMP threads sleep
between its calls (``OMP_WAIT_POLICY=PASSIVE``, unless set otherwise): by
default they spin for a while after each call, which took the CPU from the
implementation timed after it (``verify`` at 2**22 bfloat16 logits: 193-220 M
logits/s so, 291-376 with them passive, 2026-11-28; torch alone, not
interleaved, ran at 126-330 M logits/s with either policy). The machine is
shared and noisy: read the spread. Peak memory is the
temporary memory XLA reserves for the compiled computation beyond its inputs
and outputs (``memory_analysis().temp_size_in_bytes``; torch: not measured).
The bound: ``verify`` reads each logit ``3`` times forward (the row maximum;
the normalisers and ``E_p[b - a]``; where some row is near-equal, the two sums
of the near pass) and twice more backward (once after the NVIDIA kernel, whose
centre needs no re-centring pass); on the CPU the row extremes of
``b - a`` (whether the near pass may take its series alone) come with ``max b``;
the near pass runs there only in calls with a near-equal row. On an NVIDIA GPU
the forward reads each logit once (a kernel: ``verify._softmax_chunks``, timed
apart by ``benchmarks/softmax_chunks.py``).
It also measures the machine's read bandwidth (a jitted ``sum`` over
256 MiB) to compare with. On a GPU pass ``--calls 20``: one call over 2**26
logits takes less time than its dispatch, so each timing queues 20 calls and
waits once, as a training loop does.

    python benchmarks/vocab.py --repeat 5 --output benchmarks/results/vocab.md
    python benchmarks/vocab.py --repeat 5 --calls 20 --max-elements 67108864 \
        --output benchmarks/results/vocab_h200.md   # on the GPU
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is loaded: see above

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import verify  # noqa: E402

VOCABS = (32768, 131072, 262144)


def _verify_kl(a, b):
    p = verify.Categorical(logits=a, validate_args=False)
    q = verify.Categorical(logits=b, validate_args=False)
    return verify.kl(p, q)


def _handwritten(a, b):
    la, lb = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
    return jnp.sum(jnp.exp(la) * (la - lb), axis=-1)


def _optax():
    import optax

    def kl(a, b):
        la, lb = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
        return optax.losses.kl_divergence_with_log_targets(lb, la)

    return kl


def _tfp():
    from tensorflow_probability.substrates import jax as tfp

    def kl(a, b):
        tfd = tfp.distributions
        return tfd.Categorical(logits=a).kl_divergence(tfd.Categorical(logits=b))

    return kl


def _jax_runner(function, backward):
    if backward:
        compiled = jax.jit(jax.value_and_grad(lambda a, b: function(a, b).sum(), (0, 1)))
    else:
        compiled = jax.jit(function)

    def run(a, b, calls=1):
        jax.block_until_ready([compiled(a, b) for _ in range(calls)])

    def temp_bytes(a, b):
        analysis = compiled.lower(a, b).compile().memory_analysis()
        return getattr(analysis, "temp_size_in_bytes", None)

    return run, temp_bytes


def _torch_runner(backward):
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.set_num_threads(max(1, torch.get_num_threads()))

    def kl(a, b):
        la, lb = torch.log_softmax(a, -1), torch.log_softmax(b, -1)
        return F.kl_div(lb, la, log_target=True, reduction="none").sum(-1)

    def run(a, b, calls=1):
        for _ in range(calls):
            if backward:
                a = a.detach().requires_grad_(True)
                b = b.detach().requires_grad_(True)
                kl(a, b).sum().backward()
            else:
                with torch.no_grad():
                    kl(a, b)
        if a.is_cuda:
            torch.cuda.synchronize()

    return run


def _torch_device():
    """Where torch runs: the GPU when there is one (as JAX does), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def implementations():
    """name -> (kind, function or None, import error)."""
    out = {"verify": ("jax", _verify_kl, None), "hand-written": ("jax", _handwritten, None)}
    for name, make in (("optax", _optax), ("TFP-JAX", _tfp)):
        try:
            out[name] = ("jax", make(), None)
        except ImportError as error:
            out[name] = ("jax", None, str(error))
    try:
        import torch  # noqa: F401

        out["torch F.kl_div"] = ("torch", None, None)
    except ImportError as error:
        out["torch F.kl_div"] = ("torch", None, str(error))
    return out


def _inputs(batch, vocab, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(batch, vocab)).astype(np.float32) * 2
    b = a + rng.normal(size=(batch, vocab)).astype(np.float32) * 0.1
    return a, b


def bandwidth(repeat, calls=1):
    """Read bandwidth in GB/s: a jitted sum over 256 MiB of float32 (median of ``repeat``)."""
    x = jnp.ones((2**26,), jnp.float32)
    total = jax.jit(jnp.sum)
    total(x).block_until_ready()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready([total(x) for _ in range(calls)])
        times.append((time.perf_counter() - start) / calls)
    return x.nbytes / np.median(times) / 1e9


def measure(batch, vocab, dtype_name, backward, repeat, impls, calls=1):
    a_np, b_np = _inputs(batch, vocab, dtype_name)
    jdtype = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[dtype_name]
    a, b = jnp.asarray(a_np, jdtype), jnp.asarray(b_np, jdtype)
    runners, memory = {}, {}
    for name, (kind, function, error) in impls.items():
        if error is not None:
            continue
        if kind == "jax":
            run, temp_bytes = _jax_runner(function, backward)
            runners[name] = (run, (a, b))
            memory[name] = temp_bytes(a, b)
        else:
            import torch

            tdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
            args = tuple(torch.from_numpy(x).to(_torch_device(), tdtype) for x in (a_np, b_np))
            runners[name] = (_torch_runner(backward), args)
            memory[name] = None
    for run, args in runners.values():
        run(*args)  # compile / warm up
    times = {name: [] for name in runners}
    names = list(runners)
    for round_ in range(repeat):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:  # each implementation in each place in turn
            run, args = runners[name]
            start = time.perf_counter()
            run(*args, calls=calls)
            times[name].append((time.perf_counter() - start) / calls)
    rates = {n: batch * vocab / np.asarray(t) / 1e6 for n, t in times.items()}
    return rates, memory


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-elements", type=float, default=2**24, help="largest B*V (2**26)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--calls",
        type=int,
        default=1,
        help="calls per timing, queued before one wait (as in a training loop; use ~20 on a GPU,"
        " where one call of 2**26 logits is shorter than the dispatch)",
    )
    args = parser.parse_args(argv)
    impls = implementations()
    names = [n for n, (_, f, e) in impls.items() if e is None]
    lines = [
        f"KL of [B, V] logits, {datetime.date.today()}, {platform.machine()} "
        f"({jax.devices()[0].device_kind}, {platform.platform()}), jax {jax.__version__}, "
        f"repeat {args.repeat}, {args.calls} call(s) per timing, interleaved; "
        "shared, noisy machine.",
        "",
        f"Measured read bandwidth: {bandwidth(args.repeat, args.calls):.1f} GB/s"
        " (jitted sum over 256 MiB).",
        "",
    ]
    missing = [f"{n}: {e}" for n, (_, _, e) in impls.items() if e is not None]
    if missing:
        lines += ["Not installed: " + "; ".join(missing), ""]
    header = "| dtype | pass | B x V | " + " | ".join(names) + " | verify / fastest peer |"
    lines += [
        "Throughput, M logits/s, min / median / max; then XLA temporary memory (MiB).",
        "",
        header,
        "|" + "---|" * (len(names) + 4),
    ]
    for dtype_name in ("float32", "bfloat16"):
        for backward in (False, True):
            for vocab in VOCABS:
                for batch in sorted({max(1, int(n) // vocab) for n in (2**22, args.max_elements)}):
                    rates, memory = measure(
                        batch, vocab, dtype_name, backward, args.repeat, impls, args.calls
                    )
                    cells = []
                    for name in names:
                        r = rates.get(name)
                        mem = memory.get(name)
                        mem_text = "" if mem is None else f"; {mem / 2**20:.0f} MiB"
                        cells.append(
                            "—"
                            if r is None
                            else f"{r.min():.0f} / {np.median(r):.0f} / {r.max():.0f}{mem_text}"
                        )
                    peers = [np.median(rates[n]) for n in names if n != "verify" and n in rates]
                    ratio = np.median(rates["verify"]) / max(peers) if peers else float("nan")
                    label = "fwd+bwd" if backward else "fwd"
                    row = f"| {dtype_name} | {label} | {batch} x {vocab} | " + " | ".join(cells)
                    lines.append(row + f" | {ratio:.2f}x |")
                    print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.output:
        args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Throughput of the closed forms of every family beyond the first four, side by side.

Against the derivation as written (compiled to JAX) and torch.distributions.

Usage::

    python benchmarks/throughput_families.py [--pairs 1000000] [--repeat 5] [--families gamma ...]
        [--output benchmarks/results/throughput_families.md]

For each registered family (``benchmarks/throughput.py`` covers Normal, Bernoulli,
Categorical and MultivariateNormal with more peers) and each of KL, entropy and
cross-entropy it registers for a same-family pair, in float64 and float32, one
batch of ``--pairs`` parameter pairs (``random_params(spread="moderate")``, P's
then Q's) is evaluated by

* ``verify``: ``verify.kl`` etc. on distributions built from the arrays, jitted;
* ``vmap``: the same, written for one pair and mapped over the batch with
  ``jax.vmap`` (as JAX users write it), jitted: the stable forms' regimes branch on
  the whole batch there too, so it should match ``verify``;
* ``derived``: the expression SymPy derived from the densities, compiled to JAX
  as written (``verify.derive(...).jax_function``, jitted): the naive form the
  issue's target compares with (``—`` where it contains a sum JAX cannot run, as
  the Binomial's and Poisson's entropies do);
* ``torch``: ``torch.distributions`` (``kl_divergence``, ``entropy``) on CPU
  tensors, where torch has the form and is installed.

Conversions happen outside the timed region; JAX functions are compiled by a
first call. Repetitions are interleaved and the best time of each is kept.
Cells: million pairs per second, and the ratio to ``derived``.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# Before torch is loaded: its OpenMP threads otherwise spin after each call, taking the CPU
# from the implementation timed next (see benchmarks/vocab.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import verify  # noqa: E402
from verify import formulas  # noqa: E402

COLUMNS = ("verify", "vmap", "derived", "torch")
FIRST_FOUR = {"normal", "bernoulli", "categorical", "multivariatenormal", "independent"}


def parameters(family, quantity, dtype, n, rng):
    """Canonical parameters of P (and Q), float arrays with a leading batch axis."""
    p = family.random_params(rng, n, spread="moderate")
    groups = [p] if quantity == "entropy" else [p, family.random_params(rng, n, spread="moderate")]
    return [[np.ascontiguousarray(x, dtype) for x in group] for group in groups]


def verify_kernel(family, quantity, mapped=False):
    """``verify``'s function on the batch, or (``mapped``) on one pair under ``jax.vmap``."""
    function = getattr(verify, quantity)

    def run(*groups):
        return function(*(family.from_params(*group) for group in groups))

    return jax.jit(jax.vmap(run) if mapped else run)


def derived_kernel(family, quantity):
    """The derivation's expression, its symbols fed from the canonical arrays' columns."""
    families = [family] * formulas.QUANTITIES[quantity]
    derivation = verify.derive(quantity, *families)
    compiled = derivation.jax_function  # raises where JAX cannot run the expression
    places = {}
    for g, symbolic in enumerate(derivation.families):
        for entry, (i, k) in symbolic._entries():
            places[entry] = (g, i, k)

    def run(*groups):
        args = []
        for symbol in derivation.symbols:
            g, i, k = places[symbol]
            value = groups[g][i]
            args.append(value if value.ndim == 1 else value.reshape(value.shape[0], -1)[:, k])
        return compiled(*args)

    return jax.jit(run)


def torch_kernel(family, quantity, dtype):
    import torch

    cls = getattr(torch.distributions, family.__name__, None)
    if cls is None or quantity == "cross_entropy":
        return None
    names = [name for name in inspect.signature(family.__init__).parameters if name != "self"]

    def build(group):
        return cls(**dict(zip(names, group)), validate_args=False)

    def run(*groups):
        with torch.no_grad():
            if quantity == "entropy":
                return build(groups[0]).entropy()
            return torch.distributions.kl_divergence(*(build(group) for group in groups))

    def prepare(groups):
        return [[torch.from_numpy(x) for x in group] for group in groups]

    sample = prepare(parameters(family, quantity, dtype, 4, np.random.default_rng(0)))
    try:
        run(*sample)
    except NotImplementedError:
        return None
    return run, prepare


def measure(family, quantity, dtype, n, repeat, rng):
    groups = parameters(family, quantity, dtype, n, rng)
    runs, notes = {}, {}
    for column in COLUMNS:
        try:
            if column == "torch":
                made = torch_kernel(family, quantity, dtype)
                if made is None:
                    continue
                run, prepare = made
                args = prepare(groups)
                runs[column] = lambda run=run, args=args: run(*args)
            else:
                kernel = {
                    "verify": lambda: verify_kernel(family, quantity),
                    "vmap": lambda: verify_kernel(family, quantity, mapped=True),
                    "derived": lambda: derived_kernel(family, quantity),
                }[column]()
                args = [[jnp.asarray(x) for x in group] for group in groups]
                runs[column] = lambda kernel=kernel, args=args: kernel(*args).block_until_ready()
            runs[column]()  # compile / warm up
        except Exception as error:  # an implementation that cannot run these inputs
            notes[column] = f"{type(error).__name__}: {error}"[:100]
            runs.pop(column, None)
    best = {column: np.inf for column in runs}
    for _ in range(repeat):
        for column, run in runs.items():
            start = time.perf_counter()
            run()
            best[column] = min(best[column], time.perf_counter() - start)
    return {column: n / t for column, t in best.items()}, notes


def main(argv=None) -> int:
    names = [k for k, f in sorted(verify.FAMILIES.items()) if k not in FIRST_FOUR]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--families", nargs="*", default=names)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    versions = {"jax": jax.__version__}
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError as error:
        versions["torch"] = f"not installed ({error})"
    lines = [
        "# Throughput of every family: million pairs per second (ratio to the derivation as "
        "written)",
        "",
        f"Generated by `python benchmarks/throughput_families.py` on {datetime.date.today()}: "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
        f"{args.pairs:.0e} pairs per batch, best of {args.repeat}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ".",
        "",
    ]
    notes = []
    for dtype in (np.float64, np.float32):
        lines += [
            f"## {np.dtype(dtype).name}",
            "",
            "| closed form | " + " | ".join(COLUMNS) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        for name in args.families:
            family = verify.FAMILIES[name]
            for quantity in formulas.QUANTITIES:
                try:
                    formulas.lookup(quantity, *[family] * formulas.QUANTITIES[quantity])
                except NotImplementedError:
                    continue
                rates, why = measure(family, quantity, dtype, args.pairs, args.repeat, rng)
                base = rates.get("derived")
                cells = []
                for column in COLUMNS:
                    if column not in rates:
                        cells.append("—")
                        continue
                    ratio = f" ({rates[column] / base:.2f}x)" if base else ""
                    cells.append(f"{rates[column] / 1e6:.2f}{ratio}")
                lines.append(f"| {family.__name__} {quantity} | " + " | ".join(cells) + " |")
                notes += [f"{family.__name__} {quantity}, {c}: {w}" for c, w in why.items()]
                print(lines[-1], flush=True)
        lines.append("")
    if notes:
        lines += ["Not run:", "", *(f"- {note}" for note in sorted(set(notes))), ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Monte Carlo engine throughput against a hand-written jitted JAX loop.

Both compute the same estimator (the plain KL estimator mean and variance of
log p(X) - log q(X), or Schulman's k3) over the same number of samples, in
float64, in one process, side by side. The hand-written loop is what one
would write without the engine: a ``fori_loop`` over chunks keyed by
``fold_in``, accumulating the sum and the sum of squares. The engine
additionally keeps third and fourth central moments (for its diagnostics),
merges summaries without cancellation, masks a partial last chunk and spreads
chunks over every device.

Usage::

    python benchmarks/montecarlo_throughput.py [--samples 16777216] [--repeats 3]

Prints a table of samples per second and the ratio engine / hand-written
(target >= 0.8).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import verify
from verify import montecarlo

CHUNK = 2**16


def cases():
    return {
        "Normal": (verify.Normal(0.3, 1.2), verify.Normal(-0.5, 0.9)),
        "MultivariateNormal(d=3)": (
            verify.MultivariateNormal(jnp.zeros(3), covariance_matrix=jnp.eye(3)),
            verify.MultivariateNormal(jnp.ones(3), covariance_matrix=2 * jnp.eye(3)),
        ),
        "Bernoulli": (verify.Bernoulli(probs=0.3), verify.Bernoulli(probs=0.6)),
        "Categorical(K=4)": (
            verify.Categorical(probs=jnp.array([0.1, 0.2, 0.3, 0.4])),
            verify.Categorical(probs=jnp.array([0.3, 0.3, 0.2, 0.2])),
        ),
    }


def hand_written(p, q, estimator, num_chunks):
    """The loop one would write by hand: sum and sum of squares over chunks."""

    @jax.jit
    def run(key):
        def body(i, acc):
            x = p.sample(jax.random.fold_in(key, i), (CHUNK,))
            log_p, log_q = jax.vmap(p.log_prob)(x), jax.vmap(q.log_prob)(x)
            if estimator == "plain":
                t = log_p - log_q
            else:
                t = jnp.expm1(log_q - log_p) - (log_q - log_p)
            return acc + jnp.stack([jnp.sum(t), jnp.sum(t * t)])

        total = jax.lax.fori_loop(0, num_chunks, body, jnp.zeros(2, jnp.float64))
        n = num_chunks * CHUNK
        mean = total[0] / n
        return mean, (total[1] - n * mean**2) / (n - 1)

    return run


def best_time(function, repeats):
    jax.block_until_ready(function(0))  # compile and warm up
    times = []
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(function(seed))
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2**24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    num_chunks = max(1, args.samples // CHUNK)
    n = num_chunks * CHUNK
    print(f"{n:,} samples, chunks of {CHUNK}, {len(jax.devices())} device(s): {jax.devices()}")
    header = f"{'family':<24} {'estimator':<9} {'engine':>12} {'hand loop':>12} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    ratios = []
    with jax.enable_x64(True):
        for name, (p, q) in cases().items():
            p, q = montecarlo._estimate.to_float64((p, q))
            for estimator in ("plain", "k3"):
                loop = hand_written(p, q, estimator, num_chunks)
                hand = best_time(lambda seed, loop=loop: loop(jax.random.key(seed)), args.repeats)

                def engine(seed, p=p, q=q, estimator=estimator):
                    return montecarlo.estimate(
                        "kl",
                        p,
                        q,
                        key=jax.random.key(seed),
                        num_samples=n,
                        estimator=estimator,
                        chunk_size=CHUNK,
                        progress=False,
                    ).value

                ours = best_time(engine, args.repeats)
                ratio = hand / ours
                ratios.append(ratio)
                print(
                    f"{name:<24} {estimator:<9} {n / ours / 1e6:>8.1f} M/s {n / hand / 1e6:>8.1f} "
                    f"M/s {ratio:>6.2f}x"
                )
    print(f"engine / hand-written: min {min(ratios):.2f}x, max {max(ratios):.2f}x (target >= 0.8x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

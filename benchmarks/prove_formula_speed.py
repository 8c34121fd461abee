"""Benchmark: wall time of ``verify.prove_formula`` on users' formulas, cold and warm.

Usage::

    python benchmarks/prove_formula_speed.py [--repeat 3] [CASE ...]

Each case runs in a new process (``--one CASE``), which times ``prove_formula``
twice: *cold* (the first call: SymPy imported, the closed form derived, the
formula traced, read and proved or refuted with its counterexample search) and
*warm* (the same call again: the derivation is cached). The process start and
``import verify`` are not counted. Prints one row per case: the verdict and
the median, smallest and largest times over the repetitions.

Targets (issue 12): a univariate formula <= 5 s, a MultivariateNormal d = 3
formula <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _cases():
    import jax
    import jax.numpy as jnp

    import verify

    def normal_kl_torch(p, q):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - jnp.log(var_ratio))

    def normal_kl_taylor_typo(p, q):
        u = p.scale / q.scale - 1
        rest = jnp.where(jnp.abs(u) < 1e-3, u**2 / 2 - u**3 / 2, u - jnp.log1p(u))
        return ((p.loc - q.loc) / q.scale) ** 2 / 2 + u * (u + 2) / 2 - u + rest

    def bernoulli_kl_tfp(p, q):
        a, b = p.logits, q.logits
        sp_ = jax.nn.softplus
        return jax.nn.sigmoid(a) * (sp_(-b) - sp_(-a)) + jax.nn.sigmoid(-a) * (sp_(b) - sp_(a))

    def categorical_kl_logits(p, q):
        a, b = p.logits, q.logits
        return jnp.sum(jax.nn.softmax(a) * (jax.nn.log_softmax(a) - jax.nn.log_softmax(b)))

    def mvn_kl(p, q):
        d = p.loc.shape[-1]
        m = jax.scipy.linalg.solve_triangular(q.scale_tril, p.scale_tril, lower=True)
        z = jax.scipy.linalg.solve_triangular(q.scale_tril, q.loc - p.loc, lower=True)
        log_det = jnp.sum(jnp.log(jnp.diag(q.scale_tril) / jnp.diag(p.scale_tril)))
        return 0.5 * (jnp.sum(m**2) + jnp.sum(z**2) - d) + log_det

    def mvn_kl_typo(p, q):
        return mvn_kl(p, q) * 1.003

    normal, bernoulli = (verify.Normal,) * 2, (verify.Bernoulli,) * 2
    categorical, mvn = (verify.Categorical,) * 2, (verify.MultivariateNormal,) * 2
    logits = {"parameterisations": ("logits", "logits")}
    return {
        "Normal KL, torch's form": (normal_kl_torch, normal, {}),
        "Normal KL, wrong Taylor branch": (normal_kl_taylor_typo, normal, {}),
        "Bernoulli KL, TFP's logits form": (bernoulli_kl_tfp, bernoulli, logits),
        "Categorical KL logits, K = 2, 3, 4": (categorical_kl_logits, categorical, logits),
        "MVN KL, d = 3": (mvn_kl, mvn, {"sizes": {"dim": 3}}),
        "MVN KL 0.3 % off, d = 3": (mvn_kl_typo, mvn, {"sizes": {"dim": (3,)}}),
        "MVN KL, d = 1, 2, 3": (mvn_kl, mvn, {}),
    }


def _one(name) -> dict:
    import verify

    function, families, options = _cases()[name]
    times = []
    for _ in range(2):
        start = time.perf_counter()
        evidence = verify.prove_formula(function, "kl", *families, **options)
        times.append(time.perf_counter() - start)
    return {"verdict": evidence.verdict, "cold": times[0], "warm": times[1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.one)))
        return 0
    names = args.cases or list(_cases())
    print(f"{'case':<36} {'verdict':<13} {'cold: median (min-max)':>24} {'warm: median':>13}")
    for name in names:
        runs = []
        for _ in range(args.repeat):
            done = subprocess.run(
                [sys.executable, __file__, "--one", name], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        cold = [r["cold"] for r in runs]
        warm = [r["warm"] for r in runs]
        spread = f"{statistics.median(cold):.2f} s ({min(cold):.2f}-{max(cold):.2f})"
        print(
            f"{name:<36} {runs[0]['verdict']:<13} {spread:>24} {statistics.median(warm):>11.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

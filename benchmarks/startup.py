"""Cold-start cost: `import verify` and a first `verify.kl` call (or gradient), in fresh processes.

Run: python benchmarks/startup.py [repeats]

Each repeat is a new interpreter, so nothing is cached in memory; the table
shows the median and range over repeats next to `import jax` alone, which is
the floor any JAX library pays.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

PROBE = """
import time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, 'sympy' in __import__('sys').modules)
"""

CASES = {
    "import jax; jnp.zeros(()) + 1": (
        "import jax, jax.numpy as jnp",
        "float(jnp.zeros(()) + 1)",
    ),
    "import verify; verify.kl(Normal, Normal)": (
        "import verify",
        "float(verify.kl(verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)))",
    ),
    "import verify; verify.kl(MVN d=3, MVN d=3)": (
        "import verify, jax.numpy as jnp",
        "m = verify.MultivariateNormal(jnp.zeros(3), scale_tril=jnp.eye(3)); "
        "float(verify.kl(m, m))",
    ),
}
# The heaviest forms, in float64: a first call compiles the whole stable form, and a first
# gradient its derivative (one batch of 5 pairs each).
_X64 = "import jax, jax.numpy as jnp, verify; jax.config.update('jax_enable_x64', True)"
for _name, _make in [
    ("Beta", "verify.Beta(jnp.linspace(0.5, 3, 5), jnp.linspace(1, 4, 5))"),
    ("Dirichlet", "verify.Dirichlet(jnp.linspace(0.5, 3, 15).reshape(5, 3))"),
]:
    CASES[f"import verify; verify.kl({_name}, {_name}) float64"] = (
        _X64,
        f"p = {_make}; float(verify.kl(p, p).sum())",
    )
    CASES[f"import verify; grad of verify.kl({_name}, {_name})"] = (
        _X64,
        f"p = {_make}; jax.grad(lambda p: verify.kl(p, p).sum())(p)",
    )


def measure(imports, call):
    code = PROBE.format(imports=imports, call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import_s, call_s, sympy_loaded = out.stdout.split()
    return float(import_s), float(call_s), sympy_loaded == "True"


def main(repeats=7):
    print(f"{'case':45s} {'import s':>10s} {'first call s':>13s} {'total s':>9s}  sympy imported")
    for name, (imports, call) in CASES.items():
        runs = [measure(imports, call) for _ in range(repeats)]
        imp = statistics.median(r[0] for r in runs)
        first = statistics.median(r[1] for r in runs)
        total = sorted(r[0] + r[1] for r in runs)
        print(
            f"{name:45s} {imp:10.3f} {first:13.3f} {statistics.median(total):9.3f}"
            f"  {any(r[2] for r in runs)}   (total range {total[0]:.3f}-{total[-1]:.3f})"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)

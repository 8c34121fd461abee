"""Chunks spread over several devices: the same estimate up to summation order.

The host CPU is split into four XLA devices in a subprocess
(``--xla_force_host_platform_device_count=4``, which must be set before JAX
starts). Deterministic: no statistical false-alarm rate.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax

import verify
from verify import montecarlo

SCRIPT = textwrap.dedent(
    """
    import json, jax, jax.numpy as jnp, verify
    from verify import montecarlo
    from verify.montecarlo import _engine

    assert len(jax.devices()) == 4, jax.devices()
    sizes, compiled = [], _engine._block_function

    def spy(integrand, chunk_size, mesh):  # records how many devices each run used
        sizes.append(mesh.size)
        return compiled(integrand, chunk_size, mesh)

    _engine._block_function = spy
    p = verify.Normal(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.5]))
    q = verify.Normal(0.3, 1.3)
    common = dict(key=jax.random.key(5), num_samples=1_000_003, chunk_size=4096)
    runs = {}
    splits = (("four", None), ("one", jax.devices()[:1]), ("three", jax.devices()[:3]))
    for label, devices in splits:
        est = montecarlo.estimate("kl", p, q, devices=devices, estimator="k3", **common)
        runs[label] = [est.value.tolist(), est.variance.tolist(), est.num_samples]
    runs["mesh sizes"] = sizes
    print(json.dumps(runs))
    """
)


def _single_device_reference():
    p = verify.Normal(jax.numpy.array([0.0, 1.0]), jax.numpy.array([1.0, 0.5]))
    q = verify.Normal(0.3, 1.3)
    est = montecarlo.estimate(
        "kl", p, q, key=jax.random.key(5), num_samples=1_000_003, chunk_size=4096, estimator="k3"
    )
    return [est.value.tolist(), est.variance.tolist(), est.num_samples]


def test_estimates_on_four_devices_match_one_device_up_to_summation_order():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    env["JAX_ENABLE_X64"] = "1"  # parameters in float64, as in this process
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    assert runs.pop("mesh sizes") == [4, 1, 3]
    runs["this process"] = _single_device_reference()
    reference = runs["one"]
    for label, (value, variance, n) in runs.items():
        assert n == 1_000_003
        for a, b in zip(value, reference[0]):
            # The same samples, merged in another order: rounding-level differences only.
            assert abs(a - b) <= 1e-13 * abs(b), (label, a, b)
        for a, b in zip(variance, reference[1]):
            assert abs(a - b) <= 1e-11 * abs(b), (label, a, b)

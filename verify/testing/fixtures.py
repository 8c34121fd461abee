"""pytest fixtures for testing formulas with verify: reproducible random streams per test.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["verify.testing.fixtures"]``.
Each stream is derived from ``--verify-seed`` (default 0, an option of verify's pytest
plugin) and the test's id, so a test draws the same numbers however the suite is
ordered or filtered, and a different seed gives every test new ones.

Example (in a test module)::

    def test_my_kl(verify_key):
        p = verify.random_distribution(verify.Normal, verify_key, (16,))
        ...
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

__all__ = ["verify_key", "verify_rng", "verify_seed"]


@pytest.fixture
def verify_seed(request) -> int:
    """A 32-bit seed from ``--verify-seed`` and the test's id."""
    base = request.config.getoption("--verify-seed", default=0) or 0
    digest = hashlib.sha256(f"{base}:{request.node.nodeid}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@pytest.fixture
def verify_key(verify_seed):
    """A JAX random key for the test (see the module docstring)."""
    import jax

    return jax.random.key(verify_seed)


@pytest.fixture
def verify_rng(verify_seed) -> np.random.Generator:
    """A NumPy random generator for the test (see the module docstring)."""
    return np.random.default_rng(verify_seed)

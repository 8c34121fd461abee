"""Every test and doctest (in tests/ and verify/) runs in float64 with strict dtype
promotion, and leaves the registries as it found them."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture(autouse=True)
def isolated_registry():
    """Families and closed forms registered inside a test are gone after it."""
    from verify import formulas
    from verify.families import FAMILIES

    saved_families, saved_forms = dict(FAMILIES), dict(formulas._REGISTRY)
    yield
    FAMILIES.clear()
    FAMILIES.update(saved_families)
    formulas._REGISTRY.clear()
    formulas._REGISTRY.update(saved_forms)


@pytest.fixture(autouse=True, scope="module")
def bounded_compilation_caches():
    """Compiled computations are dropped after each module: the suite's memory stays bounded.

    Each family's forms compile per shape and dtype; kept for the whole run, the
    executables of fourteen families grow the process by gigabytes.
    """
    yield
    import jax

    from verify import _api

    _api._compiled.cache_clear()
    jax.clear_caches()

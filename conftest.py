"""Every test and doctest (in tests/ and verify/) runs in float64 with strict dtype
promotion, and leaves the registries as it found them."""

import atexit
import shutil
import tempfile

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")

# One compilation cache on disk for the run: tests (in different modules, after the
# in-memory caches are dropped, or through different jitted wrappers) compile many
# identical programs; a Beta or Dirichlet KL takes seconds each. Removed at exit.
_COMPILED = tempfile.mkdtemp(prefix="verify-tests-compiled-")
atexit.register(shutil.rmtree, _COMPILED, ignore_errors=True)
jax.config.update("jax_compilation_cache_dir", _COMPILED)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.3)


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """The cases in ``tests/heavy_cases.txt`` are marked slow: CI's quick run leaves them out,
    ``-m "slow or not slow"`` runs them."""
    from tests.heavy_cases import listed

    heavy = listed()
    for item in items:
        if item.nodeid in heavy:
            item.add_marker(pytest.mark.slow)

"""A family defined in one file is seen everywhere: formulas, derivations, Monte Carlo, the CLI.

The toy family here (Rayleigh) is defined inside a fixture and removed afterwards,
so the rest of the suite sees the registry as the package fills it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import verify
from verify import cli, formulas, montecarlo
from verify.families import FAMILIES, Distribution, SymbolicFamily, supports


@pytest.fixture
def rayleigh(isolated_registry):
    class Rayleigh(Distribution):
        """Rayleigh distribution with scale ``scale`` (a toy family of the tests)."""

        _fields = ("scale",)
        _param_event_ranks = (0,)
        reparameterized = True

        def __init__(self, scale, *, validate_args=True):
            (scale,) = verify._validate.as_float_arrays(validate_args=validate_args, scale=scale)
            if validate_args and verify._validate.is_concrete(scale):
                verify._validate.check_positive("scale", scale)
            self._set(scale=scale)

        def canonical(self):
            return (self.scale,)

        @property
        def support(self):
            return supports.positive

        @staticmethod
        def log_density(xp, x, scale):
            return xp.log(x) - 2 * xp.log(scale) - x**2 / (2 * scale**2)

        def sample(self, key, sample_shape=()):
            shape = tuple(sample_shape) + self.batch_shape
            u = jax.random.uniform(key, shape, self.dtype, minval=1e-300)
            return self.scale * jnp.sqrt(-2 * jnp.log(u))

        @classmethod
        def symbolic(cls, suffix="", parameterisation=None, **dims):
            import sympy as sp

            cls._no_dims(dims)
            s = f"_{suffix}" if suffix else ""
            scale = sp.Symbol(f"scale{s}", positive=True)
            return SymbolicFamily(
                name="Rayleigh",
                params=(scale,),
                variable=sp.Symbol("x", positive=True),
                density_code=cls.log_density,
                support=supports.positive,
            )

        @classmethod
        def random_params(cls, rng, n, *, spread="wide"):
            return (np.exp(rng.uniform(-0.5, 0.5, n)),)

    @verify.register_kl(Rayleigh, Rayleigh)
    def kl(xp, scale_p, scale_q):
        ratio = (scale_p / scale_q) ** 2
        return ratio - 1 - xp.log(ratio)

    return Rayleigh


def test_a_family_registers_itself_and_its_forms(rayleigh):
    assert FAMILIES["rayleigh"] is rayleigh
    (form,) = [f for f in formulas.registered() if f.families == (rayleigh, rayleigh)]
    assert form.quantity == "kl"
    # KL(R(s) || R(t)) = 2 log(t/s) + s^2/t^2 - 1 (literature)
    value = float(verify.kl(rayleigh(1.0), rayleigh(2.0)))
    np.testing.assert_allclose(value, 2 * np.log(2.0) + 0.25 - 1, rtol=1e-15)
    with pytest.raises(
        NotImplementedError, match=r"no closed form for entropy of `p` \(Rayleigh\)"
    ):
        verify.entropy(rayleigh(1.0))


def test_its_form_is_derived_from_the_density_and_proved(rayleigh):
    derivation = verify.derive("kl", rayleigh, rayleigh)
    assert derivation.proves_evaluation_form()


def test_its_subclasses_inherit_the_forms(rayleigh):
    class Narrow(rayleigh):
        pass

    assert float(verify.kl(Narrow(1.0), rayleigh(1.0))) == 0.0


def test_monte_carlo_and_check_kl_take_it(rayleigh):
    p = montecarlo.random_distribution(rayleigh, jax.random.key(0), (3,))
    q = montecarlo.random_distribution(rayleigh, jax.random.key(1), (3,))
    assert p.batch_shape == (3,)
    report = verify.check_kl(verify.kl, p, q)
    assert report.passed, report


def test_the_command_line_lists_derives_and_checks_it(rayleigh, capsys):
    assert cli.main(["list"]) == 0
    assert "Rayleigh(scale)" in capsys.readouterr().out
    assert cli.main(["kl", "rayleigh", "rayleigh"]) == 0
    assert "runs: yes" in capsys.readouterr().out
    assert cli.main(["check", "kl", "Rayleigh(1.0)", "Rayleigh(1.5)"]) == 0


def test_its_log_prob_is_minus_inf_outside_the_support(rayleigh):
    """The base class masks the support: the toy family writes only its density
    (log(x) is NaN below 0), and log_prob is -inf there, with a gradient of 0."""
    p = rayleigh(2.0)
    values = jnp.array([-1.0, np.nan, 1.0])
    got = np.asarray(p.log_prob(values))
    assert got[0] == got[1] == -np.inf and np.isfinite(got[2])
    assert float(jax.jit(lambda d: d.log_prob(-1.0))(p)) == -np.inf
    grad = jax.grad(lambda s: rayleigh(s).log_prob(-1.0))(2.0)
    assert float(grad) == 0.0

"""The code that runs is proved equal to the closed form derived from the density."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import verify
from verify import formulas
from verify.symbolic import derive, is_identically_zero, sympy_ops

#: Sizes at which general-size forms are proved against explicit derivations
#: (other families: at their default sizes).
SIZES = {
    verify.Categorical: [{"num_classes": k} for k in range(2, 7)],
    verify.MultivariateNormal: [{"dim": d} for d in (1, 2, 3)],
}


def _cases():
    for form in formulas.registered():
        for dims in SIZES.get(form.families[0], [{}]):
            names = ",".join(f.__name__ for f in form.families)
            kinds = ",".join(form.parameterisations)
            # K = 2..4 in the default run; the larger sizes (5 to 14 s each) are slow
            marks = [pytest.mark.slow] if dims.get("num_classes", 0) > 4 else []
            yield pytest.param(
                form, dims, id=f"{form.quantity}-{names}-{kinds}-{dims}", marks=marks
            )


@pytest.mark.parametrize("form, dims", list(_cases()))
def test_evaluation_form_is_proved_equal_to_derivation(form, dims):
    derivation = derive(
        form.quantity, *form.families, parameterisations=form.parameterisations, **dims
    )
    assert derivation.proves_evaluation_form()


def test_every_family_has_every_quantity_in_every_parameterisation():
    registered = {(f.quantity, f.families, f.parameterisations) for f in formulas.registered()}
    for family in verify.FAMILIES.values():
        for kind in family.parameterisations:
            assert ("entropy", (family,), (kind,)) in registered
            for other in family.parameterisations:
                assert ("kl", (family, family), (kind, other)) in registered
                assert ("cross_entropy", (family, family), (kind, other)) in registered


WRONG_NORMAL_KL = {
    "dropped 1/2": lambda xp, m1, s1, m2, s2: (
        ((m1 - m2) / s2) ** 2 + (s1 / s2) ** 2 - 1 - xp.log(s1 / s2)
    ),
    "swapped": lambda xp, m1, s1, m2, s2: (
        ((m1 - m2) / s1) ** 2 / 2 + ((s2 / s1) ** 2 - 1) / 2 - xp.log(s2 / s1)
    ),
    "variance for scale": lambda xp, m1, s1, m2, s2: (
        ((m1 - m2) / s2) ** 2 / 2 + (s1 / s2 - 1) / 2 - xp.log(s1 / s2)
    ),
    "extra constant": lambda xp, m1, s1, m2, s2: (
        ((m1 - m2) / s2) ** 2 / 2
        + ((s1 / s2) ** 2 - 1) / 2
        - xp.log(s1 / s2)
        + sp.Rational(1, 10**12)
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG_NORMAL_KL))
def test_wrong_forms_are_not_proved(name):
    """The prover can say no: each deliberately wrong form fails the proof."""
    derivation = derive("kl", verify.Normal, verify.Normal)
    wrong = WRONG_NORMAL_KL[name](sympy_ops, *derivation.symbols)
    assert not is_identically_zero(wrong - derivation.expr)


def test_wrong_categorical_form_is_not_proved():
    derivation = derive("kl", verify.Categorical, verify.Categorical, num_classes=3)
    p, q = (f.params[0] for f in derivation.families)
    swapped = sympy_ops.sum(sympy_ops.xlogy(q, q) - sympy_ops.xlogy(q, p))
    assert not is_identically_zero(swapped - derivation.expr)


def test_mvn_form_runs_identically_on_both_backends():
    """The JAX code and the SymPy expression are the same function: compare them numerically."""
    rng = np.random.default_rng(0)
    derivation = derive("kl", verify.MultivariateNormal, verify.MultivariateNormal, dim=3)
    for _ in range(3):
        loc_p, loc_q = rng.normal(size=(2, 3))
        tril_p, tril_q = (
            np.tril(rng.normal(size=(3, 3)), -1) + np.diag(rng.uniform(0.5, 2, 3)) for _ in range(2)
        )
        p = verify.MultivariateNormal(loc_p, scale_tril=tril_p)
        q = verify.MultivariateNormal(loc_q, scale_tril=tril_q)
        symbolic = float(derivation.evaluation_form.subs(derivation.bind(p, q)))
        np.testing.assert_allclose(float(verify.kl(p, q)), symbolic, rtol=1e-12)


def test_general_dimension_has_no_explicit_inverse():
    """MVN forms run through forward substitution: no inverse, no LU, no LAPACK solve."""
    p = verify.MultivariateNormal(jnp.zeros(4), scale_tril=jnp.eye(4))
    primitives = _primitives(jax.make_jaxpr(verify.kl)(p, p).jaxpr)
    assert primitives & {"while", "scan"}  # the substitution loop: nested jaxprs are searched
    assert not primitives & {"lu", "inv", "triangular_solve", "custom_linear_solve"}


def _primitives(jaxpr):
    """Every primitive in ``jaxpr`` and in the jaxprs nested in its equations (jit, loops)."""
    found = set()
    for eqn in jaxpr.eqns:
        found.add(str(eqn.primitive))
        for value in eqn.params.values():
            for inner in value if isinstance(value, (tuple, list)) else [value]:
                inner = getattr(inner, "jaxpr", inner)
                if hasattr(inner, "eqns"):
                    found |= _primitives(inner)
    return found


DEADLOCK_PROBE = """
import jax, jax.numpy as jnp, numpy as np, verify
jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)
def batch():
    tril = np.tril(rng.normal(size=(8, 3, 3)), -1) + np.eye(3) * rng.uniform(0.5, 2, (8, 1, 3))
    return verify.MultivariateNormal(rng.normal(size=(8, 3)), scale_tril=tril)
p, q = batch(), batch()
@jax.jit
def chunk(p, q, key):
    x = p.sample(key, (16384,))
    return (p.log_prob(x) - q.log_prob(x)).sum(0)
for seed in range(40):
    np.asarray(chunk(p, q, jax.random.key(seed)))
print("ok")
"""


def test_two_batched_solves_in_one_computation_do_not_deadlock():
    """Regression: jax.scipy's batched triangular solves, two in one jit, hung XLA's CPU pool."""
    out = subprocess.run(
        [sys.executable, "-c", DEADLOCK_PROBE], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


COVARIANCE_PROBE = """
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import verify
rng = np.random.default_rng(0)
def covariances():
    a = rng.normal(size=(100000, 3, 3))
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) + np.eye(3))
loc, p, q = jnp.zeros((100000, 3)), covariances(), covariances()
@jax.jit
def kl(p, q):
    make = lambda c: verify.MultivariateNormal(loc, covariance_matrix=c)
    return verify.kl(make(p), make(q))
for _ in range(100):
    kl(p, q).block_until_ready()
print("ok")
"""


def test_covariance_factors_and_solves_in_one_computation_do_not_deadlock():
    """Regression: LAPACK's Cholesky and the forms' solves in one jit hung XLA's CPU pool
    (at random, within some 100 calls at 10^5 pairs)."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", COVARIANCE_PROBE], capture_output=True, text=True, timeout=150
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the jitted KL of covariance-given normals hung")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_mvn_kl_from_covariances_is_proved_equal_to_derivation(dim):
    """The form for covariance-given pairs (exact S_p - S_q, LDL^T of I + M) is the derivation."""
    from verify.formulas import multivariate_normal

    derivation = derive("kl", verify.MultivariateNormal, verify.MultivariateNormal, dim=dim)
    (loc_p, tril_p), (loc_q, tril_q) = (f.params for f in derivation.families)
    form = multivariate_normal.kl_from_covariances(
        sympy_ops, loc_p, tril_p * tril_p.T, loc_q, tril_q * tril_q.T, tril_q
    )
    assert is_identically_zero(form - derivation.expr)
    if dim == 1:  # ... and refuses it whitened by the wrong factor (cheap to refute at d = 1).
        wrong = multivariate_normal.kl_from_covariances(
            sympy_ops, loc_p, tril_p * tril_p.T, loc_q, tril_q * tril_q.T, tril_p
        )
        assert not is_identically_zero(wrong - derivation.expr)

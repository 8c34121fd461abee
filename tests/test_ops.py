"""The JAX backend's helpers for batches (``verify._ops.jax_ops``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import verify
from verify._ops import jax_ops


def _pair(x, y):
    """An elementwise function with two outputs, one of them nonlinear."""
    return x * y, jnp.log1p(x) - y


def _rows(x, y):
    """A function of the vectors on the last axis."""
    return jnp.sum(x * y, axis=-1)


@pytest.mark.parametrize(
    "shapes",
    [
        [(4,), (4,), (4,)],  # equal: one chunk each
        [(6, 3), (6,)],  # divisible: 4 chunks of 6, no padding
        [(5,), (3,)],  # not divisible: the smaller padded to the larger
        [(300, 2), ()],  # many small chunks otherwise: padded
    ],
    ids=["equal", "divisible", "indivisible", "one-against-many"],
)
def test_together_is_the_calls_one_by_one(shapes):
    rng = np.random.default_rng(0)
    calls = [(rng.uniform(0.5, 2.0, s), rng.uniform(0.5, 2.0, s)) for s in shapes]
    joined = jax.jit(lambda calls: jax_ops.together(_pair, *calls))(calls)
    for (x, y), got in zip(calls, joined):
        for part, expected in zip(got, _pair(x, y)):
            assert part.shape == np.shape(expected)
            np.testing.assert_array_equal(part, expected)
    # the gradient reaches every call's arguments
    total = jax.grad(lambda calls: sum(jnp.sum(a + b) for a, b in jax_ops.together(_pair, *calls)))
    for (x, y), (dx, dy) in zip(calls, total(calls)):
        np.testing.assert_allclose(dx, y + 1 / (1 + x), rtol=1e-15)
        np.testing.assert_allclose(dy, x - 1, rtol=1e-15)


def test_together_on_vectors_and_under_vmap():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 7, 3))
    c = rng.normal(size=(2, 3))
    first, second = jax_ops.together(_rows, (a, b), (c[0], c[1]), event=True)
    np.testing.assert_allclose(first, _rows(a, b), rtol=1e-15)
    np.testing.assert_allclose(second, _rows(c[0], c[1]), rtol=1e-15)
    mapped = jax.vmap(lambda x, y: jax_ops.together(_rows, (x, y), (y, x), event=True))(a, b)
    np.testing.assert_allclose(mapped, [_rows(a, b)] * 2, rtol=1e-15)


@pytest.mark.parametrize(
    "family, quantity",
    [(verify.Beta, "kl"), (verify.Dirichlet, "entropy"), (verify.Poisson, "entropy")],
)
def test_a_heavy_form_in_chunks_gives_each_members_value(monkeypatch, family, quantity):
    """A batch of 2.4 chunks (chunks of 8 here; mixed regimes: wide and adversarial
    parameters) gives what the form gives for the whole batch at once."""
    from verify import _ops, formulas

    n = formulas.QUANTITIES[quantity]
    form = formulas.lookup(quantity, *[family] * n).function
    rng = np.random.default_rng(5)
    wide = [family.random_params(rng, 12) for _ in range(n)]
    edges = family.adversarial_pairs(rng)[:n]
    params = [np.concatenate([w, e[:7]]) for group in zip(wide, edges) for w, e in zip(*group)]
    whole = jax.jit(lambda *p: form(jax_ops, *p))(*params)
    monkeypatch.setattr(_ops, "CHUNK", 8)
    chunked = jax.jit(lambda *p: form(jax_ops, *p))
    assert "scan" in str(jax.make_jaxpr(chunked)(*params))  # it did run in chunks
    np.testing.assert_array_equal(chunked(*params), whole)


@jax.custom_jvp
def _sine_by_its_rule(x):
    """sin(x), whose body has derivative 0: only its rule (cos) gives the derivative."""
    return jax.lax.stop_gradient(jnp.sin(x))


_sine_by_its_rule.defjvp(lambda p, t: (_sine_by_its_rule(p[0]), jnp.cos(p[0]) * t[0]))


def _loops(monkeypatch):
    """Calls of ``_sine_by_its_rule`` through each loop: ``together``, and ``in_chunks``
    (with chunks of 2)."""
    from verify import _ops

    monkeypatch.setattr(_ops, "CHUNK", 2)

    def together(x):
        return jax_ops.together(_sine_by_its_rule, (x[:2],), (x[2:],))[0][0]

    def in_chunks(x):
        return jax_ops.in_chunks(lambda xp, y: _sine_by_its_rule(y), (0,), x)[0]

    return {"together": together, "in_chunks": in_chunks}


@pytest.mark.parametrize("loop", ["together", "in_chunks"])
def test_second_derivatives_through_the_loops_take_the_rules(monkeypatch, loop):
    """JAX 0.10 took the body's derivative of a custom_jvp function inside lax.map under
    reverse over reverse mode where the loop's output enters the cotangent: d2/dx2 of
    sin(x)**2 / 2 was -sin(1)**2 (-0.708) for cos(2) (-0.416). The loops now have a rule of
    their own (verify._ops._map)."""
    function = _loops(monkeypatch)[loop]
    x = jnp.array([1.0, 0.5, 0.25, 2.0])
    second = jax.grad(lambda x: jax.grad(lambda y: function(y) ** 2 / 2)(x)[0])(x)
    assert float(second[0]) == pytest.approx(np.cos(2.0), rel=1e-6)
    forward = jax.jacfwd(jax.grad(lambda y: function(y) ** 2 / 2))(x)
    assert float(forward[0, 0]) == pytest.approx(np.cos(2.0), rel=1e-6)


@pytest.mark.slow  # 30 s of compiling; the loops' test above holds the mechanism
def test_the_beta_kl_has_second_derivatives_of_its_square():
    """The Beta KL's Jensen and Binet terms run in ``together``'s loop: grad(grad(KL**2))
    was 0.9875, the exact 2 KL'**2 + 2 KL KL'' is 0.8399 (and ``check_grads`` of order 2
    failed for the Beta and Dirichlet KLs in ``test_api``'s slow tests)."""

    def kl(a):
        return verify.kl(verify.Beta(a, 5.9), verify.Beta(5.1, 5.4))

    value, slope = jax.value_and_grad(kl)(3.3)
    curvature = jax.grad(jax.grad(kl))(3.3)
    exact = 2 * slope**2 + 2 * value * curvature
    assert float(jax.grad(jax.grad(lambda a: kl(a) ** 2))(3.3)) == pytest.approx(
        float(exact), rel=1e-12
    )

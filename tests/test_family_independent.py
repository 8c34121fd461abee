"""Independent: a batch read as one distribution; its quantities are sums of the base's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import verify

BASES = {
    "normal": lambda: (verify.Normal(jnp.zeros((3, 2)), 1.0), verify.Normal(jnp.ones((3, 2)), 2.0)),
    "categorical": lambda: (
        verify.Categorical(probs=jnp.array([[0.2, 0.8], [0.5, 0.5]])),
        verify.Categorical(logits=jnp.array([[0.0, 1.0], [0.5, 0.0]])),
    ),
    "mvn": lambda: (
        verify.MultivariateNormal(jnp.zeros((4, 2)), scale_tril=jnp.eye(2)),
        verify.MultivariateNormal(jnp.ones((4, 2)), scale_tril=2 * jnp.eye(2)),
    ),
}


@pytest.mark.parametrize("name", sorted(BASES))
def test_quantities_are_the_base_quantities_summed(name):
    p0, q0 = BASES[name]()
    p, q = verify.Independent(p0, 1), verify.Independent(q0, 1)
    assert p.batch_shape == p0.batch_shape[:-1]
    assert p.event_shape == p0.batch_shape[-1:] + p0.event_shape
    np.testing.assert_array_equal(verify.kl(p, q), jnp.sum(verify.kl(p0, q0), -1))
    np.testing.assert_array_equal(verify.entropy(p), jnp.sum(verify.entropy(p0), -1))
    np.testing.assert_array_equal(
        verify.cross_entropy(p, q, base="bits"),
        jnp.sum(verify.cross_entropy(p0, q0), -1) / np.log(2),
    )


def test_log_prob_sums_and_samples_have_the_event_shape():
    p0, _ = BASES["normal"]()
    p = verify.Independent(p0, 2)
    x = p.sample(jax.random.key(0), (5,))
    assert x.shape == (5, 3, 2)
    np.testing.assert_allclose(p.log_prob(x), jnp.sum(p0.log_prob(x), axis=(-2, -1)))


def test_jit_vmap_and_grad_go_through():
    p0, q0 = BASES["normal"]()
    p, q = verify.Independent(p0, 1), verify.Independent(q0, 1)
    np.testing.assert_allclose(jax.jit(verify.kl)(p, q), verify.kl(p, q), rtol=1e-15)
    grad = jax.grad(lambda p: jnp.sum(verify.kl(p, q)))(p)
    np.testing.assert_allclose(grad.base.loc, (p0.loc - q0.loc) / 4.0)


@pytest.mark.slow  # 9.5 s
def test_monte_carlo_checks_take_it():
    p0, q0 = BASES["categorical"]()
    p, q = verify.Independent(p0, 1), verify.Independent(q0, 1)
    assert verify.check_kl(verify.kl, p, q).passed
    assert not verify.check_kl(lambda p, q: 1.01 * verify.kl(p, q), p, q).passed


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: verify.Independent(1.0, 1), TypeError, "`base` must be a verify distribution"),
        (
            lambda: verify.Independent(verify.Normal(0.0, 1.0), 1),
            ValueError,
            r"`reinterpreted_batch_ndims` must be an integer from 0 to 0 .*, got 1",
        ),
        (
            lambda: verify.kl(
                verify.Independent(verify.Normal(jnp.zeros((2, 2)), 1.0), 2),
                verify.Independent(verify.Normal(jnp.zeros((2, 2)), 1.0), 1),
            ),
            ValueError,
            "same event size",
        ),
    ],
)
def test_bad_input_is_a_clear_error(build, error, message):
    with pytest.raises(error, match=message):
        build()

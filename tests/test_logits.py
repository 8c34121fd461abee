"""Logits are first-class: exact values from logits, masks, gradients, low precision.

Every expected value is computed with mpmath at 50 digits from the given
floating-point inputs (the exact value for those inputs), never typed in.
"""

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import verify

mpmath.mp.dps = 50


# ---------------------------------------------------------------- mpmath references
def _mp_log_softmax(logits):
    logits = [mpmath.mpf(float(x)) for x in np.ravel(logits)]
    finite = [x for x in logits if mpmath.isfinite(x)]
    top = max(finite)
    lse = top + mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in finite))
    return [x - lse if mpmath.isfinite(x) else -mpmath.inf for x in logits]


def _mp_log_probs(dist):
    """Exact log-probabilities of an unbatched Bernoulli or Categorical, from what it was given."""
    if isinstance(dist, verify.Bernoulli):
        if dist.parameterisation == "logits":
            return _mp_log_softmax([0.0, float(dist.logits)])
        p = mpmath.mpf(float(dist.probs))
        return [
            mpmath.log(1 - p) if p < 1 else -mpmath.inf,
            mpmath.log(p) if p > 0 else -mpmath.inf,
        ]
    if dist.parameterisation == "logits":
        return _mp_log_softmax(np.asarray(dist.logits, np.float64))
    return [
        mpmath.log(mpmath.mpf(float(x))) if x > 0 else -mpmath.inf for x in np.ravel(dist.probs)
    ]


def mp_kl(p, q):
    total = mpmath.mpf(0)
    for lp, lq in zip(_mp_log_probs(p), _mp_log_probs(q)):
        if lp == -mpmath.inf:
            continue
        if lq == -mpmath.inf:
            return mpmath.inf
        total += mpmath.exp(lp) * (lp - lq)
    return total


def mp_cross_entropy(p, q):
    total = mpmath.mpf(0)
    for lp, lq in zip(_mp_log_probs(p), _mp_log_probs(q)):
        if lp == -mpmath.inf:
            continue
        if lq == -mpmath.inf:
            return mpmath.inf
        total -= mpmath.exp(lp) * lq
    return total


def mp_entropy(p):
    return mp_cross_entropy(p, p)


def rel_err(value, exact):
    value = float(value)
    if mpmath.isinf(exact) or exact == 0:
        return 0.0 if value == exact else np.inf
    return float(abs((mpmath.mpf(value) - exact) / exact))


def ulp_err(value, exact, dtype):
    """|value - exact| in units of the spacing of ``dtype`` at ``exact``."""
    exact_in_dtype = np.asarray(float(exact)).astype(dtype)
    spacing = np.spacing(
        np.abs(exact_in_dtype).astype(np.float32) if dtype != np.float64 else exact_in_dtype
    )
    if dtype in (jnp.bfloat16, np.float16):
        bits = {jnp.bfloat16: 8, np.float16: 11}[dtype]
        spacing = 2.0 ** (np.floor(np.log2(abs(float(exact)))) - bits + 1)
    return float(abs(mpmath.mpf(float(value)) - exact) / mpmath.mpf(float(spacing)))


F32, F64 = np.float32, np.float64
EPS32 = float(np.finfo(F32).eps)


# -------------------------------------------------- issue 8: every row of the table
def test_bernoulli_log_prob_from_a_large_logit_is_finite():
    assert float(verify.Bernoulli(logits=F32(40.0)).log_prob(0)) == -40.0


def test_categorical_log_prob_from_wide_logits_is_finite():
    assert float(verify.Categorical(logits=np.array([0.0, 800.0], F32)).log_prob(0)) == -800.0


@pytest.mark.parametrize(
    "make, args_p, args_q, dtype, rtol",
    [
        (verify.Bernoulli, 30.0, 40.0, F32, 1e-5),  # verify gave inf
        (verify.Bernoulli, 20.0, 21.0, F32, 1e-5),  # gave 0.0
        (verify.Categorical, [0.0, -20.0], [-120.0, 0.0], F32, 1e-5),  # gave inf
        (verify.Bernoulli, 1.0, 1.0 + 2**-30, F64, 1e-13),  # logits differing by ~1e-9
        (verify.Categorical, [0.3, -1.2, 2.0], [0.3 + 2**-30, -1.2, 2.0 - 2**-31], F64, 1e-13),
        (verify.Bernoulli, 1000.0, -1000.0, F32, 1e-5),  # issue 9 item 3: exact 1000
    ],
)
def test_kl_from_logits_matches_mpmath(make, args_p, args_q, dtype, rtol):
    p = make(logits=np.asarray(args_p, dtype))
    q = make(logits=np.asarray(args_q, dtype))
    value = verify.kl(p, q)
    assert value.dtype == dtype
    assert rel_err(value, mp_kl(p, q)) <= rtol


def test_bernoulli_entropy_of_a_large_logit_float64():
    p = verify.Bernoulli(logits=F64(37.0))
    assert rel_err(verify.entropy(p), mp_entropy(p)) <= 1e-14


def test_student_teacher_rows_of_512_logits_float32():
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(8, 512)).astype(F32) * 3
    student = (teacher + rng.normal(size=(8, 512)).astype(F32) * 1e-3).astype(F32)
    values = verify.kl(verify.Categorical(logits=teacher), verify.Categorical(logits=student))
    for row, value in enumerate(np.asarray(values)):
        p = verify.Categorical(logits=teacher[row])
        q = verify.Categorical(logits=student[row])
        assert rel_err(value, mp_kl(p, q)) <= 1e-5


# ------------------------------------------------ parameterisation is kept, both exposed
def test_distribution_keeps_its_parameterisation_and_exposes_both():
    p = verify.Categorical(logits=np.array([0.0, -np.inf, 1.0]))
    assert p.parameterisation == "logits"
    np.testing.assert_allclose(p.probs, [1 / (1 + np.e), 0.0, np.e / (1 + np.e)])
    q = verify.Categorical(probs=[0.5, 0.0, 0.5])
    assert q.parameterisation == "probs" and np.asarray(q.logits)[1] == -np.inf
    b = verify.Bernoulli(logits=np.inf)
    assert float(b.probs) == 1.0 and float(b.log_prob(0)) == -np.inf and float(b.log_prob(1)) == 0
    leaves = jax.tree_util.tree_leaves(p)
    assert len(leaves) == 1 and leaves[0] is p.logits


def test_sampling_from_logits_never_draws_a_masked_class():
    p = verify.Categorical(logits=np.array([0.0, -np.inf, 0.0, -1e30]))
    draws = np.asarray(p.sample(jax.random.key(0), (20000,)))
    assert set(np.unique(draws)) == {0, 2}


# -------------------------------------------------------------- masked classes
@pytest.mark.parametrize("dtype", [F32, F64])
def test_masked_classes_follow_the_definition(dtype):
    inf = np.inf
    a = np.array([0.5, -inf, 1.0, -inf], dtype)
    b = np.array([0.0, 2.0, 1.5, -inf], dtype)
    p, q = verify.Categorical(logits=a), verify.Categorical(logits=b)
    tol = 1e-13 if dtype == F64 else 2e-6
    assert rel_err(verify.kl(p, q), mp_kl(p, q)) <= tol
    assert rel_err(verify.entropy(p), mp_entropy(p)) <= tol
    assert rel_err(verify.cross_entropy(p, q), mp_cross_entropy(p, q)) <= tol
    # P has mass where Q is masked: +inf (kl and cross-entropy), from logits and mixed
    masked_q = verify.Categorical(logits=np.array([0.0, 0.0, -inf, 0.0], dtype))
    assert float(verify.kl(p, masked_q)) == np.inf
    assert float(verify.cross_entropy(p, masked_q)) == np.inf
    assert float(verify.kl(verify.Categorical(probs=np.asarray(p.probs)), masked_q)) == np.inf


@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_gradients_with_masked_or_very_negative_logits_are_finite_and_zero_when_masked(quantity):
    def value(a, b):
        p, q = verify.Categorical(logits=a), verify.Categorical(logits=b)
        return verify.entropy(p) if quantity == "entropy" else getattr(verify, quantity)(p, q)

    for low in (-np.inf, -1e9):
        a = jnp.array([0.5, low, 1.0])
        b = jnp.array([0.0, 2.0, 1.5])
        grad_a, grad_b = jax.grad(value, (0, 1))(a, b)
        assert np.all(np.isfinite(grad_a)) and np.all(np.isfinite(grad_b))
        assert float(grad_a[1]) == 0.0
        finite = jnp.array([0.5, 1.0]), jnp.array([0.0, 1.5])
        if quantity == "entropy":  # the masked class leaves the entropy of the other two
            expected = jax.grad(lambda x: value(x, x))(finite[0])
            np.testing.assert_allclose(grad_a[jnp.array([0, 2])], expected, rtol=1e-12)


# ---------------------------------------- gradients against the exact (SymPy) derivative
def _symbolic_gradient(quantity, a, b):
    """Exact gradient at 50 digits: SymPy's derivative of the derived logits form."""
    import sympy as sp

    k = len(a)
    d = verify.derive(
        quantity,
        verify.Categorical,
        verify.Categorical,
        parameterisations=("logits", "logits"),
        num_classes=k,
    )
    symbols = d.symbols
    values = {s: sp.Float(float(v), 60) for s, v in zip(symbols, list(a) + list(b))}
    expr = d.expr
    return [sp.diff(expr, s).evalf(50, subs=values) for s in symbols]


@pytest.mark.parametrize("gap", [1e-1, 1e-4, 1e-8, 1e-12])
def test_kl_gradients_match_the_exact_derivative_near_equality(gap):
    rng = np.random.default_rng(3)
    a = rng.normal(size=3) * 2
    b = a + gap * rng.normal(size=3)
    exact = _symbolic_gradient("kl", a, b)
    grad_a, grad_b = jax.grad(
        lambda x, y: verify.kl(verify.Categorical(logits=x), verify.Categorical(logits=y)), (0, 1)
    )(a, b)
    got = list(np.asarray(grad_a)) + list(np.asarray(grad_b))
    scale = max(abs(float(e)) for e in exact)
    for value, e in zip(got, exact):
        # componentwise, relative to the gradient's size: a component near 0 cancels
        assert abs(value - float(e)) <= 1e-13 * scale, (value, float(e))


# ---------------------------------------------------------------- low precision
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_logits(dtype):
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.normal(size=(4, 300)) * 3, dtype)
    b = jnp.asarray(np.asarray(a, F64) + rng.normal(size=(4, 300)) * 0.3, dtype)
    p, q = verify.Categorical(logits=a), verify.Categorical(logits=b)
    for value, exact in [
        (
            verify.kl(p, q),
            [
                mp_kl(
                    verify.Categorical(logits=np.asarray(a[i], F64)),
                    verify.Categorical(logits=np.asarray(b[i], F64)),
                )
                for i in range(4)
            ],
        ),
        (
            verify.entropy(p),
            [mp_entropy(verify.Categorical(logits=np.asarray(a[i], F64))) for i in range(4)],
        ),
    ]:
        assert value.dtype == dtype
        for v, e in zip(np.asarray(value, F64), exact):
            assert (
                ulp_err(v, e, dtype) <= 1.0
            )  # the exact value rounded: at most 1/2 ulp + f32 work
    assert np.all(np.asarray(verify.kl(p, p), F64) == 0)
    grads = jax.grad(lambda x: verify.kl(verify.Categorical(logits=x), q).sum())(a)
    assert grads.dtype == dtype and np.all(np.isfinite(np.asarray(grads, F64)))


# ------------------------------------------------ issue 9: -0.0, negativity, grads, support
@pytest.mark.parametrize("dtype", [F32, F64])
def test_negative_zero_probability_is_zero(dtype):
    z = dtype(-0.0)
    bern, cat = verify.Bernoulli, verify.Categorical
    assert float(verify.kl(bern(probs=dtype(0.3)), bern(probs=z))) == np.inf
    assert float(verify.kl(bern(probs=z), bern(probs=dtype(0.3)))) == pytest.approx(-np.log(0.7))
    assert float(verify.entropy(bern(probs=z))) == 0.0
    assert float(verify.cross_entropy(bern(probs=dtype(0.3)), bern(probs=z))) == np.inf
    p = cat(probs=np.array([0.5, 0.5], dtype))
    q = cat(probs=np.array([1.0, z], dtype))
    assert float(verify.kl(p, q)) == np.inf
    assert float(verify.kl(q, p)) == pytest.approx(np.log(2))
    assert float(verify.entropy(q)) == 0.0
    assert float(verify.kl(p, cat(logits=np.array([0.0, -np.inf], dtype)))) == np.inf
    assert float(verify.kl(q, cat(logits=np.array([0.0, 0.0], dtype)))) == pytest.approx(np.log(2))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_kl_of_renormalised_float_vectors_is_never_negative(dtype):
    """Semantics: for probs whose float sums differ from 1, kl is the generalised divergence
    sum p log(p/q) - p + q of the given vectors: >= 0, and 0 only for equal vectors."""
    rng = np.random.default_rng(0)
    w = rng.uniform(size=(2000, 7)).astype(dtype)
    noise = {F64: 1e-9, F32: 1e-4}[dtype]  # half of these pairs came out negative before
    v = (w * (1 + rng.normal(size=w.shape) * noise)).astype(dtype)
    p, q = w / w.sum(-1, keepdims=True), v / v.sum(-1, keepdims=True)
    values = np.asarray(verify.kl(verify.Categorical(probs=p), verify.Categorical(probs=q)))
    assert np.all(values >= 0)
    assert np.all(
        np.asarray(verify.kl(verify.Categorical(probs=p), verify.Categorical(probs=p))) == 0
    )


@pytest.mark.parametrize("dtype", [F32, F64])
def test_entropy_gradient_at_zero_probability_is_the_definitions(dtype):
    grad = jax.grad(lambda p: verify.entropy(verify.Categorical(probs=p)))(
        jnp.array([0.5, 0.0, 0.5], dtype)
    )
    assert grad[1] == np.inf and np.all(np.isfinite(grad[jnp.array([0, 2])]))
    assert jax.grad(lambda p: verify.entropy(verify.Bernoulli(probs=p)))(dtype(0.0)) == np.inf
    assert jax.grad(lambda p: verify.entropy(verify.Bernoulli(probs=p)))(dtype(1.0)) == -np.inf


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_log_prob_outside_the_support_is_minus_infinity(given):
    cat = verify.Categorical(
        **{given: np.array([0.2, 0.3, 0.5]) if given == "probs" else np.array([0.0, 1.0, 2.0])}
    )
    bern = verify.Bernoulli(**{given: 0.3})
    out = np.asarray(cat.log_prob(jnp.array([-1, 3, 5])))
    assert np.all(out == -np.inf)
    assert np.all(
        np.asarray(jax.jit(cat.log_prob)(jnp.array([-1, 1]))) == [-np.inf, cat.log_prob(1)]
    )
    assert np.all(np.asarray(bern.log_prob(jnp.array([-1.0, 0.5, 2.0]))) == -np.inf)
    assert np.isfinite(float(bern.log_prob(1.0)))


# ------------------------------------------- Monte Carlo, checks and the CLI follow logits
def test_monte_carlo_and_check_kl_on_logits_built_distributions():
    """alpha = 1e-6 per statistical decision: a false alarm about once in a million runs."""
    from verify import montecarlo

    p = verify.Categorical(logits=np.array([[0.0, -1.0, 0.5, -np.inf], [1.0, 0.0, -2.0, 0.3]]))
    q = verify.Categorical(logits=np.array([[0.3, -0.5, 0.0, 1.0], [0.0, 0.2, -1.0, 0.0]]))
    # k3 assumes E_p[q/p] = 1, false where P masks a class Q has: it says so (inconclusive)
    for estimator, row in (("plain", 0), ("k3", 1)):
        row_p = verify.Categorical(logits=p.logits[row])
        row_q = verify.Categorical(logits=q.logits[row])
        decision = montecarlo.compare(
            "kl", verify.kl(row_p, row_q), row_p, row_q, key=jax.random.key(0), estimator=estimator
        )
        assert decision.verdict == "agree", str(decision)

    def naive(p, q):  # the hand-written log_softmax form, masked with where
        lp, lq = jax.nn.log_softmax(p.logits), jax.nn.log_softmax(q.logits)
        return jnp.sum(jnp.where(lp > -jnp.inf, jnp.exp(lp) * (lp - lq), 0), axis=-1)

    def careful(p, q):  # the masked entries replaced before the arithmetic
        lp, lq = jax.nn.log_softmax(p.logits), jax.nn.log_softmax(q.logits)
        live = lp > -jnp.inf
        lp = jnp.where(live, lp, 0)
        return jnp.sum(jnp.where(live, jnp.exp(lp) * (lp - lq), 0), axis=-1)

    options = {"num_samples": 2**16, "gradient_samples": 2**14}
    report = verify.check_kl(naive, p, q, **options)
    assert not report.passed  # the where-trap: NaN gradient at the masked class
    assert "not finite in p.logits[0," in str(report["gradient_closed_form"])
    report = verify.check_kl(careful, p, q, **options)
    assert report.passed, str(report)


def test_cli_shows_the_logits_form():
    import contextlib
    import io

    from verify.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["kl", "categorical", "categorical", "--logits", "--num-classes", "2"])
    assert code == 0
    assert (
        "logits_p_0" in out.getvalue()
        and "proved equal to the formula verify.kl runs: yes" in out.getvalue()
    )
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["kl", "bernoulli", "bernoulli", "--logits", "--latex"])
    assert code == 0


@pytest.mark.parametrize(
    "forward, arity",
    [("_softmax_kl_fwd", 2), ("_softmax_cross_entropy_fwd", 2), ("_softmax_entropy_fwd", 1)],
)
def test_backward_pass_keeps_only_the_inputs_and_per_row_statistics(forward, arity):
    """The custom VJPs save the logits themselves and O(B) numbers, no [B, V] intermediates."""
    from verify import _special

    inputs = [jnp.zeros((4, 1000), jnp.float32) + i for i in range(arity)]
    _, residuals = getattr(_special, forward)(*inputs)
    leaves = jax.tree_util.tree_leaves(residuals)
    big = [x for x in leaves if x.size > 4]
    assert len(big) == arity and all(any(x is y for y in inputs) for x in big)


@pytest.mark.parametrize("logit_q", [-69.0, -6.9, 0.3, 20.7])
def test_a_masked_class_of_p_where_q_has_mass_counts_in_the_near_branch(logit_q):
    """P a point mass (a -inf logit), Q near it: KL = -log Q(point), not the 0 of P's own terms."""
    p = verify.Categorical(logits=jnp.array([0.0, -jnp.inf]))
    q = verify.Categorical(logits=jnp.array([0.0, logit_q]))
    exact = float(mpmath.log1p(mpmath.exp(mpmath.mpf(logit_q))))  # -log(1 - sigmoid(l))
    np.testing.assert_allclose(float(verify.kl(p, q)), exact, rtol=1e-14)


# ------------------------------------------------ vocabulary scale, compiled (float32)
def _mp_sum(x):
    return mpmath.fsum(mpmath.mpf(float(v)) for v in np.ravel(x))


@pytest.mark.parametrize("strategy", ["_rowsums", "_rowsums_in_blocks"])
def test_row_sums_are_accurate_however_xla_orders_the_additions(strategy):
    """A fused multi-output reduction is accumulated in order by XLA:CPU (30-110 ulp here);
    the CPU's row sums (blocks of 8, then TwoSum) are within 1 ulp."""
    import verify._special

    rowsums = getattr(verify._special, strategy)
    rng = np.random.default_rng(0)
    x = (0.1 + rng.random((2, 2**18))).astype(F32)
    scale = jnp.full((2, 1), 2, F32)
    sums = jax.jit(lambda x: rowsums(lambda scale: (x, scale * x), scale))(jnp.asarray(x))
    if strategy != "_rowsums":
        sums = [total[..., None] for total in sums]
    for row in range(2):
        exact = mpmath.fsum(float(v) for v in x[row])
        for total, scale in zip(sums, (1, 2)):
            assert ulp_err(total[row, 0], scale * exact, F32) <= 1


def _rows_of_every_regime(vocab=37):
    """Logit rows: near-equal, far, one softmax underflowing, masked classes (-inf)."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=(5, vocab)) * 2
    b = a + rng.normal(size=a.shape) * np.array([[1e-4], [1.0], [1e-2], [0.0], [1e-3]])
    b[2] -= 300 * (np.arange(vocab) == 0)  # q underflows where p has mass: KL about 300 p_0
    a[3, :4] = -np.inf  # masked classes of p, then of both
    b[4, 5:7] = -np.inf
    a[4, 5:7] = -np.inf
    return a.astype(F32), b.astype(F32)


def _tree_sum(x):
    """Row sums added as a tree, as XLA:GPU adds them (XLA:CPU adds in order)."""
    while x.shape[-1] > 1:
        if x.shape[-1] % 2:
            x = jnp.concatenate([x, jnp.zeros_like(x[..., :1])], axis=-1)
        x = x[..., 0::2] + x[..., 1::2]
    return x[..., 0]


def _as_on_the_gpu(monkeypatch):
    """Make the CPU take the GPU's forms: plain row sums (a tree), exp terms recomputed by
    each pass, no branches (the masked forms and the near pass in every call)."""
    import verify._special as special

    def plain(terms, *rows):
        return tuple(_tree_sum(x)[..., None] for x in terms(*rows))

    monkeypatch.setattr(special, "_rowsums", plain)

    def forward(a, b, row_chunks=False):  # no chunks of rows: the CPU's alone
        return special._kl_forward(a, b, on_cpu=False)

    monkeypatch.setattr(special, "_softmax_kl_forward", forward)
    monkeypatch.setattr(
        special, "_softmax_kl_backward", functools.partial(special._kl_backward, branches=False)
    )


def _as_on_an_nvidia_gpu(monkeypatch, chunk):
    """Make the CPU take the KL's forward on an NVIDIA GPU: the one-pass kernel (run in
    Pallas's interpreter, ``chunk`` logits per program) and the backward that follows it:
    without branches, and without d/da's re-centring (the kernel's centre is exact)."""
    import verify._softmax_chunks as chunks
    import verify._special as special

    _as_on_the_gpu(monkeypatch)
    statistics = functools.partial(chunks.chunk_statistics, chunk=chunk, interpret=True)
    monkeypatch.setattr(chunks, "chunk_statistics", statistics)
    monkeypatch.setattr(
        special,
        "_softmax_kl_forward",
        lambda a, b, row_chunks=False: special._kl_forward_in_chunks(a, b),
    )
    backward = functools.partial(special._kl_backward, branches=False, centred=True)
    monkeypatch.setattr(special, "_softmax_kl_backward", backward)


@pytest.mark.parametrize(
    "quantity, platform",
    [
        ("kl", "gpu"),
        ("kl", "nvidia chunk 8"),
        ("kl", "nvidia chunk 64"),
        ("cross_entropy", "gpu"),
        ("entropy", "gpu"),
    ],
)
def test_the_gpu_forms_give_the_cpu_accuracy(monkeypatch, quantity, platform):
    """XLA:GPU takes plain row sums (added as a tree) and, in the KL, recomputes the exp
    terms in each pass and takes no branch: run here, on the CPU, in place of the blocks
    and the shared exp arrays, they give every form to a few ulp of the exact values, and
    the gradients of the CPU's forms."""
    import verify._special as special

    function = getattr(special, f"softmax_{quantity}")
    a, b = _rows_of_every_regime()
    args = (a,) if quantity == "entropy" else (a, b)

    def gradients(*args):
        return jax.jit(jax.grad(lambda *x: jnp.sum(function(*x)), tuple(range(len(args)))))(*args)

    on_cpu = gradients(*args)
    jax.clear_caches()
    if platform == "gpu":
        _as_on_the_gpu(monkeypatch)
    else:  # the one-pass kernel, over 5 chunks of 8 (the last one short) or one of 64
        _as_on_an_nvidia_gpu(monkeypatch, chunk=int(platform.split()[-1]))
    values = np.asarray(jax.jit(function)(*args))
    on_gpu = gradients(*args)
    jax.clear_caches()
    reference = {"kl": mp_kl, "cross_entropy": mp_cross_entropy}.get(quantity)
    for row in range(len(a)):
        p, q = (verify.Categorical(logits=x[row], validate_args=False) for x in (a, b))
        exact = mp_entropy(p) if reference is None else reference(p, q)
        assert ulp_err(values[row], exact, F32) <= 4, (row, values[row], exact)
    for row in range(len(a)):
        exact = _mp_gradients(quantity, a[row], b[row])
        for k, (gpu, cpu, x) in enumerate(zip(on_gpu, on_cpu, exact)):
            scale = np.max(np.abs(x))
            err_gpu, err_cpu = (np.max(np.abs(np.asarray(g[row]) - x)) / scale for g in (gpu, cpu))
            assert err_gpu <= max(2 * err_cpu, 4 * EPS32), (row, k, err_gpu, err_cpu)


@pytest.mark.parametrize(
    "quantity, platform",
    [
        ("kl", "cpu"),
        ("cross_entropy", "cpu"),
        pytest.param("kl", "gpu", marks=pytest.mark.slow),
        pytest.param("cross_entropy", "gpu", marks=pytest.mark.slow),
        pytest.param("kl", "nvidia chunk 16", marks=pytest.mark.slow),
    ],
)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_d_da_keeps_its_digits_where_p_is_nearly_a_point_mass(
    monkeypatch, quantity, dtype, platform
):
    """p of one class near 1 (1 - 2e-3 ... 1 - 1e-8), q's maximum on another: d/da_k is
    -p_k (b_k - E_p[b]) for the cross-entropy, -p_k (b_k - a_k - E_p[b - a]) for the KL, and
    for p's class the centre rounded at the size of the terms lost 2800 eps of the largest
    component (float32, p = 0.9975) up to every digit (1 - 1e-8). Within 16 eps now: the
    XLA forms re-centre d/da; the NVIDIA kernel's centre keeps its low digits on every row
    (with only its first number, mu_hi, the kernel's case was 310 eps off in float32)."""
    import verify._special as special

    rng = np.random.default_rng(15)
    a, b = rng.normal(size=(4, 64)), rng.normal(size=(4, 64))
    a[:, 3] += np.array([8.0, 10.0, 14.0, 20.0])
    b[:, 7] += 6.0
    a, b = a.astype(dtype), b.astype(dtype)
    if platform == "gpu":
        _as_on_the_gpu(monkeypatch)
    elif platform.startswith("nvidia"):
        _as_on_an_nvidia_gpu(monkeypatch, chunk=int(platform.split()[-1]))
    function = getattr(special, f"softmax_{quantity}")
    grad = jax.jit(jax.grad(lambda x, y: jnp.sum(function(x, y))))(a, b)
    jax.clear_caches()
    eps = np.finfo(dtype).eps
    for row in range(len(a)):
        exact = _mp_gradients(quantity, a[row], b[row])[0]
        scale = np.max(np.abs(exact))
        error = np.max(np.abs(np.asarray(grad[row]) - exact)) / scale
        # p's class is minus the sum of the others: a plain (tree) sum of V terms, the GPU's,
        # errs by up to log2(V) eps of their magnitudes (28 eps here at 1 - 1e-8, float32).
        tree = 2 * np.log2(a.shape[-1]) * eps * np.sum(np.abs(exact)) / scale
        assert error <= 16 * eps + (tree if platform != "cpu" else 0), (row, error)


@pytest.mark.parametrize("platform", ["cpu", pytest.param("gpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_the_cross_entropys_gradient_in_q_keeps_its_digits_near_equality(
    monkeypatch, dtype, platform
):
    """d H(p, q) / d b_k = q_k - p_k, formed from q and p apart, lost every digit where they
    nearly agree (an error of eps max(p + q) against entries of max|q - p|: 1e6 eps of the
    largest at noise 1e-2 and an offset of 1e4). It is the KL's gradient in b, which has a
    near form: taken where some row is near."""
    import verify._special as special

    rng = np.random.default_rng(14)
    a = (rng.normal(size=(4, 48)) * 2 + np.array([[0.0], [100.0], [1e4], [-1e4]])).astype(dtype)
    noise = np.array([[1e-2], [1e-4], [1e-3], [1e-6]]) * rng.normal(size=a.shape)
    b = (a + 5.0 + noise).astype(dtype)
    if platform == "gpu":
        _as_on_the_gpu(monkeypatch)
    grads = jax.jit(jax.grad(lambda x, y: jnp.sum(special.softmax_cross_entropy(x, y)), (0, 1)))(
        a, b
    )
    jax.clear_caches()
    for row in range(len(a)):  # in float32 the last row's q is p exactly: its d/db is 0
        for grad, exact in zip(grads, _mp_gradients("cross_entropy", a[row], b[row])):
            error = np.max(np.abs(np.asarray(grad[row]) - exact))
            assert error <= 16 * np.finfo(dtype).eps * np.max(np.abs(exact)), (row, error)


@pytest.mark.parametrize("path", ["cpu", "nvidia chunk 8"])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_logits_that_differ_by_an_offset_are_near_equal_distributions(monkeypatch, dtype, path):
    """Softmax ignores an offset, so b = a + c + noise is near-equal. Its b - a was rounded
    (to eps |b|) against differences of the size of the noise: float32 with c = 100 and
    noise 1e-6 gave a relative error of 1.0, float64 1.6e-9. Now b - a is exact (TwoSum)
    and the centre E_p[b - a] is kept as two numbers. Far rows (noise 1) lost digits to
    max b - max a - mu, three numbers of the size of c (float32 at c = 1e4: 3e-3; float64
    3.6e-12); now the tilt is a mean of (a - max a) - (b - max b). Values and gradients to
    a few ulp, on the CPU and in the GPU's one-pass kernel (in Pallas's interpreter)."""

    rng = np.random.default_rng(11)
    offsets, noises = np.array([5.0, 100.0, 1e4]), np.array([1.0, 1e-3, 1e-6])  # far, near
    a = (rng.normal(size=(9, 48)) * 2).astype(dtype)
    shift = np.repeat(offsets, 3)[:, None] + np.tile(noises, 3)[:, None] * rng.normal(size=a.shape)
    b = (a + shift).astype(dtype)
    _assert_the_kl_is_accurate_on(monkeypatch, path, a, b, ulps=8)


@pytest.mark.parametrize(
    "path", ["cpu", pytest.param("gpu", marks=pytest.mark.slow), "nvidia chunk 512"]
)
def test_an_offset_over_a_wide_row_keeps_the_centre_of_the_exact_pass(monkeypatch, path):
    """A wide row (V = 4096, logits of spread 20) at an offset of 1e4 in float32, noise 1e-4:
    the CPU's first near pass takes b - a rounded (to eps |b|), so the centre it refines is
    off by about the noise, and the exact pass about that centre gave 2e5 ulp here (2.4 %:
    4.97e-13 for 4.86e-13). It now takes the statistics' centre in rows of an offset (as the
    other forms did: within 4 ulp). Its gradient's t = b - a - E_p[b - a] is about 1e-8 for
    the class that holds nearly all the mass, against a centre of 1e4 kept as two float32
    numbers, the second rounded at 1e-11: 5300 eps of the largest component. The centre is
    now three numbers (the exact pass's E_p[t] the third)."""

    rng = np.random.default_rng(13)
    a = (rng.normal(size=(2, 4096)) * 20).astype(F32)
    b = (a + 1e4 + 1e-4 * rng.normal(size=a.shape)).astype(F32)
    _assert_the_kl_is_accurate_on(monkeypatch, path, a, b, ulps=4)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("partner", ["boundary", "wide class", "far"])
def test_the_cpus_series_pass_is_taken_only_where_every_t_is_within_one(
    monkeypatch, dtype, partner
):
    """The CPU's near pass takes the series for e^t - 1 - t alone (no select, no second
    exponential: XLA:CPU vectorises only that loop) in calls whose near rows have |t| <= 1
    in every class, from the row maxima and minima of b - a. A near row (noise 1e-3) beside
    a near row with classes at t = +-0.999 (the series at its edge: that call takes it), a
    near row with a class of small p at t = 5 (KL 1e-3: that call takes the general form),
    or a far row (its terms gated to 0 in the series pass). The gradient in b takes the
    series alone where every row of the call is a near row of the series. Each row to a
    few ulp of mpmath, its gradients within 16 eps."""
    rng = np.random.default_rng(17)
    a = rng.normal(size=(2, 64)) * 2
    b = a + 1e-3 * rng.normal(size=a.shape)
    small = np.argsort(a[1])[:2]  # two classes of small p: mu moves little
    shifts = {"boundary": [0.999, -0.999], "wide class": [5.0, 0.0]}
    if partner in shifts:
        b[1] = a[1]
        b[1, small] += shifts[partner]
    else:
        b[1] = rng.normal(size=64) * 2
    _assert_the_kl_is_accurate_on(monkeypatch, "cpu", a.astype(dtype), b.astype(dtype), ulps=4)


def _assert_the_kl_is_accurate_on(monkeypatch, path, a, b, ulps):
    """The KL of each row of ``a, b`` within ``ulps`` of mpmath's, its gradients within 16 eps
    of their largest component, on the CPU (``path`` "cpu"), in the XLA forms of other
    platforms ("gpu") or in the one-pass kernel ("nvidia chunk N", Pallas's interpreter)."""
    import verify._special as special

    if path == "gpu":
        _as_on_the_gpu(monkeypatch)
    elif path != "cpu":
        _as_on_an_nvidia_gpu(monkeypatch, chunk=int(path.split()[-1]))
    values = np.asarray(jax.jit(special.softmax_kl)(a, b))
    grads = jax.jit(jax.grad(lambda x, y: jnp.sum(special.softmax_kl(x, y)), (0, 1)))(a, b)
    jax.clear_caches()
    for row in range(len(a)):
        p, q = (verify.Categorical(logits=x[row], validate_args=False) for x in (a, b))
        assert ulp_err(values[row], mp_kl(p, q), a.dtype) <= ulps, (row, values[row])
        for grad, exact in zip(grads, _mp_gradients("kl", a[row], b[row])):
            error = np.max(np.abs(np.asarray(grad[row]) - exact)) / np.max(np.abs(exact))
            assert error <= 16 * np.finfo(a.dtype).eps, (row, error)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("quantity", ["cross_entropy", "entropy"])
def test_logits_of_a_large_magnitude_give_entropies_and_gradients_to_a_few_ulp(quantity, dtype):
    """Siblings of the offset: LSE(b) formed as one number carries a rounding of the size of
    |max b|, which entered H(p, q) = sum p (LSE(b) - b) and every gradient's log p and log q.
    Now LSE is (max, log N) and the terms (max - x) + log N."""
    import verify._special as special

    rng = np.random.default_rng(12)
    a = (rng.normal(size=(6, 48)) * 2 + np.repeat([100.0, 1e4, -1e4], 2)[:, None]).astype(dtype)
    b = (a + np.tile([5.0, -300.0], 3)[:, None] + rng.normal(size=a.shape)).astype(dtype)
    function = getattr(special, f"softmax_{quantity}")
    args = (a,) if quantity == "entropy" else (a, b)
    values = np.asarray(jax.jit(function)(*args))
    grads = jax.jit(jax.grad(lambda *x: jnp.sum(function(*x)), tuple(range(len(args)))))(*args)
    for row in range(len(a)):
        p, q = (verify.Categorical(logits=x[row], validate_args=False) for x in (a, b))
        exact = mp_entropy(p) if quantity == "entropy" else mp_cross_entropy(p, q)
        assert ulp_err(values[row], exact, dtype) <= 8, (row, values[row])
        for grad, reference in zip(grads, _mp_gradients(quantity, a[row], b[row])):
            error = np.max(np.abs(np.asarray(grad[row]) - reference)) / np.max(np.abs(reference))
            assert error <= 16 * np.finfo(dtype).eps, (row, error)


def _mp_gradients(quantity, a, b, dps=50):
    """The exact gradients of one row (``dps`` digits): d/da_k of KL = -p_k (b_k - a_k -
    E_p[b - a]), of H(p, q) = -p_k (log q_k + H(p, q)), of H(p) = -p_k (log p_k + H(p));
    d/db_k = q_k - p_k."""
    with mpmath.workdps(dps):
        log_p, log_q = (_mp_log_softmax(x) for x in (a, b))
        p, q = ([mpmath.exp(x) for x in row] for row in (log_p, log_q))
        live = [pk > 0 for pk in p]
        if quantity == "kl":
            mu = mpmath.fsum(pk * (y - x) for pk, x, y, ok in zip(p, log_p, log_q, live) if ok)
            shift = [y - x - mu for x, y in zip(log_p, log_q)]
        else:
            log_r = log_q if quantity == "cross_entropy" else log_p
            value = -mpmath.fsum(pk * y for pk, y, ok in zip(p, log_r, live) if ok)
            shift = [y + value for y in log_r]
        grad_a = np.array([float(-pk * t) if ok else 0.0 for pk, t, ok in zip(p, shift, live)])
        grad_b = np.array([float(qk - pk) for pk, qk in zip(p, q)])
    return (grad_a,) if quantity == "entropy" else (grad_a, grad_b)


@pytest.mark.parametrize("dtype", [F32, jnp.bfloat16])
@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_the_forward_writes_no_vocabulary_sized_temporary(quantity, dtype):
    """Issue 8: no [..., V] float32 array beyond the inputs in the forward pass. Each pass
    computes its exp terms from the inputs; what XLA:CPU keeps is the row sums of blocks of
    8 terms (V / 8 per operand), well under one float32 [B, V] array (the old forms: 1.5-2.4;
    the KL on the CPU kept its two exp arrays, 2, until XLA:CPU was found to map such
    temporaries afresh in each call: see verify._special). Few rows and many classes:
    XLA:GPU splits each row's sum into up to 128 partial sums per operand, which would be
    comparable to [B, V] at V = 4096."""
    import verify._special as special

    a = jnp.zeros((8, 65536), dtype)
    args = (a,) if quantity == "entropy" else (a, a)
    compiled = jax.jit(getattr(special, f"softmax_{quantity}")).lower(*args).compile()
    # The block sums: V / 8 per operand of each pass (the KL: 3 + 2 operands, 0.625).
    bound = 0.75 if quantity == "kl" else 0.6
    assert compiled.memory_analysis().temp_size_in_bytes < a.size * 4 * bound


@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_a_large_batch_runs_in_chunks_whose_temporaries_do_not_grow(quantity):
    """Issue 8's target for the forward pass: the inputs plus O(B). Where an input exceeds
    32 MiB (2**23 float32 logits), the CPU's forward runs one chunk of rows after another
    (_by_row_chunks): its temporaries
    are one chunk's, under 8 MiB at 2**24 and 2**25 float32 logits (the whole batch's
    block sums were 40 and 81 MiB there), plus a few numbers per row. Compiled only,
    nothing is run."""
    import verify._special as special

    function = getattr(special, f"softmax_{quantity}")
    sizes = []
    for rows in (128, 256):
        a = jax.ShapeDtypeStruct((rows, 131072), F32)
        args = (a,) if quantity == "entropy" else (a, a)
        sizes.append(jax.jit(function).lower(*args).compile().memory_analysis().temp_size_in_bytes)
    assert sizes[0] < 8 * 2**20 and 0 <= sizes[1] - sizes[0] <= 128 * 16 * 4, sizes


def _in_chunks_of_two_rows(monkeypatch, vocab):
    import verify._special as special

    monkeypatch.setattr(special, "_WHOLE_BYTES", 0)
    monkeypatch.setattr(special, "_CHUNK_LOGITS", 2 * vocab)
    jax.clear_caches()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_rows_in_chunks_take_each_chunk_s_own_forms(monkeypatch, quantity, dtype):
    """A batch in chunks of two rows, each chunk with its own branches (masked forms, near
    pass, underflow rescues: the regimes of _rows_of_every_regime, two per chunk in
    different pairings): every value within 4 ulp of the exact one, the same as without
    chunks; under vmap too (the rows of each member in chunks)."""
    import verify._special as special

    function = getattr(special, f"softmax_{quantity}")
    a, b = _rows_of_every_regime()
    order = np.array([0, 1, 2, 3, 4, 3, 1, 4, 2, 0, 3, 2])  # 6 chunks, the regimes paired anew
    a, b = a[order].astype(dtype), b[order].astype(dtype)
    args = (a,) if quantity == "entropy" else (a, b)
    whole = np.asarray(jax.jit(function)(*args))
    _in_chunks_of_two_rows(monkeypatch, a.shape[-1])
    members = tuple(x.reshape(2, 6, -1) for x in args)  # under vmap: 3 chunks of each member's
    for f, xs in ((function, args), (jax.vmap(function), members)):
        assert "scan" in str(jax.make_jaxpr(f)(*xs))  # the chunks' loop
    chunked = np.asarray(jax.jit(function)(*args))
    mapped = np.asarray(jax.jit(jax.vmap(function))(*members))
    jax.clear_caches()
    reference = {"kl": mp_kl, "cross_entropy": mp_cross_entropy}.get(quantity)
    for row in range(len(a)):
        p, q = (verify.Categorical(logits=x[row], validate_args=False) for x in (a, b))
        exact = mp_entropy(p) if reference is None else reference(p, q)
        for value in (chunked[row], mapped.reshape(-1)[row], whole[row]):
            assert ulp_err(value, exact, dtype) <= 4, (row, value, exact)


@pytest.mark.parametrize("given", ["logits", "probs"])
@pytest.mark.parametrize("noise", [1.0, 1e-3])
@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_vocabulary_scale_float32_rows_are_within_a_few_ulp(quantity, noise, given):
    """32768 classes per row under jit, from logits and from probs (their softmax): the
    student is the teacher + N(0, noise**2) in logits. Guards the row sums of every form."""
    rng = np.random.default_rng(1)
    teacher = (rng.normal(size=(2, 32768)) * 2).astype(F32)
    student = (teacher + rng.normal(size=teacher.shape) * noise).astype(F32)
    if given == "probs":
        teacher, student = (np.asarray(jax.nn.softmax(x, axis=-1)) for x in (teacher, student))
    make = functools.partial(verify.Categorical, validate_args=False)
    function = {
        "kl": lambda a, b: verify.kl(make(**{given: a}), make(**{given: b})),
        "cross_entropy": lambda a, b: verify.cross_entropy(make(**{given: a}), make(**{given: b})),
        "entropy": lambda a, b: verify.entropy(make(**{given: a})),
    }[quantity]
    exact_of = {
        # From probs that do not sum to 1 exactly, the documented value: Csiszar's
        # I-divergence sum p log(p/q) - p + q of the given vectors (formulas/categorical.py).
        "kl": lambda p, q: (
            mp_kl(p, q) + _mp_sum(q.probs) - _mp_sum(p.probs) if given == "probs" else mp_kl(p, q)
        ),
        "cross_entropy": mp_cross_entropy,
        "entropy": lambda p, q: mp_entropy(p),
    }
    values = jax.jit(function)(jnp.asarray(teacher), jnp.asarray(student))
    for row in range(2):
        p, q = (make(**{given: x[row]}) for x in (teacher, student))
        assert ulp_err(values[row], exact_of[quantity](p, q), F32) <= 8


@pytest.mark.parametrize(
    "derivative",
    # The gradients' cases of the KL and cross-entropy: 12-19 s each here; their values stay quick.
    [False, pytest.param(True, marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("form", ["softmax_kl", "softmax_cross_entropy", "softmax_entropy"])
def test_a_batch_with_one_masked_row_gives_each_rows_value_alone(form, derivative):
    """A -inf logit anywhere in a call switches the call to the masked forms: same results.

    On the CPU exactly (row sums in blocks of 8, then compensated). Elsewhere a row's sums
    may be added in another order in a batch than alone (XLA:GPU adds as a tree): the
    value to an ulp, and the gradient to a few ulp of the row's largest entry
    (``-p_k (log q_k + H)`` takes an ulp of ``H`` to an entry where the bracket cancels:
    5e-14 of itself, 2e-17 of 0.047, on the H100)."""
    from verify import _special

    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 64))
    b = a + 1e-4 * rng.normal(size=a.shape)  # near-equal rows
    a[1, :5] = -np.inf  # masked classes of p
    b[1, 0] = -np.inf  # and of q where p is masked too (finite KL and cross-entropy)
    b[2] = rng.normal(size=64)  # a far row
    a, b = jnp.asarray(a), jnp.asarray(b)
    value = getattr(_special, form)
    arity = 1 if form == "softmax_entropy" else 2
    function = jax.grad(lambda *x: jnp.sum(value(*x)), tuple(range(arity))) if derivative else value
    args = (a, b)[:arity]
    together = jax.jit(function)(*args)
    mapped = jax.vmap(function)(*args)
    for row in range(3):
        alone = function(*(x[row] for x in args))
        for batched in (together, mapped):
            for x, y in zip(jax.tree_util.tree_leaves(batched), jax.tree_util.tree_leaves(alone)):
                y = np.asarray(y)
                gpu_atol = 16 * np.finfo(F64).eps * np.max(np.abs(y))
                atol = 0 if jax.default_backend() == "cpu" else gpu_atol
                np.testing.assert_allclose(np.asarray(x[row]), y, rtol=1e-14, atol=atol)


@pytest.mark.parametrize(
    "dtype, low",
    # 25 s each here (five families' forms compiled): float32 stays quick.
    [(F32, -200.0), pytest.param(F64, -800.0, marks=pytest.mark.slow)],
)
def test_a_class_of_p_whose_probability_underflows_where_q_has_none_gives_infinity(dtype, low):
    """P(class) = e**low > 0 exactly, though it rounds to 0; Q(class) = 0 (a -inf logit, or
    probs 0): P is not absolutely continuous w.r.t. Q, so KL = H(P, Q) = +inf, with gradient 0.
    Every family whose logits forms meet the case: categorical (also mixed), Bernoulli,
    binomial, geometric (Q the point mass at 0, P with failures of probability e**low)."""
    inf = np.inf
    a, b = np.array([0.0, low], dtype), np.array([0.0, -inf], dtype)
    one = functools.partial(np.asarray, dtype=dtype)
    cases = [
        (verify.Categorical(logits=a), verify.Categorical(logits=b)),
        (verify.Categorical(logits=a), verify.Categorical(probs=one([1.0, 0.0]))),
        (verify.Bernoulli(logits=one(low)), verify.Bernoulli(logits=one(-inf))),
        (
            verify.Binomial(total_count=one(3.0), logits=one(low)),
            verify.Binomial(total_count=one(3.0), logits=one(-inf)),
        ),
        (verify.Geometric(logits=one(-low)), verify.Geometric(logits=one(inf))),
    ]
    for p, q in cases:
        assert float(verify.kl(p, q)) == inf, (p, q)
        assert float(verify.cross_entropy(p, q)) == inf, (p, q)

    def kl(a, b):
        return verify.kl(verify.Categorical(logits=a), verify.Categorical(logits=b))

    rows = (
        jnp.asarray(np.stack([a, [0.5, 0.25]]).astype(dtype)),
        jnp.asarray(np.stack([b, [0.5, -inf]]).astype(dtype)),
    )
    for grad in jax.grad(lambda a, b: jnp.sum(kl(a, b)), (0, 1))(*rows):
        assert np.all(np.asarray(grad) == 0), grad


# Rows whose probabilities fall below the normal range (XLA:CPU flushes exp there to 0)
# where a term still counts: a large factor (b far below), or a value that is itself
# near the bottom of the range. The last row of each dtype takes the deepest tier.
_FLUSHED_ROWS = {
    F32: (
        [[0.0, -88.0, -95.0], [0.0, -90.0, -100.0], [0.0, -88.0, -np.inf], [0.0, -150.0, -170.0]],
        [[0.0, -3e38, -1e30], [0.0, -88.5, -99.0], [0.0, -1e30, -5.0], [0.0, -3e38, -3e38]],
    ),
    F64: (
        [
            [0.0, -709.0, -720.0],
            [0.0, -710.0, -750.0],
            [0.0, -720.0, -np.inf],
            [0.0, -1300.0, -1400],
        ],
        [[0.0, -1e300, -1e307], [0.0, -712.0, -745.0], [0.0, -1e307, -3.0], [0.0, -1e308, -1e308]],
    ),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("quantity", ["kl", "cross_entropy", "entropy"])
def test_probabilities_below_the_normal_range_still_count(quantity, dtype, request):
    """Float32 logits [0, -88] against [0, -3e38]: KL = H(p, q) = 1.82, all of it from
    p_1 = e**-88, which XLA:CPU flushes to 0 (both were 0); [0, -88] has entropy 5.4e-37, a
    normal number (was 0). Values and d/da against mpmath (400 digits: log N = 1 + e**-709
    needs them): within 8 ulp, the deepest tier (p below e**-c) |log p| eps / 2 relative;
    a component that is subnormal exactly cannot be computed here (absolute floor tiny).
    The KL's and the cross-entropy's GPU forms are outside this fix (an H200, 2026-11-28:
    [0, -150, -170] against [0, -3e38, -3e38] in float32 gave 0, exactly 2.2e-27; the
    float64 row 0, p_1 subnormal, 14009 ulp off)."""
    import verify._special as special

    if quantity != "entropy" and jax.default_backend() != "cpu":
        reason = "the GPU forms of the KL and the cross-entropy are outside the underflow fix"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))

    a, b = (jnp.asarray(np.array(x, dtype)) for x in _FLUSHED_ROWS[dtype])
    function = getattr(special, f"softmax_{quantity}")
    args = (a,) if quantity == "entropy" else (a, b)
    values = np.asarray(jax.jit(function)(*args))
    grads = jax.jit(jax.grad(lambda *x: jnp.sum(function(*x))))(*args)
    tiny, eps = float(np.finfo(dtype).tiny), float(np.finfo(dtype).eps)
    with mpmath.workdps(400):
        for row in range(len(a)):
            p, q = (verify.Categorical(logits=x[row], validate_args=False) for x in (a, b))
            exact = {"kl": mp_kl, "cross_entropy": mp_cross_entropy}.get(quantity, mp_entropy)
            exact = exact(p) if quantity == "entropy" else exact(p, q)
            ulps = 8 if row < 3 else float(-a[row, 1]) / 2
            if exact < tiny:  # subnormal exactly (the KL of row 1), or below even those
                assert abs(values[row]) <= tiny, (row, values[row])
            else:
                assert ulp_err(values[row], exact, dtype) <= ulps, (row, values[row])
            reference = _mp_gradients(quantity, a[row], b[row], dps=400)[0]
            error = np.max(np.abs(np.asarray(grads[row]) - reference))
            assert error <= ulps * eps * np.max(np.abs(reference)) + tiny, (row, error)


@pytest.mark.parametrize("quantity", ["kl", "cross_entropy"])
@pytest.mark.parametrize(
    "make",
    # Both in the quick run through tests/test_registry_families.py (13 s and 11 s here).
    [pytest.param(make, marks=pytest.mark.slow) for make in (verify.Categorical, verify.Bernoulli)],
)
def test_a_batch_of_p_against_one_q_from_logits_broadcasts(make, quantity):
    """Logits of P with a batch of 3 against one Q, and the reverse, with Q or P given by
    probs or logits: the values and gradients of the explicitly broadcast call (this raised
    ``TypeError``: the row sums took arrays of one shape)."""
    rng = np.random.default_rng(8)
    event = (5,) if make is verify.Categorical else ()
    batch, one = rng.normal(size=(3, *event)), rng.normal(size=event)
    function = getattr(verify, quantity)
    for other in ("logits", "probs"):
        one_dist = make(logits=one) if other == "logits" else make(probs=make(logits=one).probs)
        for single_is_q in (True, False):

            def value(x, single=one_dist, single_is_q=single_is_q):
                pair = (make(logits=x), single)
                return function(*(pair if single_is_q else pair[::-1]))

            def broadcast(x, single=one_dist, single_is_q=single_is_q):
                wide = jax.tree_util.tree_map(lambda v: jnp.broadcast_to(v, (3, *v.shape)), single)
                pair = (make(logits=x), wide)
                return function(*(pair if single_is_q else pair[::-1]))

            np.testing.assert_allclose(value(batch), broadcast(batch), rtol=1e-14)
            grads = [jax.grad(lambda x, f=f: jnp.sum(f(x)))(batch) for f in (value, broadcast)]
            np.testing.assert_allclose(*grads, rtol=1e-13, atol=1e-15)

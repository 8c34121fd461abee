"""C6 -- D(P||Q) in bits is the extra code length when coding P's data with Q's code.

Run it: ``python -m verify.proofs.c06_coding`` or ``verify prove C6``.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

import verify
from verify.proofs import _shared
from verify.proving import Claim, Evidence, Proof, Verdict, facts

#: |measured − L| / standard error above this is a mismatch (two-sided false-alarm rate 1e-6).
Z_LIMIT = 4.89

proof = Proof(
    Claim(
        id="C6",
        title="KL as extra coding cost",
        statement=(
            "D(P‖Q) in bits is the expected number of extra bits per symbol when data "
            "from P is coded with a code built for Q."
        ),
        expected=Verdict.PROVED,
    )
)


@dataclasses.dataclass(frozen=True)
class PrefixCode:
    """A binary prefix code: one codeword (a string of 0s and 1s) per symbol."""

    codewords: tuple[str, ...]

    @classmethod
    def shannon(cls, probs):
        """The Shannon code of a distribution: lengths ⌈−log₂ q(x)⌉, canonical codewords.

        Lengths are computed exactly (mpmath, 60 digits) so that probabilities that
        are powers of two get exactly −log₂ q(x) bits.

        Example:
            >>> PrefixCode.shannon([0.5, 0.25, 0.25]).codewords
            ('0', '10', '11')
        """
        with mpmath.workdps(60):
            lengths = [int(mpmath.ceil(-mpmath.log(mpmath.mpf(float(q)), 2))) for q in probs]
        return cls.from_lengths(lengths)

    @classmethod
    def from_lengths(cls, lengths):
        """Canonical codewords for lengths satisfying Kraft's inequality Σ 2^-ℓ ≤ 1."""
        if sum(Fraction(1, 2**n) for n in lengths) > 1:
            raise ValueError(f"lengths {lengths} violate Kraft's inequality")
        order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
        codewords, code, previous = [""] * len(lengths), 0, 0
        for i in order:
            code <<= lengths[i] - previous
            codewords[i] = format(code, f"0{lengths[i]}b") if lengths[i] else ""
            code, previous = code + 1, lengths[i]
        return cls(tuple(codewords))

    @property
    def lengths(self):
        return [len(c) for c in self.codewords]

    def is_prefix_free(self) -> bool:
        """No codeword is a prefix of another (checked on the sorted list)."""
        words = sorted(self.codewords)
        return all(not b.startswith(a) for a, b in zip(words, words[1:]))

    def encode(self, symbols) -> str:
        return "".join(self.codewords[s] for s in symbols)

    def decode(self, bits: str) -> list[int]:
        table = {c: i for i, c in enumerate(self.codewords)}
        out, start = [], 0
        for end in range(1, len(bits) + 1):
            symbol = table.get(bits[start:end])
            if symbol is not None:
                out.append(symbol)
                start = end
        if start != len(bits):
            raise ValueError("trailing bits do not form a codeword")
        return out


def bits(p, q):
    """Exact H(P) and D(P‖Q) in bits (mpmath, 50 digits), with 0·log(0/q) = 0."""
    with mpmath.workdps(50):
        p = [mpmath.mpf(float(x)) for x in p]
        q = [mpmath.mpf(float(x)) for x in q]
        h = -mpmath.fsum(a * mpmath.log(a, 2) for a in p if a > 0)
        d = mpmath.fsum(a * mpmath.log(a / b, 2) for a, b in zip(p, q) if a > 0)
    return h, d


@proof.step("Ideal code lengths −log₂Q(x): the excess over H(P) is exactly D(P‖Q) in bits")
def ideal_lengths(ctx):
    """With code lengths ℓ(x) = −log₂Q(x), data from P costs E_P[−log₂Q(X)] bits per
    symbol, and the best code for P costs H(P) = E_P[−log₂P(X)]. SymPy proves the
    difference is the derived D(P‖Q) divided by ln 2, for a categorical family."""
    derivation = _shared.derive("kl", verify.Categorical, verify.Categorical)
    p, q = derivation.families
    cost_q = sp.Add(
        *(sp.exp(p.log_density(x)) * -sp.log(sp.exp(q.log_density(x)), 2) for x in p.support)
    )
    cost_p = sp.Add(
        *(sp.exp(p.log_density(x)) * -sp.log(sp.exp(p.log_density(x)), 2) for x in p.support)
    )
    return facts.identity(
        "E_P[−log₂Q(X)] − E_P[−log₂P(X)] = D(P‖Q)/ln 2",
        cost_q - cost_p,
        derivation.expr / sp.log(2),
        relations=p.assumptions + q.assumptions,
        display=sp.Eq(sp.Symbol("E_P[−log₂Q] − H₂(P)"), sp.Symbol("D(P‖Q) / ln 2"), evaluate=False),
    )


@proof.step("Real prefix codes (Shannon lengths ⌈−log₂Q(x)⌉): H + D ≤ L < H + D + 1")
def shannon_bounds(ctx):
    """With y(x) = −log₂Q(x) and ℓ(x) = ⌈y(x)⌉, ℓ − y = frac(−y) ∈ [0, 1) (SymPy), so
    L = Σ P(x)ℓ(x) = H₂(P) + D₂(P‖Q) + Σ P(x)(ℓ(x) − y(x)) lies in [H + D, H + D + 1)
    because the weights P(x) sum to 1. Kraft: Σ 2^−ℓ(x) ≤ Σ 2^−y(x) = Σ Q(x) = 1, so
    a prefix code with these lengths exists."""
    y = sp.Symbol("y", real=True)
    rounding = (sp.ceiling(y) - y).rewrite(sp.frac)
    holds = bool(rounding.is_nonnegative) and bool(rounding < 1)
    return facts.symbolic_fact(
        "0 ≤ ⌈y⌉ − y < 1 for every real y",
        holds,
        sp.Eq(sp.ceiling(y) - y, rounding, evaluate=False),
        figures={"⌈y⌉ − y ≥ 0": str(rounding.is_nonnegative), "⌈y⌉ − y < 1": str(rounding < 1)},
    )


def _pairs(rng):
    k = 6
    dyadic = np.array([0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125])
    p_random = rng.dirichlet(np.ones(k))
    skewed = np.array([0.3, 0.3, 0.2, 0.1, 0.1 - 1e-6, 1e-6])
    return [
        ("random P, random Q", p_random, rng.dirichlet(np.ones(k))),
        ("random P, dyadic Q (ℓ = −log₂Q exactly)", p_random, dyadic),
        ("Q = P (the code built for P itself)", p_random, p_random),
        ("Q nearly misses a symbol P uses often", np.flip(skewed), skewed),
    ]


def _code_table(p, q, code):
    """One row per symbol: P(x), Q(x), the ideal length −log₂Q(x), ℓ(x) and the codeword."""
    rows = ["x   P(x)       Q(x)       −log₂Q(x)   ℓ(x)   codeword"]
    for x, (a, b, word) in enumerate(zip(p, q, code.codewords)):
        rows.append(f"{x:<3} {a:<10.4g} {b:<10.4g} {-np.log2(b):<11.4g} {len(word):<6} {word}")
    return "\n".join(rows)


@proof.step(
    "Build the codes, encode samples from P, measure the bits per symbol", role="cross-check"
)
def build_and_measure(ctx):
    """For each (P, Q): build the Shannon code of Q, check Kraft's inequality in
    exact rational arithmetic and that the code is prefix-free, encode 20 000
    symbols drawn from P, decode them back, and measure the average code length.
    The expected length L must lie in [H + D, H + D + 1) (exact arithmetic), and
    the measured average must agree with L (z-test, false-alarm rate 1e-6)."""
    rng = ctx.rng("codes")
    evidence = []
    n = 20_000
    for name, p, q in _pairs(rng):
        code = PrefixCode.shannon(q)
        kraft = sum(Fraction(1, 2**n_bits) for n_bits in code.lengths)
        sample = rng.choice(len(p), size=n, p=p / p.sum())
        stream = code.encode(sample)
        decoded = code.decode(stream)
        h, d = bits(p, q)
        with mpmath.workdps(50):
            expected_length = mpmath.fsum(
                mpmath.mpf(float(a)) * n_bits for a, n_bits in zip(p, code.lengths)
            )
            excess = expected_length - h - d
            # the lower bound is attained for dyadic Q: allow the 50-digit rounding
            in_bounds = -1e-40 <= excess < 1
        lengths = np.asarray(code.lengths)[sample]
        measured = len(stream) / n
        z = (measured - float(expected_length)) / max(lengths.std(ddof=1) / np.sqrt(n), 1e-300)
        holds = (
            kraft <= 1
            and code.is_prefix_free()
            and decoded == sample.tolist()
            and in_bounds
            and abs(z) < Z_LIMIT
        )
        evidence.append(
            Evidence(
                "construction",
                f"{name}: H + D ≤ L < H + D + 1 and the measured length agrees",
                passed=holds,
                formula=_code_table(p, q, code),
                figures={
                    "Kraft sum Σ2^−ℓ": str(kraft),
                    "prefix-free": code.is_prefix_free(),
                    "decoded = sample": decoded == sample.tolist(),
                    "H(P) bits": float(h),
                    "D(P‖Q) bits": float(d),
                    "L = Σ P ℓ bits": float(expected_length),
                    "L − (H + D)": float(excess),
                    "measured bits/symbol": measured,
                    f"(measured − L) / standard error, within ±{Z_LIMIT}": float(z),
                    "D in bits from verify.kl": float(
                        verify.kl(
                            verify.Categorical(probs=p), verify.Categorical(probs=q), base="bits"
                        )
                    ),
                },
            )
        )
    return evidence


if __name__ == "__main__":
    raise SystemExit(proof.main())

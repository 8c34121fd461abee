"""The proofs of the source note's claims C1-C13, one module per claim.

They ship inside the package, so ``verify prove`` works from any directory
after ``pip install``; ``proofs/cNN_*.py`` in a source checkout are thin
scripts that run one of them.

Example:
    >>> from verify import proofs
    >>> proofs.CLAIM_IDS[:3], proofs.normalise_id("c5")
    (('C1', 'C2', 'C3'), 'C5')
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib

__all__ = [
    "CLAIM_IDS",
    "MODULES",
    "ProofFileError",
    "compile_ahead",
    "load",
    "load_all",
    "load_file",
    "normalise_id",
]

#: Proof module of each claim, in order.
MODULES = {
    "C1": "c01_discrete_kl",
    "C2": "c02_continuous_kl",
    "C3": "c03_nonnegativity",
    "C4": "c04_asymmetry",
    "C5": "c05_not_a_metric",
    "C6": "c06_coding",
    "C7": "c07_entropy_units",
    "C8": "c08_cross_entropy",
    "C9": "c09_kl_decomposition",
    "C10": "c10_kl_vs_cross_entropy",
    "C11": "c11_log_likelihood",
    "C12": "c12_mle",
    "C13": "c13_kl_vs_likelihood",
}

CLAIM_IDS = tuple(MODULES)


def normalise_id(claim_id: str) -> str:
    """``"c5"``, ``"C05"`` -> ``"C5"``.

    Raises:
        KeyError: not a claim of the source note (the message lists them).
    """
    text = str(claim_id).strip().upper()
    if text.startswith("C") and text[1:].isdigit():
        text = f"C{int(text[1:])}"
    if text not in MODULES:
        raise KeyError(f"unknown claim {claim_id!r}; the claims are {', '.join(CLAIM_IDS)}")
    return text


def load(claim_id: str):
    """The :class:`~verify.proving.Proof` of a claim (case-insensitive id)."""
    module = importlib.import_module(f"verify.proofs.{MODULES[normalise_id(claim_id)]}")
    return module.proof


def compile_ahead(claim_ids):
    """Starts compiling, on a second thread, the closed forms that the claims evaluate at
    every family (a proof module's ``EVALUATES``), all but those of the first claim to
    evaluate any, which compiles its own as it starts; returns a function that stops it
    and waits (:func:`verify.proofs._shared.compile_ahead`).

    Example:
        >>> finish = compile_ahead(["C3", "C4"])  # C4 evaluates only the KL, as C3 does
        >>> finish()
    """
    from verify.proofs import _shared

    needs = [
        getattr(importlib.import_module(f"verify.proofs.{MODULES[i]}"), "EVALUATES", ())
        for i in map(normalise_id, claim_ids)
    ]
    needs = [quantities for quantities in needs if quantities]
    first = set(needs[0]) if needs else set()
    later = [q for quantities in needs[1:] for q in quantities if q not in first]
    return _shared.compile_ahead(list(dict.fromkeys(later)))


def load_all():
    """Every proof, in claim order."""
    return [load(claim_id) for claim_id in CLAIM_IDS]


class ProofFileError(ValueError):
    """A file given as a proof that does not define one; the message says why, in one line."""


def load_file(path):
    """The ``proof`` defined by a Python file (a user's own proof script).

    The file is run as a module and must define ``proof``, a
    :class:`~verify.proving.Proof` (see ``proofs/`` in a checkout for examples).

    Raises:
        ProofFileError: no such file, not a ``.py`` file, the file raises or calls
            ``sys.exit`` while loading, or it defines no ``proof`` of the right type.

    Example:
        >>> load_file("notes.txt")
        Traceback (most recent call last):
        ...
        verify.proofs.ProofFileError: 'notes.txt' is not a proof file: a proof file ends in .py ...
    """
    from verify.proving import Proof

    name, path = str(path), pathlib.Path(path)
    if path.suffix != ".py":
        raise ProofFileError(
            f"{name!r} is not a proof file: a proof file ends in .py and defines `proof`"
        )
    if not path.is_file():
        raise ProofFileError(f"no proof file {name!r}")
    spec = importlib.util.spec_from_file_location(f"verify_user_proof_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SystemExit as exit_:
        raise ProofFileError(f"{name!r} calls sys.exit({exit_.code!r}) while loading") from None
    except Exception as error:  # noqa: BLE001 - the user's file is broken: say so in one line
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        raise ProofFileError(f"cannot load {name!r}: {reason}") from None
    proof = getattr(module, "proof", None)
    if proof is None:
        raise ProofFileError(f"{name!r} defines no `proof` (a verify.proving.Proof)")
    if not isinstance(proof, Proof):
        raise ProofFileError(f"`proof` in {name!r} must be a verify.proving.Proof, got {proof!r}")
    return proof

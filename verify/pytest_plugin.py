"""pytest plugin: the proofs of verify's claims as test items.

Registered through the ``pytest11`` entry point, it does nothing unless asked:

* ``pytest --verify-proofs`` adds one test item per claim C1-C13;
* ``pytest --verify-proofs=C3,C5`` only those claims;
* ``pytest --verify-proofs=my_proof.py`` a user's own proof file (one defining
  ``proof``), alone or mixed with claim ids;
* ``--verify-seed N`` seeds the proofs (default 0).

An item passes when the proof reaches its expected verdict; otherwise pytest's
report shows the proof's whole transcript.
"""

from __future__ import annotations

import pytest

__all__ = ["ProofGroup", "ProofItem", "pytest_addoption", "pytest_collection_modifyitems"]


def pytest_addoption(parser):
    group = parser.getgroup("verify", "verify: proofs of the claims")
    group.addoption(
        "--verify-proofs",
        nargs="?",
        const="all",
        default=None,
        metavar="CLAIMS",
        help="run verify's proofs as test items: all, or a comma-separated list of claim "
        "ids and proof files",
    )
    group.addoption(
        "--verify-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the proofs' random draws (default 0)",
    )


class VerdictDiffersError(Exception):
    """The proof did not reach its expected verdict."""

    def __init__(self, result):
        super().__init__(
            f"{result.claim.id}: verdict {result.verdict}, expected {result.claim.expected}"
        )
        self.result = result


class ProofGroup(pytest.Collector):
    """The parent of the proof items, so their ids read ``verify-proofs::C5``."""

    def collect(self):
        return []


class ProofItem(pytest.Item):
    """One proof, run as a test."""

    def __init__(self, *, proof, seed, **kwargs):
        super().__init__(**kwargs)
        self.proof = proof
        self.seed = seed

    def runtest(self):
        result = self.proof.run(seed=self.seed)
        if not result.as_expected:
            raise VerdictDiffersError(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, VerdictDiffersError):
            from verify import report

            return report.text([excinfo.value.result])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        claim = self.proof.claim
        return "verify-proofs", None, f"{claim.id}: {claim.title}"


def _selected_proofs(spec):
    from verify import proofs

    if spec == "all":
        return proofs.load_all()
    selected = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        if entry.endswith(".py"):
            try:
                selected.append(proofs.load_file(entry))
            except proofs.ProofFileError as error:
                raise pytest.UsageError(f"--verify-proofs: {error}") from None
        else:
            try:
                selected.append(proofs.load(entry))
            except KeyError as error:
                raise pytest.UsageError(f"--verify-proofs: {error.args[0]}") from None
    return selected


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Appends the requested proofs to the collected items (before -k and -m select)."""
    spec = config.getoption("verify_proofs", default=None)
    if spec is None:
        return
    from verify.proving import check_seed

    try:
        seed = check_seed(config.getoption("verify_seed"))
    except ValueError as error:
        raise pytest.UsageError(f"--verify-seed: {error}") from None
    group = ProofGroup.from_parent(session, name="verify-proofs", nodeid="verify-proofs")
    for proof in _selected_proofs(spec):
        items.append(ProofItem.from_parent(group, name=proof.claim.id, proof=proof, seed=seed))

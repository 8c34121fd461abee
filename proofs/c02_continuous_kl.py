"""C2 -- the continuous KL divergence D(P||Q) = ∫ p(x) log(p(x)/q(x)) dx.

Runs the proof that ships in the package, ``verify.proofs.c02_continuous_kl`` (the same one
``verify prove C2`` runs), and prints its transcript::

    python proofs/c02_continuous_kl.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c02_continuous_kl import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

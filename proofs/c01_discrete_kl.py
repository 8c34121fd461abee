"""C1 -- the discrete KL divergence D(P||Q) = sum_x P(x) log(P(x)/Q(x)).

Runs the proof that ships in the package, ``verify.proofs.c01_discrete_kl`` (the same one
``verify prove C1`` runs), and prints its transcript::

    python proofs/c01_discrete_kl.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c01_discrete_kl import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

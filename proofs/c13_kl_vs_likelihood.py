"""C13 -- minimising D(P_data||P_model) is maximising the log-likelihood.

Runs the proof that ships in the package, ``verify.proofs.c13_kl_vs_likelihood`` (the same one
``verify prove C13`` runs), and prints its transcript::

    python proofs/c13_kl_vs_likelihood.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c13_kl_vs_likelihood import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

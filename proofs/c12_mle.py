"""C12 -- argmax of the likelihood = argmax of the log-likelihood (the MLE).

Runs the proof that ships in the package, ``verify.proofs.c12_mle`` (the same one
``verify prove C12`` runs), and prints its transcript::

    python proofs/c12_mle.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c12_mle import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

"""C10 -- minimising D(P||Q_θ) over θ is equivalent to minimising H(P, Q_θ).

Runs the proof that ships in the package, ``verify.proofs.c10_kl_vs_cross_entropy`` (the same one
``verify prove C10`` runs), and prints its transcript::

    python proofs/c10_kl_vs_cross_entropy.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c10_kl_vs_cross_entropy import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

"""C4 -- asymmetry: in general D(P||Q) != D(Q||P).

Runs the proof that ships in the package, ``verify.proofs.c04_asymmetry`` (the same one
``verify prove C4`` runs), and prints its transcript::

    python proofs/c04_asymmetry.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c04_asymmetry import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

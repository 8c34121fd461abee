"""C6 -- D(P||Q) in bits is the extra code length when coding P's data with Q's code.

Runs the proof that ships in the package, ``verify.proofs.c06_coding`` (the same one
``verify prove C6`` runs), and prints its transcript::

    python proofs/c06_coding.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c06_coding import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

"""C7 -- entropy H = −Σ P(x) log_b P(x); b = 2 bits, b = e nats, b = 10 hartleys.

Runs the proof that ships in the package, ``verify.proofs.c07_entropy_units`` (the same one
``verify prove C7`` runs), and prints its transcript::

    python proofs/c07_entropy_units.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c07_entropy_units import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

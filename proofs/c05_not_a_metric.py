"""C5 -- "KL satisfies the properties of a metric except symmetry" (false).

Runs the proof that ships in the package, ``verify.proofs.c05_not_a_metric`` (the same one
``verify prove C5`` runs), and prints its transcript::

    python proofs/c05_not_a_metric.py

Exit code 0 when the verdict is the expected one, 1 otherwise.
"""

import pathlib
import sys

# In a source checkout, use the checkout's package even if another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from verify.proofs.c05_not_a_metric import proof  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(proof.main())

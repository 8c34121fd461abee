"""Write ``tests/heavy_cases.txt``: the cases that ``conftest.py`` leaves out of the quick run.

A case is heavy when one call of it took ``--seconds`` (4) or more in a run's JUnit report
(``pytest --junitxml=FILE``, the default selection or the whole suite). Doctests stay in the
quick run, as the examples users read, and so do the gradient checks in ``QUICK``. Usage::

    python tests/heavy_cases.py FILE [--seconds 4] [--machine "2-core x86_64, 44 min run"]
"""

import argparse
import datetime
import pathlib
import xml.etree.ElementTree as ET

LIST = pathlib.Path(__file__).with_name("heavy_cases.txt")

# Tests that stay in the quick run however long they take: every family's gradient is
# checked there against an independent one (JAX's numerical check, SymPy's, mpmath's).
QUICK = {
    "test_grad_passes_jax_numerical_check",
    "test_jax_grad_matches_sympy_derivative",
    "test_kl_gradient_matches_mpmath",
}


def listed():
    """{node id: seconds} of the cases in ``tests/heavy_cases.txt``."""
    if not LIST.exists():
        return {}
    cases = {}
    for line in LIST.read_text().splitlines():
        node, _, took = line.partition("  # ")
        if node.strip() and not node.startswith("#"):
            cases[node.strip()] = float(took.split()[0]) if took else 0.0
    return cases


def heavy(report, seconds):
    """(node id, seconds) of the test cases of ``tests/`` that took ``seconds`` or more.

    A listed case that the report does not hold (the default run leaves it out) stays listed.
    """
    cases = listed()
    for case in ET.parse(report).getroot().iter("testcase"):
        module, took = case.get("classname"), float(case.get("time"))
        node = f"{module.replace('.', '/')}.py::{case.get('name')}"
        cases.pop(node, None)
        if module.startswith("tests.") and took >= seconds:
            cases[node] = took
    return sorted((node, took) for node, took in cases.items() if _function(node) not in QUICK)


def _function(node):
    return node.split("::")[-1].split("[")[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--machine", default="the 2-core reference machine")
    args = parser.parse_args()
    cases = heavy(args.report, args.seconds)
    header = (
        "# Left out of the quick run (conftest.py marks them slow): cases that took"
        f" {args.seconds:g} s or more\n# in a run on {args.machine}, {datetime.date.today()},"
        " or that were listed before and\n# did not run then. Written by tests/heavy_cases.py.\n"
    )
    LIST.write_text(header + "".join(f"{node}  # {took:.1f} s\n" for node, took in cases))
    print(f"{len(cases)} cases, {sum(t for _, t in cases):.0f} s, written to {LIST}")


if __name__ == "__main__":
    main()

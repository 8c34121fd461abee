"""Monte Carlo evidence with a stated error rate.

Example:
    >>> import jax, verify
    >>> from verify import montecarlo
    >>> p, q = verify.Normal(0.0, 1.0), verify.Normal(1.0, 2.0)
    >>> dec = montecarlo.compare("kl", verify.kl(p, q), p, q, key=jax.random.key(0),
    ...                          num_samples=2**18)
    >>> dec.verdict
    'agree'
"""

from verify.montecarlo._decision import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    Decision,
    bonferroni,
    compare,
    decide,
    detection_probability,
    holm,
    plan_samples,
)
from verify.montecarlo._engine import default_chunk_size
from verify.montecarlo._estimate import (
    CONTROL_Z,
    ESTIMATORS,
    Estimate,
    default_num_samples,
    estimate,
)
from verify.montecarlo._gradient import compare_gradient, gradient_components, project_gradient
from verify.montecarlo._progress import ProgressBar
from verify.montecarlo._random import random_distribution
from verify.montecarlo._statistics import critical_value, normal_isf, normal_sf, variance_rel_error

__all__ = [
    "CONTROL_Z",
    "DEFAULT_ALPHA",
    "DEFAULT_POWER",
    "Decision",
    "ESTIMATORS",
    "Estimate",
    "ProgressBar",
    "bonferroni",
    "compare",
    "compare_gradient",
    "critical_value",
    "decide",
    "default_chunk_size",
    "default_num_samples",
    "detection_probability",
    "estimate",
    "gradient_components",
    "holm",
    "normal_isf",
    "normal_sf",
    "plan_samples",
    "project_gradient",
    "random_distribution",
    "variance_rel_error",
]

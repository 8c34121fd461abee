"""Monte Carlo evidence with a stated error rate.

What users need: :func:`estimate` a quantity, :func:`compare` a closed form
with it (a :class:`Decision`: agree, disagree or inconclusive at false-alarm
rate ``alpha``), :func:`compare_gradient` for gradients, :func:`decide` again
from estimates already drawn, :func:`plan_samples` for a sample count,
:func:`holm` / :func:`bonferroni` for many decisions, and
:func:`random_distribution` for random test settings.

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
from verify.montecarlo._estimate import ESTIMATORS, Estimate, default_num_samples, estimate
from verify.montecarlo._gradient import compare_gradient
from verify.montecarlo._random import random_distribution

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_POWER",
    "ESTIMATORS",
    "Decision",
    "Estimate",
    "bonferroni",
    "compare",
    "compare_gradient",
    "decide",
    "default_num_samples",
    "detection_probability",
    "estimate",
    "holm",
    "plan_samples",
    "random_distribution",
]

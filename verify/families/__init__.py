"""Probability families: parameters, JAX log-densities, samplers, SymPy densities."""

from verify.families._distribution import Distribution, SymbolicFamily
from verify.families.bernoulli import Bernoulli
from verify.families.categorical import Categorical
from verify.families.multivariate_normal import MultivariateNormal
from verify.families.normal import Normal

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "MultivariateNormal",
    "Normal",
    "SymbolicFamily",
]

#: Families by lower-case name, for the command line and error messages.
BY_NAME = {
    cls.__name__.lower(): cls for cls in (Normal, MultivariateNormal, Bernoulli, Categorical)
}

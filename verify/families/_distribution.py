"""The base class of every family, and the symbolic description a family gives.

A family is a small immutable object holding JAX arrays (its parameters). It is
a JAX pytree, so distributions pass through ``jax.jit``, ``jax.vmap`` and
``jax.grad`` like arrays do. Each family writes its log-density once, against a
backend (:mod:`verify._ops`): :meth:`Distribution.log_prob` runs it with JAX,
and :meth:`Distribution.symbolic` runs the same code with SymPy to give the
density every closed form is derived from.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from verify._ops import jax_ops

__all__ = ["FAMILIES", "Dim", "Distribution", "Parameter", "SymbolicFamily"]

#: Every family, by lower-case name, filled as the family classes are defined.
FAMILIES: dict[str, type] = {}


@dataclasses.dataclass(frozen=True)
class Dim:
    """A size a family's symbolic form needs (a MultivariateNormal's ``dim``).

    Attributes:
        default: the size derivations and proofs use unless told otherwise.
        least: the smallest valid size.
        most: the largest size the command line offers (SymPy's time grows with it).
    """

    default: int
    least: int = 1
    most: int = 8


@dataclasses.dataclass(frozen=True)
class Parameter:
    r"""A scalar parameter as a family's symbolic form names it.

    Attributes:
        name: the parameter's name (the symbol is ``<name>_<suffix>``).
        latex: its LaTeX, e.g. ``r"\sigma"``.
        domain: the SymPy assumption the symbol carries, ``"positive"`` or ``"real"``.
    """

    name: str
    latex: str
    domain: str = "positive"


@dataclasses.dataclass(frozen=True)
class SymbolicFamily:
    """A family as SymPy sees it: the input the derivations start from.

    Attributes:
        name: the family's name, e.g. ``"Normal"``.
        params: the canonical parameters as SymPy symbols (or matrices of
            symbols), in the order :meth:`Distribution.canonical` returns them.
        variable: the random variable (a symbol, or a column matrix of symbols).
        density_code: the family's backend-generic ``log_density(xp, x, *params)``;
            :meth:`log_density` runs it on the SymPy backend.
        support: where the mass lies, a :mod:`verify.families.supports` value
            (``supports.real``, ``Integers(0, K - 1)``, ``RealVector(d)``, ...).
        latex_names: LaTeX for each parameter symbol, for printing.
        assumptions: relations the parameters satisfy beyond the symbols' own
            assumptions (e.g. ``sum(probs) == 1``), as SymPy expressions that
            equal zero.
        parameterisation: which of the family's parameterisations ``params``
            are (e.g. ``"probs"`` or ``"logits"``); closed forms are looked up by it.
    """

    name: str
    params: tuple[Any, ...]
    variable: Any
    density_code: Any
    support: Any
    latex_names: dict = dataclasses.field(default_factory=dict)
    assumptions: tuple[Any, ...] = ()
    parameterisation: str = "canonical"

    @property
    def discrete(self) -> bool:
        return self.support.discrete

    def log_density(self, x=None):
        """Log-density (or log-pmf) at ``x`` (default: the symbolic variable)."""
        from verify.symbolic.ops import sympy_ops

        return self.density_code(sympy_ops, self.variable if x is None else x, *self.params)

    def symbols(self):
        """Every scalar symbol among the parameters, in order (matrices row by row)."""
        return [s for param, _ in self._entries() for s in [param] if s.is_Symbol]

    def _entries(self):
        """(entry, (parameter index, flat index)) for every entry of every parameter."""
        for i, param in enumerate(self.params):
            entries = list(param) if hasattr(param, "shape") else [param]
            for k, entry in enumerate(entries):
                yield entry, (i, k)

    def bind(self, distribution) -> dict:
        """Maps each symbol to its value in a concrete, unbatched ``distribution``.

        Matrices of symbols are matched entry by entry, row-major, with the
        distribution's canonical parameter arrays.
        """
        import numpy as np

        values = [
            np.asarray(v, dtype=np.float64).ravel()
            for v in distribution.params_as(self.parameterisation)
        ]
        return {entry: float(values[i][k]) for entry, (i, k) in self._entries() if entry.is_Symbol}


class Distribution:
    """Base class of the families. Subclasses define:

    * ``_fields``: the names of the stored array attributes (pytree leaves);
      a leaf may be ``None`` (a parameterisation that was not given);
    * :meth:`canonical`: the parameters the derivations take, as a tuple;
    * ``parameterisations`` (default ``("canonical",)``) and, for families with
      several, :attr:`parameterisation` and :meth:`params_as`: a distribution
      computes from the parameters it was given;
    * ``log_density(xp, x, *canonical)``: the log-density on backend ``xp``
      (:meth:`log_prob` masks the ``support``: ``-inf`` off it);
    * its symbolic form, declared (:attr:`symbolic_parameters`) or, for a family
      with sizes or several parameterisations, its own :meth:`symbolic`;
    * :meth:`sample`.
    """

    _fields: ClassVar[tuple[str, ...]]
    #: Trailing axes of each canonical parameter that belong to one distribution.
    _param_event_ranks: ClassVar[tuple[int, ...]]
    #: The ways the family can be parameterised; closed forms are registered per tuple.
    parameterisations: ClassVar[tuple[str, ...]] = ("canonical",)
    #: ``sample`` is differentiable in the parameters (pathwise Monte Carlo gradients).
    reparameterized: ClassVar[bool] = False
    #: Default Monte Carlo samples for one distribution (about a second on two CPU cores).
    mc_samples: ClassVar[int] = 2**22
    #: Numbers per sample in the largest per-sample array at which ``mc_samples`` was measured.
    mc_reference_event_size: ClassVar[int] = 1
    #: The sizes the symbolic form takes, by keyword (``{"dim": Dim(2)}``).
    dims: ClassVar[dict[str, Dim]] = {}
    #: ``(given, wanted)`` parameterisations :meth:`convert` rewrites (a mixed pair's route).
    conversions: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Other names the command line accepts (lower case).
    aliases: ClassVar[tuple[str, ...]] = ()
    #: A family of scalar parameters declares its symbolic form instead of writing
    #: :meth:`symbolic`: the parameters in canonical order, the SymPy assumptions of the
    #: random variable, and ``support`` as a class attribute.
    symbolic_parameters: ClassVar[tuple[Parameter, ...]] = ()
    symbolic_variable: ClassVar[dict] = {"real": True}

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        """Registers the family (a pytree, and in :data:`FAMILIES` unless ``abstract``)."""
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_node(cls, cls._tree_flatten, cls._tree_unflatten)
        if not abstract and not cls.__name__.startswith("_"):
            FAMILIES[cls.__name__.lower()] = cls

    # Leaves live in the instance dict under their field names, so that a family
    # may expose a field through a property (Categorical.probs computed from logits).
    def _tree_flatten(self):
        return tuple(self._leaves().values()), None

    @classmethod
    def _tree_unflatten(cls, aux, children):
        del aux
        obj = object.__new__(cls)
        obj._set(**dict(zip(cls._fields, children)))
        return obj

    def _leaves(self) -> dict:
        """The stored fields (pytree leaves) by name, ``None`` where not given."""
        return {f: self.__dict__[f] for f in self._fields}

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, **fields):
        self.__dict__.update(fields)

    # ----------------------------------------------------------------- shapes
    def canonical(self) -> tuple[jax.Array, ...]:
        raise NotImplementedError

    @property
    def parameterisation(self) -> str:
        """The parameterisation this distribution was built from (and computes from)."""
        return self.parameterisations[0]

    def params(self) -> tuple[jax.Array, ...]:
        """The parameters the closed forms take: those of :attr:`parameterisation`."""
        return self.params_as(self.parameterisation)

    def params_as(self, parameterisation: str) -> tuple[jax.Array, ...]:
        """The parameters in ``parameterisation`` (converted if it is not the one given)."""
        if parameterisation not in self.parameterisations:
            raise ValueError(
                f"`parameterisation` must be one of {self.parameterisations}, "
                f"got {parameterisation!r}"
            )
        return self.canonical()

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of distributions this object holds."""
        shapes = [
            jnp.shape(p)[: jnp.ndim(p) - rank]
            for p, rank in zip(self.params(), self._param_event_ranks)
        ]
        return jnp.broadcast_shapes(*shapes)

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of one sample of one distribution."""
        return ()

    @property
    def dtype(self):
        """Floating dtype of the parameters (and of the formulas' results)."""
        return self.params()[0].dtype

    # --------------------------------------------------------------- density
    @staticmethod
    def log_density(xp, x, *params):
        raise NotImplementedError

    def log_prob(self, value) -> jax.Array:
        """Log-density (or log-pmf) of ``value``, in nats, broadcast over the batch.

        ``-inf`` where the support does not contain ``value`` (NaN included), also
        under ``jit``; the density is evaluated at the support's ``point`` there, so
        the gradient is 0, not NaN. A family whose
        density needs a limit at an edge of its support (``0 log 0``) overrides this.
        """
        value = jnp.asarray(value)
        if not jnp.issubdtype(value.dtype, jnp.inexact):
            value = value.astype(self.dtype)  # counts and classes: the parameters' precision
        inside = self.support.contains(value)
        event_axes = (None,) * len(self.event_shape)
        safe = jnp.where(inside[(..., *event_axes)], value, self.support.point)
        return jnp.where(inside, self._log_density_at(safe), -jnp.inf)

    def _log_density_at(self, x):
        """The log-density at ``x``, all inside the support."""
        return self.log_density(jax_ops, x, *self.canonical())

    def sample(self, key, sample_shape=()) -> jax.Array:
        """Draws samples of shape ``sample_shape + batch_shape + event_shape``."""
        raise NotImplementedError

    @classmethod
    def symbolic(cls, suffix: str = "", parameterisation=None, **dims) -> SymbolicFamily:
        """The family in SymPy, with parameter symbols named ``<param>_<suffix>``.

        Built from :attr:`symbolic_parameters`, :attr:`symbolic_variable` and
        ``support``; a family with sizes or several parameterisations overrides it.

        Example:
            >>> import verify
            >>> verify.Normal.symbolic("p").params
            (loc_p, scale_p)
        """
        if not cls.symbolic_parameters:
            raise NotImplementedError(f"{cls.__name__} declares no symbolic form")
        import sympy as sp

        cls._check_parameterisation(parameterisation)
        cls._no_dims(dims)
        s = f"_{suffix}" if suffix else ""
        params = tuple(
            sp.Symbol(f"{p.name}{s}", **{p.domain: True}) for p in cls.symbolic_parameters
        )
        return SymbolicFamily(
            name=cls.__name__,
            params=params,
            variable=sp.Symbol("x", **cls.symbolic_variable),
            density_code=cls.log_density,
            support=cls.support,
            latex_names={
                symbol: f"{p.latex}{s}" for symbol, p in zip(params, cls.symbolic_parameters)
            },
        )

    @classmethod
    def _no_dims(cls, dims):
        if dims:
            raise TypeError(f"{cls.__name__}.symbolic takes no dimensions, got {sorted(dims)}")

    @property
    def support(self):
        """Where the distribution puts its mass, a :mod:`verify.families.supports` value."""
        raise NotImplementedError

    # -------------------------------------------------- building and drawing
    @classmethod
    def from_params(cls, *params, parameterisation=None):
        """A (batch of) distribution(s) from parameters in ``parameterisation``.

        Example:
            >>> import verify
            >>> verify.Normal.from_params(0.0, 2.0)
            Normal(loc=0.0, scale=2.0)
        """
        cls._check_parameterisation(parameterisation)
        return cls(*params)

    @classmethod
    def _check_parameterisation(cls, parameterisation):
        if parameterisation is not None and parameterisation not in cls.parameterisations:
            raise ValueError(
                f"`parameterisation` must be one of {cls.parameterisations}, "
                f"got {parameterisation!r}"
            )

    @classmethod
    def random_params(cls, rng: np.random.Generator, n: int, *, spread="wide", **dims):
        """``n`` random parameter sets, float64 arrays with a leading axis ``n``.

        In the family's first parameterisation. ``spread="wide"`` covers the
        parameter space (proofs, tests); ``"moderate"`` keeps two independent
        draws Monte Carlo-friendly (light-tailed log-ratios, KL of a few nats).
        """
        raise NotImplementedError(f"{cls.__name__} draws no random parameters")

    @classmethod
    def adversarial_pairs(cls, rng: np.random.Generator, **dims):
        """``(params_p, params_q)`` where naive formulas fail: near-equal and extreme."""
        raise NotImplementedError(f"{cls.__name__} has no adversarial parameters")

    @staticmethod
    def convert(xp, params, given, wanted):
        """``params`` in parameterisation ``given`` rewritten in ``wanted`` (backend-generic)."""
        if given == wanted:
            return params
        raise NotImplementedError(f"no conversion from {given!r} to {wanted!r}")

    # ------------------------------------------------ gradient coordinates
    def _gradient_projection(self, field, grad):
        """The gradient restricted to the directions ``field`` can move in."""
        del field
        return grad

    def _free_mask(self, field):
        """Boolean mask of the entries of ``field`` that are free parameters (None: all)."""
        del field

    def _outcomes_with_mass(self):
        """Per outcome, whether it has positive probability (None: a density, or every one)."""
        return None

    def _as_base(self):
        """``(distribution, n)``: the closed forms of ``distribution``, summed over ``n`` axes.

        Every family is its own base (``n = 0``); :class:`~verify.Independent` is not.
        """
        return self, 0

    # ------------------------------------------------------------ formulas
    def entropy(self, base="nats"):
        """Entropy; see :func:`verify.entropy`."""
        from verify._api import entropy

        return entropy(self, base=base)

    def kl_divergence(self, other, base="nats"):
        """KL(self || other); see :func:`verify.kl`."""
        from verify._api import kl

        return kl(self, other, base=base)

    def cross_entropy(self, other, base="nats"):
        """Cross-entropy H(self, other); see :func:`verify.cross_entropy`."""
        from verify._api import cross_entropy

        return cross_entropy(self, other, base=base)

    def __repr__(self):
        fields = ", ".join(
            f"{f}={_short(value)}" for f, value in self._leaves().items() if value is not None
        )
        return f"{type(self).__name__}({fields})"


def _short(array):
    if isinstance(array, jax.core.Tracer):
        return f"<traced {array.aval.str_short()}>"
    array = jnp.asarray(array)
    if array.size <= 6:
        return repr(array.tolist())
    return f"<{array.dtype} array {array.shape}>"

"""The component-family contract.

A component family is the density of the response inside one latent class.
The engine only talks to families through this contract, on numpy arrays.

Every family in fmmreg is a *linear-index* model: its log density depends on
the parameters only through ``n_linear`` linear predictors ``eta_l = X b_l``
built on the class design ``X`` and through ``len(ancillary_names)`` scalar
ancillary parameters (``lnsigma``, ``lnalpha``, cut points, ...). A family
therefore only has to supply the log density and its first two derivatives
with respect to those *indices*; scores, Hessians and weighted fits for any
design follow by the chain rule as weighted cross-products (this is what
Stata's ``ml`` calls an ``lf2`` evaluator).
"""

from __future__ import annotations

import abc
import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from scipy.special import gammaln

from fmmreg.estimation.linalg import (
    ROW_CHUNK,
    Design,
    map_rows,
    matmul_columns,
    solve_negdef,
    weighted_cross,
    weighted_gram,
    weighted_sum,
)
from fmmreg.exceptions import FMMError

#: ``(response, log y!)`` of the last few response arrays, most recent first.
_LOG_FACTORIAL_CACHE: list[tuple[np.ndarray, np.ndarray]] = []
#: Response arrays :func:`log_factorial` remembers (the full data, a start
#: search's subsample, a row chunk's parent, ...).
LOG_FACTORIAL_SLOTS = 4
_LOG_FACTORIAL_LOCK = threading.Lock()
_ROWS_LOCK = threading.Lock()
#: Rows up to which an EM state keeps its class's index derivatives for the
#: next M-step (two (n, m) arrays per class: ~1 GB at n = 1e7, K = 3).
CARRY_DERIVATIVES_ROWS = 2_000_000


def _row_offset(y: np.ndarray, arr: np.ndarray) -> int | None:
    """Position of ``y`` as a contiguous run of rows of the 1-D array ``arr``, or ``None``.

    Decided on the memory addresses, so it holds for any view (a row block
    of the response is a view of the formula layer's 2-D array, whose
    ``base`` is that array, not the response).
    """
    if y.ndim != 1 or arr.ndim != 1 or y.dtype != arr.dtype:
        return None
    if y.strides != arr.strides or not arr.flags.c_contiguous:
        return None
    start = y.__array_interface__["data"][0] - arr.__array_interface__["data"][0]
    offset, rem = divmod(start, arr.itemsize)
    if rem or offset < 0 or offset + len(y) > len(arr):
        return None
    return offset


def log_factorial(y: np.ndarray) -> np.ndarray:
    """``log y! = gammaln(y + 1)``, remembered for the last few response arrays.

    Count densities need it at every evaluation, and it costs more than the
    rest of a Poisson log density (``gammaln`` is ~4 exponentials). The
    engine never modifies its response arrays, and each cached array is
    held here, so its memory cannot be reused by another array: the array
    object, or for a row block of it the address range, identifies the
    values.
    """
    for arr, value in list(_LOG_FACTORIAL_CACHE):
        if arr is y:
            return value
        offset = _row_offset(y, arr)
        if offset is not None:
            return value[offset : offset + len(y)]
    root = _column_root(y)
    if root is not None:
        # a row chunk of a response: compute (and remember) the whole column
        # once instead of every chunk in turn
        with np.errstate(all="ignore"):
            full = gammaln(root + 1.0)
        with _LOG_FACTORIAL_LOCK:
            _LOG_FACTORIAL_CACHE.insert(0, (root, full))
            del _LOG_FACTORIAL_CACHE[LOG_FACTORIAL_SLOTS:]
        offset = _row_offset(y, root)
        return full[offset : offset + len(y)]
    value = gammaln(y + 1.0)
    with _LOG_FACTORIAL_LOCK:  # row chunks are evaluated in threads
        _LOG_FACTORIAL_CACHE.insert(0, (y, value))
        del _LOG_FACTORIAL_CACHE[LOG_FACTORIAL_SLOTS:]
    return value


def _column_root(y: np.ndarray) -> np.ndarray | None:
    """The whole 1-D column ``y`` is a contiguous part of, when its base is one column, else ``None``."""
    base = y.base
    if base is None or y.ndim != 1 or base.dtype != y.dtype or base.size == y.size:
        return None
    if base.ndim == 2 and 1 in base.shape and (base.flags.c_contiguous or base.flags.f_contiguous):
        root = base.reshape(-1)
    elif base.ndim == 1 and base.flags.c_contiguous:
        root = base
    else:
        return None
    return root if _row_offset(y, root) is not None else None


def draw_categories(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    """One 0-based category per row of the probabilities ``prob`` (n, J)."""
    cum = np.cumsum(prob, axis=1)
    u = rng.random(prob.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), prob.shape[1] - 1)


class AncillaryDisplay(NamedTuple):
    """How the summary shows an ancillary parameter on a transformed scale.

    ``transform`` maps the estimate to the shown value, ``derivative`` is its
    derivative (delta-method SE); the CI is the transformed CI of the
    estimate. With ``keep_estimate`` the estimate is printed first as
    ``/term`` (no z and P), then a rule and the transformed row, as Stata's
    ``nbreg`` prints ``/lnalpha`` and ``alpha``; otherwise only the
    transformed row is printed (``var(e.y)``).
    """

    label: str
    transform: Callable[[float], float]
    derivative: Callable[[float], float]
    keep_estimate: bool = False


@dataclass
class IndexState:
    """A class's parameters with their linear predictors and log densities.

    EM keeps one per class so that the E-step, the M-step's derivatives and
    its line search never recompute ``X b`` or ``log f`` for the same point.
    """

    params: np.ndarray
    eta: np.ndarray
    anc: np.ndarray
    logf: np.ndarray
    #: ``(d1, d2)`` of :meth:`ComponentFamily.index_derivatives` at ``eta``
    #: when already known (the M-step's line search computes them with the
    #: log density, so the next M-step does not evaluate the class again).
    derivs: tuple[np.ndarray, np.ndarray] | None = None


class ComponentFamily(abc.ABC):
    """Base class of all component families.

    Parameters of one class are packed as ``[b_1, ..., b_L, a_1, ..., a_A]``
    where each ``b_l`` has one entry per column of the design and ``a`` are
    the ancillary parameters, on the scale in which they are estimated.

    Notes
    -----
    With indices ``t_i = (eta_i1, ..., eta_iL, a_1, ..., a_A)`` and weights
    ``c_i`` the weighted objective of a single-class fit is
    ``Q = sum_i c_i log f(y_i | t_i)``; its gradient is
    ``sum_i c_i D_e' d1_ie`` and its Hessian block ``(e, e')`` is
    ``D_e' diag(c d2_iee') D_e'`` where ``D_e`` is ``X`` for a linear index
    and a column of ones for an ancillary one.
    """

    #: Registry name (``family="poisson"``).
    name: ClassVar[str] = ""
    #: Name of the Stata estimation command this family reproduces.
    stata_model: ClassVar[str] = ""
    #: Names of the ancillary parameters on their estimation scale.
    ancillary_names: tuple[str, ...] = ()
    #: Number of linear predictors built on the class design.
    n_linear: int = 1
    #: False for families whose cut points play the intercept's role
    #: (ordinal models): the formula's intercept column is dropped.
    intercept: bool = True
    #: True when a missing value in the response is meaningful (open
    #: interval ends in ``intreg``); such rows are then not dropped and
    #: ``check_endog`` receives NaN there.
    response_missing_ok: bool = False
    #: True for families of a 0/1 event (logit, probit, cloglog): a boolean,
    #: text or categorical response is then coded 1 for the event (True, or
    #: the second level), see :func:`fmmreg.datacheck.binary_coding`.
    binary: bool = False
    #: Offset added to the first linear index, one value per row of the data
    #: the family is bound to (see :meth:`with_offset`); ``None`` for none.
    offset: np.ndarray | None = None
    #: Roles of :meth:`data_columns` whose column may hold ``±inf`` with a
    #: meaning (a tobit limit column: no limit in that row); the data checks
    #: refuse ``±inf`` in every other column (:func:`fmmreg.formula.family_columns`).
    infinite_data_roles: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ contract
    @abc.abstractmethod
    def index_derivatives(
        self, y: np.ndarray, eta: np.ndarray, anc: np.ndarray, order: int = 2
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Log density and its derivatives with respect to the indices.

        Parameters
        ----------
        y : ndarray
            Response, shape (n,) (or (n, r) for multi-column responses).
        eta : ndarray, shape (n, n_linear)
            Linear predictors.
        anc : ndarray, shape (n_ancillary,)
            Ancillary parameters.
        order : {0, 1, 2}
            Highest derivative wanted.

        Returns
        -------
        logf : ndarray, shape (n,)
            Exact per-observation log density (unweighted).
        d1 : ndarray, shape (n, m) or None
            First derivatives, ``m = n_linear + n_ancillary``.
        d2 : ndarray, shape (n, m, m) or None
            Observed (not expected) second derivatives.
        """

    @abc.abstractmethod
    def initial_params(self, y: np.ndarray, X: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Cheap starting values for a weighted single-class fit."""

    @abc.abstractmethod
    def mean_from_index(self, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """Expected response ``E[y | x]`` given the indices."""

    def data_columns(self) -> dict[str, str]:
        """Columns of the data this family reads besides the formula's response.

        Returns ``{role: column name}``, e.g. ``{"failure": "died", "entry":
        "t0"}`` for a survival class or ``{"lower": "limit"}`` for a tobit
        class with a per-row limit (Stata's ``ll(varname)``). The formula
        layer reads these columns on the estimation rows -- a missing value
        drops the row, listwise, like any model variable -- and on new data;
        :meth:`class_response` then combines them with the response into the
        array the engine passes back to this family as its ``y``. Families
        that read nothing else return ``{}`` (the default).
        """
        return {}

    def class_response(self, y: np.ndarray, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The array this family's class reads as its response.

        Parameters
        ----------
        y : ndarray
            The formula's response, shape (n,) or (n, r).
        columns : dict
            ``{role: values}`` for the roles of :meth:`data_columns`, float
            arrays of shape (n,).

        Returns
        -------
        ndarray
            ``y`` itself by default; a family with data columns stacks them
            in the layout its :meth:`index_derivatives` reads (e.g. survival:
            time, failure indicator, entry time).
        """
        return y

    def extend_formula(self, formula: str) -> str:
        """The class formula the design is built from; the user's by default.

        A family whose indices live on different designs (``ivregress``: the
        first stage also has the excluded instruments) adds its terms here,
        so that the class design holds every column; :meth:`bind_design`
        then tells it where its columns are and :meth:`designs` /
        :meth:`split` map each index to its columns.
        """
        return formula

    def bind_design(self, xnames: list[str]) -> None:  # noqa: B027 (a hook, no-op by default)
        """Learn the column names of the class design (called once by the model); no-op by default."""

    def response_parts(self, y: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """The inverse of :meth:`class_response`: the formula's response and ``{role: values}``.

        A random draw (:meth:`rvs`) comes in the class response's layout; the
        parametric bootstrap splits it back into the data it stands for, so
        that every class of the model reads the same simulated data. The
        response is ``None`` when the class does not carry it (a point mass
        on its own column). By default the class response *is* the formula's
        response.
        """
        return y, {}

    def rvs_baseline(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        """What a simulated record keeps of the observed one, before any class draws it (``None``: nothing).

        Called once on every row's class response before the rows' classes
        are drawn, so that all classes simulate a row from the same starting
        point. A survival family replaces each record by its censoring time
        (see :meth:`fmmreg.families.streg.Streg.rvs_baseline`), which a cured
        point-mass class then reports as its censored record.
        """
        return None

    def rvs(
        self, eta: np.ndarray, anc: np.ndarray, rng: np.random.Generator, y: np.ndarray | None = None
    ) -> np.ndarray:
        """Random responses given the indices, one per row (parametric bootstrap, :func:`fmmreg.blrt`).

        Parameters
        ----------
        eta : ndarray, shape (n, n_linear)
            Linear predictors.
        anc : ndarray, shape (n_ancillary,)
            Ancillary parameters on their estimation scale.
        rng : numpy.random.Generator
            Source of randomness.
        y : ndarray, optional
            Observed responses of the same rows, for families whose draw
            needs more than the indices (the trials of a binomial response).

        Returns
        -------
        ndarray
            Draws shaped like the family's response.
        """
        raise NotImplementedError(
            f"family {self.name!r} has no random draw (rvs) yet, so a parametric bootstrap (fmmreg.blrt) "
            "cannot simulate from it"
        )

    def check_endog(self, y: np.ndarray, yname: str) -> np.ndarray:
        """Validate the response and return it as float array.

        Raises
        ------
        FMMError
            Naming the variable and the family when ``y`` is impossible.
        """
        y = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(y)):
            raise FMMError(f"response {yname!r} has non-finite values; family {self.name!r} needs finite y")
        return y

    # ------------------------------------------------------------ derived pieces
    @property
    def n_ancillary(self) -> int:
        return len(self.ancillary_names)

    def n_params(self, p: int) -> int:
        """Number of parameters of one class with a design of ``p`` columns."""
        return self.n_linear * p + self.n_ancillary

    def param_names(self, xnames: list[str]) -> list[str]:
        """Parameter names given the design's column names."""
        if self.n_linear == 1:
            names = list(xnames)
        else:
            names = [f"{lab}:{x}" for lab in self.linear_labels() for x in xnames]
        return names + list(self.ancillary_names)

    def linear_labels(self) -> list[str]:
        """Labels of the linear predictors when there are several."""
        return [f"eq{j + 1}" for j in range(self.n_linear)]

    def designs(self, X: np.ndarray) -> list[Design]:
        """Design of each index: ``X`` for linear ones, ``None`` (constant) else."""
        return [X] * self.n_linear + [None] * self.n_ancillary

    def split(self, params: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Split packed parameters into ``(B, anc)`` with ``B`` of shape (p, n_linear)."""
        params = np.asarray(params, dtype=float)
        # contiguous: numpy's matmul with a strided right operand skips BLAS (20x slower)
        betas = np.ascontiguousarray(params[: self.n_linear * p].reshape(self.n_linear, p).T)
        return betas, params[self.n_linear * p :]

    def indices(self, X: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Linear predictors (n, n_linear) and ancillary values (offset included)."""
        betas, anc = self.split(params, X.shape[1])
        eta = matmul_columns(X, betas)
        if self.offset is not None:
            eta[:, 0] += self.offset
        return eta, anc

    @property
    def accepts_offset(self) -> bool:
        """True for families with exactly one linear index (where an offset goes)."""
        return self.n_linear == 1

    def with_offset(self, offset: np.ndarray | None) -> ComponentFamily:
        """This family bound to an offset of the first linear index (Stata ``offset()``).

        Returns a shallow copy whose :meth:`indices` add ``offset`` (one value
        per row of the data it is used with) to ``eta_1 = X b_1``; ``None``
        gives the family without an offset. The engine binds families to the
        rows it works on (:class:`~fmmreg.estimation.mixture.MixtureLikelihood`
        re-binds row subsets), so no other method needs an offset argument.
        """
        if offset is None and self.offset is None:
            return self
        bound = copy.copy(self)
        bound.offset = None if offset is None else np.asarray(offset, dtype=float)
        return bound

    def rows(self, keep: np.ndarray) -> ComponentFamily:
        """The family for a subset of its rows (the offset follows the rows)."""
        return self if self.offset is None else self.with_offset(self.offset[keep])

    def _net_response(self, y: np.ndarray) -> np.ndarray:
        """``y`` minus the offset, for closed-form fits of an identity-link index."""
        return y if self.offset is None else y - self.offset

    def _offset_or_zero(self) -> np.ndarray | float:
        return 0.0 if self.offset is None else self.offset

    def derivatives_by_rows(
        self, y: np.ndarray, eta: np.ndarray, anc: np.ndarray, order: int = 2
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """:meth:`index_derivatives`, evaluated by row chunks on large data.

        The log density of a row depends on that row only, so chunks of
        :data:`~fmmreg.estimation.linalg.ROW_CHUNK` rows give the same
        values; their temporaries stay in cache and two chunks run at once
        (:func:`~fmmreg.estimation.linalg.map_rows`).
        """
        n = eta.shape[0]
        if n <= 4 * ROW_CHUNK:
            return self.index_derivatives(y, eta, anc, order=order)
        out: list = [None, None, None]

        def one(rows: slice) -> None:
            parts = self.index_derivatives(y[rows], eta[rows], anc, order=order)
            with _ROWS_LOCK:
                if out[0] is None:
                    out[:] = [None if p is None else np.empty((n,) + p.shape[1:]) for p in parts]
            for dst, p in zip(out, parts):
                if p is not None:
                    dst[rows] = p

        map_rows(one, n)
        return out[0], out[1], out[2]

    def loglike_obs(self, y: np.ndarray, X: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Per-observation log density, shape (n,)."""
        eta, anc = self.indices(X, params)
        return self.derivatives_by_rows(y, eta, anc, order=0)[0]

    def mean(self, X: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Fitted mean of the response, shape (n,)."""
        eta, anc = self.indices(X, params)
        return self.mean_from_index(eta, anc)

    def score_obs(self, y: np.ndarray, X: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Per-observation score, shape (n, n_params)."""
        eta, anc = self.indices(X, params)
        _, d1, _ = self.index_derivatives(y, eta, anc, order=1)
        cols = []
        for e, design in enumerate(self.designs(X)):
            cols.append(d1[:, [e]] if design is None else design * d1[:, [e]])
        return np.hstack(cols)

    def weighted_objective(
        self, y: np.ndarray, X: np.ndarray, c: np.ndarray, params: np.ndarray, order: int = 2
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """``Q = sum c_i log f_i`` with its gradient and Hessian in the parameters."""
        eta, anc = self.indices(X, params)
        logf, d1, d2 = self.index_derivatives(y, eta, anc, order=order)
        q = float(c @ logf)
        if order == 0:
            return q, None, None
        grad, hess = self._chain_rule(X, c, d1, d2 if order == 2 else None)
        return q, grad, hess

    def _chain_rule(
        self, X: np.ndarray, c: np.ndarray, d1: np.ndarray, d2: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Gradient and Hessian in the parameters from index derivatives."""
        designs = self.designs(X)
        if not designs:
            return np.zeros(0), (None if d2 is None else np.zeros((0, 0)))
        grad = np.concatenate([weighted_sum(d, c * d1[:, e]) for e, d in enumerate(designs)])
        if d2 is None:
            return grad, None
        # the class design itself persists between EM steps: its Khatri-Rao products are kept
        # (weighted_gram); a family's per-call column subsets (ivregress) are multiplied directly
        blocks = [
            [
                weighted_gram(da, c * d2[:, a, b]) if da is X and db is X else weighted_cross(da, c * d2[:, a, b], db)
                for b, db in enumerate(designs)
            ]
            for a, da in enumerate(designs)
        ]
        return grad, np.block(blocks)

    def index_state(self, y: np.ndarray, X: np.ndarray, params: np.ndarray) -> IndexState:
        """Evaluate a class at ``params`` once, for reuse by EM."""
        eta, anc = self.indices(X, params)
        logf = self.derivatives_by_rows(y, eta, anc, order=0)[0]
        return IndexState(np.asarray(params, dtype=float), eta, anc, logf)

    def mstep_state(self, y: np.ndarray, X: np.ndarray, c: np.ndarray, state: IndexState) -> IndexState:
        """The M-step of :meth:`mstep` on an :class:`IndexState`, reusing its work.

        The Newton direction uses the derivatives at the stored linear
        predictors; candidates along it are ``eta + t X d``, so step halving
        costs no further matrix products, and the accepted candidate's log
        density is the next E-step's.
        """
        if type(self).mstep is not ComponentFamily.mstep:
            return self.index_state(y, X, self.mstep(y, X, c, state.params))
        return self._newton_state(y, X, c, state)[0]

    def _newton_state(self, y: np.ndarray, X: np.ndarray, c: np.ndarray, state: IndexState) -> tuple[IndexState, float]:
        """Newton step with halving on ``Q``; returns the new state and the Newton decrement."""
        p = X.shape[1]
        if state.derivs is None:
            _, d1, d2 = self.derivatives_by_rows(y, state.eta, state.anc, order=2)
        else:
            d1, d2 = state.derivs
            state.derivs = None  # used once: do not keep them alive with the state
        grad, hess = self._chain_rule(X, c, d1, d2)
        if grad.size == 0:
            return state, 0.0
        step, _ = solve_negdef(hess, grad)
        decrement = float(grad @ step)
        d_betas, d_anc = self.split(step, p)
        d_eta = matmul_columns(X, d_betas)
        q0 = float(c @ state.logf)
        t = 1.0
        for _ in range(40):
            eta = state.eta + t * d_eta
            anc = state.anc + t * d_anc
            # the derivatives come with the density (most candidates are
            # accepted, and the next M-step starts from them); on very large
            # data they are not kept, their memory matters more
            carry = len(eta) <= CARRY_DERIVATIVES_ROWS
            logf, d1, d2 = self.derivatives_by_rows(y, eta, anc, order=2 if carry else 0)
            q = float(c @ logf)
            if np.isfinite(q) and q >= q0 - 1e-12 * abs(q0):
                return IndexState(state.params + t * step, eta, anc, logf, (d1, d2) if carry else None), decrement
            t *= 0.5
        return state, 0.0

    def mstep(self, y: np.ndarray, X: np.ndarray, c: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Warm-started weighted M-step: one monotone Newton step.

        Families with a closed-form weighted MLE override this.
        """
        return self._newton_state(y, X, c, self.index_state(y, X, params))[0].params

    def fit_weighted(
        self,
        y: np.ndarray,
        X: np.ndarray,
        c: np.ndarray,
        start: np.ndarray | None = None,
        tol: float = 1e-12,
        maxiter: int = 200,
    ) -> np.ndarray:
        """Weighted maximum likelihood fit of one class to convergence.

        Converges when the Newton decrement ``g'(-H)^{-1}g`` falls below
        ``tol`` (times ``1 + |Q|``).
        """
        params = self.initial_params(y, X, c) if start is None else np.asarray(start, dtype=float)
        state = self.index_state(y, X, params)
        for _ in range(maxiter):
            state, decrement = self._newton_state(y, X, c, state)
            if abs(decrement) < tol * (1.0 + abs(float(c @ state.logf))):
                break
        return state.params

    def mstep_statsmodels(self, y: np.ndarray, X: np.ndarray, c: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Reference M-step through a literal ``statsmodels`` fit.

        Families without a statsmodels counterpart fall back to a full
        weighted fit with the generic Newton solver.
        """
        return self.fit_weighted(y, X, c, start=params)

    def support(self, y: np.ndarray) -> np.ndarray | None:
        """Rows this family can generate, or ``None`` for every valid row.

        Families with a restricted support (a point mass, a truncated count)
        return a boolean mask; in a mixture with other families only those
        rows go through :meth:`check_endog`, and the model requires every row
        to be possible in at least one class.
        """
        return None

    def ancillary_display(self, term: str, yname: str):
        """How Stata shows an ancillary parameter.

        Returns ``None`` to show it as estimated (``/term`` with z and P), or
        ``(label, f, df)`` / an :class:`AncillaryDisplay`: the label and a
        monotone transform with its derivative, shown with a delta-method SE
        and a CI transformed from the estimation scale (no z and P), as Stata
        does for ``var(e.y)``.
        """
        return None

    @property
    def fixed_coefficients(self) -> dict[str, float]:
        """Coefficients fixed by the model, shown as ``label | value (constrained)``.

        A point mass shows its value as ``_cons``; empty for estimated families.
        """
        return {}

    @property
    def fixed_ancillaries(self) -> dict[str, float]:
        """Ancillary parameters held fixed (not estimated), shown below the coefficients.

        A statsmodels negative binomial GLM family fixes ``alpha``; the summary
        says so instead of hiding it.
        """
        return {}

    def display_equations(self) -> list[tuple[str | None, int | None]]:
        """Equations of the class table, in printed order.

        Pairs ``(label, j)``: ``j`` is the linear predictor whose
        coefficients the equation shows, ``None`` for a base outcome
        printed as ``(base outcome)``; ``label`` ``None`` means the response
        itself (one-equation families), otherwise the equation is printed as
        ``label.<response>``.
        """
        if self.n_linear <= 1:
            return [(None, 0)]
        return [(lab, j) for j, lab in enumerate(self.linear_labels())]

    def modelled_response(self, yname: str) -> str:
        """The variable this class models: the formula's response ``yname`` unless the family has its own."""
        return yname

    def equation_header(self, label: str | None, yname: str) -> str:
        """The header row of a :meth:`display_equations` entry: ``yname``, or ``label.yname``."""
        return yname if label is None else f"{label}.{yname}"

    def equation_terms(self, j: int, xnames: list[str]) -> tuple[list[int], list[str]]:
        """Positions (in the class's parameters) and design column names of linear index ``j``'s coefficients.

        Every index has one coefficient per design column by default; a
        family whose indices use parts of the design (``ivregress``) says
        which.
        """
        p = len(xnames)
        return list(range(j * p, (j + 1) * p)), list(xnames)

    def __repr__(self) -> str:
        return f"<fmmreg family {self.name!r}>"


def class_responses(families: list[ComponentFamily], y: np.ndarray, columns: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The response array of each class: ``y`` with the columns its family declares.

    Families that read no data column return the ``y`` object itself, so
    their classes share it (caches keyed on the array, such as
    :func:`log_factorial`, stay valid); classes with the same family instance
    share one array.
    """
    out: dict[int, np.ndarray] = {}
    for fam in families:
        if id(fam) not in out:
            roles = fam.data_columns()
            out[id(fam)] = fam.class_response(y, {role: columns[col] for role, col in roles.items()})
    return [out[id(fam)] for fam in families]

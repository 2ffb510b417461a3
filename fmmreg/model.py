"""User-facing model: ``FMM`` and the ``fmm()`` shortcut."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fmmreg import panel as _panel
from fmmreg.constraints import (
    build_constraints,
    check_class_base,
    check_class_labels,
    parameter_roles,
    resolve_class_formulas,
)
from fmmreg.diagnostics import report_fit
from fmmreg.distributed import is_dask_dataframe
from fmmreg.estimation.degeneracy import DEFAULT_RULE
from fmmreg.estimation.engine import check_engine
from fmmreg.estimation.grouped import GroupedMixtureLikelihood
from fmmreg.estimation.linalg import full_column_rank
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.estimation.relabel import canonical_order, check_order, permute_theta, relabel_matrix
from fmmreg.estimation.starts import StartOptions, multistart
from fmmreg.exceptions import FMMError
from fmmreg.families import ComponentFamily, get_family
from fmmreg.families.base import class_responses
from fmmreg.formula import INTERCEPT, build_design, formula_columns
from fmmreg.offsets import check_offset_families, extra_columns, offset_arrays, resolve_offsets
from fmmreg.postestimation.vce import resolve_vce
from fmmreg.reporting.progress import FitProgress
from fmmreg.results import FMMResults
from fmmreg.weighting import check_weights, resolve_weights


def _formulas_first(k, formula, data):
    """Allow the hybrid syntax ``fmm(["y ~ x1", "y ~ x1 + x2"], data=df, family=[...])``.

    When the first argument is a formula or a list of formulas and ``formula``
    is not given, the arguments shift left (``k`` is then implied by the lists).
    """
    first_is_formula = isinstance(k, str) or (
        isinstance(k, (list, tuple)) and len(k) > 0 and all(isinstance(f, str) for f in k)
    )
    if not first_is_formula:
        if formula is None:
            raise TypeError("fmm needs a formula: fmm(k, 'y ~ x', data) or fmm(['y ~ x1', 'y ~ x2'], data=df)")
        return k, formula, data
    if formula is None:
        return None, k, data
    if data is None and isinstance(formula, pd.DataFrame):
        return None, k, formula
    raise TypeError(
        f"the first argument is a formula ({k!r}) but formula= is given too; "
        "pass either k and formula, or the formula(s) first"
    )


def _broadcast(k: int | None, formula, family) -> tuple[int, list[str], list]:
    formulas = list(formula) if isinstance(formula, (list, tuple)) else None
    families = list(family) if isinstance(family, (list, tuple)) else None
    lengths = {len(x) for x in (formulas, families) if x is not None}
    if len(lengths) > 1:
        raise FMMError(
            f"the list of formulas ({len(formulas)}) and the list of families ({len(families)}) "
            "must have one entry per class"
        )
    implied = lengths.pop() if lengths else None
    if k is None:
        if implied is None:
            raise FMMError("give the number of classes k, or one formula/family per class as lists")
        k = implied
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        hint = " (a whole number such as 2)" if isinstance(k, (float, np.floating)) else ""
        raise FMMError(f"k (number of classes) must be a positive integer{hint}, got {k!r}")
    if implied is not None and implied != k:
        raise FMMError(f"k={k} but {implied} formulas/families were given; they must agree")
    k = int(k)
    return k, formulas or [formula] * k, families or [family] * k


class FMM:
    """Finite mixture of regressions (latent class regression).

    Parameters
    ----------
    k : int or None
        Number of classes; may be omitted when ``formula`` or ``family`` is a
        list with one entry per class (hybrid model). The formula(s) may also
        come first, ``FMM(["y ~ x1", "y ~ x1 + x2"], data=df, ...)``.
    formula : str or list of str
        ``"y ~ x1 + x2"`` (formulaic syntax) for every class, or one per class.
        Every class must have the same response.
    data : DataFrame
        The data; never modified.
    family : str, statsmodels family, ComponentFamily, or list of them
        Component family, e.g. ``"gaussian"``, ``"poisson"``, ``"logit"``.
    class_formula : str or list, optional
        ``"~ z1 + z2"``: class membership is a multinomial logit on these
        (base class 1, as in Stata). ``None`` gives constant class shares. A
        list with one entry per class (Stata's hybrid ``lcprob()``) gives each
        class its own covariates; the base class's entry is ``None`` (or
        ``""``), another class's ``None`` means a constant only.
    weights : str or array, optional
        Alias of ``fweights`` (kept for compatibility): must hold integers.
    fweights, pweights, iweights : str or array, optional
        Stata's frequency, sampling and importance weights: a column of
        ``data`` or one value per row of ``data``; at most one kind. Point
        estimates do not depend on the kind; ``nobs``, the standard errors
        and the information criteria do (see :mod:`fmmreg.weighting`):
        ``fweights`` must be integers (``nobs = sum w``, same results as
        replicated rows); ``pweights`` imply ``vce="robust"`` (or cluster)
        and a pseudolikelihood, ``nobs`` = rows; ``iweights`` are not
        checked, ``nobs = sum w``.
    offset, exposure : str, array or list, optional
        Stata's ``offset(o)`` and ``exposure(t)``: ``o`` (or ``log t``) is
        added to the first linear index of every class with one (Poisson, NB,
        GLM, logit/probit, regress, ...). A column of ``data``, an array (one
        value per row of ``data``), or a list with one entry per class
        (``None`` for a class without). Exposures must be positive.
        Predictions on new data read the same columns from the new data.
    lcinvariant : str or list of str, optional
        Stata's ``lcinvariant()``: parameters equal across classes,
        ``"cons"`` (intercepts and cut points), ``"coef"`` (coefficients of
        the covariates), ``"errvar"`` (error variances), ``"scale"`` (other
        ancillary parameters: ``lnalpha``, ``lnphi``, ...), ``"all"`` or
        ``"none"`` (default); several may be combined (``"cons errvar"``).
        Only parameters present in several classes are tied (hybrid models).
    constraints : str, list of str or dict, optional
        Linear constraints in Stata's notation, e.g. ``["[1.y]x = [2.y]x",
        "[3.y]x2 = 0", "[2.Class]z = 0.5"]``, or a dict
        ``{("1.y", "x"): ("2.y", "x"), ("3.y", "x2"): 0}``. See
        :mod:`fmmreg.constraints`.
    class_base : int
        Stata's ``lcbase()``: the base class (1..K) of the membership logit.
    class_labels : list of str or dict, optional
        Names of the classes shown in the summary, ``estat`` tables and
        plots instead of 1..K (``params`` keeps the numbered equations).
    group : str or array-like, optional
        Panel data: the latent class belongs to the group (subject, firm),
        every row of a group comes from its class (flexmix's ``y ~ x | id``,
        group-based trajectory models); ``"y ~ x | id"`` in the formula is
        the same. A column of ``data`` or one id per row. Class-membership
        covariates and weights must be constant within a group; see
        :mod:`fmmreg.panel`.

    Notes
    -----
    ``l(theta) = sum_i w_i log sum_k pi_k(z_i) f_k(y_i | x_i)`` with
    ``pi_k(z) = exp(z'g_k) / sum_j exp(z'g_j)`` and ``g_1 = 0`` (``g_b = 0``
    with ``class_base=b``); with ``group``,
    ``l(theta) = sum_g w_g log sum_k pi_k(z_g) prod_{i in g} f_k(y_i | x_i)``.
    Under constraints the likelihood is maximised over the free parameters
    (see :mod:`fmmreg.constraints`).
    """

    def __new__(cls, *args, **kwargs):
        # a Dask DataFrame is fitted partition by partition (fmmreg.distributed; Dask is an optional extra)
        if cls is FMM and any(is_dask_dataframe(a) for a in (*args, kwargs.get("data"))):
            from fmmreg.distributed.model import DaskFMM

            return super().__new__(DaskFMM)
        return super().__new__(cls)

    def __init__(
        self,
        k: int | None | str | Sequence[str],
        formula: str | Sequence[str] | None = None,
        data: pd.DataFrame | None = None,
        family="gaussian",
        class_formula: str | None = None,
        weights=None,
        *,
        fweights=None,
        pweights=None,
        iweights=None,
        offset=None,
        exposure=None,
        lcinvariant=None,
        constraints=None,
        class_base: int = 1,
        class_labels=None,
        group=None,
    ):
        k, formula, data = _formulas_first(k, formula, data)
        self.k, formulas, fam_specs = _broadcast(k, formula, family)
        formulas, group = _panel.resolve_group(formulas, group)
        #: one formula or family per class: classes keep the order the user listed
        self.hybrid = isinstance(formula, (list, tuple)) or isinstance(family, (list, tuple))
        self.families: list[ComponentFamily] = [get_family(f) for f in fam_specs]
        self.weight_spec = resolve_weights(weights, fweights, pweights, iweights)
        offset_specs = resolve_offsets(offset, exposure, self.k)
        #: base class (0-based) of the membership logit
        self.class_base = check_class_base(class_base, self.k)
        #: names shown for the classes, or None for 1..K
        self.class_labels = check_class_labels(class_labels, self.k)
        union, self.class_formulas = resolve_class_formulas(class_formula, self.k, self.class_base)
        extra = extra_columns(offset_specs)
        if group is not None:
            if not isinstance(data, pd.DataFrame):
                raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
            extra[_panel.GROUP_KEY], group_ids = _panel.group_values(group, data)
        self.design = build_design(formulas, data, union, self.weight_spec.source, self.families, extra=extra)
        check_weights(self.weight_spec, self.design.weights)
        #: the groups of a panel model (``group=``), or None
        self.panel = (
            None
            if group is None
            else _panel.make_panel(_panel.group_name(group), group_ids, self.design.extra[_panel.GROUP_KEY])
        )
        for fam, names in zip(self.families, self.design.xnames):
            fam.bind_design(names)
        #: the user's DataFrame (a reference, never modified): cluster= columns given at fit
        #: time, margins and the bootstrap read its rows
        self.data = data
        #: the response array of each class (the response with its family's data columns)
        self.ys = self._check_response()
        self.y = self.ys[0]
        self.offset_specs = check_offset_families(offset_specs, self.families)
        #: offset of each class (model order) on the rows used, or None
        self.offsets = offset_arrays(self.offset_specs, self.design.extra)
        self._check_designs()
        if self.panel is not None:
            _panel.check_panel(self)
        #: the classes' numbers are part of the constraints: keep the fitted order
        self.labels_fixed = constraints is not None or self.class_formulas is not None
        #: linear constraints on the parameters in this model's class order (None without)
        self.constraints = self._build_constraints(lcinvariant, constraints)

    def _build_constraints(self, lcinvariant, constraints):
        """``lcinvariant``, ``constraints`` and a class_formula list as one :class:`LinearConstraints`."""
        index = self.param_index()
        position = {key: i for i, key in enumerate(index)}
        classes = []
        for k, (fam, xnames) in enumerate(zip(self.families, self.design.xnames), start=1):
            eq = f"{k}.{self.design.yname}"
            terms = fam.param_names(xnames)
            classes.append([(position[(eq, t)], t, r) for t, r in zip(terms, parameter_roles(fam, xnames))])
        omitted = []
        if self.class_formulas is not None:
            for j, entry in enumerate(self.class_formulas):
                if j == self.class_base:
                    continue
                mine = formula_columns(self.design.z_spec, entry, f"class_formula entry of class {j + 1}")
                if INTERCEPT not in mine:
                    raise FMMError(
                        f"class_formula entry of class {j + 1} {entry!r} has no constant; every class's membership "
                        "logit has one (as Stata's lcprob())"
                    )
                omitted += [position[(f"{j + 1}.Class", z)] for z in self.design.znames if z not in mine]
        base_eq = f"{self.class_base + 1}.Class" if self.k > 1 else None
        return build_constraints(index, classes, lcinvariant, constraints, omitted, base_eq)

    def constraints_for(self, class_map: list[int]):
        """The constraints for the parameters of the classes in ``class_map`` order (see :meth:`param_index`)."""
        if self.constraints is None or list(class_map) == list(range(self.k)):
            return self.constraints
        A = relabel_matrix(self._likelihood(list(range(self.k)), constrained=False), list(class_map))
        return self.constraints.relabel(A, self.param_index(class_map))

    def _check_response(self) -> list[np.ndarray]:
        """Validate each class's response against its family.

        A family with a restricted support (``pointmass``, ``tpoisson``) checks
        only the rows it can generate, and every row must be possible in at
        least one class: a point mass at 0 plus a zero-truncated Poisson (a
        hurdle model) is valid, a zero-truncated Poisson alone is not.
        Returns one array per class (see :func:`class_responses`).
        """
        y, name = self.design.y, self.design.yname
        ys = class_responses(self.families, y, self.design.columns)
        checked: dict[int, np.ndarray] = {}
        covered = np.zeros(len(y), dtype=bool)
        for fam, y_k in zip(self.families, ys):
            if id(fam) in checked:
                continue
            mask = fam.support(y_k) if len(self.families) > 1 else None
            if mask is None:
                checked[id(fam)] = np.asarray(fam.check_endog(y_k, name), dtype=float)
                covered[:] = True
            else:
                fam.check_endog(y_k[mask], name)
                checked[id(fam)] = np.asarray(y_k, dtype=float)
                covered |= mask
        if not covered.all():
            bad = np.flatnonzero(~covered)
            raise FMMError(
                f"{len(bad)} observation(s) of {name!r} (e.g. {y[bad[0]]!r}) have zero density in every class "
                f"({', '.join(sorted({f.name for f in self.families}))}); add a class that can generate them"
            )
        self._check_varies(np.asarray(y, dtype=float), name)
        return [checked[id(fam)] for fam in self.families]

    def _check_varies(self, y: np.ndarray, name: str) -> None:
        """A response that does not vary identifies no regression, let alone a mixture."""
        w = self.design.weights
        used = y if w is None else y[w != 0]
        if y.ndim != 1 or used.size == 0 or np.ptp(used) > 0:
            return
        value, n = float(used[0]), used.size
        coding = self.design.response_coding
        fams = {f.name for f in self.families}
        if coding is not None or all(getattr(f, "binary", False) for f in self.families):
            shown = repr(coding.levels[int(value)]) if coding is not None else f"{value:g}"
            raise FMMError(
                f"every value of {name!r} is {shown} in the {n} rows used: the outcome does not vary, so "
                f"family {', '.join(sorted(fams))} cannot be estimated; check the variable and the sample"
            )
        if value == 0 and any(("poisson" in f or "nbreg" in f or "nbinomial" in f) for f in fams):
            raise FMMError(
                f"every count of {name!r} is 0 in the {n} rows used: a mixture cannot be identified (and a count "
                "model has no finite estimate, its mean goes to 0); check the variable and the sample"
            )
        raise FMMError(
            f"the response {name!r} is constant (every value is {value:g}) in the {n} rows used: there is nothing "
            "to model and a mixture cannot be identified; check the variable and the sample"
        )

    def _check_designs(self) -> None:
        d = self.design
        n = len(self.y)
        rows = n if d.weights is None else int(np.count_nonzero(d.weights))
        if self.k > rows:
            raise FMMError(
                f"k={self.k} classes but only {rows} observation(s) are used: a mixture needs more observations "
                "than classes; fit fewer classes"
            )
        total = (self.k - 1) * d.Z.shape[1] + sum(fam.n_params(X.shape[1]) for X, fam in zip(d.designs, self.families))
        if total >= rows:
            raise FMMError(
                f"the model has {total} parameters ({self.k} classes) but only {rows} observations are used: "
                "it cannot be identified; fit fewer classes or fewer covariates"
            )
        checked: set[int] = set()  # classes share design arrays
        for k, (X, names, fam) in enumerate(zip(d.designs, d.xnames, self.families), start=1):
            if n <= fam.n_params(X.shape[1]):
                raise FMMError(f"class {k}: {n} observations for {fam.n_params(X.shape[1])} parameters")
            if id(X) not in checked and not full_column_rank(X):
                raise FMMError(
                    f"class {k}: the design of {d.formulas[k - 1]!r} is collinear "
                    f"(columns {names}); drop a redundant term"
                )
            checked.add(id(X))
        if not full_column_rank(d.Z):
            raise FMMError(f"class_formula {d.class_formula!r} gives a collinear design {d.znames}; drop a term")

    def param_index(self, class_map: list[int] | None = None) -> pd.MultiIndex:
        """``(equation, term)`` labels of the parameters, in the packed order.

        Membership equations ``"2.Class"`` ... (every class but the base
        class) come first, then the component equation ``"k.<response>"`` of
        each class with its ancillary terms.
        """
        class_map = list(range(self.k)) if class_map is None else class_map
        tuples = []
        for k in range(1, len(class_map) + 1):
            if k - 1 != self.class_base:
                tuples += [(f"{k}.Class", z) for z in self.design.znames]
        for k, j in enumerate(class_map, start=1):
            names = self.families[j].param_names(self.design.xnames[j])
            tuples += [(f"{k}.{self.design.yname}", t) for t in names]
        return pd.MultiIndex.from_tuples(tuples, names=["equation", "term"])

    def _start_vector(self, start) -> np.ndarray:
        index = self.param_index()
        if isinstance(start, pd.Series):
            missing = index.difference(start.index)
            if len(missing):
                raise FMMError(f"start is missing values for {list(missing)[:5]}; give one per parameter")
            return start.reindex(index).to_numpy(dtype=float)
        start = np.asarray(start, dtype=float).ravel()
        if start.shape != (len(index),):
            raise FMMError(f"start must have {len(index)} values (see FMM.param_index()), got {start.shape[0]}")
        return start

    def _start_posterior(self, tau) -> np.ndarray:
        tau = np.asarray(tau, dtype=float)
        n = len(self.y)
        if tau.ndim == 1 and tau.shape == (n,):
            # class ids 1..K (Stata's startvalues(classid varname))
            if not np.all(np.isin(tau, np.arange(1, self.k + 1))):
                raise FMMError(f"start_posterior given as class ids must hold the labels 1..{self.k}")
            return np.eye(self.k)[tau.astype(int) - 1]
        if tau.shape != (n, self.k):
            raise FMMError(f"start_posterior must have shape ({n}, {self.k}) (rows used x classes), got {tau.shape}")
        if np.any(tau < 0) or not np.allclose(tau.sum(axis=1), 1.0):
            raise FMMError("start_posterior rows must be probabilities that sum to 1")
        return tau

    def _likelihood(self, class_map: list[int], constrained: bool = True) -> MixtureLikelihood:
        d = self.design
        lik = MixtureLikelihood(
            [self.ys[j] for j in class_map],
            [d.designs[j] for j in class_map],
            d.Z,
            [self.families[j] for j in class_map],
            d.weights,
            offsets=[self.offsets[j] for j in class_map],
            base=self.class_base,
            constraints=self.constraints_for(class_map) if constrained else None,
        )
        panel = getattr(self, "panel", None)
        return lik if panel is None else GroupedMixtureLikelihood.from_rows(lik, panel.groups)

    def fit(
        self,
        *,
        engine: str = "fast",
        startvalues: str = "auto",
        draws: int = 10,
        emopts: dict | None = None,
        maxiter: int = 100,
        tol: float = 1e-10,
        replicate: int = 2,
        max_draws: int = 100,
        min_scale: float = DEFAULT_RULE.min_scale_ratio,
        min_scale_small: float = DEFAULT_RULE.small_scale_ratio,
        random_state: int | np.random.Generator | None = 0,
        start=None,
        start_posterior=None,
        order: str | Sequence[int] = "mean",
        progress: bool = False,
        blas_threads: int | None = 1,
        vce: str | None = None,
        cluster=None,
        n_starts: int | None = None,
        n_refine: int | None = None,
        short_iter: int | None = None,
    ) -> FMMResults:
        """Estimate by a multi-start search (EM) followed by Newton on the full likelihood.

        Parameters
        ----------
        engine : {"fast", "statsmodels"}
            M-step engine: own warm-started Newton/IRLS steps with the
            statsmodels family objects (default), or literal weighted
            ``statsmodels`` fits (reference; slow).
        startvalues : str
            Kind of starts (Stata's ``startvalues()``): ``"auto"`` (default: a
            mix of a quantile split of the pooled residuals, k-means, random
            partitions, random class ids, random posteriors and random
            parameters around the pooled fit), ``"randomid"`` (random class
            ids), ``"randompr"`` (random posterior probabilities),
            ``"jitter"`` (random parameters around the one-class fit),
            ``"classid"`` / ``"classpr"`` (your own class ids (n,) or posterior
            probabilities (n, K) given as ``start_posterior``).
        draws : int
            Starts per batch (Stata's ``draws()``; default 10).
        emopts : dict, optional
            Short EM runs of the starts (Stata's ``emopts()``):
            ``{"iterate": 20, "tolerance": 1e-10}`` (relative LL change).
        maxiter : int
            Cap on Newton iterations of each refinement (default 100); a fit
            stopped by it is not converged and warns with the gradient norm.
        tol : float
            Convergence tolerance: the Newton decrement ``g'(-H)^{-1}g`` (Stata's
            ``nrtolerance()``; default 1e-10).
        replicate : int
            The search adds batches until the best non-degenerate maximum has
            been reached from this many distinct starts (default 2) ...
        max_draws : int
            ... or until this many starts have been drawn (default 100); then
            a :class:`~fmmreg.LocalMaximumWarning` says the best was not replicated.
        min_scale : float
            Degeneracy rule (spurious maxima of scale families): a maximum with
            a class whose standard deviation is below this share of both the
            response's SD and the largest class SD is degenerate (default
            0.05). The search returns the best non-degenerate maximum; a
            degenerate one only when no start reached another, with a
            :class:`~fmmreg.DegenerateClassWarning` (0 turns this part of the
            rule off); see :mod:`fmmreg.estimation.degeneracy`.
        min_scale_small : float
            The same for small classes: a class holding less than 10% of the
            observations whose standard deviation is below this share of both
            references makes a maximum degenerate (default 0.20: a plane
            threaded through a few dozen observations, which data simulated
            without such a class produce). Set it to ``min_scale`` or 0 to
            keep small tight classes. (A small class also needs 10
            observations per parameter; see :mod:`fmmreg.estimation.degeneracy`.)
        random_state : int or Generator
            Seed of the start search (results are deterministic given it).
        start : Series or array-like, optional
            Start values labelled like ``params`` (or in the order of
            :meth:`param_index`); skips the start search.
        start_posterior : array-like, optional
            Starting posterior class probabilities (n, K) for the rows used
            (like flexmix's ``cluster=``), or class ids 1..K (n,); skips the
            start search (``startvalues="classpr"`` / ``"classid"``).
        order : "mean", "fit" or a list
            ``"mean"`` sorts classes by their average fitted mean (default;
            hybrid models, given as lists, and models with ``constraints=``
            or a ``class_formula`` list, which name classes, keep the user's
            order), ``"fit"`` keeps the order the optimiser found, a list
            relabels as :meth:`FMMResults.relabel`.
        progress : bool
            Show a progress bar over the whole fit: starts, refinements,
            Newton iterations and the covariance (needs ``tqdm``; off by default).
        blas_threads : int or None
            BLAS threads during the fit (default 1, fastest for the engine's
            small products); ``None`` leaves the BLAS setting alone.
        vce : {"oim", "opg", "robust", "cluster"}, optional
            Variance estimator (Stata's ``vce()``): ``"oim"`` inverse observed
            information (default), ``"opg"`` outer product of the scores,
            ``"robust"`` Huber/White sandwich from the per-observation scores
            of the full mixture likelihood, times ``N/(N-1)``, ``"cluster"``
            sandwich from cluster sums of the scores, times ``G/(G-1)``
            (Stata's small-sample factors; clusters may cut across classes).
            Default ``"robust"`` with ``pweights``, ``"cluster"`` when
            ``cluster=`` is given. ``res.with_vce(...)`` switches later
            without refitting. See :mod:`fmmreg.postestimation.vce`. With
            ``group=`` the units are the groups: ``"robust"`` is the cluster
            sandwich with the groups as clusters (as Stata's panel commands),
            ``"opg"`` sums the groups' score products, and clusters must nest
            the groups.
        cluster : str or array-like, optional
            Cluster ids: a column of ``data`` or one value per row of ``data``.
        n_starts, n_refine, short_iter : int, optional
            Deprecated: ``n_starts=N`` is ``draws=N, max_draws=N`` (N starts in
            all), ``n_refine`` the number of short runs refined per batch,
            ``short_iter`` is ``emopts={"iterate": ...}``.
        """
        engine = check_engine(engine)
        vce_spec = resolve_vce(self, vce, cluster)  # option errors before a long fit
        opts = start_options(
            startvalues,
            draws,
            emopts,
            maxiter,
            tol,
            replicate,
            max_draws,
            min_scale,
            n_starts,
            n_refine,
            short_iter,
            min_scale_small=min_scale_small,
        )
        # the engine's BLAS calls are small and memory-bound: a second BLAS
        # thread gains little and, on a busy machine, its spin-waits make
        # them several times slower (measured 5x at n = 1e6 on 2 cores)
        limit = threadpool_limits(limits=blas_threads, user_api="blas") if blas_threads else nullcontext()
        with limit, FitProgress(progress) as bar:
            res = self._fit(engine, opts, random_state, start, start_posterior, order, bar)
        #: how the model was fitted: bootstrap and blrt refits reuse these options
        res.fit_options = {"engine": engine} | opts.fit_options()
        return res._apply_vce(vce_spec)

    def _fit(self, engine, opts, random_state, start, start_posterior, order, bar):
        rng = np.random.default_rng(random_state)
        class_map = list(range(self.k))
        lik = self._likelihood(class_map)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            start_theta = None if start is None else self._start_vector(start)
            start_tau = None if start_posterior is None else self._start_posterior(start_posterior)
            if opts.startvalues in ("classid", "classpr"):
                if start_tau is None:
                    raise FMMError(
                        f"startvalues={opts.startvalues!r} needs start_posterior= (class ids or probabilities)"
                    )
                opts.startvalues = "auto"
            found = multistart(
                lik, opts, rng, engine=engine, start_theta=start_theta, start_tau=start_tau, callback=bar
            )
        theta = found.theta
        if isinstance(order, str):
            if order not in ("mean", "fit"):
                raise FMMError(f"order must be 'mean', 'fit' or a list of class labels, got {order!r}")
            keep = self.hybrid or self.labels_fixed
            perm = canonical_order(lik, theta) if order == "mean" and not keep else class_map
        else:
            perm = check_order(order, self.k)
        derivatives = None
        final = found.trace.final
        if final is not None and np.array_equal(final[0], theta):
            _, ll, grad, hess = final
            a_inv_t = np.linalg.inv(relabel_matrix(lik, perm)).T
            derivatives = (ll, a_inv_t @ grad, a_inv_t @ hess @ a_inv_t.T)
        theta = permute_theta(lik, theta, perm)
        class_map = [class_map[p] for p in perm]
        bar("covariance")
        res = FMMResults(self, theta, class_map, found.trace, found.table, derivatives)
        if found.posterior is not None:
            # the search's posterior at this point, in the new class order: no second E-step on all rows
            tau = np.asfortranarray(found.posterior[:, perm])
            tau.setflags(write=False)
            res.posterior_array = tau
            found.posterior = None  # the results hold it; an (n, K) array less
        res.search = found
        res._class_perm = perm
        report_fit(res, opts, stacklevel=4)
        return res


def start_options(
    startvalues,
    draws,
    emopts,
    maxiter,
    tol,
    replicate,
    max_draws,
    min_scale,
    n_starts=None,
    n_refine=None,
    short_iter=None,
    *,
    min_scale_small=DEFAULT_RULE.small_scale_ratio,
) -> StartOptions:
    """Check the start options (Stata's names) and map the deprecated ones."""
    opts = StartOptions()
    if n_starts is not None:
        warnings.warn(
            "n_starts= is deprecated; use draws= (starts per batch) and max_draws= (starts in all)",
            DeprecationWarning,
            stacklevel=4,
        )
        # the old meaning: this many starts in all
        draws = max_draws = n_starts
    if n_refine is not None:
        warnings.warn(
            "n_refine= is deprecated; the search refines until the best is replicated", DeprecationWarning, stacklevel=4
        )
        opts.refine = _positive_int("n_refine", n_refine)
    emopts = dict(emopts or {})
    if short_iter is not None:
        warnings.warn('short_iter= is deprecated; use emopts={"iterate": ...}', DeprecationWarning, stacklevel=4)
        emopts.setdefault("iterate", short_iter)
    unknown = set(emopts) - {"iterate", "tolerance"}
    if unknown:
        raise FMMError(f"emopts: unknown key(s) {sorted(unknown)}; use 'iterate' and 'tolerance'")
    valid = ("auto", "randomid", "randompr", "jitter", "kmeans", "partition", "classid", "classpr")
    if startvalues not in valid:
        raise FMMError(f"startvalues={startvalues!r} is not known; use one of {valid}")
    opts.startvalues = startvalues
    opts.draws = _positive_int("draws", draws)
    opts.max_draws = max(opts.draws, _positive_int("max_draws", max_draws))
    opts.replicate = _positive_int("replicate", replicate)
    opts.em_iter = _positive_int("emopts iterate", emopts.get("iterate", opts.em_iter), minimum=0)
    opts.em_tol = _positive_float("emopts tolerance", emopts.get("tolerance", opts.em_tol))
    opts.maxiter = _positive_int("maxiter", maxiter)
    opts.tol = _positive_float("tol", tol)
    min_scale = _share(
        "min_scale",
        min_scale,
        "the smallest class SD, as a share of the response's SD and of the largest class SD, "
        f"that a non-degenerate maximum may have (default {DEFAULT_RULE.min_scale_ratio:g})",
    )
    min_scale_small = _share(
        "min_scale_small",
        min_scale_small,
        f"the smallest SD of a class with less than {DEFAULT_RULE.small_share:.0%} of the observations, as a "
        f"share of the response's SD and of the largest class SD (default {DEFAULT_RULE.small_scale_ratio:g})",
    )
    opts.rule = replace(opts.rule, min_scale_ratio=min_scale, small_scale_ratio=min_scale_small)
    return opts


def _share(name: str, value, meaning: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FMMError(f"{name} must be a number in [0, 1), got {value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise FMMError(f"{name}={value!r} is outside [0, 1): it is {meaning}")
    return value


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise FMMError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_float(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FMMError(f"{name} must be a positive number, got {value!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise FMMError(f"{name} must be a positive number, got {value!r}")
    return value


def fmm(
    k: int | None | str | Sequence[str],
    formula: str | Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    family="gaussian",
    class_formula: str | None = None,
    weights=None,
    *,
    fweights=None,
    pweights=None,
    iweights=None,
    offset=None,
    exposure=None,
    lcinvariant=None,
    constraints=None,
    class_base: int = 1,
    class_labels=None,
    group=None,
    **fit_options,
) -> FMMResults:
    """Fit a finite mixture of regressions (latent class regression), like Stata's ``fmm``.

    ``fmm(3, "visits ~ age + chronic", data=df, family="poisson",
    class_formula="~ income")`` is Stata's ``fmm 3, lcprob(income): poisson
    visits age chronic``: three latent classes, each with its own Poisson
    regression, class membership a multinomial logit on ``income`` (class 1
    is the base). It is ``FMM(...).fit(**fit_options)``.

    Parameters
    ----------
    k : int
        Number of classes. May be omitted (``None``) when ``formula`` or
        ``family`` is a list with one entry per class (a hybrid model,
        Stata's ``fmm: (regress y x1) (poisson y x2)``); the formula list may
        also come first: ``fmm(["y ~ x1", "y ~ x1 + x2"], data=df)``.
    formula : str or list of str
        ``"y ~ x1 + x2"`` in formulaic syntax: ``C(region)`` or a categorical
        column for a factor (Stata's ``i.region``), ``a:b`` / ``a*b``
        interactions, ``I(age**2)``, ``np.log(x)``. Every class models the
        same response. Binomial responses with trials are
        ``cbind(successes, failures) ~ x``.
    data : DataFrame
        Never modified. Rows with a missing value in any variable of any
        formula (or the weights) are dropped once, as Stata does.
        ``fmmreg.datasets.load("nmes1988")`` loads a shipped example.
    family : str, statsmodels family, ComponentFamily, or list of them
        The component model (default ``"gaussian"``, Stata's ``regress``):
        ``poisson``, ``nbreg``, ``nbreg1``, ``logit``, ``probit``,
        ``cloglog``, ``binomial``, ``gamma``, ``lognormal``, ``betareg``,
        ``tobit``, ``intreg``, ``truncreg``, ``tpoisson``, ``ologit``,
        ``oprobit``, ``mlogit``, ``pointmass``, ``glm``; see
        :func:`fmmreg.available_families`. A list gives one family per
        class (``["pointmass", "poisson"]`` is a zero-inflated Poisson).
        Ancillary parameters (variances, NB ``alpha``, cut points) are
        estimated by ML; ``sm.families.NegativeBinomial()`` is Stata's
        ``nbreg`` with ``alpha`` estimated.
    class_formula : str or list, optional
        ``"~ z1 + z2"``: the covariates of class membership (Stata's
        ``lcprob()``). ``None`` gives constant class shares. A list with one
        entry per class (``None`` for the base class) gives each class its
        own covariates, as Stata's hybrid ``(regress y x, lcprob(z))``.
    weights, fweights, pweights, iweights : str or array, optional
        Stata's frequency, sampling and importance weights: a column of
        ``data`` or one value per row (``weights`` is ``fweights``); at most
        one kind. ``pweights`` imply robust standard errors and a
        pseudolikelihood. See :class:`FMM`.
    offset, exposure : str, array or list, optional
        Stata's ``offset()`` and ``exposure()`` (``log`` of it added to the
        first linear index of each class), e.g. ``exposure="Holders"`` for
        claim counts of ``Holders`` policies; a list gives one per class.
    lcinvariant : str or list of str, optional
        Stata's ``lcinvariant()``: ``"cons"``, ``"coef"``, ``"errvar"``,
        ``"scale"``, ``"all"`` or ``"none"``: those parameters are equal
        across classes. See :class:`FMM` and :mod:`fmmreg.constraints`.
    constraints : str, list of str or dict, optional
        Linear constraints such as ``"[1.y]x = [2.y]x"``, ``"[2.y]x = 0.5"``.
    class_base : int
        Stata's ``lcbase()``: the base class of the membership logit.
    class_labels : list of str or dict, optional
        Names shown for the classes in the summary, ``estat`` tables and plots.
    group : str or array-like, optional
        Panel data: the latent class belongs to the group (subject, firm) and
        every row of a group comes from its class (flexmix's ``y ~ x | id``,
        group-based trajectory models); ``"y ~ x | id"`` in the formula is
        the same. Class-membership covariates and weights must be constant
        within a group. ``res.posterior`` is then per group; see :class:`FMM`
        and :mod:`fmmreg.panel`.
    **fit_options
        Passed to :meth:`FMM.fit`: the start search (Stata's names:
        ``startvalues``, ``draws`` (10 per batch), ``max_draws`` (100),
        ``replicate`` (2), ``emopts``, ``maxiter``, ``tol``; ``min_scale``
        (0.05) and ``min_scale_small`` (0.2), the degeneracy rule's smallest class SDs), ``random_state`` (0; results
        are deterministic given it), ``start=`` (your start values, labelled
        like ``params``), ``order`` (``"mean"``: classes sorted by their mean
        response; ``"fit"``; or a list), ``vce`` (``"oim"``, Stata's default;
        ``"opg"``, ``"robust"``, ``"cluster"`` with ``cluster=``),
        ``progress=True``, ``engine``.

    Returns
    -------
    FMMResults
        ``params``, ``bse``, ``pvalues``, ``conf_int()``, ``cov_params()``
        (observed-information, Stata's OIM), ``llf``, ``aic``, ``bic``,
        ``nobs``; ``summary()`` prints Stata's table (also HTML, LaTeX,
        Markdown); ``posterior`` / ``prior`` class probabilities per row;
        ``lcprob()``, ``lcmean()``, ``ic()`` (Stata's ``estat``),
        ``predict()``, ``to_frame()``, ``plot_posterior()``, ``relabel()``.

    See Also
    --------
    FMM : the model object (``FMM(...).fit()``).
    select_k : fit a range of K and choose by BIC.
    compare : fits side by side.

    Notes
    -----
    The log likelihood is ``sum_i w_i log sum_k pi_k(z_i) f_k(y_i | x_i)``
    with ``pi_k(z) = exp(z'g_k) / sum_j exp(z'g_j)``, ``g_1 = 0``. Several
    starts run a few EM iterations each, the best distinct ones run EM to
    convergence, then Newton on the full likelihood gives the exact MLE;
    the summary reports how many refined starts reached the best maximum.

    Examples
    --------
    >>> from fmmreg import datasets, fmm
    >>> nmes = datasets.load("nmes1988")
    >>> res = fmm(3, "visits ~ age + chronic", data=nmes, family="poisson",
    ...           class_formula="~ income")            # doctest: +SKIP
    >>> print(res.summary())                            # doctest: +SKIP
    >>> zip_ = fmm(None, "visits ~ chronic", data=nmes,
    ...            family=["pointmass", "poisson"])     # doctest: +SKIP
    """
    model = FMM(
        k,
        formula,
        data,
        family=family,
        class_formula=class_formula,
        weights=weights,
        fweights=fweights,
        pweights=pweights,
        iweights=iweights,
        offset=offset,
        exposure=exposure,
        lcinvariant=lcinvariant,
        constraints=constraints,
        class_base=class_base,
        class_labels=class_labels,
        group=group,
    )
    return model.fit(**fit_options)

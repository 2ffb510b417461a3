"""Fitted finite mixture: estimates, inference and labels.

Attribute names follow statsmodels (``params``, ``bse``, ``pvalues``,
``conf_int()``, ``cov_params()``, ``llf``, ``aic``, ``bic``, ``nobs``).
``params`` is a Series with an ``(equation, term)`` MultiIndex: membership
equations are ``"2.Class"``, ..., ``"K.Class"``; the component of class ``k``
is the equation ``"k.<response>"`` and holds the ancillary parameters on
their estimation scale (``lnsigma``, ...).
"""

from __future__ import annotations

import copy
import warnings
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg import weighting
from fmmreg.estimation.engine import FitTrace
from fmmreg.estimation.linalg import jacobi_scale
from fmmreg.estimation.relabel import check_order, permute_theta
from fmmreg.families.base import AncillaryDisplay
from fmmreg.formula import TermLabel
from fmmreg.postestimation.mixin import PostestimationMixin
from fmmreg.postestimation.vce import OIM, VCESpec, covariance, resolve_vce
from fmmreg.reporting.summary import Row, Summary, build_summary


class FMMResults(PostestimationMixin):
    """Results of :meth:`fmmreg.FMM.fit`.

    Notes
    -----
    By default the covariance is the inverse of the observed information
    (OIM, Stata's default) of the full observed-data log likelihood at the
    estimate, computed from analytic second derivatives (see
    :class:`fmmreg.estimation.mixture.MixtureLikelihood`). ``fit(vce=...)``
    or :meth:`with_vce` choose OPG, robust or cluster-robust instead (see
    :mod:`fmmreg.postestimation.vce`); ``cov_type`` records the choice and
    everything that uses a covariance (``bse``, tests, ``lcprob``,
    ``lcmean``, ``compare``, the summary) reads ``cov_params()``.
    """

    def __init__(
        self,
        model,
        theta: np.ndarray,
        class_map: list[int],
        trace: FitTrace,
        starts: pd.DataFrame,
        derivatives: tuple[float, np.ndarray, np.ndarray] | None = None,
        vce: VCESpec | None = None,
    ):
        self.model = model
        self.class_map = list(class_map)
        self.k = len(class_map)
        self.lik = model._likelihood(self.class_map)
        #: linear constraints of the fit (:mod:`fmmreg.constraints`), in this object's class labels, or None
        self.constraints = self.lik.constraints
        theta = np.asarray(theta, dtype=float)
        # on the constraint set to the last bit (a relabelling may move a fixed value by rounding)
        self.theta = theta if self.constraints is None else self.constraints.project(theta)
        #: names of classes 1..K (Stata's class labels; ``class_labels=``)
        labels = getattr(model, "class_labels", None)
        self.class_labels = [str(j) for j in range(1, self.k + 1)] if labels is None else list(labels)
        #: options of the fit (bootstrap and blrt refits reuse them); set by FMM.fit
        self.fit_options: dict = {}
        self.trace = trace
        self.starts = starts
        # the fit hands over the log likelihood, score and Hessian it converged at
        ll, grad, hess = self.lik.score_hessian(self.theta) if derivatives is None else derivatives
        self.llf = ll
        self.score = grad
        self.hessian = hess
        self._cov_oim = self._invert(hess)
        self._names = self._param_index()
        self._apply_vce(OIM if vce is None else vce)

    def _apply_vce(self, spec: VCESpec) -> FMMResults:
        self.vce_spec = spec
        self._cov = covariance(self, spec)
        return self

    def with_vce(self, vce: str, cluster=None) -> FMMResults:
        """The same fit under another variance estimator, without refitting.

        Parameters
        ----------
        vce : {"oim", "opg", "robust", "cluster"}
            See :meth:`fmmreg.FMM.fit`.
        cluster : str or array-like, optional
            For ``vce="cluster"``: a column of the data the model was built
            on, or one cluster id per row of that data.

        Returns
        -------
        FMMResults
            A new results object sharing the estimates; its ``cov_params()``,
            ``bse``, tests, ``lcprob()``/``lcmean()`` and ``summary()`` use
            the new covariance. ``res`` itself is unchanged.
        """
        spec = resolve_vce(self.model, vce, cluster)
        return copy.copy(self)._apply_vce(spec)

    @property
    def cov_type(self) -> str:
        """The variance estimator: ``"oim"``, ``"opg"``, ``"robust"`` or ``"cluster"`` (Stata ``e(vce)``)."""
        return self.vce_spec.kind

    @property
    def n_clusters(self) -> int | None:
        """Number of clusters ``G`` for ``cov_type == "cluster"``, else ``None``."""
        return self.vce_spec.n_clusters

    @property
    def weight_type(self) -> str | None:
        """``"fweight"``, ``"pweight"``, ``"iweight"`` or ``None`` (Stata ``e(wtype)``)."""
        return self.model.weight_spec.kind

    @property
    def is_pseudolikelihood(self) -> bool:
        """True when Stata reports a *pseudo* log likelihood: robust/cluster VCE or pweights."""
        return self.vce_spec.is_robust or self.weight_type == "pweight"

    # ------------------------------------------------------------------ setup
    def _invert(self, hess: np.ndarray) -> np.ndarray:
        """``(-H)^{-1}``; under constraints ``N (-N'HN)^{-1} N'`` (the free parameters' inverse, mapped back)."""
        if self.constraints is not None:
            return self.constraints.expand(self._invert_matrix(self.constraints.reduce(hess)))
        return self._invert_matrix(hess)

    def _invert_matrix(self, hess: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(hess)):
            return np.full(hess.shape, np.nan)
        a_s, d = jacobi_scale(-hess)
        try:
            eig = np.linalg.eigvalsh(a_s)
        except np.linalg.LinAlgError:
            # non-finite derivatives at a degenerate solution: no covariance to report
            return np.full(hess.shape, np.nan)
        if eig.min() <= 1e-10 * max(1.0, eig.max()):
            warnings.warn(
                "the observed information is not positive definite at the estimate: "
                "the model may be over-parameterised (a degenerate class or collinear covariates); "
                "standard errors use a pseudo-inverse and are unreliable",
                RuntimeWarning,
                stacklevel=3,
            )
            return np.linalg.pinv(a_s) / np.outer(d, d)
        return np.linalg.inv(a_s) / np.outer(d, d)

    def _param_index(self) -> pd.MultiIndex:
        return self.model.param_index(self.class_map)

    # ---------------------------------------------------------------- labels
    @property
    def yname(self) -> str:
        return self.model.design.yname

    @property
    def families(self):
        return [self.model.families[j] for j in self.class_map]

    def component_equation(self, k: int) -> str:
        """Equation name of class ``k``'s component in ``params``."""
        return f"{k}.{self.yname}"

    # --------------------------------------------------------------- numbers
    @property
    def params(self) -> pd.Series:
        return pd.Series(self.theta, index=self._names, name="coef")

    def cov_params(self) -> pd.DataFrame:
        return pd.DataFrame(self._cov, index=self._names, columns=self._names)

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.clip(np.diag(self._cov), 0, None)), index=self._names, name="bse")

    @property
    def tvalues(self) -> pd.Series:
        """``params / bse``; NaN for a parameter the constraints fix (Stata prints ``(constrained)``)."""
        z = (self.params / self.bse).rename("z")
        if self.constraints is not None:
            z[self.constraints.fixed] = np.nan
        return z

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues.to_numpy())), index=self._names, name="P>|z|")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        q = stats.norm.ppf(1 - alpha / 2)
        b, se = self.params, self.bse
        return pd.DataFrame({0: b - q * se, 1: b + q * se})

    @property
    def nobs(self) -> float:
        """Number of observations, as Stata counts them.

        The rows used; with ``fweights`` or ``iweights`` the sum of the weights,
        with ``pweights`` the rows with a positive weight (see
        :mod:`fmmreg.weighting`).
        """
        w = self.model.design.weights
        return float(len(self.lik.y)) if w is None else weighting.nobs(self.weight_type, w)

    @property
    def n_dropped(self) -> int:
        """Rows of the input dropped for missing values."""
        return self.model.design.n_dropped

    @property
    def df_model(self) -> int:
        """Number of estimated (free) parameters: constrained ones do not count."""
        return int(len(self.theta) if self.constraints is None else self.constraints.n_free)

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * self.df_model

    @property
    def bic(self) -> float:
        return -2 * self.llf + self.df_model * np.log(self.nobs)

    @property
    def converged(self) -> bool:
        return bool(self.trace.converged)

    @property
    def n_iter(self) -> int:
        """EM plus Newton iterations of the winning start's final run."""
        return self.trace.n_iter

    @property
    def start_llfs(self) -> pd.Series:
        """Log likelihood where each start stopped (converged for refined starts and those that
        ended with them; a repeated starting point shows its first occurrence's)."""
        llf = self.starts["llf"].where(self.starts["llf"].notna(), self.starts["llf_short"])
        return llf.rename("llf")

    # ----------------------------------------------------------- per-obs
    @property
    def class_base(self) -> int:
        """The base class (1-based) of the membership logit (Stata's ``lcbase()``)."""
        return self.lik.membership.base + 1

    @property
    def membership_equations(self) -> list[str]:
        """The membership equations of ``params`` in order: ``"k.Class"`` for every class but the base."""
        return [f"{j + 1}.Class" for j in self.lik.membership.others]

    def _class_columns(self) -> pd.Index:
        return pd.Index(range(1, self.k + 1), name="Class")

    @cached_property
    def posterior_array(self) -> np.ndarray:
        """Posterior class probabilities (n, K) as a read-only array, computed once per fit."""
        tau = self.lik.estep(self.theta)[1]
        tau.setflags(write=False)
        return tau

    @cached_property
    def prior_array(self) -> np.ndarray:
        """Membership-model class probabilities (n, K) as a read-only array, computed once per fit."""
        gamma, _ = self.lik.unpack(self.theta)
        pi = np.exp(self.lik.membership.log_prior(gamma))
        pi.setflags(write=False)
        return pi

    @property
    def panel(self):
        """The groups of a panel model (:class:`fmmreg.panel.Panel`), or None."""
        return getattr(self.model, "panel", None)

    @property
    def n_groups(self) -> int | None:
        """Number of groups of a panel model (``group=``), else None."""
        return None if self.panel is None else self.panel.n_groups

    @property
    def posterior(self) -> pd.DataFrame:
        """Posterior class probabilities: per row used, or per group (index = group id) with ``group=``.

        :attr:`posterior_rows` has them per row in both cases.
        """
        if self.panel is not None:
            return self.panel.frame(self.posterior_array, self._class_columns())
        return self.posterior_rows

    @property
    def posterior_rows(self) -> pd.DataFrame:
        """Posterior class probabilities of each row used (a group's on each of its rows)."""
        return pd.DataFrame(
            self.posterior_array, index=self.model.design.index, columns=self._class_columns(), copy=True
        )

    @property
    def prior(self) -> pd.DataFrame:
        """Class probabilities from the membership model, per row used (per group with ``group=``)."""
        if self.panel is not None:
            return self.panel.frame(self.prior_array, self._class_columns())
        return self.prior_rows

    @property
    def prior_rows(self) -> pd.DataFrame:
        """Class probabilities from the membership model, per row used."""
        return pd.DataFrame(self.prior_array, index=self.model.design.index, columns=self._class_columns(), copy=True)

    @property
    def mean_posterior(self) -> pd.Series:
        """Average posterior probability of each class over the rows used (groups with ``group=``)."""
        return self.posterior.mean().rename("posterior")

    @property
    def modal_class(self) -> pd.Series:
        """Most probable class (1..K) by the posterior: per row used, or per group with ``group=``."""
        post = self.posterior
        return pd.Series(post.to_numpy().argmax(axis=1) + 1, index=post.index, name="class")

    @property
    def class_shares(self) -> pd.Series:
        """Marginal class probabilities: the (weighted) average prior over the units (rows, or groups)."""
        w = self.lik.unit_weights
        return pd.Series(w @ self.prior_array / w.sum(), index=self._class_columns(), name="share")

    # ----------------------------------------------------------- relabel
    def relabel(self, order) -> FMMResults:
        """Reorder classes: new class ``j`` is old class ``order[j-1]``.

        Returns a new results object; estimates and the likelihood are
        unchanged up to the relabelling, the membership equations are re-based
        on the new class 1 and the covariance is recomputed (same ``cov_type``).
        """
        order0 = check_order(order, self.k)
        theta = permute_theta(self.lik, self.theta, order0)
        new_map = [self.class_map[o] for o in order0]
        out = FMMResults(self.model, theta, new_map, self.trace, self.starts, vce=self.vce_spec)
        out.class_labels = [self.class_labels[o] for o in order0]
        out.fit_options = dict(self.fit_options)
        out.search, out.degenerate, out.warnings = self.search, self.degenerate, list(self.warnings)
        return out

    # ----------------------------------------------------------- display
    def term_label(self, term: str) -> TermLabel:
        """Variable and factor level of a coefficient name (from the formulas' ModelSpec).

        ``"health[T.poor]"`` -> ``TermLabel("health", "poor")``; the intercept
        is ``_cons``; ancillary and unknown names are their own variable.
        """
        labels = self.model.design.term_labels
        if term == "Intercept":
            return TermLabel("_cons")
        if term not in labels and ":" in term:
            # a multi-equation family names its coefficients "<equation>:<term>" (mlogit outcomes)
            _, rest = term.split(":", 1)
            if rest == "Intercept" or rest in labels:
                return self.term_label(rest)
        return labels.get(term, TermLabel(term))

    def _ancillary_rows(self, k: int, term: str, b: float, se: float, alpha: float) -> list[Row]:
        fam = self.families[k - 1]
        disp = fam.ancillary_display(term, self.yname)
        q = stats.norm.ppf(1 - alpha / 2)
        if disp is None:
            z = b / se if se > 0 else np.nan
            p = 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan
            return [Row(f"/{term}", b, se, z, p, b - q * se, b + q * se, kind="aux")]
        disp = AncillaryDisplay(*disp)
        f, df = disp.transform, disp.derivative
        lo, hi = sorted((f(b - q * se), f(b + q * se)))
        if disp.keep_estimate:
            # Stata's nbreg: /lnalpha without z and P, a rule, then alpha
            return [
                Row(f"/{term}", b, se, np.nan, np.nan, b - q * se, b + q * se, kind="aux"),
                Row("", kind="rule"),
                Row(disp.label, f(b), abs(df(b)) * se, np.nan, np.nan, lo, hi, kind="aux"),
            ]
        return [Row(disp.label, f(b), abs(df(b)) * se, np.nan, np.nan, lo, hi, kind="anc")]

    #: Set by the fit (:func:`fmmreg.diagnostics.report_fit`): whether the
    #: solution is degenerate, and every warning message of the fit.
    degenerate: bool = False
    warnings: list[str] = []  # noqa: RUF012 (replaced per instance by the fit)
    #: The start search's record (:class:`fmmreg.estimation.starts.SearchResult`).
    search = None

    @property
    def n_replicated(self) -> int:
        """Distinct starts that reached the returned maximum (Mplus's replication count)."""
        return int(self.search.n_replicated) if self.search is not None else 1

    @property
    def local_maxima(self) -> pd.DataFrame:
        """Distinct maxima the search refined: log likelihood, starts reaching it, shares, degenerate flag."""
        return self.search.maxima if self.search is not None else pd.DataFrame()

    def starts_note(self) -> str:
        """One line on the start search for the summary: replication and the other maxima."""
        tab, search = self.starts, self.search
        if search is None:
            return f"Starts: {len(tab)}."
        if len(tab) == 1:
            return f"Start: {tab['kind'].iloc[0]} (no search)."
        refined = int(tab["refined"].sum())
        where = f" on a subsample of {search.subsample:,} rows" if search.subsample else ""
        msg = (
            f"Starts: {len(tab)} drawn{where}, {refined} refined; the best log likelihood was reached from "
            f"{search.n_replicated} distinct start(s)"
        )
        others = search.maxima[~search.maxima.get("best", False)]
        if len(others):
            shown = [f"{r.llf:.4f}{' (degenerate)' if r.degenerate else ''}" for r in others.head(5).itertuples()]
            msg += f"; other local maxima{' on the subsample' if where else ''}: " + ", ".join(shown)
            if len(others) > 5:
                msg += f" and {len(others) - 5} more"
        return msg + "."

    def summary(self, alpha: float = 0.05, eform: bool | str = False, irr: bool = False, or_: bool = False) -> Summary:
        """Stata-style summary table (print it, or ``.as_html()``).

        Parameters
        ----------
        alpha : float
            1 - confidence level.
        eform : bool or str
            Show ``exp(b)`` (column ``exp(b)``, or the given string as the
            column title, as Stata's ``eform(string)``) with delta-method
            standard errors ``exp(b) se(b)`` and confidence intervals ``exp``
            of the coefficient's endpoints; z and P are those of ``b``. Applies
            to the component and the class-membership equations; ancillary
            parameters (``var(e.y)``, ``/lnalpha``, cut points) are shown as
            without ``eform``, as Stata does.
        irr : bool
            ``eform`` titled ``IRR`` (incidence-rate ratios, count models).
        or_ : bool
            ``eform`` titled ``Odds ratio`` (logit models).
        """
        return build_summary(self, alpha, eform=eform, irr=irr, or_=or_)

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        return f"<FMMResults: {self.k} classes, llf={self.llf:.4f}, nobs={self.nobs:g}>"

"""Nonparametric bootstrap of a mixture fit (Stata's ``bootstrap`` prefix).

Each replicate draws observations (or whole clusters) with replacement,
refits the model by :meth:`fmmreg.FMM.fit` started at the original
estimates, and matches its classes to the original ones before its
estimates are stored: mixture labels are arbitrary, so a replicate that
converged with two classes swapped would otherwise inflate the spread.

A resample is represented by frequency weights on the fitted arrays (a row
drawn three times gets weight three), which gives the same likelihood as
stacking the drawn rows and needs no re-encoding of the data.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment
from threadpoolctl import threadpool_limits

from fmmreg.estimation.relabel import permute_theta
from fmmreg.exceptions import FMMError
from fmmreg.families.base import class_responses
from fmmreg.reporting.coeftable import CoefRow, column_header, table_latex, table_markdown, table_text
from fmmreg.reporting.export import TextReport
from fmmreg.reporting.formatting import display_term, thousands
from fmmreg.reporting.progress import progress_iter


# ----------------------------------------------------------------- replicas
def replicate_model(
    model,
    class_map: list[int],
    rows: np.ndarray | None = None,
    weights=None,
    y=None,
    columns: dict[str, np.ndarray] | None = None,
):
    """A copy of ``model`` on some rows, with new weights and/or response, classes in ``class_map`` order.

    Parameters
    ----------
    model : FMM
        The fitted model specification (not modified).
    class_map : list of int
        Class order of the results the replicate is compared with; the
        copy's class ``k`` is ``model``'s class ``class_map[k]``, so its
        parameters are laid out like those results'.
    rows : ndarray of int, optional
        Positions (in the rows used) to keep; all rows by default.
    weights : ndarray, optional
        Frequency weights of the kept rows (default: the model's).
    y : ndarray, optional
        A response for the kept rows (default: the observed one).
    columns : dict, optional
        New values of the data columns the families read (a simulated
        failure indicator), by column name, for the kept rows; columns not
        given keep their observed values.

    Notes
    -----
    The offsets and the families' data columns follow the kept rows, and
    each class's response array is rebuilt from the (new) response and
    columns (:func:`fmmreg.families.base.class_responses`).
    """
    d = model.design
    sel = slice(None) if rows is None else rows
    cache: dict[int, np.ndarray] = {}
    designs = [cache.setdefault(id(d.designs[j]), np.ascontiguousarray(d.designs[j][sel])) for j in class_map]
    y_new = np.asarray(d.y, dtype=float)[sel] if y is None else np.asarray(y)
    cols_new = {c: v[sel] for c, v in d.columns.items()}
    cols_new.update({c: np.asarray(v, dtype=float) for c, v in (columns or {}).items() if c in cols_new})
    if weights is None:
        weights = None if d.weights is None else d.weights[sel]
    rep = copy.copy(model)
    rep.design = dataclasses.replace(
        d,
        y=y_new,
        designs=designs,
        xnames=[d.xnames[j] for j in class_map],
        x_specs=[d.x_specs[j] for j in class_map],
        Z=np.ascontiguousarray(d.Z[sel]),
        weights=None if weights is None else np.asarray(weights, dtype=float),
        index=d.index[sel],
        formulas=[d.formulas[j] for j in class_map],
        rows=None if getattr(d, "rows", None) is None else d.rows[sel],
        columns=cols_new,
        extra={key: v[sel] for key, v in d.extra.items()},
    )
    rep.families = [model.families[j] for j in class_map]
    # offsets follow the rows and the classes like the designs
    rep.offset_specs = [model.offset_specs[j] for j in class_map]
    rep.offsets = [None if model.offsets[j] is None else model.offsets[j][sel] for j in class_map]
    if getattr(model, "panel", None) is not None:
        rep.panel = model.panel if rows is None else model.panel.subset(rows)
    rep.k = len(class_map)
    rep.offset_specs = [model.offset_specs[j] for j in class_map]
    rep.offsets = [None if model.offsets[j] is None else model.offsets[j][sel] for j in class_map]
    rep.ys = class_responses(rep.families, y_new, cols_new)
    rep.y = rep.ys[0]
    rep.hybrid = True  # keep the given class order
    # the same constraints (lcinvariant, constraints=, class_formula list), in the new class order
    rep.constraints = model.constraints_for(class_map)
    return rep


def refit(model, start: np.ndarray | None = None, converged_only: bool = True, **fit_options):
    """``model.fit`` with its warnings silenced; ``None`` if it fails (or, by default, does not converge).

    ``fit_options`` are those of the original fit (``res.fit_options``: the
    engine and the start search), so a replicate is estimated like the fit;
    the model's constraints come with the model. The caller sets the BLAS
    threads once for all replicates (see :func:`one_blas_thread`); each fit
    leaves them alone.
    """
    fit_options.setdefault("blas_threads", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = model.fit(start=start, order="fit", **fit_options)
        except (ValueError, RuntimeError, np.linalg.LinAlgError, FloatingPointError):
            return None
    if (converged_only and not res.converged) or not np.isfinite(res.llf):
        return None
    return res


def one_blas_thread():
    """One BLAS thread around a loop of fits (as :meth:`FMM.fit` does per fit, set once: it costs ~20 ms)."""
    return threadpool_limits(limits=1, user_api="blas")


def _compatible(res) -> np.ndarray:
    """Which class pairs may swap labels: same family and the same formula."""
    d = res.model.design
    keys = [(repr(res.families[k]), d.formulas[j]) for k, j in enumerate(res.class_map)]
    return np.array([[a == b for b in keys] for a in keys])


def match_classes(res, theta: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Relabel ``theta`` (laid out like ``res``) to agree best with ``res``'s classes.

    Returns the relabelled parameters and the order (0-based: new class
    ``j`` is the replicate's class ``order[j]``).

    Notes
    -----
    Agreement of original class ``j`` with replicate class ``k`` is
    ``sum_i w_i t_ij s_ik`` for the posteriors ``t`` (original) and ``s``
    (replicate) on the original sample; the assignment maximising the total
    agreement (Hungarian algorithm) is taken, among classes with the same
    family and formula.
    """
    if res.k == 1:
        return theta, [0]
    tau0 = res.posterior_array
    with np.errstate(all="ignore"):
        tau = res.lik.estep(theta)[1]
    agree = (tau0 * res.lik.w[:, None]).T @ tau
    cost = np.where(_compatible(res), -agree, np.inf)
    cost = np.where(np.isfinite(cost), cost, 1e300)
    _, cols = linear_sum_assignment(cost)
    order = [int(c) for c in cols]
    if order == list(range(res.k)):
        return theta, order
    return permute_theta(res.lik, theta, order), order


# -------------------------------------------------------------- resampling
def _cluster_codes(res, cluster) -> np.ndarray:
    n = len(res.lik.y)
    if isinstance(cluster, str):
        data = getattr(res.model, "data", None)
        rows = getattr(res.model.design, "rows", None)
        if data is None or rows is None or cluster not in data.columns:
            raise FMMError(f"cluster={cluster!r} is not a column of the fitted data; pass one label per row used")
        labels = data[cluster].iloc[rows]
    elif isinstance(cluster, pd.Series) and len(cluster) != n:
        labels = cluster.reindex(res.model.design.index)
    else:
        labels = pd.Series(np.asarray(cluster))
        if len(labels) != n:
            raise FMMError(f"cluster must have one label per row used ({n}), got {len(labels)}")
    if pd.isna(labels).any():
        raise FMMError("cluster labels are missing for some rows used; every row needs a cluster")
    codes, _ = pd.factorize(np.asarray(labels))
    return codes


def resample_weights(w: np.ndarray, codes: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Frequency weights of one bootstrap resample.

    Without clusters and with integer weights, the ``N = sum w`` units are
    drawn (a multinomial over rows with probabilities ``w / N``); with
    non-integer weights the rows are drawn and keep their weights. With
    clusters, the ``G`` clusters are drawn and every row of a cluster drawn
    ``c`` times gets weight ``c w_i``.
    """
    n = len(w)
    if codes is not None:
        g = int(codes.max()) + 1
        counts = rng.multinomial(g, np.full(g, 1.0 / g))
        return w * counts[codes]
    if np.all(w == np.round(w)):
        total = int(round(w.sum()))
        return rng.multinomial(total, w / w.sum()).astype(float)
    return w * rng.multinomial(n, np.full(n, 1.0 / n))


# ----------------------------------------------------------------- results
@dataclass(repr=False)
class BootstrapResults(TextReport):
    """Bootstrap replicates of a fit, printed like Stata's ``bootstrap`` table.

    Attributes
    ----------
    params : Series
        The original estimates.
    replicates : DataFrame
        One row per replication (NaN for the failed ones), one column per
        parameter, classes matched to the original ones.
    n_failed : int
        Replications that failed or did not converge (left out).
    n_relabelled : int
        Replications whose classes were relabelled to match the original.
    """

    params: pd.Series
    replicates: pd.DataFrame
    n_failed: int
    n_relabelled: int
    nobs: float
    cluster: str | None = None
    alpha: float = 0.05

    @property
    def reps(self) -> int:
        return len(self.replicates)

    @property
    def _ok(self) -> pd.DataFrame:
        return self.replicates.dropna(how="any")

    @property
    def bse(self) -> pd.Series:
        """Bootstrap standard errors (standard deviation of the replicates, ``ddof=1``)."""
        return self._ok.std(ddof=1).rename("bse")

    @property
    def bias(self) -> pd.Series:
        """Mean of the replicates minus the original estimate."""
        return (self._ok.mean() - self.params).rename("bias")

    def cov_params(self) -> pd.DataFrame:
        """Bootstrap covariance of the estimates."""
        return self._ok.cov(ddof=1)

    def conf_int(self, alpha: float | None = None, kind: str = "percentile") -> pd.DataFrame:
        """Percentile (default) or normal-based intervals, columns 0 and 1 as statsmodels."""
        alpha = self.alpha if alpha is None else alpha
        if kind == "percentile":
            lo, hi = np.percentile(self._ok.to_numpy(), [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
            return pd.DataFrame({0: lo, 1: hi}, index=self.params.index)
        if kind == "normal":
            q = stats.norm.ppf(1 - alpha / 2)
            return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})
        raise FMMError(f"kind must be 'percentile' or 'normal', got {kind!r}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: observed coefficient, bias, bootstrap SE, z, p, percentile and normal intervals."""
        b, se = self.params, self.bse
        with np.errstate(divide="ignore", invalid="ignore"):
            z = b / se
        pct, nrm = self.conf_int(kind="percentile"), self.conf_int(kind="normal")
        eq = b.index.get_level_values(0)
        return pd.DataFrame(
            {
                "equation": eq,
                "term": b.index.get_level_values(1),
                "coef": b.to_numpy(),
                "bias": self.bias.to_numpy(),
                "se": se.to_numpy(),
                "z": z.to_numpy(),
                "p": 2 * stats.norm.sf(np.abs(z.to_numpy())),
                "ci_low": pct[0].to_numpy(),
                "ci_high": pct[1].to_numpy(),
                "ci_low_normal": nrm[0].to_numpy(),
                "ci_high_normal": nrm[1].to_numpy(),
            }
        )

    def _rows(self) -> list[CoefRow]:
        frame = self.to_frame()
        rows: list[CoefRow] = []
        for i, (eq, block) in enumerate(frame.groupby("equation", sort=False)):
            if i:
                rows.append(CoefRow(kind="rule"))
            rows.append(CoefRow(str(eq), kind="header"))
            for _, r in block.iterrows():
                term = display_term(str(r["term"]))
                rows.append(CoefRow(term, r["coef"], r["se"], r["z"], r["p"], r["ci_low"], r["ci_high"]))
        return rows

    def as_text(self) -> str:
        ok = len(self._ok)
        lines = [
            "",
            f"{'Bootstrap results':<48}Number of obs     = {thousands(self.nobs):>10}",
            f"{'':<48}Replications      = {thousands(ok):>10}",
        ]
        if self.cluster:
            lines.append(f"(Replications based on clusters in {self.cluster})")
        lines.append("")
        head = [
            f"{'':13}|   Observed   Bootstrap                          Percentile",
            column_header("coefficient", self.alpha)[0],
        ]
        lines += table_text(head, self._rows())
        notes = []
        if self.n_failed:
            notes.append(f"Note: {self.n_failed} of {self.reps} replications failed or did not converge.")
        if self.n_relabelled:
            notes.append(f"Note: {self.n_relabelled} replications had their classes relabelled to match the fit.")
        return "\n".join(lines + notes)

    def to_markdown(self) -> str:
        return table_markdown(self._rows(), "Observed coefficient", self.alpha, "Bootstrap std. err.")

    def to_latex(self) -> str:
        return table_latex(self._rows(), "Observed coefficient", self.alpha, "Bootstrap std. err.")


def bootstrap(
    res,
    reps: int = 200,
    cluster=None,
    random_state: int | np.random.Generator | None = 0,
    progress: bool = False,
    alpha: float = 0.05,
) -> BootstrapResults:
    """Nonparametric bootstrap of ``res``; see :meth:`PostestimationMixin.bootstrap`."""
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
        raise FMMError(f"reps must be an integer of at least 2, got {reps!r}")
    rng = np.random.default_rng(random_state)
    codes = None if cluster is None else _cluster_codes(res, cluster)
    panel = getattr(res, "panel", None)
    if panel is not None:
        # a grouped model's units are its groups: resample whole groups (or clusters of them)
        if codes is None:
            codes, cluster = panel.groups.codes, panel.name
        else:
            panel.check_nested(codes, cluster if isinstance(cluster, str) else None)
    w0 = np.asarray(res.lik.w, dtype=float)
    theta0 = np.asarray(res.theta, dtype=float)
    out = np.full((int(reps), len(theta0)), np.nan)
    failed = relabelled = 0
    with one_blas_thread():
        for r in progress_iter(range(int(reps)), progress, total=int(reps), desc="bootstrap"):
            w = resample_weights(w0, codes, rng)
            rows = np.flatnonzero(w > 0)
            rep = replicate_model(res.model, res.class_map, rows, w[rows])
            fit = refit(rep, start=theta0, **res.fit_options)
            if fit is None:
                failed += 1
                continue
            theta, order = match_classes(res, fit.theta)
            relabelled += order != list(range(res.k))
            out[r] = theta
    name = cluster if isinstance(cluster, str) else ("(given labels)" if cluster is not None else None)
    reps_frame = pd.DataFrame(out, columns=res.params.index)
    if failed > reps // 2:
        warnings.warn(
            f"{failed} of {reps} bootstrap replications failed or did not converge; the bootstrap is unreliable",
            RuntimeWarning,
            stacklevel=3,
        )
    return BootstrapResults(res.params, reps_frame, failed, int(relabelled), res.nobs, name, alpha)

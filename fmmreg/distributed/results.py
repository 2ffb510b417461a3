"""Results of a Dask fit: the in-memory results object with its per-row parts computed per partition.

:class:`DaskFMMResults` is an :class:`fmmreg.FMMResults`: ``params``,
``bse``, ``cov_params()``, ``llf``, ``summary()``, tests, ``lcprob()``,
``lcmean()``, ``ic()`` and ``with_vce()`` give the in-memory numbers. What
needs the rows is reduced over the partitions on demand: the class shares,
mean posteriors, entropy and the ``estat`` sums (one pass, cached), the
OPG/robust meat (one pass) and the cluster sums of the scores (one pass,
grouped by cluster in each partition, then combined by cluster).

Per-row outputs are Dask DataFrames, lazy, with the input's divisions:
``res.posterior``, ``res.prior`` and ``res.predict(...)`` (in sample: the
rows used, labelled by the input's index; on new data: every row, NaN where
a needed value is missing). Their columns are strings so they can be written
to Parquet: ``<kind><class>`` (``mu1``, ``classposteriorpr2``), scores
``<equation>:<term>``, and a marginal prediction is a Series named ``kind``.
"""

from __future__ import annotations

import copy
import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd

from fmmreg.distributed import kernels
from fmmreg.estimation.vce import invert_information, sandwich
from fmmreg.exceptions import FMMError
from fmmreg.postestimation import estat
from fmmreg.postestimation.vce import OIM, VCESpec, resolve_vce
from fmmreg.results import FMMResults


def resolve_vce_dask(model, vce, cluster) -> VCESpec:
    """:func:`fmmreg.postestimation.vce.resolve_vce` for a Dask model: a cluster variable is a column name.

    The number of clusters is counted when the cluster sums are computed.
    """
    if cluster is None or (vce is not None and str(vce).lower() != "cluster"):
        return resolve_vce(model, vce, cluster)  # every option error of the in-memory fit; reads no rows
    if not isinstance(cluster, str):
        raise FMMError("with a Dask DataFrame, cluster= must be a column name of the data")
    if cluster not in model.data.columns:
        raise FMMError(f"cluster variable {cluster!r} not found in data; give a column name or an array")
    return VCESpec("cluster", None, cluster, None)


def _unavailable(what: str):
    def method(self, *args, **kwargs):
        raise FMMError(
            f"{what} is not available for a fit on a Dask DataFrame yet; run it on an in-memory fit of a sample "
            "(res.sample_results) or of ddf.compute()"
        )

    method.__name__ = what
    method.__doc__ = f"Not available for a Dask fit (raises :class:`FMMError`): {what}."
    return method


class DaskFMMResults(FMMResults):
    """:class:`fmmreg.FMMResults` of a fit on a Dask DataFrame (see the module notes)."""

    # ----------------------------------------------------------- counts
    @property
    def nobs(self) -> float:
        """Number of observations, as in memory (rows used; the weight sum for fweights/iweights)."""
        s = self.model.summary_stats
        kind = self.weight_type
        if kind is None:
            return float(s.n_used)
        return float(s.wsum) if kind in ("fweight", "iweight") else float(s.wnnz)

    @cached_property
    def _sums(self) -> dict:
        """One pass: the sums behind the class shares, mean posteriors, entropy and ``estat`` tables.

        The fit sets them from its last pass (:func:`fmmreg.distributed.model.relabel_sums`).
        """
        out = self.lik.runner.map_reduce(kernels.fit_statistics, self.class_map, self.theta)
        keys = ("wsum", "n", "mean", "prior", "post", "post_rows", "entropy", "prob_grad", "mean_grad")
        return dict(zip(keys, out))

    @property
    def class_shares(self) -> pd.Series:
        s = self._sums
        return pd.Series(s["prior"] / s["wsum"], index=self._class_columns(), name="share")

    @property
    def mean_posterior(self) -> pd.Series:
        s = self._sums
        return pd.Series(s["post_rows"] / s["n"], index=self._class_columns(), name="posterior")

    # ---------------------------------------------------------- per row
    @property
    def posterior_array(self):
        raise FMMError(
            "a Dask fit keeps its rows in the partitions: res.posterior is a Dask DataFrame "
            "(res.posterior.compute() for pandas)"
        )

    prior_array = posterior_array

    @property
    def posterior(self):
        """Posterior class probabilities of the rows used: a lazy Dask DataFrame with the input's divisions."""
        return self.predict(kind="classposteriorpr")

    @property
    def prior(self):
        """Membership-model class probabilities of the rows used (lazy Dask DataFrame)."""
        return self.predict(kind="classpr")

    def predict(self, newdata=None, kind="mu", marginal=False, weighting="prior", cls=None, nooffset=False):
        """Predictions as :meth:`fmmreg.FMMResults.predict`, lazily per partition.

        ``newdata=None``: the rows used, from the encoded partitions (a Dask
        DataFrame with the input's divisions); a Dask DataFrame: its
        partitions (same divisions); a pandas DataFrame: computed in memory
        as for an in-memory fit (with the in-memory column labels).
        """

        options = {"kind": kind, "marginal": marginal, "weighting": weighting, "cls": cls, "nooffset": nooffset}
        proxy = self._predict_proxy()
        if isinstance(newdata, pd.DataFrame):
            from fmmreg.postestimation.predict import predict

            return predict(proxy, newdata, **options)
        template = proxy.for_partition(self.model._template)
        from fmmreg.postestimation.predict import predict

        sample = proxy.rename(predict(template, None, **options), kind)
        if newdata is None:
            # the raw partitions, encoded again in each task: the output has the input's partitions and
            # divisions whatever Dask's optimiser does with them (it may fuse Parquet partitions)
            meta = _empty_like(sample, self.model.data._meta.index)
            encode_plan = self.model._plan
            frame = self.model.data[encode_plan.columns.required]
            return frame.map_partitions(kernels.predict_rows, encode_plan, proxy, options, meta, meta=meta)
        from fmmreg.distributed import is_dask_dataframe

        if not is_dask_dataframe(newdata):
            raise TypeError(f"newdata must be a pandas or Dask DataFrame, got {type(newdata).__name__}")
        meta = _empty_like(sample, newdata._meta.index)
        return newdata.map_partitions(kernels.predict_newdata, proxy, options, meta=meta)

    def _predict_proxy(self) -> PredictProxy:
        return PredictProxy(
            theta=self.theta,
            class_map=self.class_map,
            k=self.k,
            families=self.families,
            params=self.params,
            yname=self.yname,
            design=self.model.design,
            offset_specs=self.model.offset_specs,
            lik=self.lik.template,
        )

    # ------------------------------------------------------------ estat
    def lcprob(self, alpha: float = 0.05) -> estat.LCProb:
        """Stata's ``estat lcprob``, from sums over the partitions (see :func:`fmmreg.postestimation.estat.lcprob`)."""
        s = self._sums
        margin = s["prior"] / s["wsum"]
        grad = s["prob_grad"] / s["wsum"]
        n_mem = self.lik.n_mem
        return estat.lcprob_table(self, margin, grad, self._cov[:n_mem, :n_mem], alpha)

    def lcmean(self, alpha: float = 0.05) -> estat.LCMean:
        """Stata's ``estat lcmean``, from sums over the partitions (see :func:`fmmreg.postestimation.estat.lcmean`)."""
        s = self._sums
        margin = s["mean"] / s["wsum"]
        grad = s["mean_grad"] / s["wsum"]
        return estat.lcmean_table(self, margin, grad, self._cov, alpha)

    def ic(self) -> estat.InfoCriteria:
        """Stata's ``estat ic`` with entropy and ICL (see :func:`fmmreg.postestimation.estat.info_criteria`)."""
        return estat.info_criteria_from(self.llf, self.df_model, self.nobs, self.k, self._sums["entropy"], self.nobs)

    # -------------------------------------------------------------- VCE
    def _apply_vce(self, spec: VCESpec) -> DaskFMMResults:
        """The covariance under ``spec``: OIM from the fit, OPG/robust/cluster from a pass over the partitions."""
        runner, kind = self.lik.runner, self.weight_type
        if spec.kind == "oim":
            cov = self._cov_oim
        elif spec.kind == "opg":
            info = runner.map_reduce(kernels.score_cross, self.class_map, self.theta, "opg")
            cov = invert_information(info, "OPG (outer product of the scores)")
        elif spec.kind == "robust":
            s = self.model.summary_stats
            n = s.wsum if kind == "fweight" else float(s.wnnz)
            meat = runner.map_reduce(kernels.score_cross, self.class_map, self.theta, kind)
            cov = sandwich(self._cov_oim, meat, n / (n - 1.0))
        else:
            spec, meat = self._cluster_meat(spec)
            g = spec.n_clusters
            cov = sandwich(self._cov_oim, meat, g / (g - 1.0))
        self.vce_spec = spec
        self._cov = cov
        return self

    def _cluster_meat(self, spec: VCESpec) -> tuple[VCESpec, np.ndarray]:
        import dask

        from fmmreg.distributed.likelihood import tree_reduce

        name = spec.cluster_name
        encode_plan = self.model._plan
        raw = self.model.data[list(dict.fromkeys([*encode_plan.columns.required, name]))].to_delayed()
        task = dask.delayed(kernels.cluster_sums, pure=False)
        missing, sums = tree_reduce(
            [task(p, encode_plan, name, self.class_map, self.theta) for p in raw], kernels.add_cluster_sums
        )
        if missing:
            raise FMMError(
                f"cluster variable {name!r} is missing in {missing} of the rows used; "
                "drop those rows from data (or give them a cluster) before fitting"
            )
        n_clusters = int((sums.pop("_weighted") > 0).sum())
        if n_clusters < 2:
            raise FMMError(f"cluster variable {name!r} has {n_clusters} cluster(s); need at least 2")
        s = sums.to_numpy()
        return VCESpec("cluster", None, name, n_clusters), s.T @ s

    def with_vce(self, vce: str, cluster=None) -> DaskFMMResults:
        """The same fit under another variance estimator (see :meth:`fmmreg.FMMResults.with_vce`)."""
        spec = resolve_vce_dask(self.model, vce, cluster)
        return copy.copy(self)._apply_vce(spec)

    # ------------------------------------------------------- relabelling
    def relabel(self, order) -> DaskFMMResults:
        """Reorder classes (see :meth:`fmmreg.FMMResults.relabel`); the covariance is recomputed."""
        from fmmreg.estimation.relabel import check_order, permute_theta

        order0 = check_order(order, self.k)
        theta = permute_theta(self.lik, self.theta, order0)
        new_map = [self.class_map[o] for o in order0]
        res = DaskFMMResults(self.model, theta, new_map, self.trace, self.starts)
        res.sample_results = getattr(self, "sample_results", None)
        res.search, res.degenerate, res.warnings = self.search, self.degenerate, list(self.warnings)
        res.class_labels = [self.class_labels[o] for o in order0]
        res.fit_options = dict(self.fit_options)
        return res._apply_vce(self.vce_spec)

    # ------------------------------------------------------------ notes
    def starts_note(self) -> str:
        sample = getattr(self, "sample_results", None)
        if sample is None:
            return "Starts: your start values, refined on all rows."
        note = sample.starts_note().removeprefix("Starts: ").rstrip(".")
        return f"Starts: on an in-memory sample of {len(sample.lik.y):,} rows: {note}; the best refined on all rows."

    # ------------------------------------------------------ diagnostics
    def _response_sd(self) -> float:
        """:func:`fmmreg.estimation.degeneracy.response_sd` from the summed moments (first class with a scale)."""
        sds = self.model.summary_stats.response_sd
        scaled = [j for j, fam in zip(self.class_map, self.families) if "lnsigma" in fam.ancillary_names]
        return float(sds[scaled[0] if scaled else self.class_map[0]])

    def _class_findings(self, rule) -> list:
        """The size and scale parts of the degeneracy rule, from the summed posteriors (see
        :func:`fmmreg.estimation.degeneracy.class_findings`; used by :func:`fmmreg.diagnostics.fit_messages`)."""
        from fmmreg.estimation.degeneracy import class_findings

        view = _SizesView(np.ones(1), self.lik.comp_sizes, self.lik.families, self.lik.unpack)
        return class_findings(view, self.theta, self._sums["post"][None, :], self._response_sd(), rule)

    def _parameter_units(self) -> np.ndarray:
        """:func:`fmmreg.diagnostics.parameter_units` with the designs' standard deviations summed over partitions."""
        index_sd = self.model.summary_stats.index_sd
        units = np.ones(self.lik.n_params)
        sd_y = self._response_sd() or 1.0
        for idx in self.lik.template._indices:
            key = ("mem",) if idx.kind == "mem" else ("comp", self.class_map[idx.cls], idx.pos)
            if idx.design is None or key not in index_sd:
                continue
            sd = np.where(index_sd[key] > 0, index_sd[key], 1.0)
            if idx.kind == "comp":
                fam = self.lik.families[idx.cls]
                if "lnsigma" in fam.ancillary_names and idx.pos < fam.n_linear:
                    sd = sd / sd_y
            units[idx.sl] = sd
        return units

    # the row-level tools of an in-memory fit
    margins = _unavailable("margins")
    bootstrap = _unavailable("bootstrap")
    lrtest = _unavailable("lrtest")
    plot_posterior = _unavailable("plot_posterior")
    plot_class_means = _unavailable("plot_class_means")

    def __repr__(self) -> str:
        return f"<DaskFMMResults: {self.k} classes, llf={self.llf:.4f}, nobs={self.nobs:g}>"


@dataclasses.dataclass
class PredictProxy:
    """What :func:`fmmreg.postestimation.predict.predict` reads from a results object, without the data.

    Small and picklable (no Dask collection), so each task gets it; for the
    rows used of a partition :meth:`for_partition` binds the partition's
    likelihood and index.
    """

    theta: np.ndarray
    class_map: list
    k: int
    families: list
    params: pd.Series
    yname: str
    design: object
    offset_specs: list
    lik: object

    @property
    def model(self):
        return _ModelView(self.design, self.offset_specs)

    def for_partition(self, enc) -> PredictProxy:
        return dataclasses.replace(
            self, lik=enc.likelihood(self.class_map), design=dataclasses.replace(self.design, index=enc.index)
        )

    def rename(self, out, kind: str):
        """String column labels, as Parquet needs: ``<kind><class>``, scores ``<equation>:<term>``."""
        if isinstance(out, pd.Series):
            return out
        if isinstance(out.columns, pd.MultiIndex):
            out.columns = [f"{eq}:{term}" for eq, term in out.columns]
        else:
            out.columns = [f"{kind}{c}" for c in out.columns]
        return out


@dataclasses.dataclass
class _SizesView:
    """What :func:`fmmreg.estimation.degeneracy.class_findings` reads of a likelihood: with ``w = [1]`` and
    the summed posteriors as one row, ``w @ tau`` is the effective class sizes."""

    w: np.ndarray
    comp_sizes: list
    families: list
    unpack: object
    #: one unit per row (a Dask fit has no groups)
    n: int = 1
    n_units: int = 1


@dataclasses.dataclass
class _ModelView:
    design: object
    offset_specs: list


def _empty_like(sample, index: pd.Index):
    """An empty frame (or Series) with ``sample``'s columns and dtypes and ``index``'s type."""
    empty_index = index[:0]
    if isinstance(sample, pd.Series):
        return pd.Series([], index=empty_index, dtype=sample.dtype, name=sample.name)
    return pd.DataFrame({c: pd.Series([], dtype=sample[c].dtype) for c in sample.columns}, index=empty_index)


__all__ = ["DaskFMMResults", "PredictProxy", "resolve_vce_dask", "OIM"]

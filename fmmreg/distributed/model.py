"""``DaskFMM``: the finite mixture model on a Dask DataFrame.

``FMM(..., data=ddf)`` and ``fmm(..., data=ddf)`` create this model when
``data`` is a Dask DataFrame. Building it reads the data twice: the first
pass collects the categorical levels of all partitions and the counts of
the data checks (:mod:`fmmreg.distributed.plan`; the in-memory checks run
with them, so errors count all rows), the second encodes every partition and
runs the in-memory per-row checks on it, then the checks that concern all
rows (a response that does not vary, collinear designs, too few
observations, weights that are all zero) run on the summed statistics.
``fit()``:

1. **starts on a sample**: a random sample of ``sample_rows`` rows (default
   100,000, drawn per partition with ``random_state``) plus the prototype
   rows is fitted in memory by :meth:`fmmreg.FMM.fit` -- the whole start
   search (:class:`fmmreg.estimation.starts.StartSearch`), refined to
   convergence on the sample, with the user's search options;
2. **refinement on all rows**: from the sample's estimate, Newton on the
   full log likelihood (:func:`fmmreg.estimation.engine.fit_from` on a
   :class:`~fmmreg.distributed.likelihood.PartitionedLikelihood`; with
   ``start=``, generalised EM first), every sum computed per partition and
   reduced on Dask's scheduler, then one more Newton step with the
   derivatives at the converged point (:func:`final_newton_step`);
3. the class order, diagnostics (:func:`fmmreg.diagnostics.report_fit`)
   and standard errors as in memory.

The encoded partitions are kept in the workers' memory (``persist=True``)
when they fit in about 40% of it, so each pass costs only the arithmetic;
otherwise every pass reads and encodes the partitions again (Parquet
re-read), which works for data of any size.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fmmreg.constraints import check_class_base, check_class_labels, resolve_class_formulas
from fmmreg.diagnostics import report_fit
from fmmreg.distributed import kernels, plan, require_dask
from fmmreg.distributed.likelihood import PartitionedLikelihood, PartitionRunner
from fmmreg.estimation.constrained import feasible, newton_direction
from fmmreg.estimation.degeneracy import DEFAULT_RULE
from fmmreg.estimation.engine import check_engine, fit_from
from fmmreg.estimation.linalg import jacobi_scale
from fmmreg.estimation.relabel import check_order, permute_theta, relabel_matrix
from fmmreg.exceptions import DataWarning, FMMError
from fmmreg.families import get_family
from fmmreg.formula import _warn_many_levels
from fmmreg.model import FMM, _broadcast, _formulas_first, start_options
from fmmreg.offsets import check_offset_families, extra_columns, resolve_offsets
from fmmreg.panel import group_name as panel_group_name
from fmmreg.panel import resolve_group
from fmmreg.reporting.progress import FitProgress
from fmmreg.weighting import check_weights, resolve_weights

#: Rows of the in-memory sample the start search runs on.
SAMPLE_ROWS = 100_000
#: Share of the workers' memory the encoded partitions may take when ``persist="auto"``.
PERSIST_SHARE = 0.4


@dataclasses.dataclass
class DataSummary:
    """Counts over all partitions, from the encoding pass."""

    n_input: int
    n_used: int
    wsum: float
    wnnz: int
    encoded_bytes: int
    #: standard deviation of each model class's response (first column, finite values)
    response_sd: list[float]
    #: column standard deviations of each linear index's design: key ``("mem",)`` or
    #: ``("comp", model class, index position)`` (see :func:`_index_moments`)
    index_sd: dict


class DaskFMM(FMM):
    """:class:`fmmreg.FMM` on a Dask DataFrame (created by ``FMM``/``fmm`` for Dask data).

    Same parameters as :class:`fmmreg.FMM` (constraints, ``class_base``,
    ``class_labels`` and per-class class formulas included); ``weights``,
    ``offset``, ``exposure`` (and ``cluster=`` at fit time) must be column
    names. Refused, with an :class:`FMMError`: families that learn their
    outcome levels from the data (``ologit``, ``oprobit``, ``mlogit``),
    ``Tobit(lower="min")`` / ``upper="max"``, panel models (``group=``,
    ``"y ~ x | id"``), stateful formula transforms (``center()``, ``bs()``, ...).
    """

    def __init__(
        self,
        k,
        formula=None,
        data=None,
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
        require_dask()
        import dask

        k, formula, data = _formulas_first(k, formula, data)
        self.k, formulas, fam_specs = _broadcast(k, formula, family)
        formulas, group = resolve_group(formulas, group)
        if group is not None:
            raise FMMError(
                f"group={panel_group_name(group)!r} (a panel model, 'y ~ x | id') is not available for a Dask "
                "DataFrame: the rows of a group enter the likelihood together and a group may span partitions; "
                "fit it in memory (data=ddf.compute()), or on a sample of whole groups"
            )
        self.hybrid = isinstance(formula, (list, tuple)) or isinstance(family, (list, tuple))
        self.families = [get_family(f) for f in fam_specs]
        self._refuse_families()
        self.weight_spec = resolve_weights(weights, fweights, pweights, iweights)
        offset_specs = resolve_offsets(offset, exposure, self.k)
        self.class_base = check_class_base(class_base, self.k)
        self.class_labels = check_class_labels(class_labels, self.k)
        union, self.class_formulas = resolve_class_formulas(class_formula, self.k, self.class_base)
        _columns_only(self.weight_spec.source, self.weight_spec.option)
        for s in offset_specs:
            if s is not None:
                _columns_only(s.source, s.kind)
        #: the user's Dask DataFrame (never modified)
        self.data = data
        self._init_args = {
            "formulas": formulas,
            "class_formula": class_formula,
            "weights": {self.weight_spec.option: self.weight_spec.source} if self.weight_spec.kind else {},
            "offset": offset,
            "exposure": exposure,
            "lcinvariant": lcinvariant,
            "constraints": constraints,
            "class_base": class_base,
            "class_labels": class_labels,
        }
        extra = extra_columns(offset_specs)
        inputs = plan.ModelInputs(formulas, union, self.weight_spec.source, self.families, extra)
        _static_checks(inputs, data._meta)
        columns = plan.model_columns(inputs, data.dtypes)
        raw = data[columns.required].to_delayed()
        scans = dask.compute(*[dask.delayed(plan.scan_partition)(p, inputs, columns) for p in raw])
        proto = plan.prototype(list(scans), columns)
        if len(proto) == 0:
            _no_complete_rows(data, columns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # counts of the prototype mean nothing; the real ones come below
            # the data checks of all rows (text values, ±inf) with the counts of the first pass
            design = inputs.design(proto, plan.column_summary(list(scans)))
        plan.check_stateless(design)
        for fam, names in zip(self.families, design.xnames):
            fam.bind_design(names)
        self.offset_specs = check_offset_families(offset_specs, self.families)
        self._plan = plan.EncodePlan(inputs, columns, proto, self.weight_spec, self.offset_specs, self.class_base)
        self._raw = raw
        #: the prototype as an encoded partition: packs parameters and gives the outputs' layout
        self._template = plan.encoded(design, self._plan, len(proto), [])
        self._proto_rows = proto.iloc[: len(proto) // plan.PROTOTYPE_REPEAT]
        summaries = dask.compute(*[dask.delayed(kernels.on_raw)(p, self._plan, _summary) for p in raw])
        self.summary_stats = self._check_all(summaries, design)
        #: labels, formulas and encoders of the model; its arrays live in the partitions
        self.design = dataclasses.replace(
            design,
            y=None,
            designs=None,
            Z=None,
            weights=None,
            index=None,
            rows=None,
            extra={},
            columns={},
            n_dropped=self.summary_stats.n_input - self.summary_stats.n_used,
        )
        self.ys = self.y = None
        self.offsets = [None] * self.k
        self._runner: PartitionRunner | None = None
        #: the classes' numbers are part of the constraints: keep the fitted order (as FMM)
        self.labels_fixed = constraints is not None or self.class_formulas is not None
        #: linear constraints in this model's class order, or None (see :meth:`FMM._build_constraints`)
        self.constraints = self._build_constraints(lcinvariant, constraints)

    # ----------------------------------------------------------- checks
    def _refuse_families(self) -> None:
        for fam in self.families:
            if hasattr(fam, "levels"):
                raise FMMError(
                    f"family {fam.name!r} learns its outcome levels from the data, which a Dask fit does not do "
                    "yet; fit it in memory (data=ddf.compute()) or on a sample"
                )
            for option, value in (("lower", "min"), ("upper", "max")):
                if getattr(fam, option, None) == value:
                    raise FMMError(
                        f"family {fam.name!r} with {option}={value!r} (Stata's bare {option[0]}l) takes its limit "
                        "from the data, which a Dask fit does not do; give the limit as a number, e.g. "
                        f"Tobit({option}=float(ddf[y].{value}().compute()))"
                    )

    def _check_all(self, summaries, design) -> DataSummary:
        """The checks of :class:`fmmreg.FMM` that concern all rows, on the summed statistics."""
        n_input = sum(s["n_input"] for s in summaries)
        n_used = sum(s["n_used"] for s in summaries)
        wsum = sum(s["wsum"] for s in summaries)
        wnnz = sum(s["wnnz"] for s in summaries)
        dropped = sum(s["n_complete"] - s["n_used"] for s in summaries)
        terms: list[str] = []
        others: dict[tuple, None] = {}
        for s in summaries:
            terms += plan.not_finite_terms(s["warnings"])
            for cat, msg in s["warnings"]:
                # fmmreg's own data warnings (another library's, caught in a task, are not ours to repeat)
                if issubclass(cat, DataWarning) and not plan.is_not_finite_message(msg) and "rows per level" not in msg:
                    others[(cat, msg)] = None
        if n_used == 0:
            culprits = ", ".join(dict.fromkeys(terms))
            raise FMMError(f"no usable rows: {culprits} is not finite in every row (e.g. the log of 0)")
        if dropped:
            warnings.warn(
                f"{dropped} row(s) dropped because {', '.join(dict.fromkeys(terms))} is not finite there (e.g. the log "
                "of 0); they count as missing, as in Stata",
                DataWarning,
                stacklevel=4,
            )
        for cat, msg in others:
            warnings.warn(msg, cat, stacklevel=4)
        if self.weight_spec.kind is not None and (wnnz == 0 or wsum <= 0):
            check_weights(self.weight_spec, np.zeros(1))
        _warn_many_levels([*design.x_specs, design.z_spec], n_used)
        self._check_varies_all(summaries, design)
        xtx = kernels.add(*[s["xtx"] for s in summaries])
        ztz = kernels.add(*[s["ztz"] for s in summaries])
        self._check_designs_all(design, n_used if self.weight_spec.kind is None else wnnz, n_used, xtx, ztz)
        encoded = sum(s["nbytes"] for s in summaries)
        used = [s for s in summaries if s["n_used"]]
        response_sd = [_sd(*kernels.add(*moments)) for moments in zip(*[s["ymoments"] for s in used])]
        index_sd = {key: _sd(*kernels.add(*[s["moments"][key] for s in used])) for key in used[0]["moments"]}
        return DataSummary(n_input, n_used, wsum, wnnz, encoded, response_sd, index_sd)

    def _check_varies_all(self, summaries, design) -> None:
        lows = [s["ymin"] for s in summaries if s["ymin"] is not None]
        highs = [s["ymax"] for s in summaries if s["ymax"] is not None]
        if not lows or min(lows) < max(highs):
            return
        count = sum(s["ynonzero"] for s in summaries)
        proxy = _Proxy(design=dataclasses.replace(design, weights=None), families=self.families)
        FMM._check_varies(proxy, np.broadcast_to(float(min(lows)), (count,)), design.yname)

    def _check_designs_all(self, design, rows: int, n: int, xtx: list, ztz: np.ndarray) -> None:
        """:meth:`FMM._check_designs` with ranks from the summed cross-products ``X'X``."""
        if self.k > rows:
            raise FMMError(
                f"k={self.k} classes but only {rows} observation(s) are used: a mixture needs more observations "
                "than classes; fit fewer classes"
            )
        widths = [len(names) for names in design.xnames]
        total = (self.k - 1) * len(design.znames) + sum(fam.n_params(p) for p, fam in zip(widths, self.families))
        if total >= rows:
            raise FMMError(
                f"the model has {total} parameters ({self.k} classes) but only {rows} observations are used: "
                "it cannot be identified; fit fewer classes or fewer covariates"
            )
        first = {}
        for j, X in enumerate(design.designs):
            first.setdefault(id(X), j)
        for k, (X, names, fam) in enumerate(zip(design.designs, design.xnames, self.families), start=1):
            p = len(names)
            if n <= fam.n_params(p):
                raise FMMError(f"class {k}: {n} observations for {fam.n_params(p)} parameters")
            if p and _rank(xtx[first[id(X)]], n) < p:
                raise FMMError(
                    f"class {k}: the design of {design.formulas[k - 1]!r} is collinear "
                    f"(columns {names}); drop a redundant term"
                )
        if _rank(ztz, n) < len(design.znames):
            raise FMMError(
                f"class_formula {design.class_formula!r} gives a collinear design {design.znames}; drop a term"
            )

    # ------------------------------------------------------------- fitting
    def _likelihood(self, class_map: list[int], constrained: bool = True) -> PartitionedLikelihood:
        """The likelihood of all partitions (its sums need :meth:`fit`'s runner; packing does not)."""
        return PartitionedLikelihood(
            self._runner,
            self._template.likelihood(class_map),
            class_map,
            [self.families[j] for j in class_map],
            self.summary_stats.n_used,
            constraints=self.constraints_for(class_map) if constrained else None,
        )

    def _make_runner(self, persist) -> PartitionRunner:
        import dask

        if persist not in ("auto", True, False):
            raise FMMError(f"persist must be 'auto', True or False, got {persist!r}")
        if persist == "auto":
            persist = self.summary_stats.encoded_bytes <= PERSIST_SHARE * _memory_budget()
        if not persist:
            return PartitionRunner(self._raw, self._plan)
        return PartitionRunner(dask.persist(*[dask.delayed(plan.encode_partition)(p, self._plan) for p in self._raw]))

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
        order="mean",
        progress: bool = False,
        blas_threads: int | None = 1,
        vce: str | None = None,
        cluster=None,
        n_starts: int | None = None,
        n_refine: int | None = None,
        short_iter: int | None = None,
        sample_rows: int = SAMPLE_ROWS,
        persist="auto",
    ):
        """Estimate on all partitions; the options of :meth:`fmmreg.FMM.fit` and two more.

        The start search (``startvalues``, ``draws``, ``max_draws``,
        ``replicate``, ``emopts``, ``min_scale``, ``min_scale_small``, ``random_state``) runs in memory on a
        sample of rows; ``maxiter`` and ``tol`` apply to the sample's fits and
        to Newton on all rows. ``start=`` skips the sample. Per-row starts
        (``start_posterior=``, ``startvalues="classid"``/``"classpr"``) and
        ``engine="statsmodels"`` are not available.

        Parameters
        ----------
        sample_rows : int
            Rows of the in-memory sample the start search runs on (default 100,000).
        persist : {"auto", True, False}
            Keep the encoded partitions in the workers' memory between passes
            (``"auto"``: when they take at most 40% of it), or read and encode
            them again in every pass (data larger than memory).

        Returns
        -------
        DaskFMMResults
            The results object of an in-memory fit; posteriors and predictions
            are Dask DataFrames.
        """
        from fmmreg.distributed.results import DaskFMMResults, resolve_vce_dask

        # every option error before the first pass over the data
        if check_engine(engine) != "fast":
            raise FMMError("engine='statsmodels' (the reference engine) runs in memory only; use engine='fast'")
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
        if start_posterior is not None or opts.startvalues in ("classid", "classpr"):
            raise FMMError(
                "start_posterior= and startvalues='classid'/'classpr' (one value per row) are not available for a "
                "Dask fit; give start= (parameter values), or let the start search run on a sample (sample_rows=)"
            )
        if isinstance(sample_rows, bool) or not isinstance(sample_rows, (int, np.integer)) or sample_rows < 1:
            raise FMMError(f"sample_rows must be a positive integer, got {sample_rows!r}")
        if persist not in ("auto", True, False):
            raise FMMError(f"persist must be 'auto', True or False, got {persist!r}")
        if isinstance(order, str) and order not in ("mean", "fit"):
            raise FMMError(f"order must be 'mean', 'fit' or a list of class labels, got {order!r}")
        vce_spec = resolve_vce_dask(self, vce, cluster)
        theta0 = None if start is None else self._start_vector(start)
        search_options = opts.fit_options() | {"n_refine": n_refine}
        self._runner = self._make_runner(persist)
        limit = threadpool_limits(limits=blas_threads, user_api="blas") if blas_threads else nullcontext()
        with limit, np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            sample_res = None
            clock = time.perf_counter()
            if theta0 is None:
                sample_res = self._sample_fit(sample_rows, random_state, progress, blas_threads, search_options)
                theta0 = sample_res.theta
            sample_seconds, clock = time.perf_counter() - clock, time.perf_counter()
            passes = self._runner.passes
            class_map = list(range(self.k))
            lik = self._likelihood(class_map)
            with FitProgress(progress, desc="fmm (all rows)") as bar:
                # from a sample's converged estimate Newton (with its line search and EM fallback)
                # is already in its region: EM would cost passes without moving the point much, and
                # full steps ascend (each step's score and Hessian in one pass, no line-search pass
                # first; see fmmreg.estimation.engine.fit_large for the in-memory analogue)
                theta, ll, trace = fit_from(
                    lik,
                    theta0,
                    em_maxiter=0 if sample_res is not None else None,
                    newton_tol=opts.tol,
                    newton_maxiter=opts.maxiter,
                    callback=bar,
                    optimistic=np.inf if sample_res is not None else None,
                )
                theta, sums = final_newton_step(lik, theta, trace)
                bar("covariance")
            if sums is None:
                sums = lik.runner.map_reduce(kernels.fit_statistics, class_map, theta)
            perm = self._order(order, sums)
        timings = {
            "sample_seconds": sample_seconds,
            "all_rows_seconds": time.perf_counter() - clock,
            "passes": self._runner.passes - passes,
        }
        derivatives = None
        a_inv = np.linalg.inv(relabel_matrix(lik, perm))
        final = trace.final
        if final is not None and np.array_equal(final[0], theta):
            _, ll, grad, hess = final
            derivatives = (ll, a_inv.T @ grad, a_inv.T @ hess @ a_inv)
        theta = permute_theta(lik, theta, perm)
        table = sample_res.starts if sample_res is not None else _user_start_table(ll)
        res = DaskFMMResults(self, theta, perm, trace, table, derivatives)
        res._sums = relabel_sums(sums, perm, a_inv)
        res._class_perm = perm
        #: the in-memory fit of the sample the starts were searched on (None with start=)
        res.sample_results = sample_res
        res.search = None if sample_res is None else sample_res.search
        res.fit_options = {k: v for k, v in search_options.items() if k != "n_refine"} | {"engine": engine}
        #: where the fit's time went: the start search on the sample, the refinement on all rows and
        #: its passes over the data (EM/Newton iterations, line searches, the tables' sums)
        res.timings = timings
        report_fit(res, opts, stacklevel=4)
        return res._apply_vce(vce_spec)

    def _sample_fit(self, sample_rows, random_state, progress, blas_threads, search_options):
        """The in-memory start search on a sample of rows (plus the prototype, which carries every level)."""
        import dask

        frac = min(sample_rows / max(self.summary_stats.n_input, 1), 1.0)
        seed = random_state
        if isinstance(random_state, np.random.Generator):
            seed = int(random_state.integers(2**31))
        # each task keeps its share of one partition: the sample is all that reaches the client
        parts = dask.compute(*[dask.delayed(_sample_rows)(p, frac, seed, i) for i, p in enumerate(self._raw)])
        data = pd.concat([self._proto_rows, *parts])
        args = self._init_args
        model = FMM(
            self.k,
            args["formulas"],
            data=data,
            family=self.families,
            class_formula=args["class_formula"],
            offset=args["offset"],
            exposure=args["exposure"],
            lcinvariant=args["lcinvariant"],
            constraints=args["constraints"],
            class_base=args["class_base"],
            class_labels=args["class_labels"],
            **args["weights"],
        )
        if not model.param_index().equals(self.param_index()):  # pragma: no cover - the prototype guarantees it
            raise FMMError("internal error: the sample's design differs from the data's; please report")
        with warnings.catch_warnings():
            # the sample's own findings (degenerate class, convergence) are about the sample: the
            # fit on all rows reports its own (and the search's replication record)
            warnings.simplefilter("ignore")
            return model.fit(
                order="fit", random_state=random_state, progress=progress, blas_threads=blas_threads, **search_options
            )

    def _order(self, order, sums: list) -> list[int]:
        """The class order of :meth:`FMM._fit` (``"mean"``: by the weighted mean response, then share)."""
        if not isinstance(order, str):
            return check_order(order, self.k)
        if order not in ("mean", "fit"):
            raise FMMError(f"order must be 'mean', 'fit' or a list of class labels, got {order!r}")
        if order == "fit" or self.hybrid or self.labels_fixed:
            return list(range(self.k))
        wsum = sums[0]
        means, shares = sums[2] / wsum, sums[3] / wsum
        return sorted(range(self.k), key=lambda j: (round(means[j], 10), -shares[j]))


def final_newton_step(lik: PartitionedLikelihood, theta: np.ndarray, trace) -> tuple[np.ndarray, list | None]:
    """Take the Newton step from the converged point, with the score and Hessian there (one pass).

    Newton stops once the decrement ``g'(-H)^{-1}g`` is below 1e-10, i.e. within
    ~1e-5 standard errors of the maximum; the step it computed but did not
    take puts the estimate within ~1e-10 of them (quadratic convergence), so
    that it does not depend on where the search stopped -- a weakly
    identified coefficient (a level with 50 rows) otherwise differs by 1e-8
    between two fits that both converged. Kept only if the log likelihood
    does not fall. The same pass sums :func:`kernels.fit_statistics` at the
    new point; returns the point and those sums (``None`` if the step was
    not taken).
    """
    if not trace.converged or trace.final is None or not np.array_equal(trace.final[0], theta):
        return theta, None
    _, ll, grad, hess = trace.final
    step, pos_def = newton_direction(lik, hess, grad)  # along the free directions under constraints
    if not pos_def:
        return theta, None
    cand = feasible(lik, theta + step)
    (ll_c, grad_c, hess_c), sums = lik.runner.map_reduce(kernels.final_statistics, lik.class_map, cand)
    if not (np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll) and np.all(np.isfinite(hess_c))):
        return theta, None
    trace.final = (cand.copy(), ll_c, grad_c, hess_c)
    trace.newton_llf.append(ll_c)
    trace.gradient_norm = float(np.sqrt(abs(grad_c @ newton_direction(lik, hess_c, grad_c)[0])))
    return cand, sums


def relabel_sums(sums: list, perm: list[int], a_inv: np.ndarray) -> dict:
    """:func:`kernels.fit_statistics` sums of the classes in ``perm`` order (``theta_new = A theta``).

    Class sums are reordered; gradients with respect to the parameters map
    as ``dS/dtheta_new = dS/dtheta A^{-1}`` (the membership block of
    ``A^{-1}`` for the class probabilities).
    """
    wsum, n, means, prior, post, post_rows, entropy, prob_grad, mean_grad = sums
    n_mem = prob_grad.shape[1]
    return {
        "wsum": wsum,
        "n": n,
        "mean": means[perm],
        "prior": prior[perm],
        "post": post[perm],
        "post_rows": post_rows[perm],
        "entropy": entropy,
        "prob_grad": prob_grad[perm] @ a_inv[:n_mem, :n_mem],
        "mean_grad": mean_grad[perm] @ a_inv,
    }


# ---------------------------------------------------------------- helpers
def _user_start_table(llf: float) -> pd.DataFrame:
    """``res.starts`` of a fit from the user's start values (the in-memory single-start table)."""
    row = {
        "kind": "user",
        "batch": 0,
        "llf_short": np.nan,
        "llf": llf,
        "status": "refined",
        "refined": True,
        "degenerate": False,
        "reason": "",
    }
    return pd.DataFrame([row]).rename_axis("start")


@dataclasses.dataclass
class _Proxy:
    """Stands for an FMM in calls of its checks on summed statistics."""

    design: object
    families: list


def _columns_only(source, what: str) -> None:
    if source is not None and not isinstance(source, str):
        raise FMMError(
            f"with a Dask DataFrame, give {what}= as a column name of the data (an array of one value per row "
            "cannot be matched to the partitions)"
        )


def _static_checks(inputs: plan.ModelInputs, meta: pd.DataFrame) -> None:
    """The in-memory errors that need no rows (formulas, missing or duplicated columns), on the empty meta frame."""
    try:
        inputs.design(meta)
    except FMMError as exc:
        if not str(exc).startswith("no complete rows"):
            raise


def _no_complete_rows(data, columns: plan.Columns) -> None:
    """The in-memory "no complete rows" error, with counts over all partitions."""
    counts = data[columns.listwise].isna().sum().compute().sort_values(ascending=False)
    n = len(data)
    worst = ", ".join(f"{c!r} ({int(m)} of {n})" for c, m in counts.items() if m)[:300]
    raise FMMError(
        "no complete rows: every row has a missing value in some variable of the model "
        f"(missing: {worst or 'weights'}); drop or fill those variables"
    )


def _sample_rows(part: pd.DataFrame, frac: float, seed, position: int) -> pd.DataFrame:
    """A share ``frac`` of a partition's rows, drawn with a generator seeded by ``(seed, position)``."""
    if frac >= 1:
        return part
    rng = np.random.default_rng(None if seed is None else [int(seed), position])
    return part.sample(frac=frac, random_state=rng)


def _summary(enc: plan.EncodedPartition) -> dict:
    """The counts and cross-products of one encoded partition that the global checks need."""
    out = {
        "n_input": enc.n_input,
        "n_used": enc.n,
        "n_complete": enc.n_complete,
        "warnings": enc.warnings,
        "nbytes": enc.nbytes,
    }
    if enc.n == 0:
        return out | {
            "wsum": 0.0,
            "wnnz": 0,
            "ymin": None,
            "ymax": None,
            "ynonzero": 0,
            "xtx": None,
            "ztz": None,
        }
    w = enc.w
    y = enc.y
    used = y if w is None else y[w != 0]
    xtx, seen = [], set()
    for X in enc.designs:
        xtx.append(None if id(X) in seen else X.T @ X)
        seen.add(id(X))
    flat = used.ravel() if y.ndim == 1 else None
    return out | {
        "wsum": float(enc.n if w is None else w.sum()),
        "wnnz": int(enc.n if w is None else np.count_nonzero(w)),
        "ymin": None if flat is None or flat.size == 0 else float(flat.min()),
        "ymax": None if flat is None or flat.size == 0 else float(flat.max()),
        "ynonzero": 0 if flat is None else int(flat.size),
        "xtx": xtx,
        "ztz": enc.Z.T @ enc.Z,
        "ymoments": [_response_moments(y_k) for y_k in enc.ys],
        "moments": _index_moments(enc),
    }


def _response_moments(y: np.ndarray) -> tuple[int, float, float]:
    """Count, sum and sum of squares of a response's first column (finite values: intreg's open ends are not)."""
    y = y if y.ndim == 1 else y[:, 0]
    y = y[np.isfinite(y)]
    return (int(y.size), float(y.sum()), float(y @ y))


def _index_moments(enc: plan.EncodedPartition) -> dict:
    """Row count, column sums and sums of squares of the design of every linear index (model class order).

    The indices are those of :class:`~fmmreg.estimation.mixture.MixtureLikelihood`
    (a family may read column subsets of its class's design); the membership
    indices share ``Z``.
    """
    lik = enc.likelihood(list(range(len(enc.families))))
    out: dict = {}
    for idx in lik._indices:
        key = ("mem",) if idx.kind == "mem" else ("comp", idx.cls, idx.pos)
        if idx.design is not None and key not in out:
            d = idx.design
            out[key] = (d.shape[0], d.sum(axis=0), np.einsum("ij,ij->j", d, d))
    return out


def _sd(count, total, squares):
    """Standard deviation (``ddof=0``, as ``np.std``) from a count, a sum and a sum of squares."""
    if not count:
        return 0.0 if np.ndim(total) == 0 else np.zeros_like(total)
    mean = np.asarray(total) / count
    sd = np.sqrt(np.maximum(np.asarray(squares) / count - mean * mean, 0.0))
    return float(sd) if sd.ndim == 0 else sd


def _rank(xtx: np.ndarray, n: int) -> int:
    """Rank of ``X`` from ``X'X`` (scaled to unit diagonal, so the units of a column do not count).

    An eigenvalue of the scaled ``X'X`` counts when it exceeds ``max(n, p) * eps``
    times the largest: exact collinearity leaves ~``eps``, strongly
    correlated but distinct columns (``age``, ``age**2``) far more.
    """
    scaled, _ = jacobi_scale(xtx)
    eig = np.linalg.eigvalsh(scaled)
    tol = eig.max() * max(n, xtx.shape[0]) * np.finfo(float).eps if eig.size else 0.0
    return int(np.count_nonzero(eig > tol))


def _memory_budget() -> float:
    """Memory the scheduler's workers have: the distributed workers' limits, else this machine's free memory."""
    free = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return free
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    return float(sum(limits)) if limits and all(limits) else free

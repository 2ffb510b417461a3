"""Parametric bootstrap likelihood-ratio test of the number of classes (BLRT).

The likelihood-ratio statistic of ``K0`` against ``K1 > K0`` classes is not
chi-squared under the null (the smaller model sits on the boundary of the
larger one and some of its parameters are unidentified), so its null
distribution is simulated (McLachlan 1987; Nylund, Asparouhov and Muthen
2007, Mplus' TECH14): data are drawn from the fitted ``K0`` model at the
sample's covariates, both models are refitted to each draw, and the
observed statistic is compared with the simulated ones.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from fmmreg.estimation.degeneracy import rule_of
from fmmreg.estimation.starts import StartOptions, multistart
from fmmreg.exceptions import FMMError
from fmmreg.families.base import class_responses, draw_categories
from fmmreg.postestimation.bootstrap import one_blas_thread, replicate_model
from fmmreg.reporting.export import TextReport
from fmmreg.reporting.formatting import thousands
from fmmreg.reporting.progress import progress_iter


def simulate(res, rng: np.random.Generator, rows: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One data set drawn from a fitted mixture at the estimation sample's covariates.

    Each row's class is drawn from its prior probabilities ``pi_k(z_i)`` (a
    grouped model draws one class per group, shared by its rows), then its
    response from that class's family (``ComponentFamily.rvs``).
    ``rows`` (positions in the rows used, repeats allowed) gives one draw
    per entry; by default one per row used.

    Returns the response and the data columns the families read (by column
    name; a survival class draws the failure indicator too). Before the
    classes draw, every family may set a common starting point of each row
    (:meth:`ComponentFamily.rvs_baseline`: a survival family's censoring
    time), so that whichever class a row falls in, it is observed the same
    way -- a cured class is censored at the time a survival class would be.
    """
    lik = res.lik
    d = res.model.design
    sel = np.arange(lik.n) if rows is None else np.asarray(rows)
    _, comps = lik.unpack(res.theta)
    panel = getattr(res, "panel", None)
    if panel is None:
        cls = draw_categories(rng, res.prior_array[sel])
    else:  # one class per group, shared by its rows
        groups = panel.groups
        cls = draw_categories(rng, res.prior_array[groups.first])[groups.codes][sel]
    families = res.families  # unbound: each class is bound to its drawn rows' offsets below
    y = np.array(d.y, dtype=float)[sel]
    columns = {c: np.array(v, dtype=float)[sel] for c, v in d.columns.items()}
    for fam in {id(f): f for f in families}.values():
        base = fam.rvs_baseline(fam.class_response(y, _roles(fam, columns)), rng)
        if base is not None:
            _write(fam, base, slice(None), y, columns)
    ys = class_responses(families, y, columns)
    for k, (fam, X, th, off) in enumerate(zip(families, lik.designs, comps, lik.offsets)):
        mine = np.flatnonzero(cls == k)
        if mine.size == 0:
            continue
        r = sel[mine]
        eta, anc = fam.with_offset(None if off is None else off[r]).indices(X[r], th)
        _write(fam, fam.rvs(eta, anc, rng, ys[k][mine]), mine, y, columns)
    return y, columns


def _roles(fam, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {role: columns[col] for role, col in fam.data_columns().items()}


def _write(fam, draw: np.ndarray, at, y: np.ndarray, columns: dict[str, np.ndarray]) -> None:
    """Store a class's draw (in its response layout) into the response and the data columns, at rows ``at``."""
    resp, parts = fam.response_parts(draw)
    if resp is not None:
        y[at] = resp
    names = fam.data_columns()
    for role, values in parts.items():
        columns[names[role]][at] = values


@dataclass(repr=False)
class BLRTResults(TextReport):
    """Result of :func:`blrt`.

    Attributes
    ----------
    lr : float
        Observed ``2 (ll_K1 - ll_K0)``.
    pvalue : float
        ``(1 + #{LR* >= LR}) / (B + 1)`` over the ``B`` successful replicates.
    lr_boot : ndarray
        Simulated statistics (NaN for failed replicates).
    """

    k0: int
    k1: int
    llf0: float
    llf1: float
    lr: float
    pvalue: float
    lr_boot: np.ndarray
    n_failed: int
    nobs: float

    @property
    def reps(self) -> int:
        return int(np.isfinite(self.lr_boot).sum())

    def as_text(self) -> str:
        lines = [
            "",
            f"{'Bootstrap likelihood-ratio test':<48}Number of obs     = {thousands(self.nobs):>10}",
            f"{f'of {self.k0} against {self.k1} classes':<48}Replications      = {thousands(self.reps):>10}",
            "",
            f"  H0: {self.k0} classes   log likelihood = {self.llf0:.4f}",
            f"  H1: {self.k1} classes   log likelihood = {self.llf1:.4f}",
            "",
            f"{'LR = 2(ll_1 - ll_0)':>28} = {self.lr:>10.2f}",
            f"{'Prob >= LR (bootstrap)':>28} = {self.pvalue:>10.4f}",
            "",
            f"Null distribution simulated from the {self.k0}-class fit (McLachlan 1987).",
        ]
        if self.n_failed:
            lines.append(f"Note: {self.n_failed} replications failed or did not converge and are left out.")
        return "\n".join(lines)


def _check_pair(res0, res1):
    for r in (res0, res1):
        if not hasattr(r, "lik") or not hasattr(r, "model"):
            raise FMMError(f"blrt needs two fitted fmmreg results, got {type(r).__name__}")
    if res0.k == res1.k:
        raise FMMError(f"both fits have {res0.k} classes; blrt compares two different numbers of classes")
    if res0.k > res1.k:
        res0, res1 = res1, res0
    d0, d1 = res0.model.design, res1.model.design
    y0, y1 = np.asarray(d0.y, dtype=float), np.asarray(d1.y, dtype=float)
    w0, w1 = res0.lik.w, res1.lik.w
    same_columns = all(
        np.array_equal(v, d1.columns[c], equal_nan=True) for c, v in d0.columns.items() if c in d1.columns
    )
    if (
        y0.shape != y1.shape
        or not np.array_equal(y0, y1, equal_nan=True)
        or not np.array_equal(w0, w1)
        or not same_columns
    ):
        raise FMMError("the two fits use different observations; blrt needs both models fitted to the same data")
    return res0, res1


def _expanded_rows(res) -> np.ndarray | None:
    """Rows repeated by their frequency weights (None without weights)."""
    w = res.model.design.weights
    if w is None:
        return None
    if getattr(res, "panel", None) is not None:
        raise FMMError("blrt of a grouped model (group=) needs unweighted data: a weighted group cannot be expanded")
    if not np.all(w == np.round(w)):
        raise FMMError("blrt simulates one response per observation: it needs integer frequency weights or none")
    return np.repeat(np.arange(len(w)), w.astype(np.int64))


def _best_llf(
    model, start: np.ndarray | None, seed: int, draws: int, max_draws: int, fit_options: dict | None = None
) -> float:
    """Log likelihood of ``model`` at the best of a fit from ``start`` and, for K > 1, a start search.

    Only the maximised log likelihood matters here, so the engine's start
    search is called directly (no covariance: a fit that empties a class, as
    the larger model often does on data from the smaller one, has a singular
    information matrix but a valid log likelihood). The search chooses its
    maximum by the same rule as :meth:`FMM.fit` (the best non-degenerate one,
    else the best degenerate one), so the simulated statistics are computed
    as the observed one; a start or search that fails is skipped, and a
    replicate without any finite maximum is counted as failed. The model's
    constraints (``lcinvariant``, ``constraints=``) hold in every refit: they
    come with the model's likelihood; the engine and the degeneracy rule
    (``min_scale``) are the fit's (``fit_options``).
    """
    fit_options = fit_options or {}
    engine = fit_options.get("engine", "fast")
    lik = model._likelihood(list(range(model.k)))
    tries = ([{"start_theta": np.asarray(start, dtype=float)}] if start is not None else []) + (
        [{}] if model.k > 1 else []
    )
    best = -np.inf
    for kwargs in tries:
        options = StartOptions(draws=draws, max_draws=max_draws, rule=rule_of(fit_options))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = multistart(lik, options, np.random.default_rng(seed), engine=engine, **kwargs)
        except (ValueError, RuntimeError, np.linalg.LinAlgError, FloatingPointError):
            continue
        if np.isfinite(found.llf):
            best = max(best, float(found.llf))
    return best if np.isfinite(best) else np.nan


def blrt(
    restricted,
    full,
    reps: int = 99,
    random_state: int | np.random.Generator | None = 0,
    progress: bool = False,
    draws: int = 10,
    max_draws: int | None = None,
) -> BLRTResults:
    """Bootstrap likelihood-ratio test of ``K0`` against ``K1`` classes.

    Parameters
    ----------
    restricted, full : FMMResults
        Fits of the same model with ``K0 < K1`` classes on the same data (the
        order does not matter: the fit with fewer classes is the null).
    reps : int
        Bootstrap replications (99 gives p-values in steps of 0.01; Nylund
        et al. use 100 or more).
    random_state : int or Generator
        Seed; results are reproducible given it.
    progress : bool
        Show a progress bar (needs ``tqdm``).
    draws, max_draws : int
        Start search of each replicate's ``K1`` fit (see :meth:`FMM.fit`):
        ``draws`` starts per batch, at most ``max_draws`` in all (default
        ``draws``: one batch, every distinct short run refined). The ``K0``
        fit starts from the ``K0`` estimates (the truth of the simulation),
        plus the same search when ``K0 > 1``.

    Returns
    -------
    BLRTResults
        ``lr``, ``pvalue``, ``lr_boot``; prints a short report.

    Notes
    -----
    For ``b = 1..B``: draw ``y*_b`` from the ``K0`` fit (classes from
    ``pi_k(z_i)``, responses from the class families), refit both models to
    ``y*_b`` and take ``LR*_b = 2 (l_K1 - l_K0)``. The p-value is
    ``(1 + #{LR*_b >= LR}) / (B + 1)``. Frequency weights are expanded to
    one simulated response per observation.
    """
    res0, res1 = _check_pair(restricted, full)
    for name, value in (("reps", reps), ("draws", draws), ("max_draws", draws if max_draws is None else max_draws)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise FMMError(f"{name} must be a positive integer, got {value!r}")
    max_draws = max(int(draws), int(draws if max_draws is None else max_draws))
    lr = max(2.0 * (res1.llf - res0.llf), 0.0)
    rows = _expanded_rows(res0)
    rng = np.random.default_rng(random_state)
    ones = None if rows is None else np.ones(len(rows))
    boot = np.full(int(reps), np.nan)
    failed = 0
    with one_blas_thread():
        for b in progress_iter(range(int(reps)), progress, total=int(reps), desc="blrt"):
            y, columns = simulate(res0, rng, rows)
            seed = int(rng.integers(2**31))
            m0 = replicate_model(res0.model, res0.class_map, rows, ones, y, columns)
            m1 = replicate_model(res1.model, res1.class_map, rows, ones, y, columns)
            ll0 = _best_llf(m0, res0.theta, seed, draws, max_draws, res0.fit_options)
            ll1 = _best_llf(m1, None, seed, draws, max_draws, res1.fit_options)
            if not (np.isfinite(ll0) and np.isfinite(ll1)):
                failed += 1
                continue
            boot[b] = max(2.0 * (ll1 - ll0), 0.0)
    ok = boot[np.isfinite(boot)]
    if ok.size == 0:
        raise FMMError("every blrt replication failed; check that both models fit the data")
    pvalue = float((1 + np.sum(ok >= lr - 1e-8 * (1 + lr))) / (ok.size + 1))
    return BLRTResults(res0.k, res1.k, res0.llf, res1.llf, lr, pvalue, boot, failed, res0.nobs)

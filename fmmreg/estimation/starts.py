"""Start search: many cheap starts, the best refined, until the best is replicated.

Mixture likelihoods have local maxima, and with scale families spurious ones
(see :mod:`fmmreg.estimation.degeneracy`). The search, in batches of
``draws`` starts:

1. fits each class's model to all the data (the *pooled* fit) and takes the
   standardised residuals of class 1's;
2. builds starts of several kinds (``startvalues``): a split at the residual
   quantiles, k-means on the residuals, random-centre partitions
   (``partition``), random class ids (``randomid``), random posterior
   probabilities (``randompr``) and random parameters drawn around the pooled
   fit (``jitter``); ``"auto"`` (default) mixes them all -- measured on a
   panel of hard problems, parameter-space starts reach basins the posterior
   starts never do, and the posterior starts reach others (benchmarks/hard_cases);
3. runs ``em_iter`` EM iterations from each (identical starting points are
   run once); a short run whose class collapses (size or scale part of the
   degeneracy rule) is recorded and dropped;
4. refines the ``refine`` best short runs with distinct log likelihoods to
   convergence (EM, then Newton); a short run that ended at the same log
   likelihood (1e-9 relative) as a refined one reached the same point and is
   counted with it;
5. stops when the best *non-degenerate* maximum has been reached by
   ``replicate`` distinct starts and the estimated chance that one more
   start finds a new maximum (the mean of Good-Turing's and Boender &
   Rinnooy Kan's estimates) is at most ``unseen``, or when
   ``max_draws`` starts have been drawn (then the result says the search
   was stopped before that: LocalMaximumWarning).

Any numerical failure inside one start (non-finite likelihood, LinAlgError,
overflow) discards that start with its reason; only when no start gives a
finite maximum does the search raise :class:`~fmmreg.exceptions.FMMError`.

On large data (``n > subsample``) the whole search runs on a random
subsample; the best one or two distinct maxima are then refined on all rows.
Everything is driven by one ``numpy.random.Generator``, so results are
deterministic given ``random_state``.

A grouped likelihood (panel data, one class per group) is searched the same
way through its unit hooks: the subsample holds whole groups, a starting
posterior is averaged over each group's rows, split-merge moves split whole
groups by their mean residual, the size rule also counts groups and the
maxima's class shares are shares of groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fmmreg.estimation.degeneracy import (
    DEFAULT_RULE,
    DegeneracyRule,
    Finding,
    class_findings,
    response_sd,
    solution_findings,
)
from fmmreg.estimation.engine import FitTrace, fit_from, fit_large, run_em, theta_from_posterior
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError

#: Start kinds of ``startvalues="auto"``, cycled in this order after the quantile split.
AUTO_CYCLE = ("jitter", "kmeans", "randompr", "jitter", "partition", "randomid")
#: Values of the ``startvalues`` option that draw starts.
STARTVALUES = ("auto", "randomid", "randompr", "jitter", "kmeans", "partition")
#: Exceptions that end one start (never the fit).
START_ERRORS = (ArithmeticError, np.linalg.LinAlgError, ValueError)
#: Batches after which a search without any non-degenerate maximum stops.
GIVE_UP_BATCHES = 2
#: Two maxima are the same when their log likelihoods agree to this relative tolerance.
SAME_MAX_RTOL = 1e-6
#: Two short runs ended at the same point when their log likelihoods agree to this.
SAME_SHORT_RTOL = 1e-9


@dataclass
class StartOptions:
    """Tuning of the start search (see the module docstring and the README)."""

    startvalues: str = "auto"
    draws: int = 10
    max_draws: int = 100
    replicate: int = 2
    unseen: float = 0.15
    refine: int = 10
    em_iter: int = 20
    em_tol: float = 1e-10
    subsample: int = 10_000
    smoothing: float = 0.1
    maxiter: int = 100
    tol: float = 1e-10
    rule: DegeneracyRule = field(default_factory=lambda: DEFAULT_RULE)

    def fit_options(self) -> dict:
        """These options as keywords of :meth:`fmmreg.FMM.fit` (what bootstrap and blrt refits reuse).

        Per-row starts (``classid`` / ``classpr``) belong to the rows of the
        fit: a refit searches with ``"auto"``.
        """
        return {
            "startvalues": "auto" if self.startvalues in ("classid", "classpr") else self.startvalues,
            "draws": self.draws,
            "max_draws": self.max_draws,
            "replicate": self.replicate,
            "emopts": {"iterate": self.em_iter, "tolerance": self.em_tol},
            "maxiter": self.maxiter,
            "tol": self.tol,
            "min_scale": self.rule.min_scale_ratio,
            "min_scale_small": self.rule.small_scale_ratio,
        }


# ------------------------------------------------------------------ the pooled fit
@dataclass
class Pooled:
    """One-class fits of every class's model to all rows (centre of the random starts)."""

    params: list[np.ndarray]
    resid: np.ndarray
    sd_y: float


def pooled_fit(lik: MixtureLikelihood) -> Pooled:
    """Each class's family fitted to all rows; standardised residuals of class 1's."""
    cache: dict[tuple[int, int, int], np.ndarray] = {}
    params = []
    for fam, y, X in zip(lik.families, lik.ys, lik.designs):
        key = (id(fam), id(y), id(X))
        if key not in cache:
            with np.errstate(all="ignore"):
                cache[key] = fam.fit_weighted(y, X, lik.w, maxiter=50)
        params.append(cache[key])
    fam, X, y = lik.families[0], lik.designs[0], lik.ys[0]
    with np.errstate(all="ignore"):
        if y.ndim == 1:
            r = y - fam.mean(X, params[0])
        else:
            # several response columns (intreg's interval ends, possibly infinite):
            # the generalised residual d log f / d eta of the first index
            eta, anc = fam.indices(X, params[0])
            r = fam.index_derivatives(y, eta, anc, order=1)[1][:, 0]
    r = np.where(np.isfinite(r), r, 0.0)
    sd = r.std()
    return Pooled(params, r / sd if sd > 0 else r, response_sd(lik))


def pooled_residuals(lik: MixtureLikelihood) -> np.ndarray:
    """Standardised response residuals of the pooled class-1 model."""
    return pooled_fit(lik).resid


# --------------------------------------------------------------- start builders
def _kmeans_1d(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20) -> np.ndarray:
    """Lloyd's k-means on a line with k-means++ seeding; returns labels."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min((x[:, None] - np.asarray(centres)[None, :]) ** 2, axis=1)
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centres.append(x[rng.choice(len(x), p=p)])
    centres = np.sort(np.asarray(centres))
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        labels = np.argmin(np.abs(x[:, None] - centres[None, :]), axis=1)
        new = np.array([x[labels == j].mean() if np.any(labels == j) else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return labels


def _soft(labels: np.ndarray, k: int, smoothing: float) -> np.ndarray:
    tau = np.full((len(labels), k), smoothing / k)
    tau[np.arange(len(labels)), labels] += 1.0 - smoothing
    return tau


def quantile_posterior(resid: np.ndarray, k: int, smoothing: float = 0.1) -> np.ndarray:
    """Classes split at the quantiles of the residuals (deterministic)."""
    n = len(resid)
    ranks = np.argsort(np.argsort(resid, kind="stable"), kind="stable")
    return _soft(np.minimum(ranks * k // n, k - 1), k, smoothing)


def random_posterior(kind: str, resid: np.ndarray, k: int, rng: np.random.Generator, smoothing: float) -> np.ndarray:
    """A starting posterior (n, K) of one of the posterior kinds."""
    n = len(resid)
    if kind == "kmeans":
        return _soft(_kmeans_1d(resid, k, rng), k, smoothing)
    if kind == "partition":
        centres = resid[rng.choice(n, size=k, replace=n < k)]
        return _soft(np.argmin(np.abs(resid[:, None] - centres[None, :]), axis=1), k, smoothing)
    if kind == "randomid":
        return _soft(rng.integers(k, size=n), k, smoothing)
    if kind == "randompr":
        return rng.dirichlet(np.ones(k), size=n)
    raise ValueError(f"unknown posterior start kind {kind!r}")


def class_residual(lik: MixtureLikelihood, theta: np.ndarray, k: int) -> np.ndarray:
    """Response residual of class ``k`` (the generalised residual for multi-column responses)."""
    _, comps = lik.unpack(theta)
    fam, X, y = lik.families[k], lik.designs[k], lik.ys[k]
    if y.ndim == 1:
        r = y - fam.mean(X, comps[k])
    else:
        eta, anc = fam.indices(X, comps[k])
        r = fam.index_derivatives(y, eta, anc, order=1)[1][:, 0]
    return np.where(np.isfinite(r), r, 0.0)


def _spread(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means, SDs and the constant-column mask of a design."""
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    const = sd == 0
    return mean, np.where(const, 1.0, sd), const


def jitter_theta(lik: MixtureLikelihood, pooled: Pooled, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Random parameters around the pooled fit (Stata's ``startvalues(jitter)``).

    Per class and linear index, the intercept moves by ``N(0, s^2)`` with
    ``s = 1`` on the link scale (the pooled SD for Gaussian-type classes) and
    the slopes by ``N(0, (0.5 s / sd(x_j))^2 / m)`` for ``m`` slopes, centred
    so that the mean linear predictor moves with the intercept only; scale
    ancillaries (``ln*``) move by ``N(0, 0.3^2)``; membership logits get
    ``N(0, 1)`` intercepts and centred ``N(0, (0.5 / sd(z_j))^2 / m)`` slopes.
    ``scale`` multiplies every standard deviation.
    """
    comps = []
    for fam, X, base in zip(lik.families, lik.designs, pooled.params):
        th = np.array(base, dtype=float)
        anc_names = list(fam.ancillary_names)
        anc0 = len(th) - len(anc_names)
        s = scale
        if "lnsigma" in anc_names:
            s = scale * float(np.exp(th[anc0 + anc_names.index("lnsigma")]))
        # walk the packed vector index by index, as the likelihood does: a linear
        # index owns a block as wide as its design (families may use column subsets)
        spreads: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        pos, a = 0, 0
        for D in fam.designs(X):
            if D is None:
                if anc_names[a].startswith("ln"):
                    th[pos] += 0.3 * scale * rng.normal()
                pos, a = pos + 1, a + 1
                continue
            mean, sd, const = spreads.setdefault(id(D), _spread(D))
            p = D.shape[1]
            n_slopes = max(1, int((~const).sum()))
            d = np.where(const, 0.0, rng.normal(size=p) * 0.5 * s / sd / np.sqrt(n_slopes))
            shift = float(mean @ d)
            if const.any():
                j = int(np.flatnonzero(const)[0])
                d[j] = (rng.normal() * s - shift) / (mean[j] if mean[j] != 0 else 1.0)
            th[pos : pos + p] += d
            pos += p
        comps.append(th)
    mem = lik.membership
    gamma = np.zeros((mem.q, lik.k - 1))
    if lik.k > 1:
        # spreads of the membership variables over the units (groups of a grouped model)
        mean, sd, const = _spread(getattr(mem, "per_group", mem).Z)
        n_slopes = max(1, int((~const).sum()))
        for j in range(lik.k - 1):
            d = np.where(const, 0.0, rng.normal(size=mem.q) * 0.5 * scale / sd / np.sqrt(n_slopes))
            shift = float(mean @ d)
            if const.any():
                c = int(np.flatnonzero(const)[0])
                d[c] = (scale * rng.normal() - shift) / (mean[c] if mean[c] != 0 else 1.0)
            gamma[:, j] = d
    return lik.pack(gamma, comps)


# ------------------------------------------------------------------- the search
@dataclass
class Candidate:
    """One start: where it began, where its short run ended, where refinement ended."""

    kind: str
    batch: int
    theta: np.ndarray | None = None
    llf_short: float = np.nan
    llf: float = np.nan
    status: str = "short"  # short | duplicate | collapsed | failed | refined | same
    reason: str = ""
    degenerate: bool = False
    same_as: int = -1
    #: For a split-merge move: the log likelihood of the maximum it was made from.
    source_llf: float = np.nan
    trace: FitTrace | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass
class SearchResult:
    """The chosen maximum and the record of the search."""

    theta: np.ndarray
    llf: float
    trace: FitTrace
    table: pd.DataFrame
    maxima: pd.DataFrame
    n_replicated: int
    capped: bool
    degenerate: bool
    findings: list[Finding]
    subsample: int | None = None
    #: Estimated chance that one more start finds a new maximum (:meth:`StartSearch.unseen_mass`).
    unseen: float = np.nan
    #: The posterior (n, K) at ``theta`` where the search computed it on all rows (large data), else None.
    posterior: np.ndarray | None = None


def _rel_close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * (1.0 + abs(b))


class StartSearch:
    """The batch-wise search of the module docstring, on one likelihood."""

    def __init__(
        self,
        lik: MixtureLikelihood,
        options: StartOptions,
        rng: np.random.Generator,
        engine: str = "fast",
        callback: Callable[[str], None] | None = None,
    ):
        if options.startvalues not in STARTVALUES:
            raise FMMError(f"startvalues={options.startvalues!r} is not known; use one of {STARTVALUES}")
        self.lik, self.opts, self.rng, self.engine, self.callback = lik, options, rng, engine, callback
        self.pooled = pooled_fit(lik)
        self.cands: list[Candidate] = []
        self._seen_starts: dict[bytes, int] = {}
        self._cycle = 0
        self.gave_up = False

    # -------------------------------------------------------------- batches
    def _next_kind(self) -> str:
        if self.opts.startvalues != "auto":
            return self.opts.startvalues
        kind = AUTO_CYCLE[self._cycle % len(AUTO_CYCLE)]
        self._cycle += 1
        return kind

    def _start_theta(self, kind: str) -> tuple[np.ndarray, bytes | None]:
        lik, opts = self.lik, self.opts
        if kind == "jitter":
            return jitter_theta(lik, self.pooled, self.rng), None
        if kind == "quantile":
            tau = quantile_posterior(self.pooled.resid, lik.k, opts.smoothing)
        else:
            tau = random_posterior(kind, self.pooled.resid, lik.k, self.rng, opts.smoothing)
        key = np.argmax(tau, axis=1).astype(np.int8).tobytes() if kind in ("kmeans", "quantile") else None
        return theta_from_posterior(lik, tau), key

    def _short_run(self, cand: Candidate, theta0: np.ndarray | None = None) -> None:
        """Short EM run of a start (drawn here unless ``theta0`` is given)."""
        lik, opts = self.lik, self.opts
        try:
            with np.errstate(all="ignore"):
                if theta0 is None:
                    theta0, key = self._start_theta(cand.kind)
                    if key is not None:
                        if key in self._seen_starts:
                            cand.status, cand.same_as = "duplicate", self._seen_starts[key]
                            cand.reason = f"the same starting partition as start {cand.same_as}"
                            return
                        self._seen_starts[key] = len(self.cands)
                theta, ll, tau = run_em(lik, theta0, maxiter=opts.em_iter, tol=opts.em_tol, engine=self.engine)
        except START_ERRORS as exc:
            cand.status, cand.reason = "failed", f"{type(exc).__name__}: {exc}"
            return
        cand.theta, cand.llf_short = theta, ll
        if not (np.isfinite(ll) and np.all(np.isfinite(theta))):
            cand.status, cand.reason = "failed", "non-finite log likelihood"
            return
        found = class_findings(lik, theta, tau, self.pooled.sd_y, opts.rule)
        if found:
            cand.status, cand.reason, cand.findings = "collapsed", found[0].message, found
            cand.degenerate = True

    def _refine(self, cand: Candidate) -> None:
        lik, opts = self.lik, self.opts
        try:
            with np.errstate(all="ignore"):
                theta, ll, trace = fit_from(
                    lik,
                    cand.theta,
                    engine=self.engine,
                    newton_tol=opts.tol,
                    newton_maxiter=opts.maxiter,
                    callback=self.callback,
                )
                hess = trace.final[3] if trace.final is not None else None
                found = solution_findings(lik, theta, hess, trace.converged, self.pooled.sd_y, opts.rule)
        except START_ERRORS as exc:
            cand.status, cand.reason = "failed", f"{type(exc).__name__}: {exc}"
            return
        if not np.isfinite(ll):
            cand.status, cand.reason = "failed", "non-finite log likelihood"
            return
        cand.status, cand.llf, cand.trace, cand.theta = "refined", ll, trace, theta
        cand.findings, cand.degenerate = found, bool(found)
        cand.reason = "; ".join(f.message for f in found)

    def _match_same(self) -> None:
        """Short runs that ended where a refined start's short run ended reached its maximum."""
        refined = [i for i, c in enumerate(self.cands) if c.status == "refined"]
        for c in self.cands:
            if c.status != "short":
                continue
            for i in refined:
                r = self.cands[i]
                if _rel_close(c.llf_short, r.llf_short, SAME_SHORT_RTOL):
                    c.status, c.same_as, c.llf, c.degenerate = "same", i, r.llf, r.degenerate
                    c.reason = f"its short run ended where start {i}'s did"
                    break

    def run_batch(self, size: int, batch: int) -> None:
        """Draw ``size`` starts, run them short, refine the best distinct short runs."""
        first = batch == 0 and self.opts.startvalues == "auto"
        for j in range(size):
            cand = Candidate("quantile" if first and j == 0 else self._next_kind(), batch)
            self._short_run(cand)
            self._add(cand)
        self._refine_best(self.opts.refine)

    def _add(self, cand: Candidate) -> None:
        if self.callback is not None:
            self.callback("start")
        self.cands.append(cand)

    def _refine_best(self, count: int) -> None:
        """Refine the ``count`` best short runs with distinct log likelihoods not matched yet."""
        self._match_same()
        # best short runs first, from this batch and earlier ones
        pending = sorted((c for c in self.cands if c.status == "short"), key=lambda c: -c.llf_short)
        chosen: list[Candidate] = []
        for c in pending:
            if len(chosen) >= count:
                break
            if any(_rel_close(c.llf_short, o.llf_short, SAME_SHORT_RTOL) for o in chosen):
                continue
            chosen.append(c)
        for c in chosen:
            self._refine(c)
        self._match_same()

    def run_moves(self, source: int, batch: int, budget: int) -> int:
        """Split-merge moves (SMEM) from a converged solution; returns the starts used.

        For every pair of classes ``(i, j)`` and every third class ``k``:
        merge ``i`` and ``j`` into slot ``i`` and split ``k`` into slots ``k``
        and ``j`` by the sign of its own residuals -- a maximum that put two
        classes where one belongs and one where two belong is one move away
        from the better one (Ueda et al. 2000). Moves run short like other
        starts; the best distinct ones are refined. A grouped likelihood
        splits whole groups, by their mean residual.
        """
        lik = self.lik
        if lik.k < 3:
            return 0
        theta = self.cands[source].theta
        with np.errstate(all="ignore"):
            tau = lik.estep(theta)[1]
            resid = [lik.unit_mean(class_residual(lik, theta, k)) for k in range(lik.k)]
        used = 0
        for i in range(lik.k):
            for j in range(i + 1, lik.k):
                for k in range(lik.k):
                    if k in (i, j) or used >= budget:
                        continue
                    new = tau.copy()
                    new[:, i] = tau[:, i] + tau[:, j]
                    upper = resid[k] > np.median(resid[k][tau[:, k] > 0.5]) if np.any(tau[:, k] > 0.5) else resid[k] > 0
                    new[:, j] = tau[:, k] * upper
                    new[:, k] = tau[:, k] * ~upper
                    new = 0.95 * new + 0.05 / lik.k
                    cand = Candidate("smem", batch, reason=f"from start {source}: merge {i + 1}+{j + 1}, split {k + 1}")
                    cand.source_llf = self.cands[source].llf
                    try:
                        with np.errstate(all="ignore"):
                            theta0 = theta_from_posterior(lik, new)
                    except START_ERRORS as exc:
                        cand.status, cand.reason = "failed", f"{type(exc).__name__}: {exc}"
                    else:
                        self._short_run(cand, theta0)
                        if cand.status == "short":
                            cand.reason = ""
                    self._add(cand)
                    used += 1
        self._refine_best(used)
        return used

    # -------------------------------------------------------------- outcome
    def _root(self, i: int) -> Candidate:
        """The refined start whose maximum start ``i`` reached (itself when refined)."""
        c = self.cands[i]
        return self.cands[c.same_as] if c.status == "same" else c

    def independent(self, i: int) -> bool:
        """Whether start ``i`` is independent evidence for the maximum it reached.

        Random starts are; a split-merge move is only when it reached a maximum
        other than the one it was made from (a move from a maximum that falls
        back into it says nothing about other basins).
        """
        c = self.cands[i]
        return c.kind != "smem" or not _rel_close(self._root(i).llf, c.source_llf, SAME_MAX_RTOL)

    def random_maxima(self) -> tuple[list[int], int]:
        """How many refined random starts reached each distinct maximum, and their number ``N``.

        Split-merge moves are left out: they are not random draws (the
        estimates below assume independent starts from one distribution), and
        moves from one maximum tend to fall back into it.
        """
        groups: list[list[float]] = []  # [log likelihood, random starts reaching it]
        n = 0
        for i, c in enumerate(self.cands):
            if c.status in ("refined", "same") and c.kind != "smem":
                n += 1
                ll = self._root(i).llf
                for g in groups:
                    if _rel_close(ll, g[0], SAME_MAX_RTOL):
                        g[1] += 1
                        break
                else:
                    groups.append([ll, 1])
        return [int(g[1]) for g in groups], n

    def good_turing(self) -> float:
        """Good-Turing estimate of the chance that one more start finds a new maximum.

        ``n1 / N``: the share of the ``N`` refined random starts whose maximum
        no other random start reached (Finch, Mendell & Thode 1989 use it to
        judge whether a multi-start search has seen the global maximum).
        """
        counts, n = self.random_maxima()
        return sum(1 for c in counts if c == 1) / n if n else 1.0

    def bayes_unseen(self) -> float:
        """Boender & Rinnooy Kan's Bayesian estimate of the same chance.

        ``w (w + 1) / (N (N - 1))`` for ``w`` distinct maxima reached by ``N``
        random starts: the posterior mean of the share of the start space whose
        maxima were not seen, under a uniform prior on the number of maxima and
        on their basins' shares (Boender & Rinnooy Kan 1987). It grows with the
        number of distinct maxima, where Good-Turing's counts only maxima seen
        once: on a rugged likelihood (many maxima, most of them reached again
        by chance) it stays high after Good-Turing's has fallen.
        """
        counts, n = self.random_maxima()
        w = len(counts)
        return min(1.0, w * (w + 1) / (n * (n - 1))) if n > 1 else 1.0

    def unseen_mass(self) -> float:
        """The chance that one more start finds a new maximum: the mean of the two estimates.

        Good-Turing's estimate (:meth:`good_turing`) alone stops too early on
        rugged likelihoods, Boender & Rinnooy Kan's (:meth:`bayes_unseen`)
        alone needs a second batch on easy ones whose first batch found three
        maxima; their mean, at most ``StartOptions.unseen`` (0.15), did best on
        the panel of hard cases (benchmarks/hard_cases/results.md).
        """
        return 0.5 * (self.good_turing() + self.bayes_unseen())

    def best(self) -> tuple[int | None, int]:
        """Index of the best non-degenerate refined start and how many independent starts reached it."""
        ok = [i for i, c in enumerate(self.cands) if c.status == "refined" and not c.degenerate]
        if not ok:
            return None, 0
        b = max(ok, key=lambda i: self.cands[i].llf)
        ll = self.cands[b].llf
        hits = sum(
            1
            for i, c in enumerate(self.cands)
            if c.status in ("refined", "same")
            and not c.degenerate
            and _rel_close(c.llf, ll, SAME_MAX_RTOL)
            and self.independent(i)
        )
        return b, hits

    def satisfied(self, hits: int) -> bool:
        """Whether the search may stop: the best was replicated and few maxima are likely unseen."""
        return hits >= self.opts.replicate and self.unseen_mass() <= self.opts.unseen

    def run(self) -> None:
        opts = self.opts
        batch = 0
        moved_from: list[float] = []  # maxima (log likelihoods) the moves started from
        while True:
            size = min(max(1, opts.draws), opts.max_draws - len(self.cands))
            if size <= 0:
                break
            self.run_batch(size, batch)
            batch += 1
            b, hits = self.best()
            # split-merge moves from each new best maximum, until they find nothing better
            while (
                b is not None
                and opts.startvalues == "auto"
                and not any(_rel_close(self.cands[b].llf, ll, SAME_MAX_RTOL) for ll in moved_from)
            ):
                moved_from.append(self.cands[b].llf)
                if not self.run_moves(b, batch, opts.max_draws - len(self.cands)):
                    break
                b, hits = self.best()
            if self.satisfied(hits):
                break
            if b is None and batch >= GIVE_UP_BATCHES:
                # every start so far collapsed, failed or ended degenerate: more of
                # the same will not help (the model has too many classes for the data)
                self.gave_up = True
                break

    def table(self) -> pd.DataFrame:
        def origin(c: Candidate) -> Candidate:
            return self.cands[c.same_as] if c.status == "duplicate" else c

        rows = [
            {
                "kind": c.kind,
                "batch": c.batch,
                "llf_short": origin(c).llf_short,
                "llf": origin(c).llf,
                "status": c.status,
                "refined": c.status == "refined",
                "degenerate": c.degenerate,
                "reason": c.reason,
            }
            for c in self.cands
        ]
        return pd.DataFrame(rows).rename_axis("start")

    def maxima(self, best_ll: float | None, best_degenerate: bool = False) -> pd.DataFrame:
        """Distinct refined maxima: log likelihood, starts reaching it, shares, degenerate flag.

        ``best`` marks the returned maximum (``best_ll``; a degenerate one when no
        start reached a non-degenerate maximum).
        """
        groups: list[dict] = []
        for i, c in enumerate(self.cands):
            if c.status != "refined":
                continue
            mine = [i] + [j for j, o in enumerate(self.cands) if o.status == "same" and o.same_as == i]
            hits, indep = len(mine), sum(self.independent(j) for j in mine)
            for g in groups:
                if g["degenerate"] == c.degenerate and _rel_close(c.llf, g["llf"], SAME_MAX_RTOL):
                    g["n_starts"] += hits
                    g["n_independent"] += indep
                    break
            else:
                tau = self.lik.estep(c.theta)[1]
                u = self.lik.unit_weights  # a grouped model's shares are shares of groups
                shares = np.sort(u @ tau / u.sum())[::-1]
                groups.append(
                    {
                        "llf": c.llf,
                        "n_starts": hits,
                        "n_independent": indep,
                        "degenerate": c.degenerate,
                        "reason": c.reason,
                        "shares": tuple(np.round(shares, 4)),
                        "first_start": i,
                    }
                )
        columns = ["llf", "n_starts", "n_independent", "degenerate", "reason", "shares", "first_start"]
        out = pd.DataFrame(groups, columns=columns)
        out = out.sort_values("llf", ascending=False, kind="stable").reset_index(drop=True)
        if best_ll is not None:
            out["best"] = [
                d == best_degenerate and _rel_close(v, best_ll, SAME_MAX_RTOL) for v, d in zip(out.llf, out.degenerate)
            ]
        return out.rename_axis("maximum")

    def failure_message(self) -> str:
        reasons = Counter()
        for c in self.cands:
            if c.status in ("failed", "collapsed", "refined"):
                kind = c.findings[0].kind if c.findings else ("failed" if c.status == "failed" else c.status)
                reasons[kind] += 1
        n = len(self.cands)
        parts = ", ".join(f"{v} {k}" for k, v in reasons.most_common())
        advice = "try fewer classes"
        if reasons and reasons.most_common(1)[0][0] in ("size", "scale"):
            return f"every start collapsed a class ({parts} of {n} starts): {advice}"
        example = next((c.reason for c in self.cands if c.reason), "")
        return f"every start failed ({parts} of {n} starts; e.g. {example}): {advice} or check the data"


def multistart(
    lik: MixtureLikelihood,
    options: StartOptions,
    rng: np.random.Generator,
    engine: str = "fast",
    start_theta: np.ndarray | None = None,
    start_tau: np.ndarray | None = None,
    callback: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search starts and return the best non-degenerate converged fit.

    ``start_theta`` (user-supplied start values) or ``start_tau`` (a
    starting posterior: Stata's ``startvalues(classpr)`` / ``classid``,
    flexmix's ``cluster=``) bypass the search and are refined directly.
    """
    if start_tau is not None:
        with np.errstate(all="ignore"):
            start_theta = theta_from_posterior(lik, start_tau)
    if start_theta is not None or lik.k == 1:
        kind = "user" if start_theta is not None else "pooled"
        if start_theta is None:
            start_theta = theta_from_posterior(lik, np.ones((lik.n, 1)))
        return _single(lik, np.asarray(start_theta, dtype=float), kind, options, engine, callback)

    sub = None
    search_lik = lik
    if lik.n > options.subsample:
        rows = lik.sample_rows(options.subsample, rng)  # whole groups of a grouped likelihood
        search_lik, sub = lik.subset(rows), options.subsample
    search = StartSearch(search_lik, options, rng, engine, callback)
    search.run()
    b, hits = search.best()
    # not replicated before the cap; a search without any non-degenerate maximum
    # is reported as degenerate instead (DegenerateClassWarning)
    unseen = search.unseen_mass()
    capped = b is not None and not search.satisfied(hits)
    if b is None:
        finite = [i for i, c in enumerate(search.cands) if c.status == "refined"]
        if not finite:
            raise FMMError(search.failure_message())
        b = max(finite, key=lambda i: search.cands[i].llf)
    cands = search.cands
    chosen = cands[b]
    if sub is None:
        return SearchResult(
            chosen.theta,
            chosen.llf,
            chosen.trace,
            search.table(),
            search.maxima(chosen.llf, chosen.degenerate),
            hits,
            capped,
            chosen.degenerate,
            chosen.findings,
            unseen=unseen,
        )
    out = _polish_full(lik, search, b, hits, capped, options, engine, callback, rng)
    out.unseen = unseen
    return out


def _single(lik, theta, kind, options, engine, callback) -> SearchResult:
    try:
        with np.errstate(all="ignore"):
            theta, ll, trace = fit_from(
                lik, theta, engine=engine, newton_tol=options.tol, newton_maxiter=options.maxiter, callback=callback
            )
    except START_ERRORS as exc:
        raise FMMError(f"the fit from the {kind} start failed ({type(exc).__name__}: {exc}); check the data") from exc
    if not np.isfinite(ll):
        raise FMMError(f"the fit from the {kind} start reached a non-finite log likelihood; check the data")
    hess = trace.final[3] if trace.final is not None else None
    with np.errstate(all="ignore"):
        tau = lik.estep(theta)[1]
        found = solution_findings(lik, theta, hess, trace.converged, response_sd(lik), options.rule, tau)
    if lik.k == 1:
        found = [f for f in found if f.kind not in ("size", "scale")]
    table = pd.DataFrame(
        [
            {
                "kind": kind,
                "batch": 0,
                "llf_short": np.nan,
                "llf": ll,
                "status": "refined",
                "refined": True,
                "degenerate": bool(found),
                "reason": "; ".join(f.message for f in found),
            }
        ]
    ).rename_axis("start")
    u = lik.unit_weights  # a grouped model's shares are shares of groups
    shares = tuple(np.round(np.sort(u @ tau / u.sum())[::-1], 4))
    maxima = pd.DataFrame(
        [
            {
                "llf": ll,
                "n_starts": 1,
                "n_independent": 1,
                "degenerate": bool(found),
                "reason": table.reason[0],
                "shares": shares,
            }
        ]
    )
    maxima["first_start"] = 0
    maxima["best"] = not found
    # one start cannot be replicated, but the user chose it: no replication warning
    return SearchResult(
        theta, ll, trace, table, maxima.rename_axis("maximum"), 1, False, bool(found), found, posterior=tau
    )


#: On large data the search's best maxima are refined on all rows when their
#: subsample log likelihoods, scaled to the full sample, are this close.
FULL_DATA_GAP = 10.0


def _polish_full(lik, search, b, hits, capped, options, engine, callback, rng) -> SearchResult:
    """Refine the subsample search's best maximum (and a close runner-up) on all rows.

    The fast engine climbs a ladder of subsamples (:func:`~fmmreg.estimation.engine.fit_large`);
    the statsmodels engine stays the literal EM-then-Newton reference.
    """
    cands = search.cands
    best_ll = cands[b].llf
    scale = lik.n / search.lik.n
    order = [b]
    for i in sorted(
        (i for i, c in enumerate(cands) if c.status == "refined" and not c.degenerate and i != b),
        key=lambda i: -cands[i].llf,
    ):
        if not _rel_close(cands[i].llf, best_ll, SAME_MAX_RTOL) and (best_ll - cands[i].llf) * scale < FULL_DATA_GAP:
            order.append(i)
        break
    best = None
    sd_y = response_sd(lik)
    for i in order:
        try:
            with np.errstate(all="ignore"):
                if engine == "fast":
                    theta, ll, trace = fit_large(
                        lik, cands[i].theta, rng, search.lik.n, options.tol, options.maxiter, callback
                    )
                else:
                    theta, ll, trace = fit_from(
                        lik,
                        cands[i].theta,
                        engine=engine,
                        newton_tol=options.tol,
                        newton_maxiter=options.maxiter,
                        callback=callback,
                    )
                hess = trace.final[3] if trace.final is not None else None
                tau = lik.estep(theta)[1]
                found = solution_findings(lik, theta, hess, trace.converged, sd_y, options.rule, tau)
        except START_ERRORS:
            continue
        if not np.isfinite(ll):
            continue
        key = (not found, ll)
        if best is None or key > best[0]:
            best = (key, theta, ll, trace, found, tau)
        del tau  # on large data an (n, K) array: at most two alive
    if best is None:
        raise FMMError(search.failure_message())
    _, theta, ll, trace, found, tau = best
    table = search.table()
    table["llf_subsample"] = table["llf"]
    return SearchResult(
        theta,
        ll,
        trace,
        table,
        search.maxima(best_ll, cands[b].degenerate),
        hits,
        capped,
        bool(found),
        found,
        subsample=search.lik.n,
        posterior=tau,
    )

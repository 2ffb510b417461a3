"""Multi-start strategy: many cheap short EM runs, full runs for the best few.

Mixture likelihoods have local maxima; one EM run from one start often stops
at one. fmmreg therefore

1. fits the pooled one-class model and takes its standardised residuals;
2. builds ``n_starts`` starting posteriors of four kinds: a deterministic
   split at the residual quantiles, k-means on the residuals (k-means++
   seeding), random-centre partitions, and random (Dirichlet) posteriors;
3. runs ``short_iter`` EM iterations from each, on a random subsample of at
   most ``subsample`` rows when the data are large (parameters, not
   posteriors, carry over to the full data);
4. continues the ``n_refine`` best *distinct* short runs to convergence
   (EM, then Newton) on all the data and keeps the best.

Everything is driven by one ``numpy.random.Generator``, so results are
deterministic given ``random_state``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg.estimation.engine import FitTrace, fit_from, run_em, theta_from_posterior
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.reporting.progress import progress_iter

START_KINDS = ("quantile", "kmeans", "partition", "random")


@dataclass
class StartOptions:
    """Tuning of the multi-start search (see the module docstring)."""

    n_starts: int = 20
    n_refine: int = 3
    short_iter: int = 20
    subsample: int = 20_000
    smoothing: float = 0.1


def pooled_residuals(lik: MixtureLikelihood) -> np.ndarray:
    """Standardised response residuals of the pooled class-1 model."""
    fam, X, y = lik.families[0], lik.designs[0], lik.y
    params = fam.fit_weighted(y, X, lik.w, maxiter=50)
    if y.ndim == 1:
        r = y - fam.mean(X, params)
    else:
        # several response columns (intreg's interval ends, possibly infinite):
        # the generalised residual d log f / d eta of the first index
        eta, anc = fam.indices(X, params)
        r = fam.index_derivatives(y, eta, anc, order=1)[1][:, 0]
    sd = r.std()
    return r / sd if sd > 0 else r


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


def starting_posteriors(
    resid: np.ndarray, k: int, n_starts: int, rng: np.random.Generator, smoothing: float = 0.1
) -> list[tuple[str, np.ndarray]]:
    """Starting posteriors (n, K) of the four kinds, ``n_starts`` in all."""
    n = len(resid)
    out: list[tuple[str, np.ndarray]] = []
    ranks = np.argsort(np.argsort(resid, kind="stable"), kind="stable")
    out.append(("quantile", _soft(np.minimum(ranks * k // n, k - 1), k, smoothing)))
    kinds = ["kmeans", "partition", "random"]
    i = 0
    while len(out) < n_starts:
        kind = kinds[i % 3]
        i += 1
        if kind == "kmeans":
            out.append((kind, _soft(_kmeans_1d(resid, k, rng), k, smoothing)))
        elif kind == "partition":
            centres = resid[rng.choice(n, size=k, replace=False)]
            labels = np.argmin(np.abs(resid[:, None] - centres[None, :]), axis=1)
            out.append((kind, _soft(labels, k, smoothing)))
        else:
            out.append((kind, rng.dirichlet(np.ones(k), size=n)))
    return out[:n_starts]


@dataclass
class MultiStartResult:
    theta: np.ndarray
    llf: float
    trace: FitTrace
    table: pd.DataFrame


def multistart(
    lik: MixtureLikelihood,
    options: StartOptions,
    rng: np.random.Generator,
    engine: str = "fast",
    start_theta: np.ndarray | None = None,
    start_tau: np.ndarray | None = None,
    progress: bool = False,
) -> MultiStartResult:
    """Search several starts and return the best converged fit.

    ``start_theta`` (user-supplied start values) or ``start_tau`` (a
    starting posterior, like flexmix's ``cluster=``) bypass the search and
    are refined directly.
    """
    rows_table = []
    if start_tau is not None:
        start_theta = theta_from_posterior(lik, start_tau)
    if start_theta is not None:
        theta, ll, trace = fit_from(lik, np.asarray(start_theta, dtype=float), engine=engine)
        table = pd.DataFrame([{"kind": "user", "llf_short": np.nan, "llf": ll, "refined": True}])
        return MultiStartResult(theta, ll, trace, table)
    if lik.k == 1:
        tau = np.ones((lik.n, 1))
        theta, ll, trace = fit_from(lik, theta_from_posterior(lik, tau), engine=engine)
        table = pd.DataFrame([{"kind": "pooled", "llf_short": np.nan, "llf": ll, "refined": True}])
        return MultiStartResult(theta, ll, trace, table)

    if lik.n > options.subsample:
        rows = lik.sample_rows(options.subsample, rng)  # whole groups of a grouped likelihood
        short_lik = lik.subset(rows)
    else:
        short_lik = lik
    resid = pooled_residuals(short_lik)
    starts = starting_posteriors(resid, lik.k, max(1, options.n_starts), rng, options.smoothing)
    short = []
    for kind, tau in progress_iter(starts, progress, total=len(starts), desc="starts"):
        with np.errstate(all="ignore"):
            theta0 = theta_from_posterior(short_lik, tau)
            theta, ll, _ = run_em(short_lik, theta0, maxiter=options.short_iter, tol=1e-10, engine=engine)
        short.append((kind, theta, ll))
        rows_table.append({"kind": kind, "llf_short": ll, "llf": np.nan, "refined": False})

    order = np.argsort([-s[2] if np.isfinite(s[2]) else np.inf for s in short], kind="stable")
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= options.n_refine:
            break
        if not np.isfinite(short[i][2]):
            continue
        # two short runs at the same likelihood are the same solution: refine a different one
        if any(abs(short[i][2] - short[j][2]) < 1e-6 * (1 + abs(short[i][2])) for j in chosen):
            continue
        chosen.append(int(i))
    if not chosen:
        raise RuntimeError("every start failed (non-finite log likelihood); check the data and the family")

    best = None
    for i in chosen:
        with np.errstate(over="ignore", under="ignore"):
            theta, ll, trace = fit_from(lik, short[i][1], engine=engine)
        rows_table[i].update(llf=ll, refined=True)
        if best is None or ll > best.llf:
            best = MultiStartResult(theta, ll, trace, None)
    best.table = pd.DataFrame(rows_table).rename_axis("start")
    return best

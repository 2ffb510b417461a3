"""Predictions of a grouped (panel) model that need the group: posteriors and scores.

The posterior class probabilities of a grouped model belong to the group
(:mod:`fmmreg.panel`). :func:`posterior_rows` gives each row its group's:

- in sample: the fitted posterior of the row's group;
- on new data, for a group of the estimation sample (matched by id in the
  group variable's column): its fitted posterior, from the estimation rows
  (new rows of a known group do not update it: refit with them for that);
- for a new group: the posterior from its own rows in ``newdata``,
  ``t_gk = pi_k(z_g) prod_i f_k(y_i | x_i) / sum_j ...`` over the rows whose
  response and covariates are complete, so rows without a response (future
  waves) get the posterior of the group's observed rows; a new group
  without any complete row (or without the response column) gets its prior
  class probabilities ``pi_k(z_g)``.

Rows without a group id get NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmmreg import formula as _formula
from fmmreg.estimation.grouped import GroupedMixtureLikelihood, Groups
from fmmreg.estimation.linalg import logsumexp_rows
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError
from fmmreg.panel import _show
from fmmreg.postestimation.predict import _log_prior, _per_class, _variables, encode_newdata


def _group_ids(res, newdata: pd.DataFrame) -> pd.Series:
    panel = res.model.panel
    if panel.name not in newdata.columns:
        raise FMMError(
            f"newdata lacks the group variable {panel.name!r}: the posterior of a grouped model belongs to the "
            "group, so each row needs its group id (a fitted group's id, or a new one)"
        )
    return newdata[panel.name]


def _has_response(res, newdata: pd.DataFrame) -> bool:
    """Whether ``newdata`` holds the response and the data columns the families read."""
    lhs = _formula._parse(res.model.design.formulas[0], "formula", True).lhs
    needed = _variables(lhs) | set(_formula.family_columns(res.families))
    return needed <= set(newdata.columns)


def _first_valid(codes: np.ndarray, valid: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the first row with ``valid`` (or -1)."""
    out = np.full(n_groups, -1)
    rows = np.flatnonzero(valid)
    groups, first = np.unique(codes[rows], return_index=True)
    out[groups] = rows[first]
    return out


def _new_group_posterior(res, sub: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """Posteriors (one row per row of ``sub``) of new groups from their complete rows."""
    n_groups = int(codes.max()) + 1
    zdat = encode_newdata(res, sub, {"z"})
    logpi = _log_prior(res, zdat)
    valid_z = ~zdat.missing & np.isfinite(logpi).all(axis=1)
    first = _first_valid(codes, valid_z, n_groups)
    rows = np.flatnonzero(valid_z)
    if rows.size and np.any(zdat.Z[rows] != zdat.Z[first[codes[rows]]]):
        i = rows[np.flatnonzero(np.any(zdat.Z[rows] != zdat.Z[first[codes[rows]]], axis=1))[0]]
        raise FMMError(
            f"the class-membership variables vary within group {_show(sub[res.model.panel.name].iloc[i])} of newdata; "
            "they must be constant within a group"
        )
    logpi_g = np.full((n_groups, res.k), np.nan)
    has_z = first >= 0
    logpi_g[has_z] = logpi[first[has_z]]
    total = np.zeros((n_groups, res.k))
    if _has_response(res, sub):
        ydat = encode_newdata(res, sub, {"y", "x"})
        logf = _per_class(res, ydat, "logf")
        ok = ~ydat.missing & np.isfinite(logf).all(axis=1)
        total = np.zeros((n_groups, res.k))
        np.add.at(total, codes[ok], logf[ok])
    a = logpi_g + total
    with np.errstate(invalid="ignore"):
        post = np.exp(a - logsumexp_rows(a)[:, None])
    return post[codes]


def posterior_rows(res, newdata: pd.DataFrame | None = None) -> np.ndarray:
    """Each row's group posterior, shape (rows, K); see the module notes.

    Posteriors describe the observed outcomes, so they keep the model's
    offsets (read from ``newdata``) even under ``predict(nooffset=True)``.
    """
    panel = res.model.panel
    if newdata is None:
        return np.array(res.posterior_array)
    ids = _group_ids(res, newdata)
    out = np.full((len(newdata), res.k), np.nan)
    pos = panel.ids.get_indexer(ids)
    known = pos >= 0
    fitted = res.posterior_array[panel.groups.first]
    out[known] = fitted[pos[known]]
    new = ~known & ids.notna().to_numpy()
    if new.any():
        rows = np.flatnonzero(new)
        codes, _ = pd.factorize(ids.iloc[rows], sort=False)
        out[rows] = _new_group_posterior(res, newdata.iloc[rows], codes)
    return out


def score_rows(res, data, newdata: pd.DataFrame | None = None) -> np.ndarray:
    """Each row's share of its group's score (:meth:`GroupedMixtureLikelihood.score_obs`), unweighted.

    On new data the groups are those of the group variable's column; rows
    with a missing value or group id are left out of their group (NaN).
    """
    if newdata is None:
        codes = res.model.panel.groups.codes
        ok = np.ones(len(codes), dtype=bool)
    else:
        ids = _group_ids(res, newdata)
        ok = ~data.missing & ids.notna().to_numpy()
        codes, _ = pd.factorize(ids.iloc[np.flatnonzero(ok)], sort=False)
    out = np.full((len(ok), len(res.theta)), np.nan)
    if not ok.any():
        return out
    offsets = data.offsets or [None] * res.k
    lik = MixtureLikelihood(
        [y[ok] for y in data.ys],
        [X[ok] for X in data.designs],
        data.Z[ok],
        res.families,
        None,
        offsets=[None if o is None else o[ok] for o in offsets],
    )
    out[ok] = GroupedMixtureLikelihood.from_rows(lik, Groups(codes)).score_obs(res.theta)
    return out

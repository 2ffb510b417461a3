"""Covariance estimators from per-observation scores: OPG, robust sandwich, cluster.

Arrays only (the engine's side of :mod:`fmmreg.postestimation.vce`). With the
per-observation scores ``g_i = d l_i / d theta`` of the full mixture log
likelihood (:meth:`MixtureLikelihood.score_obs`), the observed information
``A = -H`` and weights ``w_i``:

- OPG: ``(sum_i w_i g_i g_i')^{-1}``;
- robust: ``c A^{-1} (sum_i m_i g_i g_i') A^{-1}``, ``m_i`` = ``w_i`` for
  frequency weights and ``w_i^2`` otherwise, ``c = N / (N - 1)``;
- cluster: ``c A^{-1} (sum_g s_g s_g') A^{-1}`` with cluster sums
  ``s_g = sum_{i in g} w_i g_i`` and ``c = G / (G - 1)``.

The scores are evaluated in row blocks, so memory stays at a block's
``(rows, n_params)`` array however large the data. The sums run over the
likelihood's independent units: rows, or the groups of a grouped (panel)
likelihood, whose score is the sum of its rows' shares
(:meth:`MixtureLikelihood.unit_scores`; blocks never split a group).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse

from fmmreg.estimation.linalg import jacobi_scale
from fmmreg.estimation.mixture import MixtureLikelihood

#: Rows of scores held in memory at once.
SCORE_BLOCK = 65_536


def _blocks(lik: MixtureLikelihood):
    return lik.row_blocks(SCORE_BLOCK)


def score_cross(lik: MixtureLikelihood, theta: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``sum_u m_u g_u g_u'`` over the units (rows, or groups) (n_params x n_params).

    ``m`` holds one value per row (a group's value on each of its rows).
    """
    out = np.zeros((lik.n_params, lik.n_params))
    for rows, part in _blocks(lik):
        g, m_u = part.unit_scores(theta, m[rows])
        out += (g * m_u[:, None]).T @ g
    return out


def cluster_score_cross(lik: MixtureLikelihood, theta: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} w_i g_i`` (groups coded 0..G-1)."""
    sums = np.zeros((n_groups, lik.n_params))
    for rows, part in _blocks(lik):
        wg = part.score_obs(theta) * part.w[:, None]
        codes = groups[rows]
        # a sparse one-hot (G x rows) matrix adds the rows of each cluster in one product
        onehot = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_groups, len(codes)))
        sums += onehot @ wg
    return sums.T @ sums


def invert_information(info: np.ndarray, what: str) -> np.ndarray:
    """Inverse of a positive semi-definite information matrix, Jacobi-scaled.

    Falls back to a pseudo-inverse (with a warning naming ``what``) when the
    matrix is singular, e.g. an OPG with fewer clusters than parameters.
    """
    a_s, d = jacobi_scale(info)
    eig = np.linalg.eigvalsh(a_s)
    if eig.min() <= 1e-10 * max(1.0, eig.max()):
        warnings.warn(
            f"the {what} matrix is not positive definite: standard errors use a pseudo-inverse",
            RuntimeWarning,
            stacklevel=4,
        )
        return np.linalg.pinv(a_s) / np.outer(d, d)
    return np.linalg.inv(a_s) / np.outer(d, d)


def sandwich(bread: np.ndarray, meat: np.ndarray, factor: float) -> np.ndarray:
    """``factor * bread @ meat @ bread``, symmetrised."""
    v = factor * bread @ meat @ bread
    return 0.5 * (v + v.T)

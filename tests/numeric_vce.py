"""Independent covariance references built from numerically differentiated log likelihoods.

Only ``MixtureLikelihood.estep`` (the per-observation log likelihoods
``l_i(theta)``) is used: no analytic score, Hessian or Louis identity. The
per-observation scores are central differences with one Richardson step
(error O(h^4)); the Hessian of ``sum_i w_i l_i`` is the four-point mixed
central difference (steps of 0.01 standard errors: the truncation error is
O(h^2 / n), the rounding error eps |l| / h^2). Steps are scaled by ``1 / sqrt(|H_jj|)`` (a rough
diagonal from the scores) so every coordinate moves the log likelihood alike.
"""

from __future__ import annotations

import numpy as np


def _loglik_obs(lik, theta: np.ndarray) -> np.ndarray:
    return lik.estep(theta)[2]


def _steps(lik, theta: np.ndarray, scale: float) -> np.ndarray:
    g = _raw_scores(lik, theta, 1e-5 * np.maximum(1.0, np.abs(theta)))
    info = np.sqrt((lik.w[:, None] * g * g).sum(axis=0))
    return scale / np.maximum(info, 1e-8)


def _raw_scores(lik, theta: np.ndarray, h: np.ndarray) -> np.ndarray:
    cols = []
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = h[j]
        cols.append((_loglik_obs(lik, theta + e) - _loglik_obs(lik, theta - e)) / (2 * h[j]))
    return np.column_stack(cols)


def numeric_scores(lik, theta: np.ndarray) -> np.ndarray:
    """Per-observation scores ``d l_i / d theta`` (n, p), Richardson-extrapolated central differences."""
    h = _steps(lik, theta, 1e-2)
    return (4.0 * _raw_scores(lik, theta, h / 2) - _raw_scores(lik, theta, h)) / 3.0


def numeric_hessian(lik, theta: np.ndarray) -> np.ndarray:
    """Hessian of ``sum_i w_i l_i`` by four-point central differences."""
    h = _steps(lik, theta, 1e-2)
    p = len(theta)

    def f(d):
        return float(lik.w @ _loglik_obs(lik, theta + d))

    out = np.empty((p, p))
    for a in range(p):
        ea = np.zeros(p)
        ea[a] = h[a]
        for b in range(a, p):
            eb = np.zeros(p)
            eb[b] = h[b]
            v = (f(ea + eb) - f(ea - eb) - f(-ea + eb) + f(-ea - eb)) / (4 * h[a] * h[b])
            out[a, b] = out[b, a] = v
    return out


def numeric_vce(lik, theta: np.ndarray, kind: str, groups: np.ndarray | None = None, meat_w=None) -> np.ndarray:
    """OPG, robust or cluster covariance from the numeric scores and Hessian.

    ``meat_w`` multiplies ``g_i g_i'`` in the robust meat (default ``w_i**2``,
    sampling weights); the robust factor is ``n/(n-1)`` with ``n`` rows, the
    cluster factor ``G/(G-1)``.
    """
    g = numeric_scores(lik, theta)
    w = lik.w
    if kind == "opg":
        return np.linalg.inv((g * w[:, None]).T @ g)
    bread = np.linalg.inv(-numeric_hessian(lik, theta))
    if kind == "robust":
        m = w * w if meat_w is None else meat_w
        n = len(w)
        return n / (n - 1) * bread @ ((g * m[:, None]).T @ g) @ bread
    ids = np.unique(groups)
    sums = np.array([(w[groups == c, None] * g[groups == c]).sum(axis=0) for c in ids])
    G = len(ids)
    return G / (G - 1) * bread @ (sums.T @ sums) @ bread

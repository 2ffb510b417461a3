"""Survival predictions of mixtures with ``streg`` classes (Stata's ``predict, surv / hazard / median time``).

Per class, ``S_k(t | x)``, ``h_k(t | x)`` and the median time come from the
survival family (:class:`fmmreg.families.streg.Streg`); a point-mass class on
the failure indicator (the cured class of a cure model) never fails:
``S = 1``, ``h = 0``, median infinite. The marginal (population) functions
mix with the prior class probabilities ``pi_k(z)``::

    S(t) = sum_k pi_k S_k(t),
    h(t) = sum_k pi_k f_k(t) / S(t) = sum_k pi_k h_k(t) S_k(t) / S(t),

and the marginal median solves ``S(t) = 1/2`` (infinite where the cured
share is at least one half). ``t`` is each row's own analysis time.
"""

from __future__ import annotations

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.families.pointmass import PointMass
from fmmreg.families.streg import Streg

SURVIVAL_KINDS = ("survival", "hazard", "median")


def _check_classes(families) -> None:
    if not any(isinstance(f, Streg) for f in families):
        raise FMMError("survival predictions need a survival (streg) class; this model has none")
    for k, fam in enumerate(families, start=1):
        if not isinstance(fam, (Streg, PointMass)) or (isinstance(fam, PointMass) and fam.response is None):
            raise FMMError(
                f"survival predictions are defined for streg classes and a cured pointmass class "
                f"(PointMass(0, response=<failure column>)); class {k} is {fam.name!r}"
            )


def analysis_time(families, ys) -> np.ndarray:
    """Each row's analysis time: the first column of a survival class's response."""
    for fam, y in zip(families, ys):
        if isinstance(fam, Streg):
            return np.asarray(y, dtype=float)[:, 0]
    raise FMMError("survival predictions need a survival (streg) class; this model has none")


def class_log_survival(families, designs, comps, t: np.ndarray) -> np.ndarray:
    """``log S_k(t_i | x_i)``, shape (n, K)."""
    cols = []
    for fam, X, th in zip(families, designs, comps):
        if isinstance(fam, Streg):
            eta, anc = fam.indices(X, th)
            cols.append(fam.log_survival(t, eta, anc))
        else:
            cols.append(np.zeros(len(t)))
    return np.column_stack(cols)


def class_values(kind: str, families, designs, comps, ys) -> np.ndarray:
    """Per-class survival, hazard or median, shape (n, K)."""
    _check_classes(families)
    cols = []
    t = None if kind == "median" else analysis_time(families, ys)
    for fam, X, th in zip(families, designs, comps):
        n = X.shape[0]
        if not isinstance(fam, Streg):  # the cured class
            cols.append({"survival": np.ones(n), "hazard": np.zeros(n), "median": np.full(n, np.inf)}[kind])
            continue
        eta, anc = fam.indices(X, th)
        if kind == "survival":
            cols.append(np.exp(fam.log_survival(t, eta, anc)))
        elif kind == "hazard":
            cols.append(np.exp(fam.log_hazard(t, eta, anc)))
        else:
            cols.append(fam.median_from_index(eta, anc))
    return np.column_stack(cols)


def marginal_values(kind: str, families, designs, comps, ys, prior: np.ndarray) -> np.ndarray:
    """Population survival, hazard or median with prior class probabilities ``prior`` (n, K)."""
    _check_classes(families)
    if kind == "survival":
        return (prior * class_values("survival", families, designs, comps, ys)).sum(axis=1)
    if kind == "hazard":
        s = class_values("survival", families, designs, comps, ys)
        h = class_values("hazard", families, designs, comps, ys)
        return (prior * h * s).sum(axis=1) / (prior * s).sum(axis=1)
    return _marginal_median(families, designs, comps, prior)


def _marginal_median(families, designs, comps, prior: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Root of ``sum_k pi_k S_k(t) = 1/2`` by bisection on ``log t`` between the class medians."""
    med = class_values("median", families, designs, comps, None)
    cured = np.array([not isinstance(f, Streg) for f in families])
    cured_share = prior[:, cured].sum(axis=1)
    finite = np.where(np.isfinite(med), med, np.nan)
    with np.errstate(all="ignore"):
        lo = np.log(np.nanmin(finite, axis=1))
        hi = np.log(np.nanmax(finite, axis=1))
    # the cured share shifts the root above the largest class median: widen the bracket until S(hi) <= 1/2
    for _ in range(60):
        s_hi = (prior * np.exp(class_log_survival(families, designs, comps, np.exp(hi)))).sum(axis=1)
        wide = (s_hi > 0.5) & (cured_share < 0.5)
        if not wide.any():
            break
        hi = np.where(wide, hi + 1.0, hi)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        s_mid = (prior * np.exp(class_log_survival(families, designs, comps, np.exp(mid)))).sum(axis=1)
        above = s_mid > 0.5
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = np.exp(0.5 * (lo + hi))
    return np.where(cured_share >= 0.5, np.inf, out)

"""Group-based trajectory plot: each class's fitted mean over time with its groups' observed means.

The plot of Nagin's group-based trajectory models (Stata's ``traj``, R's
``lcmm``): for a panel model (``group=``) with a polynomial in time per
class, the fitted trajectory of class ``k`` is its mean ``mu_k(t)`` over a
time grid (other covariates at typical values, as
:func:`fmmreg.reporting.plots.class_mean_profile`), and the observed means
are the averages of the response at each time over the groups assigned to
class ``k``: by their modal class (default, as ``traj`` plots) or weighted
by their posterior probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError
from fmmreg.reporting.plots import _pyplot, class_mean_profile

#: More distinct time values than this are averaged in this many equal-width bins.
MAX_TIMES = 30


def observed_means(res, time: str, data: pd.DataFrame | None = None, weighting: str = "modal") -> pd.DataFrame:
    """Observed mean response at each time, per class: index = time (or bin midpoint), columns = classes.

    Parameters
    ----------
    res : FMMResults
    time : str
        The time column of ``data``.
    data : DataFrame, optional
        The estimation data (default: the data the model was built on);
        its rows used by the fit are read.
    weighting : {"modal", "posterior"}
        Rows count for the modal class of their group (``"modal"``) or with
        weight ``t_gk`` in every class (``"posterior"``); the fit's weights
        multiply either.

    Notes
    -----
    ``ybar_k(t) = sum_i v_ik y_i 1{t_i = t} / sum_i v_ik 1{t_i = t}`` with
    ``v_ik = w_i 1{k = modal class}`` or ``w_i t_ik``.
    """
    if weighting not in ("modal", "posterior"):
        raise FMMError(f"weighting must be 'modal' or 'posterior', got {weighting!r}")
    data = res.model.data if data is None else data
    if time not in data.columns:
        raise FMMError(f"time variable {time!r} not found in data")
    rows = res.model.design.rows
    y = np.asarray(res.lik.y, dtype=float)
    if y.ndim != 1:
        raise FMMError("observed means need a one-column response")
    t = pd.to_numeric(data[time].iloc[rows], errors="coerce").to_numpy(dtype=float)
    if np.isnan(t).all():
        raise FMMError(f"time variable {time!r} has no numeric values in the rows used")
    post = res.posterior_array
    if weighting == "modal":
        weight = np.eye(res.k)[post.argmax(axis=1)]
    else:
        weight = np.array(post)
    weight = weight * res.lik.w[:, None] * np.isfinite(t)[:, None]
    values = np.unique(t[np.isfinite(t)])
    if values.size > MAX_TIMES:
        edges = np.linspace(values[0], values[-1], MAX_TIMES + 1)
        mids = 0.5 * (edges[:-1] + edges[1:])
        where = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, MAX_TIMES - 1)
        t, values = mids[where], mids
    codes = np.searchsorted(values, np.where(np.isfinite(t), t, values[0]))
    num = np.zeros((values.size, res.k))
    den = np.zeros((values.size, res.k))
    np.add.at(num, codes, weight * y[:, None])
    np.add.at(den, codes, weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = num / den
    return pd.DataFrame(means, index=pd.Index(values, name=time), columns=pd.Index(range(1, res.k + 1), name="Class"))


def plot_trajectories(
    res,
    time: str,
    data: pd.DataFrame | None = None,
    at: Mapping | None = None,
    weighting: str = "modal",
    ax=None,
    n_points: int = 50,
):
    """Fitted class trajectories over ``time`` with the observed means of each class's groups.

    Parameters
    ----------
    res : FMMResults
        Usually a panel fit (``group=``) with time terms in the formula
        (``"y ~ t + I(t**2) | id"``).
    time : str
        The time column (a covariate of the model).
    data : DataFrame, optional
        Estimation data (default: the model's).
    at : dict, optional
        Values of the other covariates for the fitted lines (default: mean of
        float columns, most frequent value of the others).
    weighting : {"modal", "posterior"}
        How groups are assigned to classes for the observed means
        (:func:`observed_means`).
    ax : matplotlib Axes, optional
    n_points : int
        Grid size for a time variable with many values.

    Returns
    -------
    matplotlib.axes.Axes
        One line per class (label ``Class k (share%)``, the share from
        ``class_shares``) and its observed means as markers.
    """
    plt = _pyplot()
    data = res.model.data if data is None else data
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    grid, means, _ = class_mean_profile(res, time, data, at, n_points)
    observed = observed_means(res, time, data, weighting)
    shares = res.class_shares
    for k in means.columns:
        color = f"C{k - 1}"
        ax.plot(grid[time], means[k], color=color, label=f"Class {k} ({100 * shares[k]:.1f}%)")
        ax.plot(observed.index, observed[k], color=color, marker="o", linestyle="none", markersize=4)
    ax.set_xlabel(time)
    ax.set_ylabel(f"E({res.yname})")
    title = "observed: modal-class means" if weighting == "modal" else "observed: posterior-weighted means"
    ax.set_title(f"Class trajectories ({title})", fontsize="small")
    ax.legend(frameon=False, fontsize="small")
    return ax

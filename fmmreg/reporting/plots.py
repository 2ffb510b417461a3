"""Plots of a fitted mixture (matplotlib, the optional ``plot`` extra).

Every function draws on a given Axes/Figure or makes a new one, returns it,
and never calls ``plt.show()``.

In a notebook with matplotlib's inline backend a new pyplot figure is shown
when the cell ends, and a Figure returned as the cell's last value is shown
again by IPython's display hook: twice. The figures made here are
:class:`MixtureFigure`, which shows itself once: when it is displayed (as
the last value, by ``display(fig)`` or at the end of the cell) it sends its
image and, under the inline backend, leaves pyplot's list of open figures,
so the end of the cell does not send it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("plots need matplotlib: pip install 'fmmreg[plot]'") from exc
    return plt


def _class_name(res, k: int) -> str:
    """``"2"``, or ``"2 (high)"`` with ``class_labels=``."""
    labels = getattr(res, "class_labels", None)
    label = str(k) if labels is None else labels[k - 1]
    return str(k) if label == str(k) else f"{k} ({label})"


def _figure_class():
    """:class:`MixtureFigure`, defined on first use so that matplotlib stays optional."""
    global MixtureFigure
    if MixtureFigure is None:
        from matplotlib.figure import Figure

        class _MixtureFigure(Figure):
            """A matplotlib Figure that a notebook shows exactly once."""

            def _ipython_display_(self) -> None:
                _display_once(self)

        _MixtureFigure.__name__ = _MixtureFigure.__qualname__ = "MixtureFigure"
        MixtureFigure = _MixtureFigure
    return MixtureFigure


#: The Figure subclass of fmmreg's plots (set by :func:`_figure_class`).
MixtureFigure = None


def _display_once(fig) -> None:
    """Send ``fig`` as IPython would, then take it off pyplot's list under the inline backend."""
    import matplotlib
    from IPython import get_ipython
    from IPython.display import publish_display_data

    shell = get_ipython()
    inline = "inline" in matplotlib.get_backend()
    if shell is None:
        print(repr(fig))
        return
    data, metadata = {}, {}
    for mime, formatter in shell.display_formatter.formatters.items():
        if not inline and mime != "text/plain":  # a GUI or widget backend shows the figure itself
            continue
        try:
            out = formatter(fig)
        except Exception:  # a formatter that cannot render this figure: skip it, as IPython does
            continue
        if isinstance(out, tuple):
            out, metadata[mime] = out
        if out is not None:
            data[mime] = out
    publish_display_data(data, metadata=metadata)
    if inline:
        # shown now: the inline backend's end-of-cell flush must not send it again
        _pyplot().close(fig)


def plot_posterior(res, bins: int = 20, modal: bool = False, fig=None):
    """Histograms of the posterior class probabilities, one panel per class.

    Parameters
    ----------
    res : FMMResults
    bins : int
        Number of bins on [0, 1].
    modal : bool
        Only observations whose most probable class is the panel's class
        (a classification-quality diagnostic: good separation puts them
        near 1).
    fig : matplotlib Figure, optional
        Drawn on (cleared panels are added); a new Figure otherwise.

    Returns
    -------
    MixtureFigure
        A matplotlib Figure (``savefig``, ``axes``, ...) that a notebook shows
        once, also as a cell's last value.
    """
    plt = _pyplot()
    post = res.posterior_array
    w = res.lik.unit_weights  # a grouped model's posteriors count once per group
    k = res.k
    if fig is None:
        fig = plt.figure(figsize=(3.2 * min(k, 4), 2.8 * int(np.ceil(k / 4))), FigureClass=_figure_class())
    ncol = min(k, 4)
    axes = fig.subplots(int(np.ceil(k / ncol)), ncol, sharex=True, squeeze=False).ravel()
    modal_class = post.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for j in range(k):
        ax = axes[j]
        keep = modal_class == j if modal else np.ones(len(post), dtype=bool)
        ax.hist(post[keep, j], bins=edges, weights=w[keep], color=f"C{j}", edgecolor="white")
        ax.set_title(f"Class {_class_name(res, j + 1)}" + (" (modal)" if modal else ""))
        ax.set_xlabel("Posterior probability")
    axes[0].set_ylabel("Frequency")
    for ax in axes[k:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _variables(spec) -> set[str]:
    from fmmreg.postestimation.predict import _variables as variables

    return variables(spec)


def _typical(col: pd.Series):
    """Mean of a float column, most frequent value otherwise."""
    s = col.dropna()
    if pd.api.types.is_float_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
        return float(s.mean())
    return s.mode().iloc[0]


def class_mean_profile(
    res, x: str, data: pd.DataFrame, at: Mapping | None = None, n_points: int = 50
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Grid over ``x``, with every other covariate at ``at`` or a typical value.

    Returns the grid, the class means on it (columns: classes) and the
    prior-weighted marginal mean. Typical values: the mean of a float
    column, the most frequent value of any other column.
    """
    d = res.model.design
    needed = set()
    for j in set(res.class_map):
        needed |= _variables(d.x_specs[j])
    if d.z_spec is not None:
        needed |= _variables(d.z_spec)
    if x not in data.columns:
        raise FMMError(f"column {x!r} not in data")
    if x not in needed:
        raise FMMError(f"{x!r} is not a covariate of the model (it uses {sorted(needed)})")
    col = data[x].dropna()
    if pd.api.types.is_float_dtype(col) or (pd.api.types.is_integer_dtype(col) and col.nunique() > 10):
        values = np.linspace(col.min(), col.max(), n_points)
    else:
        values = np.sort(col.unique())
    at = dict(at or {})
    grid = pd.DataFrame({x: values})
    for v in sorted(needed - {x}):
        if v not in data.columns and v not in at:
            raise FMMError(f"data lacks column {v!r} needed by the model; give it in at=")
        grid[v] = at[v] if v in at else _typical(data[v])
    means = res.predict(newdata=grid, kind="mu")
    marginal = res.predict(newdata=grid, kind="mu", marginal=True)
    return grid, means, marginal


def plot_class_means(
    res,
    x: str,
    data: pd.DataFrame,
    at: Mapping | None = None,
    ax=None,
    n_points: int = 50,
    show_data: bool = True,
    show_marginal: bool = True,
):
    """Fitted class means against covariate ``x``, other covariates held fixed.

    Parameters
    ----------
    res : FMMResults
    x : str
        Column of ``data`` on the horizontal axis.
    data : DataFrame
        Data to take ``x``'s range and the typical values of the other
        covariates from (usually the estimation data).
    at : dict, optional
        Values of other covariates (default: mean of float columns, most
        frequent value of the others).
    ax : matplotlib Axes, optional
    n_points : int
        Grid size for a continuous ``x``.
    show_data : bool
        Scatter the observed response (when it is a column of ``data``).
    show_marginal : bool
        Add the prior-weighted marginal mean (dashed).

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), FigureClass=_figure_class())
    grid, means, marginal = class_mean_profile(res, x, data, at, n_points)
    yname = res.yname
    if show_data and yname in data.columns:
        ax.scatter(data[x], data[yname], s=4, color="0.6", alpha=0.4, label="data")
    for k in means.columns:
        ax.plot(
            grid[x],
            means[k],
            color=f"C{k - 1}",
            marker="o" if len(grid) < 15 else None,
            label=f"Class {_class_name(res, k)}",
        )
    if show_marginal:
        ax.plot(grid[x], marginal, color="black", linestyle="--", label="marginal")
    ax.set_xlabel(x)
    ax.set_ylabel(f"E({yname})")
    ax.legend(frameon=False, fontsize="small")
    return ax


def _ic_table(obj) -> pd.DataFrame:
    from fmmreg.postestimation.estat import info_criteria

    if hasattr(obj, "table") and isinstance(obj.table, pd.DataFrame):
        return obj.table
    items = obj.values() if isinstance(obj, Mapping) else obj
    rows = {}
    for r in items:
        ic = info_criteria(r)
        rows[r.k] = {"AIC": ic.aic, "BIC": ic.bic, "CAIC": ic.caic, "SABIC": ic.sabic, "AICc": ic.aicc, "ICL": ic.icl}
    return pd.DataFrame.from_dict(rows, orient="index").sort_index().rename_axis("K")


def plot_ic(obj, criteria: Sequence[str] = ("aic", "bic"), ax=None):
    """Information criteria against the number of classes.

    Parameters
    ----------
    obj : SelectK, or dict/list of FMMResults with different K
    criteria : sequence of str
        Any of ``aic, bic, caic, sabic, aicc, icl``; the minimum of each is
        marked.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    table = _ic_table(obj)
    names = {c.lower(): c for c in table.columns}
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5), FigureClass=_figure_class())
    for i, c in enumerate(criteria):
        if c.lower() not in names:
            raise FMMError(f"criterion {c!r} not available; choose from {sorted(names)}")
        col = table[names[c.lower()]]
        ax.plot(col.index, col.to_numpy(), marker="o", color=f"C{i}", label=names[c.lower()])
        best = col.idxmin()
        ax.plot([best], [col[best]], marker="*", markersize=14, color=f"C{i}", linestyle="none")
    ax.set_xticks(list(table.index))
    ax.set_xlabel("Number of classes K")
    ax.set_ylabel("Criterion (smaller is better)")
    ax.legend(frameon=False)
    return ax

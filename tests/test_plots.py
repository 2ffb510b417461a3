"""Plots (issue 5): they return matplotlib objects, draw the right numbers, never show."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fmmreg import fmm, select_k  # noqa: E402
from fmmreg.reporting.plots import class_mean_profile, plot_ic  # noqa: E402
from tests.simulate import gaussian_mixture  # noqa: E402


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the library must not call plt.show()")

    monkeypatch.setattr(plt, "show", fail)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sim():
    data = gaussian_mixture(n=300, seed=4, k=2)
    return data, fmm(2, "y ~ x + C(g)", data=data, class_formula="~ z")


def test_posterior_histograms(sim):
    _, res = sim
    fig = res.plot_posterior(bins=10)
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == res.k
    post = res.posterior.to_numpy()
    for j, ax in enumerate(axes):
        heights = np.array([p.get_height() for p in ax.patches])
        expected, _ = np.histogram(post[:, j], bins=np.linspace(0, 1, 11))
        np.testing.assert_allclose(heights, expected)
        assert ax.get_title() == f"Class {j + 1}"
    fig = res.plot_posterior(modal=True)
    total = sum(p.get_height() for ax in fig.axes if ax.get_visible() for p in ax.patches)
    assert total == pytest.approx(res.nobs)


def test_class_means_profile(sim):
    data, res = sim
    ax = res.plot_class_means("x", data)
    assert isinstance(ax, matplotlib.axes.Axes)
    grid, means, marginal = class_mean_profile(res, "x", data)
    assert (grid["g"] == data["g"].mode().iloc[0]).all()
    assert grid["z"].iloc[0] == pytest.approx(data["z"].mean())
    lines = ax.get_lines()
    assert len(lines) == res.k + 1
    for k in range(1, res.k + 1):
        np.testing.assert_allclose(lines[k - 1].get_ydata(), means[k])
    np.testing.assert_allclose(lines[-1].get_ydata(), marginal)
    # a Gaussian class mean is linear in x with the class slope
    slope = np.polyfit(grid["x"], means[2], 1)[0]
    assert slope == pytest.approx(res.params[("2.y", "x")], rel=1e-10)
    ax2 = res.plot_class_means("g", data, at={"x": 0.0, "z": 0.0})
    assert len(ax2.get_lines()[0].get_xdata()) == 3
    with pytest.raises(ValueError, match="not a covariate"):
        res.plot_class_means("y", data)


def test_ic_plot():
    data = gaussian_mixture(n=300, seed=6, k=2, membership=False)
    sel = select_k("y ~ x", data, k=[1, 2, 3], draws=4, max_draws=4)
    ax = sel.plot(criteria=("aic", "bic"))
    assert isinstance(ax, matplotlib.axes.Axes)
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("AIC", "BIC")]
    assert [ln.get_label() for ln in lines] == ["AIC", "BIC"]
    np.testing.assert_allclose(lines[1].get_ydata(), sel.table["BIC"])
    ax2 = plot_ic(list(sel.results.values()), criteria=["bic"])
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), sel.table["BIC"])
    with pytest.raises(ValueError, match="criterion"):
        plot_ic(sel, criteria=["r2"])

"""compare(), select_k() and the progress option (issue 5)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

import fmmreg
from fmmreg import compare, select_k
from fmmreg.postestimation.compare import SelectK
from fmmreg.reporting.formatting import stata_g
from fmmreg.reporting.progress import progress_iter
from tests.simulate import gaussian_mixture
from tests.test_exports import _compile, _parse_markdown_tables

FAST = {"draws": 6, "max_draws": 6}


@pytest.fixture(scope="module")
def three_class():
    return gaussian_mixture(n=600, seed=11, k=3, membership=False)


@pytest.fixture(scope="module")
def selection(three_class):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # K=4 may warn about a small class
        return select_k("y ~ x", three_class, k=range(1, 5), **FAST)


def test_select_k_picks_three_by_bic(selection):
    assert selection.best_k == 3
    assert selection.best is selection.results[3]
    assert list(selection.table.index) == [1, 2, 3, 4]
    for k, res in selection.results.items():
        ic = res.ic()
        assert selection.table.loc[k, "BIC"] == pytest.approx(ic.bic)
        assert selection.table.loc[k, "ll"] == pytest.approx(res.llf)
        assert res.k == k
    bic = selection.table["BIC"]
    assert bic[3] < bic[2] < bic[1] and bic[3] < bic[4]
    assert "Best K by BIC: 3" in str(selection)


def test_select_k_warns_when_the_best_k_is_at_the_edge(three_class, selection):
    assert selection.edge_note is None  # best K = 3 inside 1..4
    with pytest.warns(UserWarning, match=r"best K by BIC \(3\) is the largest K tried.*k=range\(1, 6\)"):
        short = select_k("y ~ x", three_class, k=[1, 2, 3], **FAST)
    assert "Note: the best K by BIC (3) is the largest" in str(short)
    with pytest.warns(UserWarning, match=r"smallest K tried.*k=range\(1, 5\)"):
        select_k("y ~ x", three_class, k=[3, 4], **FAST)
    # K = 1 at the lower edge is a real answer, not a warning
    table = pd.DataFrame({"BIC": [10.0, 12.0, 15.0]}, index=pd.Index([1, 2, 3], name="K"))
    assert SelectK({}, table).edge_note is None


def test_select_k_other_criterion_and_bad_input(selection, three_class):
    assert selection.table["AIC"].idxmin() in (3, 4)
    with pytest.raises(ValueError, match="criterion"):
        select_k("y ~ x", three_class, k=[1], criterion="r2")
    with pytest.raises(ValueError, match="empty"):
        select_k("y ~ x", three_class, k=[])


def test_compare_stats_and_coefficients(selection):
    fits = {f"K={k}": selection.results[k] for k in (2, 3)}
    cmp = compare(fits, coefs=True)
    assert list(cmp.stats.columns) == ["K=2", "K=3"]
    for name, res in fits.items():
        col = cmp.stats[name]
        assert col["Log likelihood"] == pytest.approx(res.llf)
        assert col["df"] == res.df_model
        assert col["BIC"] == pytest.approx(res.bic)
        assert col["Entropy"] == pytest.approx(res.ic().entropy)
        np.testing.assert_allclose(col[[f"Share {j}" for j in range(1, res.k + 1)]], res.class_shares)
    assert np.isnan(cmp.stats.loc["Share 3", "K=2"])
    # union of parameters, membership equations first, then the classes in order
    eqs = list(dict.fromkeys(cmp.params.index.get_level_values(0)))
    assert eqs == ["2.Class", "3.Class", "1.y", "2.y", "3.y"]
    assert cmp.params.loc[("3.y", "x"), "K=3"] == selection.results[3].params[("3.y", "x")]
    assert np.isnan(cmp.params.loc[("3.y", "x"), "K=2"])
    text = str(cmp)
    assert "Log likelihood" in text and "K=3" in text


def test_compare_stars_and_se_cells(selection):
    res = selection.results[3]
    cmp = compare([selection.results[2], res], coefs=True)
    header, rows, _ = cmp.table()
    assert header == ["", "Model 1", "Model 2"]
    labels = [r[0] for r in rows]
    i = labels.index("3.y") + 1  # equation header, then its terms indented
    assert labels[i] == "  x" and rows[i - 1][1:] == ["", ""]
    b, se, p = res.params[("3.y", "x")], res.bse[("3.y", "x")], res.pvalues[("3.y", "x")]
    expected = stata_g(b) + ("***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "")
    assert rows[i][2].rstrip() == expected and rows[i][1] == ""
    assert len(rows[i][2]) == len(stata_g(b)) + 3  # stars padded: numbers stay aligned
    assert rows[i + 1] == ["", "", f"({stata_g(se)})  "]
    plain = compare([res], coefs=True, stars=False, se=False).table()[1]
    assert [r[0] for r in plain].count("") == 0
    assert [r[0] for r in plain][:4] == ["2.Class", "  _cons", "3.Class", "  _cons"]
    assert all("*" not in c for r in plain for c in r[1:])


def test_compare_shows_factor_variables_like_the_summary():
    df = gaussian_mixture(n=300, seed=2, k=2)
    a = fmmreg.fmm(2, "y ~ x + C(g)", data=df, class_formula="~ z", **FAST)
    b = fmmreg.fmm(2, "y ~ x", data=df, class_formula="~ z", **FAST)
    header, rows, _ = compare({"with g": a, "without": b}, coefs=True, se=False).table()
    labels = [r[0] for r in rows]
    i = labels.index("1.y")
    assert labels[i : i + 7] == ["1.y", "  x", "  g", "    b", "    c", "  _cons", "  /lnsigma"]
    assert rows[i + 2][1:] == ["", ""]  # the factor's header row has no numbers
    assert rows[i + 3][1].rstrip("* ") == stata_g(a.params[("1.y", "C(g)[T.b]")]) and rows[i + 3][2] == ""
    html = compare({"with g": a}, coefs=True).as_html()
    assert "<style>" in html and 'class="lab left"' in html


def test_compare_markdown_and_latex(selection, tmp_path):
    cmp = compare({f"K={k}": r for k, r in selection.results.items()}, coefs=True)
    (t,) = _parse_markdown_tables(cmp.to_markdown())
    assert t[0] == ["", "K=1", "K=2", "K=3", "K=4"]
    assert {len(r) for r in t} == {5}
    bic_row = next(r for r in t if r[0] == "BIC")
    np.testing.assert_allclose([float(c) for c in bic_row[1:]], selection.table["BIC"], atol=1e-3)
    tex = cmp.to_latex()
    assert tex.count(r"\begin{tabular}") == 1 and r"K=3" in tex
    if shutil.which("pdflatex"):
        _compile(cmp.to_latex(standalone=True), tmp_path)
    assert "<table" in cmp._repr_html_()


def test_compare_rejects_non_results():
    with pytest.raises(TypeError, match="not a fitted mixture"):
        compare({"a": 1})
    with pytest.raises(ValueError, match="empty"):
        compare([])


def test_selection_compare_method(selection):
    cmp = selection.compare()
    assert list(cmp.stats.columns) == ["K=1", "K=2", "K=3", "K=4"]


# --------------------------------------------------------------- progress
def test_progress_iter_without_and_with_tqdm(monkeypatch, capsys):
    assert list(progress_iter(range(3))) == [0, 1, 2]
    assert list(progress_iter(range(3), enabled=True, desc="x")) == [0, 1, 2]
    monkeypatch.setattr(fmmreg.reporting.progress, "tqdm_available", lambda: False)
    assert list(progress_iter(range(3), enabled=True)) == [0, 1, 2]


@pytest.mark.filterwarnings("ignore:select_k. the best K")
def test_select_k_progress_same_result(three_class, monkeypatch):
    pytest.importorskip("tqdm")
    a = select_k("y ~ x", three_class.iloc[:200], k=[1, 2], progress=True, **FAST)
    monkeypatch.setattr(fmmreg.reporting.progress, "tqdm_available", lambda: False)
    b = select_k("y ~ x", three_class.iloc[:200], k=[1, 2], progress=True, **FAST)
    np.testing.assert_allclose(a.table.to_numpy(), b.table.to_numpy())


@pytest.mark.filterwarnings("ignore:select_k. the best K")
def test_select_k_records_failures(three_class, monkeypatch):
    import fmmreg.model

    real = fmmreg.model.fmm

    def flaky(k, *args, **kwargs):
        if k == 2:
            raise RuntimeError("every start failed")
        return real(k, *args, **kwargs)

    monkeypatch.setattr(fmmreg.model, "fmm", flaky)
    with pytest.warns(UserWarning, match="K=2 failed"):
        sel = select_k("y ~ x", three_class.iloc[:200], k=[1, 2, 3], **FAST)
    assert sel.errors == {2: "every start failed"}
    assert list(sel.results) == [1, 3] and list(sel.table.index) == [1, 3]
    assert "K=2 failed" in str(sel)

"""Exports of the summary and estat tables: text (golden), Markdown, HTML, LaTeX (issue 5)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmmreg.reporting.formatting import stata_g
from tests.fixtures.golden.make_golden import fit, fit_zinb

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"


@pytest.fixture(scope="module")
def golden_fit():
    return fit(pd.read_csv(GOLDEN / "sim2.csv"))


def _displayed(res) -> list[tuple[str, str]]:
    """(label, formatted coefficient) of every row the summary shows, labels in full."""
    out = []
    for (eq, term), b in res.params.items():
        k = int(eq.split(".", 1)[0])
        fam = res.families[k - 1]
        if not eq.endswith(".Class") and term in fam.ancillary_names:
            disp = fam.ancillary_display(term, res.yname)
            if disp is not None:
                out.append((disp[0], stata_g(disp[1](b))))
                continue
            out.append((f"/{term}", stata_g(b)))
        else:
            lab = res.term_label(term)
            out.append((lab.variable if lab.level is None else lab.level, stata_g(b)))
    return out


# ------------------------------------------------------------------ text
def test_summary_text_matches_golden(golden_fit):
    expected = (GOLDEN / "summary_sim2.txt").read_text()
    assert golden_fit.summary().as_text() + "\n" == expected


@pytest.fixture(scope="module")
def zinb_data():
    return pd.read_csv(GOLDEN / "zinb.csv")


@pytest.fixture(scope="module")
def zinb_fit(zinb_data):
    return fit_zinb(zinb_data)


def test_zero_inflated_nb_summary_matches_golden(zinb_fit):
    """Factor blocks, a point-mass class (its value as _cons) and /lnalpha, alpha of an nbreg class."""
    expected = (GOLDEN / "summary_zinb.txt").read_text()
    assert zinb_fit.summary().as_text() + "\n" == expected


def test_zero_inflated_nb_golden_fit_is_statsmodels_zinb(zinb_fit, zinb_data):
    """The golden fit is the MLE: statsmodels' ZINB (NB2) reaches the same likelihood and estimates."""
    import warnings

    from formulaic import model_matrix
    from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP

    X = model_matrix("household_income + C(region)", zinb_data)
    Z = model_matrix("C(smoker)", zinb_data)
    model = ZeroInflatedNegativeBinomialP(zinb_data["y"], X, exog_infl=Z, p=2, inflation="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.fit(method="bfgs", maxiter=2000, gtol=1e-10, disp=0)
        ref = model.fit(start_params=ref.params, method="newton", maxiter=100, disp=0)
    assert zinb_fit.llf == pytest.approx(ref.llf, abs=1e-6)
    b = zinb_fit.params
    # statsmodels models P(structural zero) = P(class 1): its inflation logit is minus fmmreg's 2.Class
    np.testing.assert_allclose(
        [b[("2.Class", "C(smoker)[T.yes]")], b[("2.Class", "Intercept")]],
        [-ref.params["inflate_C(smoker)[T.yes]"], -ref.params["inflate_Intercept"]],
        atol=1e-4,
    )
    np.testing.assert_allclose(b[("2.y", "household_income")], ref.params["household_income"], atol=1e-4)
    np.testing.assert_allclose(np.exp(b[("2.y", "lnalpha")]), ref.params["alpha"], rtol=1e-4)


def test_mlogit_class_prints_one_block_per_outcome_with_the_base():
    from fmmreg import fmm

    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    eta = np.column_stack([np.zeros(600), 0.5 + 0.8 * x, -0.3 - 0.5 * x])
    prob = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = (rng.random(600)[:, None] > prob.cumsum(axis=1)).sum(axis=1) + 1
    res = fmm(1, "y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="mlogit")
    assert res.families[0].levels[res.families[0].base_index] == 2  # the most frequent outcome, as Stata
    lines = res.summary().as_text().splitlines()
    heads = [line for line in lines if line[:1].isdigit() and "|" in line]
    assert heads == ["1.y          |", "2.y          |  (base outcome)", "3.y          |"]
    i = lines.index("1.y          |")
    assert lines[i + 1].startswith("           x |") and lines[i + 2].startswith("       _cons |")
    assert lines[i + 3].startswith("-------------+") and lines[i + 5].startswith("-------------+")
    row = [float(v) for v in lines[i + 1].split("|")[1].split()[:2]]
    np.testing.assert_allclose(row, [res.params[("1.y", "1:x")], res.bse[("1.y", "1:x")]], rtol=1e-6)
    tidy = res.to_frame()
    assert list(tidy["variable"]) == ["x", "_cons", "x", "_cons"] and list(tidy["term"])[0] == "1:x"


def test_long_labels_are_abbreviated_distinctly_within_a_table():
    from fmmreg import fmm
    from fmmreg.reporting.formatting import abbreviate, unique_abbreviations

    assert abbreviate("displacement", 8) == "displa~t" and abbreviate("var(e.lmedexp)") == "var(e.lme~p)"
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"income_of_household1": rng.normal(size=300), "income_of_household2": rng.normal(size=300)})
    df["y"] = 1 + df["income_of_household1"] - df["income_of_household2"] + rng.normal(size=300)
    text = fmm(1, "y ~ income_of_household1 + income_of_household2", data=df).summary().as_text()
    labels = [line.split("|")[0].strip() for line in text.splitlines() if "income" in line]
    assert labels == ["income_of_~1", "income_of_~2"]
    short = unique_abbreviations(["np.log(income_a1)", "np.log(income_b1)", "x"])
    assert len(set(short.values())) == 3 and all(len(v) <= 12 for v in short.values())


def test_estat_text_matches_golden(golden_fit):
    expected = (GOLDEN / "estat_sim2.txt").read_text()
    got = "\n".join([str(golden_fit.lcprob()), str(golden_fit.lcmean()), str(golden_fit.ic())]) + "\n"
    assert got == expected


# -------------------------------------------------------------- markdown
def _parse_markdown_tables(text: str) -> list[list[list[str]]]:
    """Pipe tables as lists of rows of cells (header first, separator dropped)."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace(r"\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    for t in tables:
        assert all(re.fullmatch(r":?-{3,}:?", c) for c in t[1]), "second row must be the alignment row"
        del t[1]
    return tables


def test_markdown_parses_and_holds_every_coefficient(golden_fit):
    res = golden_fit
    tables = _parse_markdown_tables(res.summary().as_markdown())
    assert len(tables) == 1 + res.k + 1  # membership, one per class, footer
    for t in tables[:-1]:
        assert t[0][:5] == ["", "Coefficient", "Std. err.", "z", "P>|z|"]
        assert {len(r) for r in t} == {7}
    rows = [r for t in tables[:-1] for r in t[1:]]
    shown = [(r[0], r[1]) for r in rows if r[1] not in ("", "(base outcome)")]
    assert shown == _displayed(res)
    # numbers parse back to the estimates (7 significant digits)
    coefs = [float(r[1]) for r in rows if r[0] == "x"]
    np.testing.assert_allclose(coefs, [res.params[("1.y", "x")], res.params[("2.y", "x")]], rtol=1e-6)
    footer = tables[-1]
    assert footer[0] == ["Class", "Class share", "Mean posterior"]
    np.testing.assert_allclose([float(r[1]) for r in footer[1:]], res.class_shares, atol=5e-5)


def test_estat_markdown_parses(golden_fit):
    for obj in (golden_fit.lcprob(), golden_fit.lcmean(), golden_fit.ic()):
        (t,) = _parse_markdown_tables(obj.to_markdown())
        assert len({len(r) for r in t}) == 1
    (t,) = _parse_markdown_tables(golden_fit.lcprob().to_markdown())
    np.testing.assert_allclose([float(r[1]) for r in t[1:]], golden_fit.lcprob().frame["margin"], rtol=1e-6)


# ------------------------------------------------------------------ html
class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.rows: list[list[str]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br",):
            return
        self.stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in ("td", "th") and self.rows:
            self.rows[-1][-1] += data.strip()


def test_html_contains_every_coefficient(golden_fit):
    res = golden_fit
    parser = _Cells()
    parser.feed(res.summary().as_html())
    assert not parser.errors and not parser.stack
    pairs = {(r[0], r[1]) for r in parser.rows if len(r) >= 2}
    for label, value in _displayed(res):
        assert (label, value) in pairs, (label, value)
    assert res._repr_html_() == res.summary().as_html()


# ----------------------------------------------------------------- latex
def test_latex_structure(golden_fit):
    res = golden_fit
    tex = res.summary().as_latex()
    n_tables = 1 + res.k + 1
    assert tex.count(r"\begin{tabular}") == n_tables == tex.count(r"\end{tabular}")
    assert r"\_cons" in tex and "_cons" not in tex.replace(r"\_cons", "")
    assert "P\\textgreater{}\\textbar{}z\\textbar{}" in tex
    for label, value in _displayed(res):
        assert value in tex, (label, value)
    for line in tex.splitlines():
        if " & " in line:
            assert line.count(" & ") == 6 or r"\multicolumn" in line or line.count(" & ") == 2, line
    doc = res.summary().as_latex(standalone=True)
    assert doc.startswith(r"\documentclass{article}") and doc.rstrip().endswith(r"\end{document}")


def _compile(tex: str, tmp_path: Path) -> None:
    (tmp_path / "doc.tex").write_text(tex)
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles(golden_fit, tmp_path):
    from fmmreg.reporting.export import latex_document

    body = "\n\n".join(
        [
            golden_fit.summary().as_latex(),
            golden_fit.lcprob().to_latex(),
            golden_fit.lcmean().to_latex(),
            golden_fit.ic().to_latex(),
        ]
    )
    _compile(latex_document(body), tmp_path)


def test_latex_escape():
    from fmmreg.reporting.export import latex_escape

    assert latex_escape("a_b & 50% #1 {x} ~^\\") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )


def test_estat_objects_render_in_notebooks(golden_fit):
    import html

    for obj in (golden_fit.lcprob(), golden_fit.lcmean(), golden_fit.ic()):
        out = obj._repr_html_()
        assert out.startswith("<pre") and html.unescape(out[out.index(">") + 1 : -len("</pre>")]) == obj.as_text()

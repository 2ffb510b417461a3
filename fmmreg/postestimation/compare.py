"""Side-by-side comparison of fits and choice of the number of classes.

``compare`` puts several fits next to each other (log likelihood, parameter
count, AIC, BIC, entropy, class shares and, optionally, coefficients with
stars or standard errors), like linearmodels' ``compare`` or Stata's
``estimates table``. ``select_k`` fits a range of class counts and picks the
best by an information criterion (BIC by default).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError
from fmmreg.reporting import html as h
from fmmreg.reporting.export import TextReport, latex_document, latex_escape, latex_tabular, markdown_table
from fmmreg.reporting.export import stars as star_marks
from fmmreg.reporting.formatting import stata_g, thousands
from fmmreg.reporting.progress import progress_iter
from fmmreg.reporting.summary import factor_layout

CRITERIA = ("aic", "bic", "caic", "sabic", "aicc", "icl")


def _named(results) -> dict[str, object]:
    if isinstance(results, Mapping):
        out = {str(k): v for k, v in results.items()}
    elif isinstance(results, Iterable):
        out = {f"Model {i}": r for i, r in enumerate(results, start=1)}
    else:
        raise TypeError(f"results must be a dict or a list of fits, got {type(results).__name__}")
    if not out:
        raise FMMError("nothing to compare: results is empty")
    for name, r in out.items():
        if not hasattr(r, "llf") or not hasattr(r, "params"):
            raise TypeError(f"{name!r} is not a fitted mixture (FMMResults), got {type(r).__name__}")
    return out


@dataclass
class Comparison:
    """Fits side by side; print it, or export with ``to_markdown``/``to_latex``.

    Attributes
    ----------
    stats : DataFrame
        Rows ``N, K, Log likelihood, df, AIC, BIC, Entropy, Share 1..K``;
        one column per fit (numbers).
    params, bse, pvalues : DataFrame
        Coefficients by ``(equation, term)``, one column per fit (NaN where a
        fit has no such parameter).
    """

    results: dict[str, object]
    coefs: bool = False
    stars: bool = True
    se: bool = True
    stats: pd.DataFrame = field(init=False)
    params: pd.DataFrame = field(init=False)
    bse: pd.DataFrame = field(init=False)
    pvalues: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        kmax = max(r.k for r in self.results.values())
        cols = {}
        for name, r in self.results.items():
            ic = r.ic()  # a Dask fit sums its entropy over partitions
            shares = r.class_shares.to_numpy()
            col = {
                "N": r.nobs,
                "K": r.k,
                "Log likelihood": r.llf,
                "df": r.df_model,
                "AIC": ic.aic,
                "BIC": ic.bic,
                "Entropy": ic.entropy,
            }
            col.update({f"Share {j}": shares[j - 1] if j <= r.k else np.nan for j in range(1, kmax + 1)})
            cols[name] = col
        self.stats = pd.DataFrame(cols)
        self.params = self._stack("params")
        self.bse = self._stack("bse")
        self.pvalues = self._stack("pvalues")

    def _stack(self, attr: str) -> pd.DataFrame:
        """One column per fit; membership equations first, then classes in order."""
        frame = pd.concat({n: getattr(r, attr) for n, r in self.results.items()}, axis=1, sort=False)
        eqs = list(dict.fromkeys(frame.index.get_level_values(0)))

        def key(eq: str) -> tuple[int, int, int]:
            head, _, tail = eq.partition(".")
            cls = int(head) if head.isdigit() else 0
            return (0 if tail == "Class" else 1, cls, eqs.index(eq))

        order = sorted(eqs, key=key)
        pos = {eq: i for i, eq in enumerate(order)}
        idx = sorted(range(len(frame)), key=lambda i: (pos[frame.index[i][0]], i))
        return frame.iloc[idx]

    # ------------------------------------------------------------ cells
    @staticmethod
    def _stat_cell(row: str, v: float) -> str:
        if v is None or not np.isfinite(v):
            return ""
        if row == "N":
            return thousands(v)
        if row in ("K", "df"):
            return str(int(v))
        if row in ("Log likelihood", "AIC", "BIC"):
            return f"{v:.3f}"
        return f"{v:.4f}"

    def _term_label(self, eq: str, term: str):
        """Variable and level of ``(eq, term)`` from the first fit that has it."""
        from fmmreg.formula import TermLabel

        for r in self.results.values():
            if (eq, term) in r.params.index:
                head = eq.partition(".")[0]
                if not eq.endswith(".Class") and head.isdigit():
                    fam = r.families[int(head) - 1]
                    if term in fam.ancillary_names:
                        return TermLabel(f"/{term}")
                return r.term_label(term)
        return TermLabel(term)

    def _coef_rows(self) -> tuple[list[list[str]], list[str]]:
        """Rows of coefficients (with SE rows) grouped by equation, and each row's kind."""
        names = list(self.results)
        blank = [""] * len(names)
        rows: list[list[str]] = []
        kinds: list[str] = []
        index = self.params.index
        for eq in dict.fromkeys(index.get_level_values(0)):
            terms = [t for e, t in index if e == eq]
            rows.append([eq] + blank)
            kinds.append("header")
            for kind, label, i in factor_layout([self._term_label(eq, t) for t in terms]):
                if kind == "blank":
                    continue
                indent = "    " if kind == "level" else "  "
                if i is None:
                    rows.append([indent + label] + blank)
                    kinds.append(kind)
                    continue
                key = (eq, terms[i])
                b, s, p = self.params.loc[key], self.bse.loc[key], self.pvalues.loc[key]
                # stars padded to three characters keep the numbers aligned on their last digit
                cells = [
                    "" if not np.isfinite(b[n]) else stata_g(b[n]) + (f"{star_marks(p[n]):<3}" if self.stars else "")
                    for n in names
                ]
                rows.append([indent + label] + cells)
                kinds.append(kind)
                if self.se:
                    pad = "  " if self.stars else ""
                    rows.append([""] + ["" if not np.isfinite(s[n]) else f"({stata_g(s[n])}){pad}" for n in names])
                    kinds.append("se")
        return rows, kinds

    def table(self) -> tuple[list[str], list[list[str]], list[int]]:
        """Header, rows of strings (label first) and the positions of rules.

        With ``coefs=True`` the coefficients come first, one block per
        equation (its name as a header row), factor variables as a header
        row with one indented row per level, as in the Stata-style summary.
        """
        names = list(self.results)
        rows: list[list[str]] = []
        rules: list[int] = []
        if self.coefs:
            rows, _ = self._coef_rows()
            rules.append(len(rows))
        for stat in self.stats.index:
            rows.append([stat] + [self._stat_cell(stat, self.stats.loc[stat, n]) for n in names])
        return [""] + names, rows, rules

    def _notes(self) -> list[str]:
        notes = []
        if self.coefs and self.stars:
            notes.append("* p<0.05, ** p<0.01, *** p<0.001")
        if self.coefs and self.se:
            notes.append(self._se_note())
        notes.append("AIC and BIC: smaller is better; entropy: 1 = perfect class separation.")
        return notes

    def _se_note(self) -> str:
        """Which standard errors the table shows (each fit's ``cov_type``)."""
        types = {n: getattr(r, "cov_type", "oim") for n, r in self.results.items()}
        names = {"oim": "OIM", "opg": "OPG", "robust": "Robust", "cluster": "Cluster-robust"}
        if len(set(types.values())) == 1:
            kind = next(iter(types.values()))
            return (
                "Standard errors in parentheses." if kind == "oim" else f"{names[kind]} standard errors in parentheses."
            )
        return "Standard errors in parentheses: " + ", ".join(f"{n} {names[t]}" for n, t in types.items()) + "."

    # ----------------------------------------------------------- outputs
    def as_text(self) -> str:
        header, rows, rules = self.table()
        widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
        widths = [max(w, 12) for w in widths]
        total = sum(widths) + 2 * (len(widths) - 1) + 2

        def line(cells: list[str]) -> str:
            first = f"{cells[0]:<{widths[0]}} |"
            return (first + "".join(f" {c:>{w}} " for c, w in zip(cells[1:], widths[1:]))).rstrip()

        out = ["-" * total, line(header), "-" * total]
        for i, r in enumerate(rows):
            if i in rules:
                out.append("-" * total)
            out.append(line(r))
        out.append("-" * total)
        return "\n".join(out + self._notes())

    def to_markdown(self) -> str:
        header, rows, _ = self.table()
        return markdown_table(header, rows) + "\n\n" + "\n".join(self._notes())

    def to_latex(self, standalone: bool = False) -> str:
        """A ``tabular`` (or a whole compilable document with ``standalone=True``)."""
        header, rows, rules = self.table()
        body: list = []
        for i, r in enumerate(rows):
            if i in rules:
                body.append("hline")
            body.append(r)
        text = latex_tabular(header, body)
        text = text + "\n\n" + "\n\n".join(latex_escape(n) for n in self._notes())
        return latex_document(text) if standalone else text

    def as_html(self) -> str:
        """Self-contained HTML in the Stata style of the summary (embedded stylesheet)."""
        header, rows, rules = self.table()
        out = h.open_report("compare")
        out.append(h.simple_table(header, rows, rules, left_labels=True))
        out += [f'<p class="fmmreg-note">{h.esc(n)}</p>' for n in self._notes()]
        out.append("</div>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__


def compare(results, coefs: bool = False, stars: bool = True, se: bool = True) -> Comparison:
    """Compare fitted mixtures side by side.

    Parameters
    ----------
    results : dict or list of FMMResults
        Fits to compare; dict keys name the columns (default ``Model 1``, ...).
    coefs : bool
        Also show the coefficients (union of all fits' parameters).
    stars : bool
        Mark coefficients with ``*`` p<0.05, ``**`` p<0.01, ``***`` p<0.001.
    se : bool
        Show standard errors in parentheses below the coefficients.

    Returns
    -------
    Comparison
        Printable; ``.stats``/``.params`` DataFrames; ``to_markdown()``,
        ``to_latex()``, HTML in notebooks.
    """
    return Comparison(_named(results), coefs=coefs, stars=stars, se=se)


# ------------------------------------------------------------------ select_k
@dataclass(repr=False)
class SelectK(TextReport):
    """Fits for a range of class counts and the best by a criterion.

    Attributes
    ----------
    results : dict
        ``K -> FMMResults`` for the fits that succeeded.
    table : DataFrame
        Index ``K``; columns ``ll, df, AIC, BIC, CAIC, SABIC, AICc, Entropy, ICL``.
    criterion : str
        The criterion that picks ``best_k`` (smallest value wins).
    errors : dict
        ``K -> message`` for fits that failed.
    """

    results: dict[int, object]
    table: pd.DataFrame
    criterion: str = "bic"
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def best_k(self) -> int:
        col = self.table[_column(self.criterion)]
        if col.isna().all():
            raise FMMError("no fit succeeded")
        return int(col.idxmin())

    @property
    def best(self):
        """The fit with the best (smallest) criterion."""
        return self.results[self.best_k]

    @property
    def edge_note(self) -> str | None:
        """A warning text when the best K is the largest (or, above 1, the smallest) K tried, else ``None``.

        The criterion may still fall beyond the range: the "best" K is then
        only the best of those tried.
        """
        ks = sorted(self.table.index)
        if len(ks) < 2:
            return None
        best, name = self.best_k, _column(self.criterion)
        if best == ks[-1]:
            return (
                f"the best K by {name} ({best}) is the largest K tried: {name} may fall further with more "
                f"classes; try k=range({ks[0]}, {best + 3})"
            )
        if best == ks[0] and best > 1:
            return (
                f"the best K by {name} ({best}) is the smallest K tried: {name} may be lower with fewer "
                f"classes; try k=range(1, {ks[-1] + 1})"
            )
        return None

    def compare(self, **kwargs) -> Comparison:
        """Side-by-side :class:`Comparison` of the fits (``K=1``, ``K=2``, ...)."""
        return compare({f"K={k}": r for k, r in self.results.items()}, **kwargs)

    def plot(self, criteria: Sequence[str] = ("aic", "bic"), ax=None):
        """Information criteria against K; see :func:`fmmreg.reporting.plots.plot_ic`."""
        from fmmreg.reporting.plots import plot_ic

        return plot_ic(self, criteria=criteria, ax=ax)

    def as_text(self) -> str:
        t = self.table.copy()
        text = t.to_string(float_format=lambda v: f"{v:.3f}")
        lines = [text, f"Best K by {_column(self.criterion)}: {self.best_k}"]
        if self.edge_note:
            lines.append(f"Note: {self.edge_note}.")
        lines += [f"K={k} failed: {msg}" for k, msg in self.errors.items()]
        return "\n".join(lines)


def _column(criterion: str) -> str:
    return {"aic": "AIC", "bic": "BIC", "caic": "CAIC", "sabic": "SABIC", "aicc": "AICc", "icl": "ICL"}[criterion]


def select_k(
    formula,
    data: pd.DataFrame,
    k: Iterable[int] = range(1, 6),
    criterion: str = "bic",
    progress: bool = False,
    **fmm_kwargs,
) -> SelectK:
    """Fit the model for each number of classes in ``k`` and pick the best.

    Parameters
    ----------
    formula : str
        Component formula, as in :func:`fmmreg.fmm`.
    data : DataFrame
    k : iterable of int
        Class counts to fit (default 1 to 5).
    criterion : {"bic", "aic", "caic", "sabic", "aicc", "icl"}
        Smaller is better; BIC by default.
    progress : bool
        Show a progress bar over ``k`` (needs tqdm; silent otherwise).
    **fmm_kwargs
        Passed to :func:`fmmreg.fmm` (``family``, ``class_formula``,
        ``weights``, and fit options such as ``draws``, ``random_state``).

    Returns
    -------
    SelectK
        ``.table`` of criteria by K, ``.best_k``, ``.best``, ``.results``.

    Warns
    -----
    UserWarning
        When the best K is the largest K tried (or the smallest, when that is
        above 1): the criterion may improve beyond the range, so widen it.

    Notes
    -----
    A fit that raises an error is recorded in ``.errors`` with a warning
    and left out. The likelihood-ratio test is not valid for choosing K
    (see :meth:`FMMResults.lrtest`); information criteria are the usual
    tool, BIC being consistent for the number of components of a mixture.
    """
    from fmmreg.model import fmm

    criterion = criterion.lower()
    if criterion not in CRITERIA:
        raise FMMError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    ks = [int(v) for v in k]
    if not ks:
        raise FMMError("k is empty: give the class counts to try, e.g. range(1, 6)")
    results: dict[int, object] = {}
    errors: dict[int, str] = {}
    rows = {}
    for kk in progress_iter(ks, progress, total=len(ks), desc="select_k"):
        try:
            res = fmm(kk, formula, data, **fmm_kwargs)
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            errors[kk] = str(exc)
            warnings.warn(f"select_k: the fit with K={kk} failed: {exc}", UserWarning, stacklevel=2)
            continue
        results[kk] = res
        ic = res.ic()
        rows[kk] = {
            "ll": ic.llf,
            "df": ic.df,
            "AIC": ic.aic,
            "BIC": ic.bic,
            "CAIC": ic.caic,
            "SABIC": ic.sabic,
            "AICc": ic.aicc,
            "Entropy": ic.entropy,
            "ICL": ic.icl,
        }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("K")
    if table.empty:
        raise FMMError(f"every fit failed: {errors}")
    selection = SelectK(results, table, criterion, errors)
    if selection.edge_note:
        warnings.warn(f"select_k: {selection.edge_note}", UserWarning, stacklevel=2)
    return selection

"""Stata-style summary of a fitted mixture: text and HTML.

The layout follows Stata 17+'s ``fmm`` output: a header, the class-membership
table (base class first), one table per class (``Class / Response / Model``
with the ancillary parameters after a separator), then a short block with
class shares and mean posterior probabilities.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.panel import header_rows as panel_header
from fmmreg.reporting.export import latex_document, latex_escape, latex_tabular, markdown_table
from fmmreg.reporting.formatting import abbreviate, display_term, stata_fixed, stata_g, thousands
from fmmreg.reporting.inference import TableColumns, eform_row, eform_title, loglik_label, table_columns

RULE = "-" * 78
MID = "-" * 13 + "+" + "-" * 64


@dataclass
class Row:
    """One printed row of a coefficient table."""

    label: str
    coef: float = np.nan
    se: float = np.nan
    z: float = np.nan
    p: float = np.nan
    lo: float = np.nan
    hi: float = np.nan
    kind: str = "coef"  # coef | header | base | rule


@dataclass
class Block:
    """A titled coefficient table."""

    title_lines: list[str]
    rows: list[Row]


@dataclass
class Summary:
    """Printable summary; ``str(summary)`` is the Stata-style text."""

    header: list[tuple[str, str]]
    blocks: list[Block]
    footer: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05
    #: column titles and the cluster note, as Stata prints them (see :mod:`fmmreg.reporting.inference`)
    columns: TableColumns = field(default_factory=TableColumns)

    # ---------------------------------------------------------------- text
    def _table_head(self) -> list[str]:
        level = int(round(100 * (1 - self.alpha)))
        ci = f"[{level}% conf. interval]"
        return [RULE] + self.columns.text_head(ci) + [MID]

    @staticmethod
    def _row_text(row: Row) -> str:
        if row.kind == "rule":
            return MID
        if row.kind == "header":
            return f"{abbreviate(row.label, 12):<13}|"
        if row.kind == "base":
            return f"{abbreviate(row.label, 12):<13}|  (base outcome)"
        label = abbreviate(row.label, 12)
        label = f"{label:>12} " if row.kind == "coef" else f"{label:<13}"
        z = stata_fixed(row.z, 2)
        p = stata_fixed(row.p, 3)
        return (
            f"{label}| {stata_g(row.coef):>10} {stata_g(row.se):>10} {z:>8} {p:>7}"
            f"    {stata_g(row.lo):>9}   {stata_g(row.hi):>9}"
        ).rstrip()

    def as_text(self) -> str:
        lines = []
        first, rest = self.header[0], self.header[1:]
        lines.append(f"{first[0]:<48}{first[1]}")
        for left, right in rest:
            lines.append(f"{left:<48}{right}".rstrip())
        for i, block in enumerate(self.blocks):
            lines.append("")
            lines.extend(block.title_lines)
            if block.title_lines:
                lines.append("")
            if i == 0 and self.columns.note:
                lines.append(f"{self.columns.note:>78}")
            lines.extend(self._table_head())
            lines.extend(self._row_text(r) for r in block.rows)
            lines.append(RULE)
        lines.append("")
        lines.append(self.footer.to_string(float_format=lambda v: f"{v:.4f}"))
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    # ---------------------------------------------------------------- html
    def as_html(self) -> str:
        esc = html.escape
        level = int(round(100 * (1 - self.alpha)))
        out = ['<div class="fmmreg-summary">', "<table>"]
        for left, right in self.header:
            out.append(f"<tr><th style='text-align:left'>{esc(left)}</th><td>{esc(right)}</td></tr>")
        out.append("</table>")
        if self.columns.note:
            out.append(f"<p>{esc(self.columns.note)}</p>")
        for block in self.blocks:
            if block.title_lines:
                out.append("<p>" + "<br/>".join(esc(t) for t in block.title_lines) + "</p>")
            out.append("<table>")
            out.append(
                f"<tr><th></th><th>{esc(self.columns.coef)}</th><th>{esc(self.columns.se)}</th><th>z</th>"
                f"<th>P&gt;|z|</th><th colspan='2'>[{level}% conf. interval]</th></tr>"
            )
            for r in block.rows:
                if r.kind == "rule":
                    continue
                if r.kind == "header":
                    out.append(f"<tr><th style='text-align:left' colspan='7'>{esc(r.label)}</th></tr>")
                elif r.kind == "base":
                    out.append(
                        f"<tr><th style='text-align:left'>{esc(r.label)}</th><td colspan='6'>(base outcome)</td></tr>"
                    )
                else:
                    cells = [stata_g(r.coef), stata_g(r.se), stata_fixed(r.z, 2), stata_fixed(r.p, 3)]
                    cells += [stata_g(r.lo), stata_g(r.hi)]
                    tds = "".join(f"<td>{esc(c)}</td>" for c in cells)
                    out.append(f"<tr><th style='text-align:right'>{esc(r.label)}</th>{tds}</tr>")
            out.append("</table>")
        out.append(self.footer.to_html(float_format=lambda v: f"{v:.4f}"))
        for note in self.notes:
            out.append(f"<p>{esc(note)}</p>")
        out.append("</div>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.as_html()

    # ------------------------------------------------- markdown and latex
    def _columns(self) -> list[str]:
        level = int(round(100 * (1 - self.alpha)))
        return ["", self.columns.coef, self.columns.se, "z", "P>|z|", f"[{level}% conf.", "interval]"]

    @staticmethod
    def _cells(r: Row) -> list[str]:
        """Seven cells of a coefficient row, formatted as in the text table."""
        return [
            r.label,
            stata_g(r.coef),
            stata_g(r.se),
            stata_fixed(r.z, 2),
            stata_fixed(r.p, 3),
            stata_g(r.lo),
            stata_g(r.hi),
        ]

    def _footer_cells(self) -> tuple[list[str], list[list[str]]]:
        header = [self.footer.index.name or ""] + [str(c) for c in self.footer.columns]
        rows = [[str(i)] + [f"{v:.4f}" for v in row] for i, row in zip(self.footer.index, self.footer.to_numpy())]
        return header, rows

    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown: header lines, one pipe table per block, notes."""
        out = [f"**{self.header[0][0]}**  ", " ".join(self.header[0][1].split()) + "  "]
        out += [" ".join(f"{a} {b}".split()) + "  " for a, b in self.header[1:]]
        out += [self.columns.note + "  "] if self.columns.note else []
        for block in self.blocks:
            out.append("")
            if block.title_lines:
                out.extend(t + "  " for t in block.title_lines)
                out.append("")
            rows = []
            for r in block.rows:
                if r.kind == "rule":
                    continue
                if r.kind == "header":
                    rows.append([f"**{r.label}**"] + [""] * 6)
                elif r.kind == "base":
                    rows.append([r.label, "(base outcome)"] + [""] * 5)
                else:
                    rows.append(self._cells(r))
            out.append(markdown_table(self._columns(), rows))
        out.append("")
        out.append(markdown_table(*self._footer_cells()))
        if self.notes:
            out.append("")
            out.extend(n + "  " for n in self.notes)
        return "\n".join(out)

    def as_latex(self, standalone: bool = False) -> str:
        """LaTeX ``tabular`` blocks (base ``tabular`` only, no extra packages).

        ``standalone=True`` wraps them in a minimal ``article`` document that
        compiles with ``pdflatex``.
        """
        out = [" \\\\\n".join(latex_escape(f"{a} {b}".strip()) for a, b in self.header) + " \\\\"]
        if self.columns.note:
            out.append(latex_escape(self.columns.note) + " \\\\")
        for block in self.blocks:
            out.append("")
            if block.title_lines:
                out.append(" \\\\\n".join(latex_escape(t) for t in block.title_lines) + " \\\\")
                out.append("")
            rows: list = []
            for r in block.rows:
                if r.kind == "rule":
                    rows.append("hline")
                elif r.kind == "header":
                    rows.append(f"\\multicolumn{{7}}{{l}}{{{latex_escape(r.label)}}} \\\\")
                elif r.kind == "base":
                    rows.append(f"{latex_escape(r.label)} & \\multicolumn{{6}}{{l}}{{(base outcome)}} \\\\")
                else:
                    rows.append(self._cells(r))
            out.append(latex_tabular(self._columns(), rows))
        out.append("")
        out.append(latex_tabular(*self._footer_cells()))
        for note in self.notes:
            out.append("")
            out.append(latex_escape(note))
        text = "\n".join(out)
        return latex_document(text) if standalone else text


def _coef_row(label: str, b: float, se: float, alpha: float, kind: str = "coef") -> Row:
    q = stats.norm.ppf(1 - alpha / 2)
    z = b / se if se > 0 else np.nan
    p = 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan
    return Row(label, b, se, z, p, b - q * se, b + q * se, kind)


def build_summary(res, alpha: float = 0.05, eform: bool | str = False, irr: bool = False, or_: bool = False) -> Summary:
    """Assemble the summary of an :class:`~fmmreg.results.FMMResults`.

    ``eform``/``irr``/``or_`` show ``exp(b)`` for the coefficient rows (see
    :meth:`FMMResults.summary`); the VCE type sets the column titles.
    """
    params, bse = res.params, res.bse
    title = eform_title(eform, irr, or_)
    header = [
        ("Finite mixture model", f"Number of obs     = {thousands(res.nobs):>10}"),
        (f"{loglik_label(res)} = {res.llf:.4f}", ""),
    ]
    if getattr(res, "panel", None) is not None:
        header[1:1] = panel_header(res)
    blocks = []
    rows = [Row("1.Class", kind="base"), Row("", kind="rule")]
    for k in range(2, res.k + 1):
        eq = f"{k}.Class"
        rows.append(Row(eq, kind="header"))
        for term in params.loc[eq].index:
            rows.append(_coef_row(display_term(term), params[(eq, term)], bse[(eq, term)], alpha))
        if k < res.k:
            rows.append(Row("", kind="rule"))
    if res.k > 1:
        blocks.append(Block([], rows))

    for k in range(1, res.k + 1):
        fam = res.families[k - 1]
        eq = res.component_equation(k)
        rows = [Row(res.yname, kind="header")]
        anc_rows = []
        # a class may have no parameters at all (pointmass)
        for term in params.index[params.index.get_level_values(0) == eq].get_level_values(1):
            b, se = params[(eq, term)], bse[(eq, term)]
            if term in fam.ancillary_names:
                anc_rows.extend(res._ancillary_rows(k, term, b, se, alpha))
            else:
                rows.append(_coef_row(display_term(term), b, se, alpha))
        if anc_rows:
            rows.append(Row("", kind="rule"))
            rows.extend(anc_rows)
        titles = [f"Class:    {k}", f"Response: {res.yname}", f"Model:    {fam.stata_model}"]
        blocks.append(Block(titles, rows))

    footer = pd.DataFrame(
        {
            "Class share": res.class_shares.to_numpy(),
            "Mean posterior": res.posterior.mean().to_numpy(),
        },
        index=pd.Index(range(1, res.k + 1), name="Class"),
    )
    notes = []
    event = getattr(res.model.design, "event", None)  # a text/boolean response of a binary family
    if event is not None:
        notes += [f"{name}: P({event})" for name in dict.fromkeys(f.name for f in res.families)]
    if res.n_dropped:
        notes.append(f"{res.n_dropped} row(s) dropped for missing values.")
    notes.append(res.starts_note())
    if not res.converged:
        notes.append("Warning: convergence not achieved.")
    if title is not None:
        # exp(b) for coefficient rows; ancillary rows stay as they are, as in Stata
        blocks = [Block(b.title_lines, [eform_row(r) if r.kind == "coef" else r for r in b.rows]) for b in blocks]
    return Summary(header, blocks, footer, notes, alpha, table_columns(res, title))

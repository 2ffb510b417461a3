"""Stata-style summary of a fitted mixture: text, HTML, Markdown and LaTeX.

The layout follows Stata 17+'s ``fmm`` output: a header, the class-membership
table (base class first), one table per class (``Class / Response / Model``
with the ancillary parameters after a separator), then a short block with
class shares and mean posterior probabilities.

Factor variables print as Stata prints ``i.health``: a header row with the
variable's name, one row per non-base level labelled by its category, and
blank rows around the block. Which variable and level a coefficient
belongs to comes from the formulas' ModelSpec (:class:`fmmreg.formula.TermLabel`).
Labels longer than the label column are abbreviated with ``~`` in the
middle, distinct within each table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.panel import header_rows as panel_header
from fmmreg.reporting import html as h
from fmmreg.reporting.export import latex_document, latex_escape, latex_tabular, markdown_table
from fmmreg.reporting.formatting import stata_fixed, stata_g, thousands, unique_abbreviations
from fmmreg.reporting.inference import TableColumns, eform_row, eform_title, loglik_label, table_columns

RULE = "-" * 78
MID = "-" * 13 + "+" + "-" * 64

#: Row kinds: how a row's label is placed and whether it has numbers.
#: ``coef`` a coefficient, right-aligned label; ``level`` a factor level (one
#: column further in); ``anc`` an ancillary parameter with a left-aligned
#: label (``var(e.y)``), ``aux`` one with a right-aligned label (``/lnalpha``,
#: ``alpha``, ``/cut1``); ``header`` an equation name; ``var`` a factor
#: variable's name; ``base`` ``(base outcome)``; ``blank`` an empty row;
#: ``rule`` a separator. ``eform`` transforms ``coef`` and ``level`` rows only.
ROW_KINDS = ("coef", "level", "anc", "aux", "header", "var", "base", "blank", "rule")


@dataclass
class Row:
    """One printed row of a coefficient table.

    ``note`` replaces the standard error and what follows (``(constrained)``
    for a value fixed by the model, like a point mass, or by ``constraints=``;
    ``(omitted)`` for a covariate a ``class_formula`` list leaves out).
    """

    label: str
    coef: float = np.nan
    se: float = np.nan
    z: float = np.nan
    p: float = np.nan
    lo: float = np.nan
    hi: float = np.nan
    kind: str = "coef"
    note: str = ""


@dataclass
class _Constrained(Row):
    """A value fixed by the fit's constraints: part of ``params``, so ``eform`` shows its ``exp``."""


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
    #: the constraints of the fit, listed above the tables as Stata does (``( 1)  [1.y]x - [2.y]x = 0``)
    constraints: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- text
    def _table_head(self) -> list[str]:
        level = int(round(100 * (1 - self.alpha)))
        ci = f"[{level}% conf. interval]"
        return [RULE] + self.columns.text_head(ci) + [MID]

    @staticmethod
    def _labels(rows: Sequence[Row]) -> dict[tuple[str, int], str]:
        """Printed label of every (label, width) in one table, distinct after abbreviation."""
        out = {}
        for width, kinds in ((11, ("level",)), (12, tuple(k for k in ROW_KINDS if k != "level"))):
            names = [r.label for r in rows if r.kind in kinds]
            out.update({(n, width): a for n, a in unique_abbreviations(names, width).items()})
        return out

    @staticmethod
    def _row_text(row: Row, label: str) -> str:
        if row.kind == "rule":
            return MID
        if row.kind == "blank":
            return f"{'':13}|"
        if row.kind == "header":
            return f"{label:<13}|"
        if row.kind == "var":
            return f"{label:>12} |"
        if row.kind == "base":
            return f"{label:<13}|  (base outcome)"
        if row.kind == "level":
            head = f"{label:>11}  |"
        elif row.kind == "anc":
            head = f"{label:<13}|"
        else:
            head = f"{label:>12} |"
        if row.note:
            return f"{head} {stata_g(row.coef):>10}  {row.note}"
        z = stata_fixed(row.z, 2)
        p = stata_fixed(row.p, 3)
        return (
            f"{head} {stata_g(row.coef):>10} {stata_g(row.se):>10} {z:>8} {p:>7}"
            f"    {stata_g(row.lo):>9}   {stata_g(row.hi):>9}"
        ).rstrip()

    def as_text(self) -> str:
        lines = []
        first, rest = self.header[0], self.header[1:]
        lines.append(f"{first[0]:<48}{first[1]}")
        for left, right in rest:
            lines.append(f"{left:<48}{right}".rstrip())
        if self.constraints:
            lines.append("")
            lines.extend(f" ({k:>2})  {text}" for k, text in enumerate(self.constraints, start=1))
        for i, block in enumerate(self.blocks):
            lines.append("")
            lines.extend(block.title_lines)
            if block.title_lines:
                lines.append("")
            if i == 0 and self.columns.note:
                lines.append(f"{self.columns.note:>78}")
            lines.extend(self._table_head())
            labels = self._labels(block.rows)
            for r in block.rows:
                width = 11 if r.kind == "level" else 12
                lines.append(self._row_text(r, labels.get((r.label, width), r.label)))
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
    def _html_block(self, block: Block, label_width: int) -> str:
        esc = h.esc
        level = int(round(100 * (1 - self.alpha)))
        out = ['<table class="fmmreg-table fmmreg-coef">']
        out.append(
            f'<thead><tr><th class="lab" style="width: {label_width}ch"></th><th>{esc(self.columns.coef)}</th>'
            f'<th>{esc(self.columns.se)}</th><th class="zp">z</th>'
            '<th class="zp">P&gt;|z|</th>'
            f'<th colspan="2">[{level}% conf. interval]</th></tr></thead>'
        )
        out.append("<tbody>")
        ruled = False
        for r in block.rows:
            if r.kind == "rule":
                ruled = True
                continue
            classes = [r.kind] + (["ruled"] if ruled else [])
            ruled = False
            tr = f'<tr class="{" ".join(classes)}">'
            lab = f'<th class="lab">{esc(r.label)}</th>'
            if r.kind in ("header", "var", "blank"):
                out.append(f'{tr}{lab}<td colspan="6"></td></tr>')
            elif r.kind == "base":
                out.append(f'{tr}{lab}<td class="note" colspan="6">(base outcome)</td></tr>')
            elif r.note:
                out.append(
                    f'{tr}{lab}<td class="num">{esc(stata_g(r.coef))}</td>'
                    f'<td class="note" colspan="5">{esc(r.note)}</td></tr>'
                )
            else:
                cells = [stata_g(r.coef), stata_g(r.se), stata_fixed(r.z, 2), stata_fixed(r.p, 3)]
                cells += [stata_g(r.lo), stata_g(r.hi)]
                tds = [f'<td class="num{" zp" if j in (2, 3) else ""}">{esc(c)}</td>' for j, c in enumerate(cells)]
                out.append(tr + lab + "".join(tds) + "</tr>")
        out += ["</tbody>", "</table>"]
        return "\n".join(out)

    def as_html(self) -> str:
        """Self-contained HTML (embedded stylesheet) laid out like Stata's table."""
        out = h.open_report("summary")
        out.append(h.header_table(self.header))
        if self.constraints:
            listed = "\n".join(f" ({k:>2})  {t}" for k, t in enumerate(self.constraints, start=1))
            out.append('<div class="fmmreg-title">' + h.esc(listed) + "</div>")
        if self.columns.note:
            out.append(f'<p class="fmmreg-note">{h.esc(self.columns.note)}</p>')
        # one label width for every table, so the columns line up from table to table as in Stata
        width = max([12] + [len(r.label) + (1 if r.kind == "level" else 0) for b in self.blocks for r in b.rows])
        for block in self.blocks:
            if block.title_lines:
                out.append('<div class="fmmreg-title">' + h.esc("\n".join(block.title_lines)) + "</div>")
            out.append(self._html_block(block, width))
        header, rows = self._footer_cells()
        out.append(h.simple_table(header, rows).replace("fmmreg-table", "fmmreg-table fmmreg-shares", 1))
        for note in self.notes:
            out.append(f'<p class="fmmreg-note">{h.esc(note)}</p>')
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
        if r.note:
            return [r.label, stata_g(r.coef), r.note, "", "", "", ""]
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
        out += [f"({k}) {t}  " for k, t in enumerate(self.constraints, start=1)]
        out += [self.columns.note + "  "] if self.columns.note else []
        for block in self.blocks:
            out.append("")
            if block.title_lines:
                out.extend(t + "  " for t in block.title_lines)
                out.append("")
            rows = []
            for r in block.rows:
                if r.kind in ("rule", "blank"):
                    continue
                if r.kind == "header":
                    rows.append([f"**{r.label}**"] + [""] * 6)
                elif r.kind == "var":
                    rows.append([f"*{r.label}*"] + [""] * 6)
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
        out += [latex_escape(f"({k}) {t}") + " \\\\" for k, t in enumerate(self.constraints, start=1)]
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
                elif r.kind == "blank":
                    continue
                elif r.kind in ("header", "var"):
                    label = latex_escape(r.label)
                    label = f"\\textit{{{label}}}" if r.kind == "var" else label
                    rows.append(f"\\multicolumn{{7}}{{l}}{{{label}}} \\\\")
                elif r.kind == "base":
                    rows.append(f"{latex_escape(r.label)} & \\multicolumn{{6}}{{l}}{{(base outcome)}} \\\\")
                elif r.kind == "level":
                    cells = [latex_escape(c) for c in self._cells(r)]
                    rows.append("\\quad " + " & ".join(cells) + " \\\\")
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


def factor_layout(labels) -> list[tuple[str, str, int | None]]:
    """Stata's layout of one equation's terms.

    Parameters
    ----------
    labels : sequence of TermLabel
        The terms' variables and levels, in the equation's order.

    Returns
    -------
    list of (kind, label, position)
        ``("coef", variable, i)`` for an ordinary term, ``("var", variable,
        None)`` heading the ``("level", level, i)`` rows of a factor, and
        ``("blank", "", None)`` separating a factor block (or an interaction
        such as ``c.age#c.age``) from other rows, as Stata does.
    """
    out: list[tuple[str, str, int | None]] = []
    current = None
    for i, lab in enumerate(labels):
        if lab.level is None and "#" not in lab.variable:
            if current is not None:
                out.append(("blank", "", None))
                current = None
            out.append(("coef", lab.variable, i))
            continue
        if lab.level is None:  # an interaction of continuous variables stands apart, like a factor
            if out and out[-1][0] != "blank":
                out.append(("blank", "", None))
            out.append(("coef", lab.variable, i))
            current = lab.variable
            continue
        if lab.variable != current:
            if out and out[-1][0] != "blank":
                out.append(("blank", "", None))
            out.append(("var", lab.variable, None))
            current = lab.variable
        out.append(("level", lab.level, i))
    return out


def _term_rows(
    res, terms: Sequence[str], b: np.ndarray, se: np.ndarray, alpha: float, status: Sequence[str] | None = None
) -> list[Row]:
    """Rows of one equation's terms; ``status`` (from the constraints) marks fixed and omitted ones."""
    rows = []
    for kind, label, i in factor_layout([res.term_label(t) for t in terms]):
        if i is None:
            rows.append(Row(label, kind=kind))
        elif status is not None and status[i] == "fixed":
            rows.append(_Constrained(label, b[i], kind=kind, note="(constrained)"))
        elif status is not None and status[i] == "omitted":
            rows.append(_Constrained(label, 0.0, kind=kind, note="(omitted)"))
        else:
            rows.append(_coef_row(label, b[i], se[i], alpha, kind))
    return rows


def _status(res, eq: str) -> list[str] | None:
    """Constraint status (free, tied, fixed, omitted) of equation ``eq``'s parameters, in order."""
    if res.constraints is None:
        return None
    return list(res.constraints.status().loc[eq])


def _class_rows(res, k: int, alpha: float) -> list[Row]:
    """Rows of class ``k``'s table: its equations, fixed values and ancillary parameters."""
    params, bse = res.params, res.bse
    fam = res.families[k - 1]
    eq = res.component_equation(k)
    mask = params.index.get_level_values(0) == eq  # a class may have no parameters (pointmass)
    names = list(params.index[mask].get_level_values(1))
    b, se = params.to_numpy()[mask], bse.to_numpy()[mask]
    status = _status(res, eq) if mask.any() else None
    xnames = res.model.design.xnames[res.class_map[k - 1]]
    rows: list[Row] = []
    for e, (label, j) in enumerate(fam.display_equations()):
        if e:
            rows.append(Row("", kind="rule"))
        header = fam.equation_header(label, class_response_name(res, fam))
        if j is None:
            rows.append(Row(header, kind="base"))
            continue
        rows.append(Row(header, kind="header"))
        if j < fam.n_linear:
            pos, terms = fam.equation_terms(j, xnames)
            eq_status = None if status is None else [status[i] for i in pos]
            rows += _term_rows(res, terms, b[pos], se[pos], alpha, eq_status)
        if e == 0:
            rows += [Row(lab, v, note="(constrained)") for lab, v in fam.fixed_coefficients.items()]
            rows += _offset_rows(res.model.offset_specs[res.class_map[k - 1]])
    anc_rows = []
    for i in range(len(names) - fam.n_ancillary, len(names)):
        shown = res._ancillary_rows(k, names[i], b[i], se[i], alpha)
        if status is not None and status[i] == "fixed":  # fixed by constraints=: its value, (constrained)
            shown = [Row(r.label, r.coef, kind=r.kind, note="(constrained)") for r in shown]
        anc_rows.extend(shown)
    anc_rows += [Row(lab, v, kind="aux", note="(constrained)") for lab, v in fam.fixed_ancillaries.items()]
    if anc_rows:
        rows.append(Row("", kind="rule"))
        rows.extend(anc_rows)
    return rows


def _offset_rows(spec) -> list[Row]:
    """Stata's ``ln(Holders) | 1 (exposure)`` / ``o | 1 (offset)`` row of a class with an offset."""
    if spec is None:
        return []
    name = spec.source if isinstance(spec.source, str) else spec.kind
    label = f"ln({name})" if spec.kind == "exposure" else name
    return [Row(label, 1.0, note=f"({spec.kind})")]


def class_response_name(res, fam) -> str:
    """The response a class models: the formula's, or a point mass's own column (the cured class)."""
    return fam.modelled_response(res.yname)


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
    rows = [Row(f"{res.class_base}.Class", kind="base"), Row("", kind="rule")]
    equations = res.membership_equations
    for i, eq in enumerate(equations):
        rows.append(Row(eq, kind="header"))
        terms = list(params.loc[eq].index)
        rows += _term_rows(res, terms, params.loc[eq].to_numpy(), bse.loc[eq].to_numpy(), alpha, _status(res, eq))
        if i < len(equations) - 1:
            rows.append(Row("", kind="rule"))
    if res.k > 1:
        blocks.append(Block([], rows))

    for k in range(1, res.k + 1):
        fam = res.families[k - 1]
        name = res.class_labels[k - 1]
        # a point mass on its own column (the cured class of a cure model) shows that column
        titles = [
            f"Class:    {k}" + ("" if name == str(k) else f" ({name})"),
            f"Response: {class_response_name(res, fam)}",
            f"Model:    {fam.stata_model}",
        ]
        blocks.append(Block(titles, _class_rows(res, k, alpha)))

    footer = pd.DataFrame(
        {
            "Class share": res.class_shares.to_numpy(),
            "Mean posterior": res.mean_posterior.to_numpy(),
        },
        index=pd.Index(res.class_labels, name="Class"),
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
    notes.extend(f"Warning: {msg}" for msg in getattr(res, "warnings", []) if "did not converge" not in msg)
    if title is not None:
        # exp(b) for coefficient rows and factor levels (a value fixed by constraints= too, as Stata shows
        # exp of e(b)); ancillary rows and a family's own fixed values stay, as in Stata
        blocks = [Block(b.title_lines, [_eform(r) for r in b.rows]) for b in blocks]
    constraints = [] if res.constraints is None else res.constraints.texts()
    return Summary(header, blocks, footer, notes, alpha, table_columns(res, title), constraints)


def _eform(row: Row) -> Row:
    if row.kind not in ("coef", "level"):
        return row
    if isinstance(row, _Constrained):
        return replace(row, coef=float(np.exp(row.coef)))
    return row if row.note else eform_row(row)

"""Stata's coefficient-table layout for postestimation reports (margins, lincom, nlcom, bootstrap).

A table is a list of :class:`CoefRow` (estimate rows, group headers, rules,
blank separators) under a two-line column header; the same rows give the
text, Markdown and LaTeX versions, so numbers are formatted once
(:mod:`fmmreg.reporting.formatting`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmmreg.reporting.export import latex_tabular, markdown_table
from fmmreg.reporting.formatting import abbreviate, stata_fixed, stata_g

RULE = "-" * 78
MID = "-" * 13 + "+" + "-" * 64


@dataclass
class CoefRow:
    """One printed row: ``kind`` is ``coef``, ``header`` (a group title), ``rule`` or ``blank``."""

    label: str = ""
    coef: float = np.nan
    se: float = np.nan
    z: float = np.nan
    p: float = np.nan
    lo: float = np.nan
    hi: float = np.nan
    kind: str = "coef"


def column_header(first: str, alpha: float, above: str = "", second: str = "std. err.") -> list[str]:
    """The two header lines of a table: ``above`` (e.g. ``Delta-method``) over the column names.

    ``first`` is the estimate's column title (``Coefficient``, ``dy/dx``,
    ``Margin``), ``second`` the standard error's.
    """
    level = int(round(100 * (1 - alpha)))
    # Stata: " Coefficient  Std. err." but "      dy/dx   std. err." (the two fields share 23 columns)
    widths = (12, 11) if len(first) >= 11 else (11, 12)
    lines = [f"{'':13}|{first:>{widths[0]}}{second:>{widths[1]}}      z    P>|z|     [{level}% conf. interval]"]
    if above:
        lines.insert(0, f"{'':13}|{above}".rstrip())
    return lines


def row_text(row: CoefRow) -> str:
    """Stata's text of one row (labels abbreviated to 12 characters)."""
    if row.kind == "rule":
        return MID
    if row.kind == "blank":
        return f"{'':13}|"
    label = abbreviate(row.label, 12)
    if row.kind == "header":
        return f"{label:<13}|"
    if row.coef == 0 and row.se == 0:
        return f"{label:>12} | {'0':>10}  (omitted)"
    return (
        f"{label:>12} | {stata_g(row.coef):>10} {stata_g(row.se):>10} {stata_fixed(row.z, 2):>8} "
        f"{stata_fixed(row.p, 3):>7}    {stata_g(row.lo):>9}   {stata_g(row.hi):>9}"
    ).rstrip()


def table_text(head: list[str], rows: list[CoefRow]) -> list[str]:
    """The full text table: rule, header lines, separator, rows, rule."""
    return [RULE, *head, MID, *(row_text(r) for r in rows), RULE]


def _cells(rows: list[CoefRow]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.kind in ("rule", "blank"):
            continue
        if r.kind == "header":
            out.append([r.label] + [""] * 6)
            continue
        out.append(
            [r.label, stata_g(r.coef), stata_g(r.se), stata_fixed(r.z, 2), stata_fixed(r.p, 3)]
            + [stata_g(r.lo), stata_g(r.hi)]
        )
    return out


def _titles(first: str, alpha: float, second: str) -> list[str]:
    level = int(round(100 * (1 - alpha)))
    return ["", first, second, "z", "P>|z|", f"[{level}% conf.", "interval]"]


def table_markdown(rows: list[CoefRow], first: str, alpha: float, second: str = "Std. err.") -> str:
    """A Markdown version of the table (group headers as rows with empty cells)."""
    return markdown_table(_titles(first, alpha, second), _cells(rows))


def table_latex(rows: list[CoefRow], first: str, alpha: float, second: str = "Std. err.") -> str:
    """A LaTeX ``tabular`` version of the table."""
    return latex_tabular(_titles(first, alpha, second), _cells(rows))

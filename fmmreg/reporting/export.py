"""Plain table writers shared by every report: Markdown, LaTeX, significance stars.

The writers take rows of already formatted strings, so numbers are formatted
once (in :mod:`fmmreg.reporting.formatting`) and look the same in text, HTML, LaTeX and
Markdown. The LaTeX uses only the base ``tabular`` environment (``\\hline``
rules, no ``booktabs``), so it compiles with a minimal TeX installation.
"""

from __future__ import annotations

from collections.abc import Sequence

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}

#: Default significance levels of :func:`stars` (as Stata's ``esttab``).
STAR_LEVELS: tuple[tuple[float, str], ...] = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


def latex_escape(text: str) -> str:
    """Escape the characters LaTeX treats specially in text mode."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_escape(text: str) -> str:
    """Escape the pipe so a cell cannot split a Markdown table row."""
    return str(text).replace("|", r"\|")


def stars(p: float, levels: Sequence[tuple[float, str]] = STAR_LEVELS) -> str:
    """Significance stars for a p-value (``""`` when not significant or NaN)."""
    if p is None or not p == p:  # NaN
        return ""
    for cut, mark in levels:
        if p < cut:
            return mark
    return ""


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown pipe table.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences of str
        Cells; each row must have ``len(header)`` cells.
    align : str, optional
        One letter per column, ``l`` or ``r`` (default: first left, rest right).
    """
    ncol = len(header)
    align = align or ("l" + "r" * (ncol - 1))
    if len(align) != ncol:
        raise ValueError(f"align has {len(align)} letters for {ncol} columns")
    for r in rows:
        if len(r) != ncol:
            raise ValueError(f"a row has {len(r)} cells, the header {ncol}")
    seps = [":---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(markdown_escape(h) for h in header) + " |", "| " + " | ".join(seps) + " |"]
    lines += ["| " + " | ".join(markdown_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def latex_tabular(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str] | str],
    align: str | None = None,
    escape: bool = True,
) -> str:
    """A ``tabular`` environment.

    Parameters
    ----------
    header : sequence of str or None
        Column titles (a rule is drawn below them).
    rows : sequence
        Each item is a sequence of cells, or one of the strings ``"hline"``
        (a rule) or a raw LaTeX row ending in ``\\\\`` (used for
        ``\\multicolumn`` rows; inserted as is).
    align : str, optional
        Column specification, default ``l`` then ``r`` for the rest.
    escape : bool
        Escape the cells (not raw rows).
    """
    ncol = len(header) if header is not None else max(len(r) for r in rows if not isinstance(r, str))
    align = align or ("l" + "r" * (ncol - 1))
    esc = latex_escape if escape else str
    out = [f"\\begin{{tabular}}{{{align}}}", "\\hline"]
    if header is not None:
        out.append(" & ".join(esc(h) for h in header) + r" \\")
        out.append("\\hline")
    for r in rows:
        if isinstance(r, str):
            out.append("\\hline" if r == "hline" else r)
            continue
        if len(r) != ncol:
            raise ValueError(f"a row has {len(r)} cells, the table {ncol}")
        out.append(" & ".join(esc(c) for c in r) + r" \\")
    out += ["\\hline", "\\end{tabular}"]
    return "\n".join(out)


def pre_html(text: str) -> str:
    """Preformatted HTML of a Stata-style text table (for ``_repr_html_``)."""
    import html

    return f'<pre class="fmmreg">{html.escape(text)}</pre>'


class TextReport:
    """Mixin of a report that prints as its ``as_text()``: ``str``, ``repr`` and notebook HTML (``<pre>``).

    A dataclass using it needs ``@dataclass(repr=False)``, else the
    generated ``__repr__`` replaces the text.
    """

    def as_text(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return pre_html(self.as_text())


def latex_document(body: str) -> str:
    """Wrap LaTeX in a minimal ``article`` document that ``pdflatex`` compiles."""
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\begin{document}",
            body,
            r"\end{document}",
            "",
        ]
    )

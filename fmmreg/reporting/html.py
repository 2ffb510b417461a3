"""HTML tables that look like Stata's output in any browser or notebook.

Every HTML report is one ``<div class="fmmreg">`` that carries its own
``<style>`` block, so a saved file, a notebook (Jupyter, VS Code) or an
e-mail shows the same table: a monospace font with tabular figures,
numbers right-aligned, black rules above and below the table and under
its column titles, a vertical rule after the label column, and no zebra
stripes or cell borders from the host page. The selectors are specific
enough to win over JupyterLab's ``.jp-RenderedHTMLCommon`` table rules.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

#: The stylesheet embedded in every HTML report.
STYLE = """
div.fmmreg {
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 13px; line-height: 1.35; color: #000; background: #fff; padding: 6px 8px;
  font-variant-numeric: tabular-nums; display: inline-block; text-align: left;
}
div.fmmreg table.fmmreg-table {
  border-collapse: collapse; border: none; border-top: 1px solid #000; border-bottom: 1px solid #000;
  margin: 4px 0 12px 0; font: inherit; color: inherit; table-layout: auto;
}
div.fmmreg table.fmmreg-table tbody tr, div.fmmreg table.fmmreg-table thead tr,
div.fmmreg table.fmmreg-table tbody tr:nth-child(odd), div.fmmreg table.fmmreg-table tbody tr:hover {
  background: transparent; border: none;
}
div.fmmreg table.fmmreg-table th, div.fmmreg table.fmmreg-table td {
  font: inherit; font-weight: normal; color: inherit; background: transparent; border: none;
  padding: 0 0 0 1.2ch; text-align: right; white-space: pre; vertical-align: baseline; max-width: none;
}
div.fmmreg table.fmmreg-table thead th { border-bottom: 1px solid #000; }
div.fmmreg table.fmmreg-table th.lab {
  text-align: right; padding: 0 1ch 0 0; border-right: 1px solid #000; min-width: 12ch; width: 12ch;
}
div.fmmreg table.fmmreg-table td.num { min-width: 9ch; }
div.fmmreg table.fmmreg-coef td.num, div.fmmreg table.fmmreg-coef thead th { width: 10ch; }
div.fmmreg table.fmmreg-coef td.num.zp, div.fmmreg table.fmmreg-coef thead th.zp { width: 7ch; min-width: 6ch; }
div.fmmreg table.fmmreg-table tr.blank th { height: 1.35em; }
div.fmmreg table.fmmreg-table tr.header th.lab, div.fmmreg table.fmmreg-table tr.base th.lab,
div.fmmreg table.fmmreg-table tr.anc th.lab, div.fmmreg table.fmmreg-table th.lab.left { text-align: left; }
div.fmmreg table.fmmreg-table tr.level th.lab { padding-right: 2ch; }
div.fmmreg table.fmmreg-table tr.ruled > th, div.fmmreg table.fmmreg-table tr.ruled > td {
  border-top: 1px solid #000;
}
div.fmmreg table.fmmreg-table td.note, div.fmmreg table.fmmreg-table td.text { text-align: left; }
div.fmmreg table.fmmreg-head { border: none; margin: 0 0 8px 0; font: inherit; border-collapse: collapse; }
div.fmmreg table.fmmreg-head tr, div.fmmreg table.fmmreg-head tr:nth-child(odd) { background: transparent; }
div.fmmreg table.fmmreg-head td {
  font: inherit; border: none; padding: 0 4ch 0 0; text-align: left; white-space: pre; background: transparent;
}
div.fmmreg div.fmmreg-title { white-space: pre; margin: 10px 0 2px 0; }
div.fmmreg p.fmmreg-note { white-space: pre-wrap; margin: 2px 0; font: inherit; }
"""


def esc(text: object) -> str:
    """HTML-escape a cell's text."""
    return html.escape(str(text))


def style_tag() -> str:
    """The ``<style>`` element every report embeds."""
    return f"<style>{STYLE}</style>"


def open_report(kind: str) -> list[str]:
    """Opening lines of a report: the container and its stylesheet."""
    return [f'<div class="fmmreg fmmreg-{kind}">', style_tag()]


def header_table(lines: Sequence[tuple[str, str]]) -> str:
    """Stata's two-column header (title left, statistics right)."""
    rows = "".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td></tr>" for a, b in lines)
    return f'<table class="fmmreg-head">{rows}</table>'


def simple_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], rules: Sequence[int] = (), left_labels: bool = False
) -> str:
    """A Stata-styled table: label column, then right-aligned numbers.

    ``rules`` are row positions that get a rule above them; ``left_labels``
    aligns the label column left (its leading spaces are kept, for indented
    rows).
    """
    lab = "lab left" if left_labels else "lab"
    head = f'<th class="{lab}">' + esc(header[0]) + "</th>" + "".join(f"<th>{esc(h)}</th>" for h in header[1:])
    out = ['<table class="fmmreg-table">', f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for i, r in enumerate(rows):
        cls = ' class="ruled"' if i in rules else ""
        cells = "".join(f'<td class="num">{esc(c)}</td>' for c in r[1:])
        out.append(f'<tr{cls}><th class="{lab}">{esc(r[0])}</th>{cells}</tr>')
    out += ["</tbody>", "</table>"]
    return "\n".join(out)

"""HTML reports look like Stata tables in any browser (issue 14).

Structure tests parse the HTML; where Debian's headless Chromium is
installed, a browser lays the table out (also under a hostile, JupyterLab-like
stylesheet) and a script measures it: numbers right-aligned on their last
digit, a monospace font, the rules drawn. A screenshot is checked for its
horizontal rules. CI has no Chromium: those tests skip there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmmreg import compare
from fmmreg.reporting.summary import ROW_KINDS
from tests.fixtures.golden.make_golden import fit_zinb

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def zinb():
    return fit_zinb(pd.read_csv(GOLDEN / "zinb.csv"))


class _Tree(HTMLParser):
    """Tables as lists of rows; each row: (tr attributes, [(tag, attributes, text)])."""

    VOID = {"br", "meta", "link", "img", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tables: list[list] = []
        self.styles: list[str] = []
        self.errors: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        self.stack.append(tag)
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([attrs.get("class", "")])
        elif tag == "tr":
            self.tables[-1].append((attrs, []))
        elif tag in ("td", "th"):
            self.tables[-1][-1][1].append([tag, attrs, ""])
        elif tag == "style":
            self._in_style = True
            self.styles.append("")

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>")
            return
        self.stack.pop()
        self._in_style = self._in_style and tag != "style"

    def handle_data(self, data):
        if self._in_style:
            self.styles[-1] += data
        elif self.stack and self.stack[-1] in ("td", "th"):
            self.tables[-1][-1][1][-1][2] += data


def _parse(text: str) -> _Tree:
    tree = _Tree()
    tree.feed(text)
    assert not tree.errors and not tree.stack
    return tree


def test_summary_html_is_self_contained_and_stata_shaped(zinb):
    text = zinb.summary().as_html()
    tree = _parse(text)
    assert len(tree.styles) == 1
    css = tree.styles[0]
    assert "monospace" in css and "tabular-nums" in css and "text-align: right" in css
    assert "border-top: 1px solid #000" in css and "border-right: 1px solid #000" in css
    assert "dataframe" not in text and "border=" not in text  # no pandas table
    coef_tables = [t for t in tree.tables if "fmmreg-coef" in t[0]]
    assert len(coef_tables) == 1 + zinb.k
    for table in coef_tables:
        head, *rows = table[1:]
        assert [c[2] for c in head[1]][:5] == ["", "Coefficient", "Std. err.", "z", "P>|z|"]
        for attrs, cells in rows:
            kinds = attrs["class"].split()
            assert kinds[0] in ROW_KINDS and set(kinds[1:]) <= {"ruled"}
            assert cells[0][0] == "th" and "lab" in cells[0][1]["class"]
            assert sum(int(c[1].get("colspan", 1)) for c in cells) == 7  # every row spans the 7 columns
            if kinds[0] in ("coef", "level") and len(cells) == 7:
                assert all(c[0] == "td" and "num" in c[1]["class"] for c in cells[1:])
    # the factor block of class 2: header row, then one row per non-base level
    labels = [(r[0]["class"].split()[0], r[1][0][2]) for r in coef_tables[2][2:]]
    i = labels.index(("var", "region"))
    assert labels[i + 1 : i + 3] == [("level", "south"), ("level", "west")]
    assert ("aux", "/lnalpha") in labels and ("aux", "alpha") in labels
    pointmass = [(r[1][0][2], r[1][1][2], r[1][2][2]) for r in coef_tables[1][2:] if len(r[1]) > 2]
    assert pointmass == [("_cons", "0", "(constrained)")]
    shares = next(t for t in tree.tables if "fmmreg-shares" in t[0])
    np.testing.assert_allclose([float(r[1][1][2]) for r in shares[2:]], zinb.class_shares, atol=5e-5)


def test_compare_html_is_self_contained(zinb):
    tree = _parse(compare({"ZINB": zinb}, coefs=True).as_html())
    assert len(tree.styles) == 1 and len(tree.tables) == 1
    rows = tree.tables[0][2:]
    assert {len(cells) for _, cells in rows} == {2}
    assert any(cells[0][2] == "    south" for _, cells in rows)


# ------------------------------------------------------------ in a browser
#: Rules a notebook front end applies to tables (JupyterLab's look, exaggerated): ours must win.
HOSTILE_CSS = """
.jp-RenderedHTMLCommon table { border: 3px solid red; font-family: serif; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { text-align: left; border: 1px solid red; padding: 9px; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: rgb(200, 200, 255); }
body { font-family: serif; }
"""

MEASURE_JS = """
<script>
function rightEdge(cell) {
  const r = document.createRange(); r.selectNodeContents(cell); return r.getBoundingClientRect().right;
}
function textWidth(text, el) {
  const span = document.createElement("span"); span.textContent = text; el.appendChild(span);
  const w = span.getBoundingClientRect().width; span.remove(); return w;
}
const out = {tables: []};
for (const table of document.querySelectorAll("table.fmmreg-coef")) {
  const cols = [[], []];
  for (const tr of table.querySelectorAll("tbody tr")) {
    const tds = tr.querySelectorAll("td.num");
    if (tds.length >= 2 && !tr.querySelector("td.note")) {
      cols[0].push(rightEdge(tds[0])); cols[1].push(rightEdge(tds[1]));
    }
  }
  const lab = table.querySelector("tbody th.lab");
  const num = table.querySelector("td.num");
  const row = table.querySelector("tbody tr");
  out.tables.push({
    coef_right: cols[0], se_right: cols[1],
    num_align: num ? getComputedStyle(num).textAlign : null,
    num_border: num ? getComputedStyle(num).borderTopWidth + " " + getComputedStyle(num).borderLeftWidth : null,
    row_background: getComputedStyle(row).backgroundColor,
    label_border: getComputedStyle(lab).borderRightWidth + " " + getComputedStyle(lab).borderRightStyle,
    top: getComputedStyle(table).borderTopWidth, bottom: getComputedStyle(table).borderBottomWidth,
    font: getComputedStyle(table).fontFamily,
    narrow: textWidth("iiiiiiiiii", table), wide: textWidth("MMMMMMMMMM", table),
  });
}
document.getElementById("measure").textContent = JSON.stringify(out);
</script>
"""


def _page(body: str, script: bool) -> str:
    """The report twice: on a plain page, then inside a notebook-like container with hostile styles."""
    js = '<pre id="measure"></pre>' + MEASURE_JS if script else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{HOSTILE_CSS}</style></head>'
        f'<body>{body}<div class="jp-RenderedHTMLCommon">{body}</div>{js}</body></html>'
    )


def _chromium(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
        ]
        return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")
def test_browser_layout_is_stata_like(zinb, tmp_path):
    page = tmp_path / "summary.html"
    page.write_text(_page(zinb.summary().as_html(), script=True))
    proc = _chromium(["--dump-dom", page.as_uri()])
    found = re.search(r'<pre id="measure">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(measured["tables"]) == 2 * (1 + zinb.k)  # plain page, then the notebook-like container
    for t in measured["tables"]:
        assert t["num_align"] == "right"
        for edges in (t["coef_right"], t["se_right"]):  # numbers end on the same pixel column
            assert not edges or max(edges) - min(edges) < 0.5
        assert t["label_border"] == "1px solid"  # Stata's vertical rule after the labels
        assert t["top"] == "1px" and t["bottom"] == "1px"
        assert t["num_border"] == "0px 0px"  # no grid from the host page
        assert t["row_background"] == "rgba(0, 0, 0, 0)"  # no zebra stripes
        assert abs(t["narrow"] - t["wide"]) < 0.5, t["font"]  # a monospace font
    assert sum(len(t["coef_right"]) >= 2 for t in measured["tables"]) == 4  # all but the point-mass tables


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")
def test_browser_screenshot_shows_the_rules(zinb, tmp_path):
    import matplotlib.image as mpimg

    page = tmp_path / "summary.html"
    page.write_text(_page(zinb.summary().as_html(), script=False))
    png = tmp_path / "summary.png"
    _chromium([f"--screenshot={png}", "--window-size=900,1500", page.as_uri()])
    img = mpimg.imread(png)[..., :3]
    dark = img.mean(axis=2) < 0.35
    assert 0.005 < dark.mean() < 0.2  # text on a white page
    # the horizontal rules: rows with a long run of dark pixels (tables are ~600 px wide)
    runs = [int(np.max(np.diff(np.flatnonzero(np.diff(np.r_[0, r, 0]))))) if r.any() else 0 for r in dark]
    assert sum(run > 400 for run in runs) >= 2 * 2 * (1 + zinb.k)  # top and bottom of every table, twice
    red = (img[..., 0] > 0.8) & (img[..., 1] < 0.3) & (img[..., 2] < 0.3)
    assert not red.any()  # the host page's red grid never shows

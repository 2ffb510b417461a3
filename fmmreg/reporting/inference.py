"""How the inference options show in a coefficient table, as Stata prints them.

- The VCE type: ``Robust`` or ``OPG`` above ``std. err.``, a right-aligned
  ``(Std. err. adjusted for G clusters in id)`` above the first table, and
  ``Log pseudolikelihood`` in the header after a robust VCE or pweights.
- ``eform``: the column title (``exp(b)``, ``IRR``, ``Odds ratio`` or a
  user's string) and the transformed row: ``exp(b)``, standard error
  ``exp(b) se(b)`` (delta method), CI ``exp`` of the endpoints, z and P of
  ``b`` unchanged.

Stata 17 layout of the column heads (``|`` is column 14)::

                 |               Robust
                 | Coefficient  std. err.      z    P>|z|     [95% conf. interval]
                 |        IRR   std. err.      z    P>|z|     [95% conf. interval]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.reporting.formatting import thousands

COEFFICIENT = "Coefficient"


@dataclass(frozen=True)
class TableColumns:
    """Titles of the coefficient and standard-error columns, and the cluster note."""

    coef: str = COEFFICIENT
    vce_label: str = ""  # "", "Robust", "OPG"
    note: str = ""

    @property
    def se(self) -> str:
        """The standard-error title on one line (HTML, Markdown, LaTeX)."""
        return f"{self.vce_label} std. err." if self.vce_label else "Std. err."

    def text_head(self, ci: str) -> list[str]:
        """The one or two header lines of the text table (without rules)."""
        lines = []
        if self.vce_label:
            # centred over "std. err." as Stata does: Robust after 15 blanks, OPG after 17
            lines.append(f"{'':13}|{'':{18 - len(self.vce_label) // 2}}{self.vce_label}")
        coef = f" {COEFFICIENT}" if self.coef == COEFFICIENT else f"{self.coef[:11]:>11} "
        se = "std. err." if self.vce_label else "Std. err."
        lines.append(f"{'':13}|{coef}  {se}      z    P>|z|     {ci}")
        return lines


def eform_title(eform: bool | str = False, irr: bool = False, or_: bool = False) -> str | None:
    """The column title of an exponentiated table, or ``None`` for coefficients.

    Raises
    ------
    FMMError
        When more than one of ``eform``, ``irr``, ``or_`` is given.
    """
    chosen = [t for t, on in (("exp(b)", eform), ("IRR", irr), ("Odds ratio", or_)) if on]
    if len(chosen) > 1:
        raise FMMError("give one of eform=, irr=, or_= (they differ only in the column title)")
    if not chosen:
        return None
    if isinstance(eform, str) and eform:
        return eform
    return chosen[0]


def eform_row(row):
    """A coefficient row shown as ``exp(b)``: SE ``exp(b) se(b)``, CI ``exp`` of the endpoints, same z and P."""
    eb = float(np.exp(row.coef))
    return replace(row, coef=eb, se=eb * row.se, lo=float(np.exp(row.lo)), hi=float(np.exp(row.hi)))


def loglik_label(res) -> str:
    """``Log pseudolikelihood`` after a robust/cluster VCE or pweights (as Stata), else ``Log likelihood``."""
    return "Log pseudolikelihood" if res.is_pseudolikelihood else "Log likelihood"


def cluster_note(res) -> str:
    """``(Std. err. adjusted for G clusters in id)`` for a cluster VCE, else ``""``."""
    spec = res.vce_spec
    if spec.kind != "cluster":
        return ""
    where = f" in {spec.cluster_name}" if spec.cluster_name else ""
    return f"(Std. err. adjusted for {thousands(spec.n_clusters)} clusters{where})"


def table_columns(res, eform: str | None = None) -> TableColumns:
    """The column titles and note of ``res``'s tables."""
    return TableColumns(eform or COEFFICIENT, res.vce_spec.label, cluster_note(res))

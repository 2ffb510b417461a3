"""Panel (grouped) data: the latent class belongs to a group of rows, not to a row.

With ``fmm(k, "y ~ x", data, group="id")`` -- or flexmix's spelling
``"y ~ x | id"`` -- every row of a subject (patient, firm, respondent) comes
from the subject's class::

    l(theta) = sum_g w_g log sum_k pi_k(z_g) prod_{i in g} f_k(y_i | x_i)

(the likelihood itself is :class:`fmmreg.estimation.grouped.GroupedMixtureLikelihood`).
This module holds the model side: the group variable and its checks, the
labels of the groups, and the per-group views of the results.

Rules
-----
- Rows with a missing group id are dropped with the other incomplete rows.
- Class-membership covariates (``class_formula``) must be constant within a
  group, and so must the weights (a group weight): both belong to the group.
- ``vce="robust"`` is the sandwich of the group scores, i.e. the cluster-robust
  variance with the group as the cluster (Stata's panel commands do the same:
  ``vce(robust)`` means ``vce(cluster panelvar)``); ``cov_type`` is then
  ``"cluster"``. Other cluster variables must nest the groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg import weighting
from fmmreg.estimation.grouped import Groups
from fmmreg.exceptions import FMMError

#: Key of the group codes in :attr:`fmmreg.formula.Design.extra`.
GROUP_KEY = "group"

_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`]+`)$")


def _show(value) -> str:
    """A group id as the user wrote it (``3``, ``'A12'``), not as a numpy scalar."""
    return repr(value.item() if isinstance(value, np.generic) else value)


# ------------------------------------------------------------------ formulas
def split_group(formula: str) -> tuple[str, str | None]:
    """Split flexmix's ``"y ~ x | id"`` into ``("y ~ x", "id")``.

    Only a ``|`` outside parentheses and after the ``~`` separates the group
    variable (``I(a | b)`` is an expression); what follows must be a single
    column name (backquotes allowed).
    """
    if not isinstance(formula, str):
        return formula, None
    depth, tilde, cut = 0, False, None
    quoted = None
    for i, ch in enumerate(formula):
        if quoted:
            quoted = None if ch == quoted else quoted
        elif ch in "'\"`":
            quoted = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "~" and depth == 0:
            tilde = True
        elif ch == "|" and depth == 0 and tilde:
            cut = i
    if cut is None:
        return formula, None
    name = formula[cut + 1 :].strip()
    if not _NAME.match(name):
        raise FMMError(
            f"in {formula!r}, what follows '|' must be the name of the group variable (as in flexmix's "
            f"'y ~ x | id'), got {name!r}"
        )
    return formula[:cut].rstrip(), name.strip("`")


def resolve_group(formulas: list[str], group) -> tuple[list[str], object]:
    """The formulas without ``| id`` and the group variable (a column name, values, or None)."""
    stripped, named = [], []
    for f in formulas:
        f2, g = split_group(f)
        stripped.append(f2)
        if g is not None:
            named.append(g)
    names = sorted(set(named))
    if len(names) > 1:
        raise FMMError(f"the formulas name different group variables {names}; one model has one group variable")
    if names:
        if group is not None and not (isinstance(group, str) and group == names[0]):
            raise FMMError(
                f"the formula names the group variable {names[0]!r} but group={group!r} is given too; give it once"
            )
        group = names[0]
    if group is not None and not isinstance(group, str) and isinstance(group, (int, float, bool)):
        raise FMMError(f"group must be a column name of data or one id per row of data, got {group!r}")
    return stripped, group


def group_name(group) -> str:
    """The group variable's name for tables and messages."""
    if isinstance(group, str):
        return group
    name = getattr(group, "name", None)
    return name if isinstance(name, str) else "group"


def group_values(group, data: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Codes of the group ids of every row of ``data`` (NaN where missing) and the ids.

    The codes reach the design as an extra per-row variable, so rows with a
    missing id are dropped listwise with the rest.
    """
    if isinstance(group, str):
        if group not in data.columns:
            raise FMMError(
                f"group variable {group!r} not found in data; available columns: "
                f"{', '.join(map(str, data.columns[:20]))}{' ...' if data.shape[1] > 20 else ''}"
            )
        col = data[group]
        if isinstance(col, pd.DataFrame):
            raise FMMError(f"data has several columns named {group!r}; rename them")
    else:
        values = group.to_numpy() if isinstance(group, (pd.Series, pd.Index)) else np.asarray(group)
        if values.ndim != 1 or len(values) != len(data):
            raise FMMError(f"group must have one id per row of data ({len(data)}), got shape {values.shape}")
        col = pd.Series(values)
    codes, ids = pd.factorize(col, sort=False)
    out = codes.astype(float)
    out[codes < 0] = np.nan
    return out, pd.Index(ids)


# -------------------------------------------------------------------- panel
@dataclass(frozen=True, eq=False)
class Panel:
    """The groups of the rows used.

    Attributes
    ----------
    name : str
        The group variable (``"id"``).
    ids : Index
        Group ids in the order of their first row (the groups' codes).
    groups : Groups
        Group code of each row used, segment sums and broadcasts.
    """

    name: str
    ids: pd.Index
    groups: Groups

    @property
    def n_groups(self) -> int:
        return self.groups.n_groups

    @property
    def sizes(self) -> pd.Series:
        """Rows used in each group, indexed by group id."""
        return pd.Series(self.groups.sizes, index=self.index, name="rows")

    @property
    def index(self) -> pd.Index:
        """The group ids as an Index named after the group variable."""
        return self.ids.rename(self.name)

    @property
    def row_ids(self) -> np.ndarray:
        """The group id of each row used."""
        return self.ids.to_numpy()[self.groups.codes]

    def frame(self, values: np.ndarray, columns) -> pd.DataFrame:
        """A per-group table (one row per group, index = group id) of row-level ``values`` (constant in a group)."""
        return pd.DataFrame(np.asarray(values)[self.groups.first], index=self.index, columns=columns)

    def subset(self, rows: np.ndarray | slice) -> Panel:
        """The panel of some rows used (groups without a row among them are left out)."""
        codes = self.groups.codes[rows]
        new, used = pd.factorize(codes, sort=False)
        return Panel(self.name, self.ids[used], Groups(new))

    def vce_spec(self, model):
        """``vce="robust"`` of a grouped model: clusters are the groups (weights: non-zero groups count)."""
        from fmmreg.postestimation.vce import VCESpec

        w = model.design.weights
        codes = self.groups.codes
        n_clusters = self.n_groups if w is None else len(np.unique(codes[w != 0]))
        if n_clusters < 2:
            raise FMMError(f"group variable {self.name!r} has {n_clusters} group(s) with weight; need at least 2")
        return VCESpec("cluster", codes, self.name, n_clusters)

    def check_nested(self, cluster_codes: np.ndarray, cluster_name: str | None) -> None:
        """Clusters must hold whole groups (Stata: panels nested within clusters)."""
        g = self.groups
        split = cluster_codes != cluster_codes[g.first][g.codes]
        if split.any():
            i = int(np.flatnonzero(split)[0])
            raise FMMError(
                f"group {_show(self.ids[g.codes[i]])} of {self.name!r} spans several clusters of "
                f"{cluster_name or 'cluster='!r}: the groups must be nested within the clusters (a group's "
                "rows share its latent class, so its score is one unit); cluster on a variable constant "
                f"within {self.name!r}, or use vce='robust' (clusters = groups)"
            )


def make_panel(name: str, ids: pd.Index, codes_used: np.ndarray) -> Panel:
    """The panel of the rows used, from their codes in ``ids`` (as given by :func:`group_values`)."""
    new, used = pd.factorize(np.asarray(codes_used, dtype=np.int64), sort=False)
    return Panel(name, ids[used], Groups(new))


def _first_varying(values: np.ndarray, groups: Groups) -> tuple[int, int] | None:
    """The first row (and column) whose value differs from its group's first row, or None."""
    v = values.reshape(len(values), -1)
    differs = v != v[groups.first][groups.codes]
    bad = np.flatnonzero(differs.any(axis=1))
    if bad.size == 0:
        return None
    g = groups.codes[bad].min()  # the first group (in data order) that varies
    i = int(bad[groups.codes[bad] == g][0])
    return i, int(np.flatnonzero(differs[i])[0])


def check_panel(model) -> None:
    """Group-level checks: membership covariates and weights constant within groups, enough groups.

    Raises
    ------
    FMMError
        Naming the first offending group and the variable.
    """
    panel, d, k = model.panel, model.design, model.k
    g = panel.groups
    if k > 1 and panel.n_groups <= k:
        raise FMMError(
            f"k={k} classes but only {panel.n_groups} group(s) of {panel.name!r}: classes are groups' classes, "
            "so a mixture needs more groups than classes; fit fewer classes"
        )
    n_mem = (k - 1) * d.Z.shape[1]
    if n_mem >= panel.n_groups:
        raise FMMError(
            f"the class-membership model has {n_mem} parameters but there are only {panel.n_groups} groups of "
            f"{panel.name!r}: it cannot be identified; use fewer class_formula terms or fewer classes"
        )
    bad = _first_varying(d.Z, g)
    if bad is not None:
        i, j = bad
        first = g.first[g.codes[i]]
        raise FMMError(
            f"class-membership variable {d.znames[j]!r} is not constant within group {_show(panel.ids[g.codes[i]])} of "
            f"{panel.name!r} (values {d.Z[first, j]:g} and {d.Z[i, j]:g}): the latent class belongs to the group, "
            "so its covariates must be group-level; use one value per group (e.g. the baseline value or the "
            "group mean) or drop it from class_formula"
        )
    if d.weights is not None:
        bad = _first_varying(d.weights, g)
        if bad is not None:
            i, _ = bad
            first = g.first[g.codes[i]]
            spec = model.weight_spec
            label = f"{spec.option} {spec.label!r}" if isinstance(spec.source, str) else spec.option
            raise FMMError(
                f"{label} is not constant within group {_show(panel.ids[g.codes[i]])} of {panel.name!r} (values "
                f"{d.weights[first]:g} and {d.weights[i]:g}): with group= a weight belongs to the group (each "
                "group's rows share its class); give every row of a group the group's weight"
            )


# ---------------------------------------------------------------- reporting
def n_groups(res) -> float:
    """The number of groups as Stata counts units: ``sum w_g`` with fweights/iweights, groups with weight else."""
    panel = res.model.panel
    w = res.model.design.weights
    if w is None:
        return float(panel.n_groups)
    return weighting.nobs(res.weight_type, w[panel.groups.first])


def header_rows(res) -> list[tuple[str, str]]:
    """Stata's panel header lines: group variable, number of groups, obs per group (min/avg/max)."""
    panel = res.model.panel
    sizes = panel.groups.sizes
    w = res.model.design.weights
    if w is not None:  # groups with weight only, as for the number of observations
        keep = w[panel.groups.first] != 0
        sizes = sizes[keep]
    n_groups = int(sizes.size)
    # the right column lines up its "=" with "Number of obs     ="
    return [
        (f"Group variable: {panel.name}", f"Number of groups  = {n_groups:>10,}"),
        ("", "Obs per group:"),
        ("", f"{'min':>17} = {int(sizes.min()):>10,}"),
        ("", f"{'avg':>17} = {sizes.mean():>10,.1f}"),
        ("", f"{'max':>17} = {int(sizes.max()):>10,}"),
    ]

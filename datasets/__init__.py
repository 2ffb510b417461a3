"""Real data sets shipped with fmmreg (installed as ``fmmreg.datasets``).

>>> from fmmreg import datasets
>>> datasets.names()                       # doctest: +SKIP
['biochemists', 'insurance', 'mus03sub', 'mus17docvis', 'nmes1988', 'swisslabor']
>>> nmes = datasets.load("nmes1988")       # a DataFrame, factors as pandas categoricals
>>> print(datasets.describe("nmes1988"))  # doctest: +SKIP

Each data set is a CSV with a JSON description (title, source, licence,
reference, and each variable's description and type). ``load`` gives every
factor a categorical dtype with the categories in R's (or Stata's) level
order, so formulas treat it as a factor and its base level is the reference
level of the original source. The files live in the repository's top-level
``datasets/`` directory, which the wheel installs as this subpackage;
``make_datasets.py`` rebuilds them from their public sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from fmmreg.exceptions import FMMError

HERE = Path(__file__).resolve().parent

__all__ = ["Description", "describe", "load", "names", "path"]


def names() -> list[str]:
    """Names of the shipped data sets."""
    return sorted(p.stem for p in HERE.glob("*.json"))


def _check(name: str) -> str:
    if not isinstance(name, str) or not (HERE / f"{name.lower()}.json").exists():
        raise FMMError(f"no data set named {name!r}; fmmreg.datasets has {', '.join(names())}")
    return name.lower()


@cache
def _spec(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def path(name: str) -> Path:
    """Path of a data set's CSV file (read it with :func:`load` for the right dtypes)."""
    return HERE / f"{_check(name)}.csv"


def load(name: str) -> pd.DataFrame:
    """Load a shipped data set as a DataFrame with proper dtypes.

    Parameters
    ----------
    name : str
        One of :func:`names` (case-insensitive).

    Returns
    -------
    DataFrame
        Integer and float columns as such; factors as ``category`` dtype
        with the source's level order (first category = reference level;
        ordered factors stay ordered). A new DataFrame on every call.

    Raises
    ------
    FMMError
        For an unknown name, listing the available ones.
    """
    name = _check(name)
    spec = _spec(name)
    variables = spec["variables"]
    frame = pd.read_csv(HERE / f"{name}.csv")
    for col, var in variables.items():
        if var["type"] != "category":
            continue
        dtype = pd.CategoricalDtype(var["categories"], ordered=bool(var.get("ordered", False)))
        values = frame[col].astype(dtype)
        lost = values.isna() & frame[col].notna()
        if lost.any():  # a value missing from the declared categories would silently become NaN
            raise FMMError(f"data set {name!r}: column {col!r} has values outside its categories")
        frame[col] = values
    return frame


@dataclass(frozen=True)
class Description:
    """What a data set is: where it comes from, its licence, its variables.

    ``variables`` is a DataFrame indexed by variable name with the columns
    ``type`` and ``description`` (and ``categories`` for factors).
    """

    name: str
    title: str
    rows: int
    source: str
    licence: str
    reference: str
    used_for: str
    variables: pd.DataFrame

    def __str__(self) -> str:
        lines = [
            f"{self.name}: {self.title}",
            f"{self.rows:,} rows, {len(self.variables)} variables",
            "",
            f"Source:    {self.source}",
            f"Licence:   {self.licence}",
            f"Reference: {self.reference}",
            f"Used for:  {self.used_for}",
            "",
            "Variables:",
        ]
        width = max(len(v) for v in self.variables.index)
        for var, row in self.variables.iterrows():
            kind = row["type"]
            if kind == "category":
                kind = "category: " + ", ".join(map(str, row["categories"]))
            lines.append(f"  {var:<{width}}  {row['description']} [{kind}]")
        return "\n".join(lines)

    __repr__ = __str__


def describe(name: str) -> Description:
    """Source, licence, reference and variable descriptions of a data set.

    ``print(fmmreg.datasets.describe("insurance"))`` shows them; the
    attributes hold the same as text and a DataFrame of variables.
    """
    name = _check(name)
    spec = _spec(name)
    variables = pd.DataFrame(
        [
            {
                "variable": var,
                "type": v["type"],
                "description": v["description"],
                "categories": v.get("categories"),
            }
            for var, v in spec["variables"].items()
        ]
    ).set_index("variable")
    return Description(
        name=name,
        title=spec["title"],
        rows=int(spec["rows"]),
        source=spec["source"],
        licence=spec["licence"],
        reference=spec["reference"],
        used_for=spec["used_for"],
        variables=variables,
    )

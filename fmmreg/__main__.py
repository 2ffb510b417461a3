"""Command line: ``python -m fmmreg demo`` fits the design-card example.

The demo fits a 3-class Poisson mixture of physician office visits on the
NMES 1988 data (Deb & Trivedi 1997, shipped in ``datasets/``) with class
membership depending on income, and prints the Stata-style summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

DEMO_FORMULA = "visits ~ age + chronic"
DEMO_CLASS_FORMULA = "~ income"


def _find_dataset(name: str) -> Path:
    """Locate a CSV of ``datasets/`` (repository checkout or installed data)."""
    here = Path(__file__).resolve().parent
    for base in (here.parent / "datasets", here / "data"):
        path = base / name
        if path.exists():
            return path
    raise FileNotFoundError(f"dataset {name!r} not found next to the package; run from a checkout of fmmreg")


def demo(k: int = 3, random_state: int = 0) -> None:
    from fmmreg import fmm

    path = _find_dataset("nmes1988.csv")
    df = pd.read_csv(path)
    print(f"Data: {path.name}, {len(df)} rows (Deb & Trivedi 1997 NMES doctor visits)")
    print(f'fmm({k}, "{DEMO_FORMULA}", family="poisson", class_formula="{DEMO_CLASS_FORMULA}")\n')
    t0 = time.perf_counter()
    res = fmm(k, DEMO_FORMULA, data=df, family="poisson", class_formula=DEMO_CLASS_FORMULA, random_state=random_state)
    elapsed = time.perf_counter() - t0
    print(res.summary())
    print(f"\nFitted in {elapsed:.2f} s.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fmmreg", description="fmmreg command line")
    sub = parser.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="fit the NMES 1988 doctor-visits example and print the summary")
    p_demo.add_argument("-k", type=int, default=3, help="number of classes (default 3)")
    p_demo.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.k, args.random_state)
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())

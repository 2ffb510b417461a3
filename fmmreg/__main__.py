"""Command line: ``fmmreg demo``, ``fmmreg fit`` and ``fmmreg datasets``.

``python -m fmmreg demo`` (or ``fmmreg demo``) fits a 3-class Poisson
mixture of physician office visits on the NMES 1988 data (Deb & Trivedi
1997, shipped as ``fmmreg.datasets``) with class membership depending on
income, and prints the Stata-style summary.

``fmmreg fit DATA "y ~ x" -k 3 --family poisson --class "~ z"`` fits a
model to a data file (CSV, TSV, Stata ``.dta``, Parquet; or the name of a
shipped data set), prints the summary and can write it as LaTeX, Markdown
or HTML and the tidy coefficient table as CSV. Data and option problems
print a one-line error and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

DEMO_FORMULA = "visits ~ age + chronic"
DEMO_CLASS_FORMULA = "~ income"


def demo(k: int = 3, random_state: int = 0) -> None:
    from fmmreg import datasets, fmm

    df = datasets.load("nmes1988")
    print(f"Data: fmmreg.datasets.load('nmes1988'), {len(df)} rows (Deb & Trivedi 1997 NMES doctor visits)")
    print(f'fmm({k}, "{DEMO_FORMULA}", family="poisson", class_formula="{DEMO_CLASS_FORMULA}")\n')
    t0 = time.perf_counter()
    res = fmm(k, DEMO_FORMULA, data=df, family="poisson", class_formula=DEMO_CLASS_FORMULA, random_state=random_state)
    elapsed = time.perf_counter() - t0
    print(res.summary())
    print(f"\nFitted in {elapsed:.2f} s.")


def read_data(source: str) -> pd.DataFrame:
    """A data file by extension (``.csv``, ``.tsv``/``.txt``, ``.dta``, ``.parquet``) or a shipped data set's name."""
    from fmmreg import datasets
    from fmmreg.exceptions import FMMError

    path = Path(source)
    if not path.exists():
        if source.lower() in datasets.names():
            return datasets.load(source)
        raise FMMError(f"data file {source!r} not found (nor is it one of fmmreg's data sets: {datasets.names()})")
    suffix = path.suffix.lower()
    if suffix == ".dta":
        return pd.read_stata(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".tsv", ".tab", ".txt"):
        return pd.read_csv(path, sep="\t")
    return pd.read_csv(path)


def _family(name: str):
    """``--family`` value: a registry name (``poisson``), ``pointmass`` or ``pointmass:0`` style values."""
    from fmmreg.families import PointMass

    head, _, value = name.partition(":")
    if head.strip().lower() == "pointmass" and value:
        return PointMass(float(value))
    return name


def fit_command(args: argparse.Namespace) -> int:
    from fmmreg import fmm

    data = read_data(args.data)
    formulas = args.formula if len(args.formula) > 1 else args.formula[0]
    families = [_family(f) for f in args.family.split(",")]
    family = families if len(families) > 1 else families[0]
    options = {
        "random_state": args.random_state,
        "draws": args.draws,
        "max_draws": args.max_draws,
        "min_scale": args.min_scale,
        "min_scale_small": args.min_scale_small,
        "weights": args.weights,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fmm(args.k, formulas, data, family=family, class_formula=args.class_formula, **options)
    alpha = 1 - args.level / 100
    summary = res.summary(alpha=alpha)
    outputs = {
        "latex": lambda: summary.as_latex(standalone=True),
        "markdown": summary.as_markdown,
        "html": lambda: (
            "<!doctype html>\n<html><head><meta charset='utf-8'></head><body>\n"
            + summary.as_html()
            + "\n</body></html>\n"
        ),
        "csv": lambda: res.to_frame(alpha=alpha).to_csv(index=False),
    }
    for kind, render in outputs.items():
        target = getattr(args, kind)
        if target:
            Path(target).write_text(render(), encoding="utf-8")
            print(f"wrote {kind} to {target}", file=sys.stderr)
    print(summary)
    for w in caught:
        print(f"Warning: {w.message}", file=sys.stderr)
    return 0


def datasets_command(args: argparse.Namespace) -> int:
    from fmmreg import datasets

    if args.name:
        print(datasets.describe(args.name))
        return 0
    for name in datasets.names():
        d = datasets.describe(name)
        print(f"{name:<12} {d.rows:>6,} rows  {d.title}")
    return 0


def parser() -> argparse.ArgumentParser:
    from fmmreg.estimation.degeneracy import DEFAULT_RULE

    p = argparse.ArgumentParser(prog="fmmreg", description="Finite mixture regression with Stata fmm's numbers")
    sub = p.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="fit the NMES 1988 doctor-visits example and print the summary")
    p_demo.add_argument("-k", type=int, default=3, help="number of classes (default 3)")
    p_demo.add_argument("--random-state", type=int, default=0)

    p_fit = sub.add_parser(
        "fit",
        help="fit a mixture to a data file and print the summary",
        description='Example: fmmreg fit data.csv "y ~ x" -k 3 --family poisson --class "~ z" --html out.html',
    )
    p_fit.add_argument("data", help="CSV/TSV/.dta/.parquet file, or the name of a shipped data set (nmes1988, ...)")
    p_fit.add_argument(
        "formula", nargs="+", help='component formula "y ~ x1 + x2"; several formulas = one per class (hybrid)'
    )
    p_fit.add_argument("-k", type=int, default=None, help="number of classes (implied by several formulas or families)")
    p_fit.add_argument(
        "--family",
        default="gaussian",
        help="component family (default gaussian); a comma-separated list gives one per class, "
        "e.g. pointmass,poisson; pointmass:1 puts the mass at 1",
    )
    p_fit.add_argument("--class", dest="class_formula", default=None, help='class-membership formula "~ z1 + z2"')
    p_fit.add_argument("--weights", default=None, help="column of frequency weights (Stata fweight)")
    p_fit.add_argument("--level", type=float, default=95.0, help="confidence level in percent (default 95)")
    p_fit.add_argument("--random-state", type=int, default=0, help="seed of the start search (default 0)")
    p_fit.add_argument("--draws", type=int, default=10, help="starts per batch of the start search (default 10)")
    p_fit.add_argument(
        "--max-draws", type=int, default=100, help="cap on the starts of the start search in all (default 100)"
    )
    p_fit.add_argument(
        "--min-scale",
        type=float,
        default=DEFAULT_RULE.min_scale_ratio,
        help="degeneracy rule: smallest class SD, as a share of the response SD and the largest class SD "
        f"(default {DEFAULT_RULE.min_scale_ratio:g})",
    )
    p_fit.add_argument(
        "--min-scale-small",
        type=float,
        default=DEFAULT_RULE.small_scale_ratio,
        help=(  # argparse formats help with %: a literal one is doubled
            f"the same for a class under {DEFAULT_RULE.small_share:.0%} of the observations "
            f"(default {DEFAULT_RULE.small_scale_ratio:g})"
        ).replace("%", "%%"),
    )
    for kind, what in (
        ("latex", "a standalone LaTeX document"),
        ("markdown", "Markdown"),
        ("html", "a self-contained HTML page"),
        ("csv", "the tidy coefficient table (to_frame) as CSV"),
    ):
        p_fit.add_argument(f"--{kind}", metavar="FILE", default=None, help=f"also write {what} to FILE")

    p_data = sub.add_parser("datasets", help="list the shipped data sets, or describe one")
    p_data.add_argument("name", nargs="?", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    from fmmreg.exceptions import FMMError

    p = parser()
    args = p.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args.k, args.random_state)
            return 0
        if args.command == "fit":
            return fit_command(args)
        if args.command == "datasets":
            return datasets_command(args)
    except BrokenPipeError:  # the reader went away (``fmmreg datasets | head``): nothing to report
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python from complaining at exit
        return 0
    except (FMMError, ValueError, TypeError, FileNotFoundError, OSError) as exc:
        # a data or option problem: one line naming it, no traceback
        print(f"fmmreg: error: {exc}", file=sys.stderr)
        return 2
    p.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Cost of the default start search, before/after, measured in the same run (issue 10).

    python benchmarks/start_cost.py --baseline /path/to/old/checkout [--repeat 3]

``--baseline`` is a directory holding an older ``fmmreg`` package (e.g.
``git archive a87f05a fmmreg | tar -x -C /tmp/base``). Each configuration runs
in a fresh process, alternating baseline and current code, ``--repeat`` times;
the median wall time of the fitting call is reported:

- Stata Example 1b with default options (n = 2,955);
- the 3-class Poisson benchmark data (``benchmarks/data.py``) at n = 1e6 with
  default options (the start search; on large data it runs on a subsample);
- the same with ``start_posterior=`` (one start, no search: the fit itself).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _one(case: str) -> dict:
    import warnings

    import pandas as pd

    sys.path.insert(1, str(HERE))
    import data

    from fmmreg import FMM, fmm

    warnings.simplefilter("ignore")
    if case == "example1b":
        df = pd.read_csv(ROOT / "datasets" / "mus03sub.csv")
        t0 = time.perf_counter()
        res = fmm(3, "lmedexp ~ income + age + I(age**2) + totchr + C(sex)", data=df, class_formula="~ totchr")
    else:
        df, post = data.poisson_mixture(1_000_000)
        model = FMM(3, data.POISSON_FORMULA, data=df, family="poisson", class_formula=data.POISSON_CLASS_FORMULA)
        t0 = time.perf_counter()
        res = model.fit(start_posterior=post) if case == "poisson1e6_posterior" else model.fit()
    return {"time": time.perf_counter() - t0, "llf": res.llf, "starts": len(res.starts)}


def run(path: str, case: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", case, "--path", path], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one")
    parser.add_argument("--path", help="directory whose fmmreg package is imported (with --one)")
    parser.add_argument("--baseline")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="*", default=["example1b", "poisson1e6_default", "poisson1e6_posterior"])
    args = parser.parse_args()
    if args.one:
        sys.path.insert(0, args.path)
        print(json.dumps(_one(args.one)))
        return
    for case in args.cases:
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        info = {}
        for _ in range(args.repeat):
            for label, path in (("baseline", args.baseline), ("current", str(ROOT))):
                r = run(path, case)
                times[label].append(r["time"])
                info[label] = r
        b, c = statistics.median(times["baseline"]), statistics.median(times["current"])
        print(
            f"| {case} | {b:.2f} s ({info['baseline']['starts']} starts, LL {info['baseline']['llf']:.4f}) | "
            f"{c:.2f} s ({info['current']['starts']} starts, LL {info['current']['llf']:.4f}) | {c - b:+.2f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()

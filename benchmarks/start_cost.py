"""Cost of the default start search, before/after, measured in the same run (issue 10).

    python benchmarks/start_cost.py --baseline /path/to/old/checkout [--repeat 3]

``--baseline`` is a directory holding an older ``fmmreg`` package (e.g.
``git archive a87f05a fmmreg | tar -x -C /tmp/base``). Each configuration runs
in a fresh process, alternating baseline and current code, ``--repeat`` times;
the median wall time and the median CPU time (``time.process_time``, one BLAS
thread; less sensitive to the machine's load) of the fitting call are reported:

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
    from threadpoolctl import threadpool_limits

    from fmmreg import FMM

    warnings.simplefilter("ignore")
    with threadpool_limits(limits=1, user_api="blas"):
        if case.startswith("example1b"):
            # example1b: seed 0; example1b_seeds: the median over random_state 0..4 (one process)
            df = pd.read_csv(ROOT / "datasets" / "mus03sub.csv")
            model = FMM(3, "lmedexp ~ income + age + I(age**2) + totchr + C(sex)", data=df, class_formula="~ totchr")
            model.fit()  # warm-up: imports and caches outside the timing
            runs = []
            for seed in range(5 if case == "example1b_seeds" else 1):
                t0, c0 = time.perf_counter(), time.process_time()
                res = model.fit(random_state=seed)
                runs.append((time.perf_counter() - t0, time.process_time() - c0))
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        else:
            df, post = data.poisson_mixture(1_000_000)
            model = FMM(3, data.POISSON_FORMULA, data=df, family="poisson", class_formula=data.POISSON_CLASS_FORMULA)
            t0, c0 = time.perf_counter(), time.process_time()
            res = model.fit(start_posterior=post) if case == "poisson1e6_posterior" else model.fit()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"time": wall, "cpu": cpu, "llf": res.llf, "starts": len(res.starts)}


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
        cpus: dict[str, list[float]] = {"baseline": [], "current": []}
        info = {}
        for _ in range(args.repeat):
            for label, path in (("baseline", args.baseline), ("current", str(ROOT))):
                r = run(path, case)
                times[label].append(r["time"])
                cpus[label].append(r["cpu"])
                info[label] = r
        b, c = statistics.median(times["baseline"]), statistics.median(times["current"])
        bc, cc = statistics.median(cpus["baseline"]), statistics.median(cpus["current"])
        print(
            f"| {case} | {b:.2f} s wall, {bc:.2f} s CPU ({info['baseline']['starts']} starts, "
            f"LL {info['baseline']['llf']:.4f}) | {c:.2f} s wall, {cc:.2f} s CPU ({info['current']['starts']} starts, "
            f"LL {info['current']['llf']:.4f}) | {c - b:+.2f} s wall, {cc - bc:+.2f} s CPU |",
            flush=True,
        )


if __name__ == "__main__":
    main()

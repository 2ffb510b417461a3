"""Benchmark fmmreg against its statsmodels-GLM engine and R flexmix.

Run from the repository root::

    python benchmarks/run.py            # full table (n up to 1e6; several minutes)
    python benchmarks/run.py --quick    # n <= 1e5, for a smoke run

Every configuration runs in a fresh Python process so that its peak memory
(``ru_maxrss``) is its own. All fits of one data set start from the same
starting posterior (``benchmarks/data.py``; flexmix's ``cluster=``). The
table of ratios is printed and written to ``benchmarks/results.md`` with a
description of the machine. Times are seconds of the fitting call only (the
data are generated before the clock starts); compare ratios, not seconds,
on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402


def _one(case: str, n: int, engine: str) -> dict:
    """Fit one configuration in this process and report as a dict."""
    import numpy as np
    import pandas as pd

    from fmmreg import FMM, fmm

    if case == "example1b":
        df = pd.read_csv(HERE.parent / "datasets" / "mus03sub.csv")
        t0 = time.perf_counter()
        res = fmm(
            3,
            "lmedexp ~ income + age + I(age**2) + totchr + C(sex)",
            data=df,
            class_formula="~ totchr",
            engine=engine,
        )
        elapsed = time.perf_counter() - t0
    else:
        if case == "poisson3":
            df, post = data.poisson_mixture(n)
            args = (3, data.POISSON_FORMULA)
            kw = {"family": "poisson", "class_formula": data.POISSON_CLASS_FORMULA}
        else:
            df, post = data.gaussian_mixture(n)
            args = (2, data.GAUSSIAN_FORMULA)
            kw = {"family": "gaussian"}
        t0 = time.perf_counter()
        model = FMM(*args, data=df, **kw)
        t1 = time.perf_counter()
        res = model.fit(engine=engine, start_posterior=post, order="fit")
        elapsed = time.perf_counter() - t0
        setup = t1 - t0
    se_ok = bool(np.all(np.isfinite(res.bse)))
    return {
        "time": elapsed,
        "setup": setup if case != "example1b" else float("nan"),
        "em": len(res.trace.em_llf),
        "newton": len(res.trace.newton_llf),
        "llf": res.llf,
        "converged": res.converged,
        "se_ok": se_ok,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_subprocess(case: str, n: int, engine: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", case, str(n), engine], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_flexmix(case: str, n: int) -> dict | None:
    """Time R flexmix on the same data and starting posterior (None if R is missing)."""
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(["Rscript", "-e", "library(flexmix)"], capture_output=True)
    if check.returncode != 0:
        return None
    df, post = data.poisson_mixture(n) if case == "poisson3" else data.gaussian_mixture(n)
    with tempfile.TemporaryDirectory() as tmp:
        dpath, ppath, opath = (os.path.join(tmp, f) for f in ("d.csv", "p.csv", "o.txt"))
        df.to_csv(dpath, index=False, float_format="%.17g")
        import pandas as pd

        pd.DataFrame(post).to_csv(ppath, index=False, float_format="%.17g")
        kind = "poisson" if case == "poisson3" else "gaussian"
        subprocess.run(["Rscript", str(HERE / "flexmix_fit.R"), dpath, ppath, kind, opath], check=True)
        el, it, ll = Path(opath).read_text().split()
    return {"time": float(el), "iter": int(it), "llf": float(ll)}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy as np

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def fmt(v, spec=".2f"):
    if v is None:
        return "—"
    return format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=3, metavar=("CASE", "N", "ENGINE"))
    parser.add_argument("--quick", action="store_true", help="n <= 1e5 only")
    parser.add_argument("--no-r", action="store_true", help="skip R flexmix")
    args = parser.parse_args()
    if args.one:
        case, n, engine = args.one
        print(json.dumps(_one(case, int(float(n)), engine)))
        return

    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    rows = []
    header = (
        "| case | n | fmmreg s | EM+Newton it | statsmodels-engine s | flexmix s (it) | "
        "sm / fmmreg | flexmix / fmmreg | LL fmmreg | max rel. LL diff | peak MB |"
    )
    print(header)
    print("|" + "---|" * 11)
    for case in ("poisson3", "gaussian2"):
        for n in sizes:
            fast = run_subprocess(case, n, "fast")
            slow = run_subprocess(case, n, "statsmodels") if n <= 100_000 else None
            flex = None if args.no_r or n > 100_000 else run_flexmix(case, n)
            lls = [r["llf"] for r in (slow, flex) if r]
            diff = max((abs(ll - fast["llf"]) / abs(fast["llf"]) for ll in lls), default=None)
            row = (
                f"| {case} | {n:,} | {fmt(fast['time'])} | {fast['em']}+{fast['newton']} | "
                f"{fmt(slow['time']) if slow else '—'} | "
                f"{fmt(flex['time']) + ' (' + str(flex['iter']) + ')' if flex else '—'} | "
                f"{fmt(slow['time'] / fast['time'], '.1f') if slow else '—'} | "
                f"{fmt(flex['time'] / fast['time'], '.1f') if flex else '—'} | "
                f"{fast['llf']:.4f} | {fmt(diff, '.1e') if diff is not None else '—'} | {fast['peak_mb']:.0f} |"
            )
            print(row, flush=True)
            rows.append(row)
    ex = run_subprocess("example1b", 2955, "fast")
    row = (
        f"| Stata Example 1b, default options | 2,955 | {fmt(ex['time'])} | {ex['em']}+{ex['newton']} | "
        f"— | — | — | — | {ex['llf']:.4f} | — | {ex['peak_mb']:.0f} |"
    )
    print(row)
    rows.append(row)

    notes = [
        "Times: seconds of `FMM(...)` + `.fit(start_posterior=...)` (fmmreg, formula encoding included) "
        "and of the `flexmix()` call (R); one start from the same starting posterior; both to convergence "
        "(fmmreg: Newton decrement < 1e-10 with OIM standard errors; flexmix: relative LL change < 1e-8).",
        "statsmodels engine: literal weighted `statsmodels` GLM fits in every EM iteration, EM to relative "
        "change 1e-8, then the same Newton polish. Not run at n = 1e6 (minutes).",
        "flexmix's Gaussian sigma has a degrees-of-freedom correction, so its Gaussian log likelihood is "
        "not the ML value and differs from fmmreg's by about p/n relative.",
        "peak MB: peak resident memory of the fmmreg process (data, model and fit).",
    ]
    out = HERE / "results.md"
    out.write_text(
        "# Benchmark results\n\n"
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. "
        "Command: `python benchmarks/run.py`.\n\n"
        + header
        + "\n"
        + "|"
        + "---|" * 11
        + "\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n"
    )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()

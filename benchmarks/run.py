"""Benchmark fmmreg against its statsmodels-GLM engine and R flexmix.

Run from the repository root::

    python benchmarks/run.py            # full table (n up to 1e6; several minutes)
    python benchmarks/run.py --quick    # n <= 1e5, for a smoke run
    python benchmarks/run.py --dask     # only the Dask rows (issue 18; n = 2e7, tens of minutes)

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
        search = case == "panel3search"
        if case == "poisson3":
            df, post = data.poisson_mixture(n)
            args = (3, data.POISSON_FORMULA)
            kw = {"family": "poisson", "class_formula": data.POISSON_CLASS_FORMULA}
        elif case.startswith("panel3"):
            df, post = data.poisson_panel(n)
            args = (3, data.PANEL_FORMULA)
            kw = {"family": "poisson", "class_formula": data.PANEL_CLASS_FORMULA, "group": "id"}
        else:
            df, post = data.gaussian_mixture(n)
            args = (2, data.GAUSSIAN_FORMULA)
            kw = {"family": "gaussian"}
        t0 = time.perf_counter()
        model = FMM(*args, data=df, **kw)
        t1 = time.perf_counter()
        res = model.fit(engine=engine) if search else model.fit(engine=engine, start_posterior=post, order="fit")
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


# ------------------------------------------------------------------ Dask (issue 18)
#: Rows per Parquet file (and Dask partition) of the Dask benchmark.
DASK_PART_ROWS = 250_000
#: Memory limit of each of the two Dask workers.
DASK_WORKER_MEMORY = "768MiB"


def write_parquet(n: int, path: Path) -> int:
    """The poisson3 data in Parquet files of ``DASK_PART_ROWS`` rows, generated a file at a time."""
    import pandas as pd

    path.mkdir(parents=True, exist_ok=True)
    nbytes = 0
    for i, start in enumerate(range(0, n, DASK_PART_ROWS)):
        rows = min(DASK_PART_ROWS, n - start)
        df, _ = data.poisson_mixture(rows, seed=data.SEED + 1000 + i)
        df.index = pd.RangeIndex(start, start + rows)
        df.to_parquet(path / f"part.{i:05d}.parquet")
        nbytes += int(df.memory_usage(index=True).sum())
    return nbytes


def _dask_fit(path: str) -> dict:
    """The default fit of poisson3 on a 2-worker LocalCluster reading ``path``; peak memory per worker."""
    import threading

    import dask.dataframe as dd
    import psutil
    from distributed import Client, LocalCluster

    from fmmreg import FMM

    def rss() -> int:
        return psutil.Process().memory_info().rss

    def cpu() -> float:
        times = psutil.Process().cpu_times()
        return times.user + times.system

    peaks: dict = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit=DASK_WORKER_MEMORY, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    for worker, value in client.run(rss).items():
                        peaks[worker] = max(peaks.get(worker, 0), value)
                except Exception:  # a worker restarting is reported by the fit itself
                    pass
                done.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        ddf = dd.read_parquet(path)
        cpu0 = sum(client.run(cpu).values())
        c0 = time.process_time()
        t0 = time.perf_counter()
        model = FMM(3, data.POISSON_FORMULA, data=ddf, family="poisson", class_formula=data.POISSON_CLASS_FORMULA)
        t1 = time.perf_counter()
        res = model.fit()
        t2 = time.perf_counter()
        cpu_seconds = sum(client.run(cpu).values()) - cpu0 + time.process_time() - c0
        done.set()
        watcher.join()
        errors = [m for log in client.get_worker_logs().values() for level, m in log if level in ("ERROR", "CRITICAL")]
    timings = res.timings
    return {
        "time": t2 - t0,
        "cpu": cpu_seconds,
        "setup": t1 - t0,
        "sample": timings["sample_seconds"],
        "all_rows": timings["all_rows_seconds"],
        "passes": timings["passes"],
        "newton": len(res.trace.newton_llf),
        "persisted": res.lik.runner.persisted,
        "nobs": res.nobs,
        "llf": res.llf,
        "converged": res.converged,
        "peak_worker_mb": sorted(v / 2**20 for v in peaks.values()),
        "peak_client_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": errors,
    }


def _memory_fit(path: str, n: int) -> dict:
    """The same default fit in memory on the first ``n`` rows (the first files) of ``path``."""
    import pandas as pd

    from fmmreg import FMM

    files = sorted(Path(path).glob("*.parquet"))[: max(1, n // DASK_PART_ROWS)]
    df = pd.concat([pd.read_parquet(f) for f in files])
    t0, c0 = time.perf_counter(), time.process_time()
    model = FMM(3, data.POISSON_FORMULA, data=df, family="poisson", class_formula=data.POISSON_CLASS_FORMULA)
    res = model.fit()
    elapsed = time.perf_counter() - t0
    return {
        "time": elapsed,
        "cpu": time.process_time() - c0,
        "newton": len(res.trace.newton_llf),
        "nobs": res.nobs,
        "llf": res.llf,
        "converged": res.converged,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_dask(n: int) -> list[str]:
    """Rows of the Dask table: the Dask fit of ``n`` rows and the in-memory fit of ``n / 2`` rows."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "poisson3"
        nbytes = write_parquet(n, path)
        disk = sum(f.stat().st_size for f in path.glob("*.parquet"))
        dk = json.loads(_run_json("--dask-one", str(path)))
        mem = json.loads(_run_json("--memory-one", str(path), str(n // 2)))
    wall_ratio = (dk["time"] / dk["nobs"]) / (mem["time"] / mem["nobs"])
    cpu_ratio = (dk["cpu"] / dk["nobs"]) / (mem["cpu"] / mem["nobs"])
    rows = [
        f"| Dask, 2 workers x {DASK_WORKER_MEMORY}, Parquet ({nbytes / 2**30:.2f} GiB in memory, "
        f"{disk / 2**30:.2f} GiB on disk, {n // DASK_PART_ROWS} files) | {dk['nobs']:,.0f} | {dk['time']:.0f} | "
        f"{dk['cpu']:.0f} | "
        f"{dk['setup']:.0f} / {dk['sample']:.0f} / {dk['all_rows']:.0f} | {dk['passes']} ({dk['newton']} Newton) | "
        f"{dk['all_rows'] / max(dk['passes'], 1):.1f} | "
        f"{' / '.join(f'{v:.0f}' for v in dk['peak_worker_mb'])} (client {dk['peak_client_mb']:.0f}) | "
        f"{dk['llf']:.4f} | {wall_ratio:.2f} / {cpu_ratio:.2f} |",
        f"| in memory, one process | {mem['nobs']:,.0f} | {mem['time']:.0f} | {mem['cpu']:.0f} | — | "
        f"{mem['newton']} Newton | — | {mem['peak_mb']:.0f} | {mem['llf']:.4f} | 1 |",
    ]
    if not dk["converged"] or dk["errors"] or not mem["converged"]:
        rows.append(f"| (not converged or worker errors: {dk['errors'][:3]}) |||||||||")
    return rows


def _run_json(*args: str) -> str:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


DASK_HEADER = (
    "| fit | n | wall s | CPU s | wall s: model (2 passes) / sample search / all rows | passes over all rows | "
    "wall s per pass | peak MB per worker | LL | per row vs in memory: wall / CPU |"
)


def write_dask_section(rows: list[str], n: int) -> None:
    """Replace (or add) the Dask section of ``results.md``."""
    notes = [
        f"Command: `python benchmarks/run.py --dask` (n = {n:,}); date {time.strftime('%Y-%m-%d')}; "
        f"machine: {machine()}.",
        "Model: the 3-class Poisson of the table above (5 covariates, class formula on z1, z2), default "
        "options: the start search on an in-memory sample of 100,000 rows (itself searching a 10,000-row "
        "subsample), then Newton on all rows with every sum reduced over the partitions.",
        f"Dask: `LocalCluster(n_workers=2, threads_per_worker=1, memory_limit={DASK_WORKER_MEMORY!r})`, "
        "`dd.read_parquet`; the encoded data do not fit in 40% of the workers' memory, so every pass reads "
        "and encodes the Parquet files again (`persist='auto'`).",
        "peak MB per worker: the largest resident memory of each worker process, sampled every 0.5 s; "
        "client: peak resident memory of the process that ran the fit (the sample fit runs there).",
        f"The in-memory row fits the first {n // 2:,} rows with the same default options in one process. The "
        "last column divides the Dask fit's seconds per row by the in-memory fit's: wall time, and CPU time "
        "(the workers' and the client's processes; the machine is shared, so wall time depends on the load "
        "while CPU time measures the work).",
        "passes over all rows: the fit's passes after the model is built (Newton iterations with their "
        "line searches, the final Newton step with the tables' sums).",
    ]
    section = (
        "## Dask (issue 18): data larger than the workers' memory\n\n"
        + DASK_HEADER
        + "\n|"
        + "---|" * 10
        + "\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"- {line}" for line in notes)
        + "\n"
    )
    out = HERE / "results.md"
    text = out.read_text() if out.exists() else "# Benchmark results\n"
    head, marker, tail = text.partition("## Dask (issue 18)")
    rest = ""
    if marker:
        after = tail.find("\n## ")
        rest = tail[after + 1 :] if after >= 0 else ""
    out.write_text(head.rstrip("\n") + "\n\n" + section + ("\n" + rest if rest else ""))
    print(f"written to {out}")


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
    parser.add_argument("--dask", action="store_true", help="only the Dask rows (needs fmmreg[dask]; slow)")
    parser.add_argument("--dask-n", type=float, default=2e7, help="rows of the Dask benchmark (default 2e7)")
    parser.add_argument("--dask-one", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--memory-one", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        case, n, engine = args.one
        print(json.dumps(_one(case, int(float(n)), engine)))
        return
    if args.dask_one:
        print(json.dumps(_dask_fit(args.dask_one)))
        return
    if args.memory_one:
        print(json.dumps(_memory_fit(args.memory_one[0], int(float(args.memory_one[1])))))
        return
    if args.dask:
        n = int(args.dask_n)
        print(DASK_HEADER)
        rows = run_dask(n)
        print("\n".join(rows))
        write_dask_section(rows, n)
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
    for n in [100_000] + ([] if args.quick else [1_000_000]):
        for case, what in (("panel3", "start posterior"), ("panel3search", "default start search")):
            if case == "panel3search" and n < 1_000_000:
                continue
            r = run_subprocess(case, n, "fast")
            row = (
                f"| panel3, {n // 10:,} groups x 10, {what} | {n:,} | {fmt(r['time'])} | {r['em']}+{r['newton']} | "
                f"— | — | — | — | {r['llf']:.4f} | — | {r['peak_mb']:.0f} |"
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
        'panel3: group-based trajectory model (`group="id"`, issue 15), K = 3 Poisson, `y ~ t + I(t**2) + x`, '
        "class formula on a subject-level `z`, 10 waves per subject (`benchmarks/data.py`); the E-step sums "
        "log densities per subject with one segment sum. Target: under 10 s at 1e6 rows in 1e5 groups.",
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

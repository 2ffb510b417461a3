"""Benchmark fmmreg: the targets of issue 17, accuracy against the statsmodels engine and R flexmix.

Run from the repository root::

    python benchmarks/run.py                          # the target rows (a few minutes)
    python benchmarks/run.py --baseline /tmp/base     # the same, old code alternating with the current
    python benchmarks/run.py --engines                # also the engine comparison (statsmodels engine, flexmix)
    python benchmarks/run.py --dask                   # only the Dask rows (issue 18; n = 2e7, tens of minutes)

``--baseline`` is a directory holding an older ``fmmreg`` package (e.g.
``git archive <commit> fmmreg | tar -x -C /tmp/base``). Every configuration
runs in a fresh Python process so that its peak memory (``ru_maxrss``) is its
own; with ``--baseline`` the old and the current code alternate, row by row.
Wall seconds (``time.perf_counter``) and CPU seconds (``time.process_time``,
all threads; less sensitive to other processes on a shared machine) are
reported side by side. The rows:

- ``poisson1e6``: the 3-class Poisson mixture of ``benchmarks/data.py``
  (5 covariates, class formula on 2), n = 1e6, **default options end to
  end**: formula encoding, start search, the refinement on all rows (since
  round three: a ladder of larger subsamples, then Newton; EM on all rows
  before that), OIM standard errors and the fit checks, with the split;
- ``poisson1e7``: the same at n = 1e7, in memory, with the peak memory;
- ``glm1e6``: K = 1 (a plain Poisson GLM through fmmreg, default options)
  against ``statsmodels.GLM(...).fit()`` on the same data;
- ``example1b``: Stata Example 1b with default options, and the cost of one
  start (the fit's time divided by the starts the search ran);
- with ``--engines``: the engine comparison of earlier rounds (one start from
  a common starting posterior; the statsmodels engine and R flexmix agree on
  the log likelihood).

The table is printed and written to ``benchmarks/results.md`` with a
description of the machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(1, str(HERE))

import data  # noqa: E402

#: Phases of a default fit, timed by wrapping the engine's functions in the benchmark process.
PHASES = ("encode", "starts", "em", "newton", "rest")


class Clock:
    """Wall and CPU seconds since creation."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _instrument(n_full: int) -> dict[str, list[float]]:
    """Accumulate wall/CPU seconds of the start search and of EM and Newton on all rows after it."""
    from fmmreg.estimation import engine, starts

    acc = {p: [0.0, 0.0] for p in PHASES}
    inside = [0]  # depth inside the start search: its EM and Newton belong to it

    def wrap(owner, name, phase, search):
        f = getattr(owner, name)

        @functools.wraps(f)
        def g(*args, **kw):
            lik = args[0] if args else kw.get("lik")
            timed = search or (inside[0] == 0 and getattr(lik, "n", None) == n_full)
            clock = Clock() if timed and inside[0] == 0 else None
            inside[0] += search
            try:
                return f(*args, **kw)
            finally:
                inside[0] -= search
                if clock is not None:
                    w, c = clock.read()
                    acc[phase][0] += w
                    acc[phase][1] += c

        setattr(owner, name, g)

    wrap(starts.StartSearch, "__init__", "starts", True)  # the pooled fit
    wrap(starts.StartSearch, "run", "starts", True)
    wrap(engine, "run_em", "em", False)
    wrap(engine, "newton_polish", "newton", False)
    # the refinement of a subsample search's maximum on large data: its ladder of
    # larger subsamples and the Newton steps on all rows count as Newton
    if hasattr(starts, "fit_large"):  # not in a baseline from before round three
        wrap(starts, "fit_large", "newton", True)
    return acc


def _fit_default(df, formula, k, **kw) -> dict:
    """FMM(...) + fit() with default options + the standard errors, timed by phase."""
    from fmmreg import FMM

    acc = _instrument(len(df))
    clock = Clock()
    model = FMM(k, formula, data=df, **kw)
    acc["encode"] = list(clock.read())
    res = model.fit()
    se_ok = bool((res.bse.to_numpy() > 0).all())
    total = clock.read()
    acc["rest"] = [total[i] - sum(acc[p][i] for p in PHASES if p != "rest") for i in range(2)]
    return {
        "wall": total[0],
        "cpu": total[1],
        "phases": acc,
        "llf": res.llf,
        "starts": len(res.search.table),
        "em": len(res.trace.em_llf),
        "newton": len(res.trace.newton_llf),
        "converged": bool(res.converged),
        "se_ok": se_ok,
    }


def _one(case: str) -> dict:
    """One configuration in this process (the current ``sys.path``'s fmmreg)."""
    import numpy as np

    warnings.simplefilter("ignore")
    if case.endswith(ONE_THREAD_SUFFIX):
        from fmmreg.estimation import linalg

        case = case[: -len(ONE_THREAD_SUFFIX)]
        linalg.THREADS = 1
    if case.startswith("poisson1e"):
        n = int(float(case[len("poisson") :]))
        df, _ = data.poisson_mixture(n)
        out = _fit_default(df, data.POISSON_FORMULA, 3, family="poisson", class_formula=data.POISSON_CLASS_FORMULA)
    elif case == "glm1e6":
        import statsmodels.api as sm

        df, _ = data.poisson_mixture(1_000_000)
        out = _fit_default(df, data.POISSON_FORMULA, 1, family="poisson")
        clock = Clock()
        X = sm.add_constant(df[[f"x{j}" for j in range(1, 6)]].to_numpy())
        sm_res = sm.GLM(df["y"].to_numpy(dtype=float), X, family=sm.families.Poisson()).fit()
        bse = sm_res.bse
        out["sm_wall"], out["sm_cpu"] = clock.read()
        out["sm_llf"] = float(sm_res.llf)
        out["sm_bse_ok"] = bool(np.all(bse > 0))
    elif case == "example1b":
        import pandas as pd

        df = pd.read_csv(ROOT / "datasets" / "mus03sub.csv")
        out = _fit_default(df, "lmedexp ~ income + age + I(age**2) + totchr + C(sex)", 3, class_formula="~ totchr")
    else:  # engine comparison: "<poisson3|gaussian2>:<n>:<engine>"
        name, n, engine = case.split(":")
        from fmmreg import FMM

        n = int(float(n))
        if name == "poisson3":
            df, post = data.poisson_mixture(n)
            args, kw = (3, data.POISSON_FORMULA), {"family": "poisson", "class_formula": data.POISSON_CLASS_FORMULA}
        elif name.startswith("panel3"):
            df, post = data.poisson_panel(n)
            args = (3, data.PANEL_FORMULA)
            kw = {"family": "poisson", "class_formula": data.PANEL_CLASS_FORMULA, "group": "id"}
        else:
            df, post = data.gaussian_mixture(n)
            args, kw = (2, data.GAUSSIAN_FORMULA), {"family": "gaussian"}
        clock = Clock()
        model = FMM(*args, data=df, **kw)
        if name == "panel3search":
            res = model.fit(engine=engine)
        else:
            res = model.fit(engine=engine, start_posterior=post, order="fit")
        bse = res.bse
        out = {"llf": res.llf, "em": len(res.trace.em_llf), "newton": len(res.trace.newton_llf)}
        out["wall"], out["cpu"] = clock.read()
        out["se_ok"] = bool((bse > 0).all())
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_subprocess(case: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(path))
    out = subprocess.run(
        [sys.executable, __file__, "--one", case, "--path", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
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

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, numpy {np.__version__}; load average {load:.1f} at the start"
    )


def fmt(v, spec=".2f"):
    return "—" if v is None else format(v, spec)


def _wc(r: dict, key: str = "") -> str:
    """``wall / cpu`` seconds."""
    return f"{r[key + 'wall']:.2f} / {r[key + 'cpu']:.2f}"


def _split(r: dict) -> str:
    ph = r["phases"]
    return " · ".join(f"{p} {ph[p][0]:.2f}" for p in PHASES)


TARGET_HEADER = (
    "| row | code | n | wall / CPU s | split, wall s (encode · starts · EM · Newton · rest) | "
    "starts | EM+Newton it (all rows) | LL | peak MB | target |"
)


#: The row of the current code with its row chunks in one thread (what the second core gains).
ONE_THREAD = "current, one thread"
ONE_THREAD_SUFFIX = "@1thread"


def repeated(case: str, labels_paths: list[tuple[str, Path]], repeat: int) -> dict[str, dict]:
    """Run ``case`` ``repeat`` times per code, alternating; per code the run of median wall time.

    The phases, CPU seconds and peak memory are those of that run, so a row
    is one consistent fit. ``runs`` lists every wall time.
    """
    runs: dict[str, list[dict]] = {label: [] for label, _ in labels_paths}
    for _ in range(repeat):
        for label, path in labels_paths:
            runs[label].append(run_subprocess(case + (ONE_THREAD_SUFFIX if label == ONE_THREAD else ""), path))
    out = {}
    for label, rs in runs.items():
        rs = sorted(rs, key=lambda r: r["wall"])
        out[label] = dict(rs[(len(rs) - 1) // 2], runs=[r["wall"] for r in runs[label]])
    return out


def target_rows(labels_paths: list[tuple[str, Path]], big: bool, repeat: int) -> list[str]:
    rows = []
    cases = [("poisson1e6", 1_000_000, "≤ 2.0 s", repeat)]
    if big:
        cases.append(("poisson1e7", 10_000_000, "≤ 25 s, ≤ 4,096 MB", 1))
    cases.append(("example1b", 2955, "per start", 2 * repeat + 1))
    for case, n, target, times in cases:
        # at a million rows also the current code with one thread, alternating with the others
        runs_with = labels_paths + [(ONE_THREAD, ROOT)] if case == "poisson1e6" else labels_paths
        results = repeated(case, runs_with, times)
        for label, _ in runs_with:
            r = results[label]
            extra = f"{r['wall'] / r['starts'] * 1000:.0f} ms wall per start" if case == "example1b" else target
            if times > 1:
                extra += f"; median of {times}: " + ", ".join(f"{t:.2f}" for t in sorted(r["runs"]))
            row = (
                f"| {case} | {label} | {n:,} | {_wc(r)} | {_split(r)} | {r['starts']} | {r['em']}+{r['newton']} | "
                f"{r['llf']:.4f} | {r['peak_mb']:.0f} | {extra} |"
            )
            print(row, flush=True)
            rows.append(row)
    glm = repeated("glm1e6", labels_paths, repeat)
    for label, _ in labels_paths:
        r = glm[label]
        row = (
            f"| glm1e6 (K = 1) | {label} | 1,000,000 | {_wc(r)} | {_split(r)} | {r['starts']} | "
            f"{r['em']}+{r['newton']} | {r['llf']:.4f} | {r['peak_mb']:.0f} | statsmodels `GLM.fit()` "
            f"{_wc(r, 'sm_')} s (LL {r['sm_llf']:.4f}): ratio {r['sm_wall'] / r['wall']:.1f}x wall |"
        )
        print(row, flush=True)
        rows.append(row)
    return rows


ENGINE_HEADER = (
    "| case | n | fmmreg wall / CPU s | EM+Newton it | statsmodels-engine wall / CPU s | flexmix s (it) | "
    "LL fmmreg | max rel. LL diff | peak MB |"
)


def engine_rows(path: Path, sizes: list[int], with_r: bool) -> list[str]:
    rows = []
    for case in ("poisson3", "gaussian2"):
        for n in sizes:
            fast = run_subprocess(f"{case}:{n}:fast", path)
            slow = run_subprocess(f"{case}:{n}:statsmodels", path)
            flex = run_flexmix(case, n) if with_r else None
            # flexmix's Gaussian sigma has a df correction: its LL is not the ML value
            refs = [slow["llf"]] + ([flex["llf"]] if flex and case == "poisson3" else [])
            diff = max(abs(ll - fast["llf"]) / abs(fast["llf"]) for ll in refs)
            row = (
                f"| {case} | {n:,} | {_wc(fast)} | {fast['em']}+{fast['newton']} | {_wc(slow)} | "
                f"{fmt(flex['time']) + ' (' + str(flex['iter']) + ')' if flex else '—'} | "
                f"{fast['llf']:.4f} | {diff:.1e} | {fast['peak_mb']:.0f} |"
            )
            print(row, flush=True)
            rows.append(row)
    # group-based trajectory models (issue 15): rows grouped by subject
    for case, n in (("panel3", 100_000), ("panel3", 1_000_000), ("panel3search", 1_000_000)):
        r = run_subprocess(f"{case}:{n}:fast", path)
        what = "default start search" if case == "panel3search" else "start posterior"
        row = (
            f"| panel3, {n // 10:,} groups x 10, {what} | {n:,} | {_wc(r)} | {r['em']}+{r['newton']} | — | — | "
            f"{r['llf']:.4f} | — | {r['peak_mb']:.0f} |"
        )
        print(row, flush=True)
        rows.append(row)
    return rows


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
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        # the child's traceback (Dask's worker logs come before it)
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n" + "\n".join(out.stderr.splitlines()[-40:]))
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one")
    parser.add_argument("--path", help="directory whose fmmreg package is imported (with --one)")
    parser.add_argument("--baseline", help="directory holding an older fmmreg package, run alternating")
    parser.add_argument("--baseline-label", default="<old checkout>", help="what --baseline is, for results.md")
    parser.add_argument("--no-1e7", action="store_true", help="skip the n = 1e7 row")
    parser.add_argument("--repeat", type=int, default=3, help="runs per code of the 1e6 rows (Example 1b: 2x+1)")
    parser.add_argument("--engines", action="store_true", help="also the engine comparison (minutes)")
    parser.add_argument("--engine-sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--no-r", action="store_true", help="skip R flexmix in the engine comparison")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    parser.add_argument("--dask", action="store_true", help="only the Dask rows (needs fmmreg[dask]; slow)")
    parser.add_argument("--dask-n", type=float, default=2e7, help="rows of the Dask benchmark (default 2e7)")
    parser.add_argument("--dask-one", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--memory-one", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sys.path.insert(0, args.path)
        print(json.dumps(_one(args.one)))
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

    started = machine()
    paths = [("current", ROOT)]
    if args.baseline:
        paths = [("baseline", Path(args.baseline)), ("current", ROOT)]
    print(TARGET_HEADER)
    print("|" + "---|" * 10)
    rows = target_rows(paths, big=not args.no_1e7, repeat=args.repeat)
    sections = [
        "## Targets (issue 17)\n\n" + TARGET_HEADER + "\n|" + "---|" * 10 + "\n" + "\n".join(rows) + "\n",
    ]
    if args.engines:
        print(ENGINE_HEADER)
        erows = engine_rows(ROOT, args.engine_sizes, not args.no_r)
        sections.append(
            "## Engines: one start from a common starting posterior\n\n"
            + ENGINE_HEADER
            + "\n|"
            + "---|" * 9
            + "\n"
            + "\n".join(erows)
            + "\n"
        )
    notes = [
        "Each row is the run of median wall time among the runs listed (each in a fresh process, the "
        "codes alternating); the 1e7 row is one run per code.",
        "Default rows: `FMM(...)` + `.fit()` with default options + `.bse`, in a fresh process; split: "
        "formula encoding and data checks (encode), the start search on its subsample (starts), EM and "
        "Newton on all rows (Newton includes the ladder of larger subsamples that leads there, "
        "`engine.fit_large`), and the rest (the fit checks, the relabelling and the OIM standard errors "
        "from the final Hessian).",
        "wall / CPU: `time.perf_counter` / `time.process_time` seconds; CPU counts every thread of the "
        "process (the row chunks of large data run in two threads), wall counts waiting for a core on a "
        "shared machine.",
        "current, one thread: the current code with its row chunks in one thread (`linalg.THREADS = 1`; "
        "BLAS runs with one thread in every row), alternating with the others: what the second core gains.",
        "glm1e6: the same data with K = 1; statsmodels is `sm.GLM(y, X, family=Poisson()).fit()` (IRLS) "
        "with its standard errors, on arrays already built (no formula).",
        "Engine rows: both engines reach the same maximum; the statsmodels engine runs literal weighted "
        "statsmodels GLM fits in every EM iteration. max rel. LL diff: against the statsmodels engine and, "
        "for the Poisson rows, flexmix (whose relative-change stopping rule, 1e-8, leaves the 1e-7); "
        "flexmix's Gaussian sigma has a degrees-of-freedom correction (its LL is not compared).",
        'panel3: group-based trajectory model (`group="id"`, issue 15), K = 3 Poisson, `y ~ t + I(t**2) + x`, '
        "class formula on a subject-level `z`, 10 waves per subject (`benchmarks/data.py`).",
    ]
    # the Dask section (``--dask``, tens of minutes) is kept from the last such run
    previous = Path(args.out).read_text() if Path(args.out).exists() else ""
    _, marker, dask_section = previous.partition("## Dask (issue 18)")
    Path(args.out).write_text(
        "# Benchmark results\n\n"
        f"Machine: {started}. Date: {time.strftime('%Y-%m-%d')}. "
        f"Command: `python benchmarks/run.py{' --baseline ' + args.baseline_label if args.baseline else ''}"
        f"{' --engines' if args.engines else ''}`.\n\n"
        + "\n".join(sections)
        + "\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n"
        + ("\n" + marker + dask_section if marker else "")
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

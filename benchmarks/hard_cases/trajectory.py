"""Record the default search's whole trajectory, without stopping, to replay stopping rules offline.

    python benchmarks/hard_cases/trajectory.py CASE [--seeds 20] [--cap 200]

Runs :class:`fmmreg.estimation.starts.StartSearch` with the default options
except that it never stops before ``--cap`` starts, and writes
``trajectory/CASE.json``: every start (kind, batch, status, the maximum it
reached, whether that maximum is degenerate, the maximum a split-merge move
was made from) and the checkpoints (number of starts) where the default
search tests its stopping rule. The search's path up to a checkpoint does not
depend on the stopping rule, so any rule can be replayed on the record.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from cases import model  # noqa: E402

from fmmreg.estimation.starts import StartOptions, StartSearch  # noqa: E402


class Recorder(StartSearch):
    """A search that records its checkpoints and never stops before the cap."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checkpoints: list[dict] = []
        self.t0 = time.perf_counter()

    def satisfied(self, hits: int) -> bool:
        b, _ = self.best()
        self.checkpoints.append(
            {
                "n": len(self.cands),
                "seconds": round(time.perf_counter() - self.t0, 3),
                "default_stop": bool(super().satisfied(hits)),
                "best": None if b is None else self.cands[b].llf,
            }
        )
        return False


def record(name: str, seed: int, cap: int) -> dict:
    m = model(name)
    lik = m._likelihood(list(range(m.k)))
    opts = StartOptions(max_draws=cap)
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1, user_api="blas"):
        s = Recorder(lik, opts, rng)
        s.run()
    cands = []
    for i, c in enumerate(s.cands):
        root = s._root(i) if c.status in ("refined", "same") else None
        root_index = None if root is None else (i if c.status == "refined" else c.same_as)
        cands.append(
            {
                "kind": c.kind,
                "batch": c.batch,
                "status": c.status,
                "llf_short": None if not np.isfinite(c.llf_short) else c.llf_short,
                "llf": None if root is None else root.llf,
                "degenerate": bool(c.degenerate),
                "source_llf": None if not np.isfinite(c.source_llf) else c.source_llf,
                "root": root_index,
            }
        )
    return {"seed": seed, "cands": cands, "checkpoints": s.checkpoints}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--cap", type=int, default=200)
    args = parser.parse_args()
    out_dir = HERE / "trajectory"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{args.case}.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    done = {r["seed"] for r in runs}
    for seed in range(args.first, args.first + args.seeds):
        if seed in done:
            continue
        t0 = time.perf_counter()
        runs.append(record(args.case, seed, args.cap))
        path.write_text(json.dumps({"case": args.case, "cap": args.cap, "runs": runs}))
        best = max((c["llf"] for c in runs[-1]["cands"] if c["llf"] is not None and not c["degenerate"]), default=None)
        print(f"{args.case} seed {seed}: best {best}, {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()

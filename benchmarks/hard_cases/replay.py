"""Replay stopping rules on recorded trajectories (``trajectory.py``).

    python benchmarks/hard_cases/replay.py [CASE ...]
    python benchmarks/hard_cases/replay.py --at-cap [CASE ...]

For each rule in ``RULES`` and each recorded seed: the search stops at the
first checkpoint where the rule says so, or at the default cap of 100 starts
(then it warns); prints, per case and rule, how many seeds reach the best
known maximum, how many warn although they reached it, the silent misses and
the median number of starts. ``--at-cap`` lists instead, for the runs that the
default rule (mean of the two unseen estimates <= 0.15) leaves to the cap,
whether they reached the best known and how often random starts replicated
their best maximum: can a replication count stand in for the warning there?
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from panel import best_known  # noqa: E402

RTOL = 1e-6
CAP = 100


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * (1.0 + abs(b))


def _brk(w: int, n: int) -> float:
    """Boender & Rinnooy Kan's unseen share for ``w`` distinct maxima from ``n`` starts."""
    return 1.0 if n < 2 else w * (w + 1) / (n * (n - 1))


class State:
    """The search's record after its first ``n`` starts."""

    def __init__(self, cands: list[dict], n: int):
        self.cands = [c for c in cands[:n]]
        self.n = n
        # starts that reached a maximum (refined or same as a refined one), known at this point
        self.done = [
            i
            for i, c in enumerate(self.cands)
            if c["status"] in ("refined", "same") and c["root"] is not None and c["root"] < n
        ]

    def independent(self, i: int) -> bool:
        c = self.cands[i]
        return c["kind"] != "smem" or not close(c["llf"], c["source_llf"])

    def best(self) -> tuple[float | None, int]:
        ok = [self.cands[i]["llf"] for i in self.done if not self.cands[i]["degenerate"]]
        if not ok:
            return None, 0
        b = max(ok)
        hits = sum(
            1
            for i in self.done
            if not self.cands[i]["degenerate"] and close(self.cands[i]["llf"], b) and self.independent(i)
        )
        return b, hits

    def groups(self, random_only: bool = True, nondeg: bool = False) -> tuple[list[list], int]:
        groups: list[list] = []
        n = 0
        for i in self.done:
            c = self.cands[i]
            if random_only and c["kind"] == "smem":
                continue
            if nondeg and c["degenerate"]:
                continue
            n += 1
            for g in groups:
                if close(c["llf"], g[0]):
                    g[1] += 1
                    break
            else:
                groups.append([c["llf"], 1])
        return groups, n

    def groups_pooled(self) -> tuple[list[list], int]:
        """Distinct non-degenerate maxima of the random starts, every degenerate one in a single group."""
        groups, n = self.groups()
        nd = [g for g in groups if not self._deg(g[0])]
        deg = sum(g[1] for g in groups if self._deg(g[0]))
        return nd + ([["deg", deg]] if deg else []), n

    def _deg(self, ll: float) -> bool:
        return any(self.cands[i]["degenerate"] and close(self.cands[i]["llf"], ll) for i in self.done)

    def brk_pooled(self) -> float:
        groups, n = self.groups_pooled()
        return _brk(len(groups), n)

    def good_turing(self) -> float:
        groups, n = self.groups()
        return 1.0 if not n else sum(1 for g in groups if g[1] == 1) / n

    def brk_unseen_mass(self) -> float:
        """Boender & Rinnooy Kan (1987): posterior mean of the unseen relative basin size, w(w+1)/(N(N-1))."""
        groups, n = self.groups()
        return _brk(len(groups), n)

    def brk_unseen_count(self) -> float:
        """Boender & Rinnooy Kan: posterior mean number of maxima w(N-1)/(N-w-2), minus w."""
        groups, n = self.groups()
        w = len(groups)
        return math.inf if n - w - 2 <= 0 else w * (n - 1) / (n - w - 2) - w


def default_rule(s: State) -> bool:
    _, hits = s.best()
    return hits >= 2 and s.good_turing() <= 0.2


def degenerate_above(s: State) -> int:
    """Distinct degenerate maxima above the best non-degenerate one."""
    b, _ = s.best()
    if b is None:
        return 0
    lls = []
    for i in s.done:
        c = s.cands[i]
        if c["degenerate"] and c["llf"] > b + RTOL * (1 + abs(b)) and not any(close(c["llf"], v) for v in lls):
            lls.append(c["llf"])
    return len(lls)


def brk(eps):
    def rule(s: State) -> bool:
        _, hits = s.best()
        return hits >= 2 and s.brk_unseen_mass() <= eps

    return rule


def gt(eps):
    def rule(s: State) -> bool:
        _, hits = s.best()
        return hits >= 2 and s.good_turing() <= eps

    return rule


def brk_pooled(eps, gt_eps=None):
    def rule(s: State) -> bool:
        _, hits = s.best()
        ok = hits >= 2 and s.brk_pooled() <= eps
        return ok and (gt_eps is None or s.good_turing() <= gt_eps)

    return rule


def no_deg_above(s: State) -> bool:
    return default_rule(s) and degenerate_above(s) == 0


def gt_brk(eps_gt, eps_brk):
    def rule(s: State) -> bool:
        _, hits = s.best()
        return hits >= 2 and s.good_turing() <= eps_gt and s.brk_unseen_mass() <= eps_brk

    return rule


RULES = {
    "default": default_rule,
    "gt0.15": gt(0.15),
    "gt0.1": gt(0.1),
    "brk0.2": brk(0.2),
    "brk0.15": brk(0.15),
    "brk0.1": brk(0.1),
    "gt0.2+brk0.2": gt_brk(0.2, 0.2),
    "gt0.2+brk0.15": gt_brk(0.2, 0.15),
    "no_deg_above": no_deg_above,
    "both<=0.2,one<=0.1": lambda s: (
        s.best()[1] >= 2
        and max(s.good_turing(), s.brk_unseen_mass()) <= 0.2
        and min(s.good_turing(), s.brk_unseen_mass()) <= 0.1
    ),
    "mean(gt,brk)<=0.15": lambda s: s.best()[1] >= 2 and (s.good_turing() + s.brk_unseen_mass()) / 2 <= 0.15,
    "brkpool0.1": brk_pooled(0.1),
    "brkpool0.15": brk_pooled(0.15),
    "brkpool0.1+gt0.2": brk_pooled(0.1, 0.2),
    "gt0.2+brk0.1": gt_brk(0.2, 0.1),
}


def replay(run: dict, rule, best: float) -> dict:
    cands = run["cands"]
    stop_n, warned = None, False
    for cp in run["checkpoints"]:
        s = State(cands, cp["n"])
        if rule(s):
            stop_n = cp["n"]
            break
        if cp["n"] >= CAP:
            stop_n, warned = cp["n"], True
            break
    if stop_n is None:
        stop_n, warned = len(cands), True
    b, _ = State(cands, stop_n).best()
    reached = b is not None and close(b, best)
    return {"n": stop_n, "reached": reached, "warned": warned}


def summarise(case: str, rules: dict) -> None:
    data = json.loads((HERE / "trajectory" / f"{case}.json").read_text())
    best = best_known(case)
    for name, rule in rules.items():
        out = [replay(r, rule, best) for r in data["runs"]]
        m = len(out)
        reached = sum(o["reached"] for o in out)
        warn_reached = sum(o["reached"] and o["warned"] for o in out)
        silent = sum((not o["reached"]) and not o["warned"] for o in out)
        med = sorted(o["n"] for o in out)[m // 2]
        print(
            f"{case:20s} {name:24s} reached {reached:2d}/{m}  warned-when-reached {warn_reached:2d}  "
            f"silent {silent}  median starts {med}"
        )


def at_cap(case: str, rule=RULES["mean(gt,brk)<=0.15"]) -> None:
    """The runs the rule leaves to the cap: reached, replication of their best by random starts."""
    data = json.loads((HERE / "trajectory" / f"{case}.json").read_text())
    best = best_known(case)
    for seed, run in enumerate(data["runs"]):
        for cp in run["checkpoints"]:
            s = State(run["cands"], cp["n"])
            stopped = rule(s)
            if stopped or cp["n"] >= CAP:
                break
        if stopped:
            continue
        b, _ = s.best()
        groups, n = s.groups()
        hits = sum(g[1] for g in groups if b is not None and close(g[0], b))
        print(
            f"{case:20s} seed {seed:2d}  starts {s.n:3d}  reached {b is not None and close(b, best)!s:5s}  "
            f"best replicated by {hits:2d} of {n} random starts ({len(groups)} distinct maxima)  "
            f"Good-Turing {s.good_turing():.2f}  Bayes {s.brk_unseen_mass():.2f}"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    cap = "--at-cap" in args
    args = [a for a in args if a != "--at-cap"]
    for case in args or sorted(p.stem for p in (HERE / "trajectory").glob("*.json")):
        at_cap(case) if cap else summarise(case, RULES)

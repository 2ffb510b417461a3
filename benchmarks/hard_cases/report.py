"""Write ``results.md`` from the stored exhaustive searches and panel runs.

python benchmarks/hard_cases/report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES  # noqa: E402
from panel import best_known  # noqa: E402


def _load(folder: str, name: str) -> dict | None:
    path = HERE / folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    lines = [
        "# Hard-case panel: default start search against exhaustive searches",
        "",
        "Cases: `cases.py` (simulated with fixed seeds, or shipped data in `datasets/`). Best-known log",
        "likelihood: `exhaustive.py` (1,000-2,000 starts of six kinds from a seed the default never uses,",
        "the 200 best distinct short runs plus 100 random others refined to convergence, every maximum",
        "classified by the degeneracy rule). Default: `panel.py`, `FMM(...).fit(random_state=s)` for",
        "s = 0..19; *reached* = within 1e-6 relative of the best known; *silent misses* = missed without",
        "a `LocalMaximumWarning`. Times are wall seconds on a 2-core machine (this run: no other jobs, a",
        "machine about twice as fast as earlier runs', which were also shared: compare times across runs",
        "with care).",
        "",
        "| case | n | K | best known (non-degenerate) | exhaustive: starts / reaching best | higher degenerate maxima "
        "| next maximum | default: reached | silent misses | median starts | median s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in CASES:
        ex, panel = _load("exhaustive", name), _load("panel", name)
        if ex is None:
            lines.append(f"| {name} | | | (no exhaustive search stored) | | | | | | | |")
            continue
        best = ex["best_llf"]
        maxima = ex["maxima"]
        known = best_known(name)
        hits = next((m["n_starts"] for m in maxima if not m["degenerate"] and m["llf"] == best), 0)
        higher_deg = [m for m in maxima if m["degenerate"] and m["llf"] > best + 1e-6 * abs(best)]
        nxt = next((m for m in maxima if not m["degenerate"] and m["llf"] < best - 1e-6 * abs(best)), None)
        deg = f"{len(higher_deg)} (top {higher_deg[0]['llf']:.4f})" if higher_deg else "0"
        row = (
            f"| {name} | {ex['n']:,} | {ex['k']} | {best:.4f} | {ex['n_starts']} / {hits} | {deg} | "
            f"{nxt['llf']:.4f} ({nxt['n_starts']})"
            if nxt
            else f"| {name} | {ex['n']:,} | {ex['k']} | {best:.4f} | {ex['n_starts']} / {hits} | {deg} | —"
        )
        if known > best:
            row = row.replace(f"| {best:.4f} |", f"| {known:.4f} (default run; exhaustive {best:.4f}) |", 1)
        if panel:
            # judged against the best known now (it may have risen since the panel ran)
            rows = panel["rows"]
            panel["reached"] = sum(abs(r["llf"] - known) <= 1e-6 * abs(known) for r in rows)
            panel["silent_misses"] = sum(
                abs(r["llf"] - known) > 1e-6 * abs(known) and not r["local_max_warning"] for r in rows
            )
            row += (
                f" | {panel['reached']}/{panel['seeds']} | {panel['silent_misses']} | {panel['median_starts']} | "
                f"{panel['median_seconds']:.2f} |"
            )
        else:
            row += " | (not run) | | | |"
        lines.append(row)
    lines += [
        "",
        "Seeds: 20 per case, 10 for the four slowest (docvis_nb2, docvis_poisson3, nmes_zip_hybrid,",
        "mus03_gauss4);",
        "exhaustive searches of the slow cases used 100-500 starts (machine time).",
        "",
        "**Stopping rule.** The search stops once the best maximum is replicated and the estimated",
        "chance that one more start finds a new maximum is at most 0.15: the mean of Good-Turing's",
        "estimate (share of random starts whose maximum no other reached) and Boender & Rinnooy Kan's",
        "Bayesian one (w(w+1)/(N(N-1)) for w distinct maxima from N random starts). It was chosen by",
        "replaying rules on recorded searches (`trajectory.py` records every start of a search that",
        "never stops, up to 200 starts; `replay.py` replays a rule on the record; the path up to a",
        "stopping test does not depend on the rule). Good-Turing's alone at 0.2 (the rule before)",
        "stopped mus03_gauss4 silently at -4698.6997 in 2 of 20 seeds (seed 7 after 44 starts: 7",
        "maxima from 20 random starts, 4 seen once, Good-Turing 0.20; seed 15 after 22 starts); at",
        "0.15 or 0.1 it warned in 10 / 15 of 20 gauss5 runs that had reached the best. Replayed on",
        "20 seeds (10 for the slow cases), silent misses / runs that reached the best but warned /",
        "mean starts:",
        "",
        "| rule | mus03_gauss4 | gauss5 | logit_gauss_hybrid | ex1b | ex1d | docvis_poisson3 | poisson4_membership |",
        "|---|---|---|---|---|---|---|---|",
        "| Good-Turing <= 0.2 (before) | 2 / 2 / 96 | 0 / 3 / 78 | 0 / 1 / 62 | 0 / 0 / 13 | 0 / 0 / 19 "
        "| 0 / 0 / 19 | 0 / 0 / 24 |",
        "| Good-Turing <= 0.15 | 0 / 2 / 103 | 0 / 10 / 87 | 0 / 4 / 82 | 0 / 0 / 13 | 0 / 0 / 20 "
        "| 0 / 0 / 24 | 0 / 0 / 30 |",
        "| Good-Turing <= 0.1 | 0 / 2 / 103 | 0 / 15 / 94 | 0 / 13 / 97 | 0 / 0 / 13 | 0 / 0 / 26 "
        "| 0 / 0 / 30 | 0 / 0 / 35 |",
        "| Bayes <= 0.1 | 0 / 2 / 103 | 0 / 2 / 82 | 0 / 2 / 86 | 0 / 0 / 14 (seed 0: 23) | 0 / 0 / 31 "
        "| 0 / 0 / 31 | 0 / 0 / 38 |",
        "| both <= 0.2, one <= 0.1 | 0 / 2 / 103 | 0 / 3 / 81 | 0 / 2 / 85 | 0 / 0 / 13 | 0 / 0 / 28 "
        "| 0 / 0 / 29 | 0 / 0 / 32 |",
        "| **mean <= 0.15 (now)** | 0 / 2 / 103 | 0 / 4 / 80 | 0 / 1 / 75 | 0 / 0 / 13 | 0 / 0 / 25 "
        "| 0 / 0 / 25 | 0 / 0 / 29 |",
        "",
        "(Replayed with the cap at the first stopping test at or after 100 starts, 100-104; the panel",
        "run above stops at exactly 100, where mus03_gauss4's seed 3 has not yet reached -4687.4586.)",
        "",
        "The other cases stop where they did (binomial_trials3, gauss3_small, nbreg3_small, docvis_nb2)",
        "or within 2 starts of it on average (nmes_zip_hybrid). Example 1b stops after 13 starts for all",
        "60 seeds as before (same path: its default fit time is unchanged). The price is one more batch",
        "in about half the runs of docvis_poisson3, ex1d and poisson4_membership (4-7 maxima in the",
        "first 10 starts), and about 12 starts on logit_gauss_hybrid.",
        "",
        "**Why the cap warns even when the best is replicated.** The nmes1988 Poisson K = 3 fits of",
        "notebooks 03 and 05 stop at the cap of 100 starts with their best maximum reached from 17-19",
        "starts, and warn. A rule that stays silent once the best is replicated often enough (Mplus's",
        "reading) would turn mus03_gauss4's misses into silent ones: `replay.py --at-cap mus03_gauss4`",
        "lists 9 of the 20 recorded seeds that miss -4687.4586 at the cap with their best maximum",
        "reached from 9-14 of about 88 random starts (seeds 0, 3, 4, 7, 9, 10, 11, 17, 18), as often as",
        "on nmes1988. The warning at the cap stays tied to the unseen-maximum estimate.",
        "",
        "**Not met: ex1d**, since this run: the recorded searches found, once in 20 seeds x 60",
        "starts (seed 3, start 22, a jitter start; the exhaustive search's 1,000 starts never did), a",
        "non-degenerate maximum -4710.0117, 3.1 above Stata's published -4713.1378",
        "(`best_known_extra.json`). The default search reaches it in that seed only (with a",
        "LocalMaximumWarning: it was not replicated); the other 19 stop at -4713.1378 replicated 2-10",
        "times, without a warning, so against the best known they are silent misses (against Stata's",
        "-4713.1378 they are 19/20 and the replay table above counts them so). Its third class is the",
        "same kind as mus03_gauss4's best: 73.6 observations (41 with posterior > 0.5, 36 of one sex;",
        "sex coefficient -2.59, intercept 39.5) with an SD of 0.088 = 6.4% of the response SD and 5.5%",
        "of the largest class SD, just above the 5% threshold of the degeneracy rule. Whether such a",
        "class is a finding or a spurious maximum (a regression plane threaded through a few dozen",
        "points) is a question for the degeneracy rule, not for the start search: a basin that 1 start",
        "in 1,000 reaches cannot be found or excluded by replication at this cost.",
        "",
        "**Not met: mus03_gauss4** (Example 1's model with 4 classes): 2 of 10 seeds reach -4687.4586",
        "in this run (3 of 10 in round three's run on another machine, 1 of 20 on the start-search",
        "branch: the last digits of the arithmetic move the search paths), every other one warns (no",
        "silent miss). Its likelihood is rugged: the exhaustive",
        "search's best non-degenerate maximum (-4697.4178) was reached by 1 of 300 refined starts, and",
        "-4687.4586 (`best_known_extra.json`: a 53-observation class with an SD of 6.4% of the response",
        "SD, just above the 5% degeneracy threshold) only through chains of split-merge moves",
        "(-4698.70 -> -4697.29 -> -4696.51 -> -4687.46, or -4697.63 -> -4687.46); run to 200 starts",
        "without stopping, 3 of 20 seeds reach it. Tried and not kept: starts from the 3-class",
        "solution with each class split in two (by residual sign, at the class median, core against",
        "tails; 18 starts from the two best 3-class maxima) end at -4698.70 (5) and -4697.63 (1), never",
        "higher; split-merge moves from the highest maxima of seed 7's 100-start search, degenerate",
        "ones included (408 moves, each refined): 187 distinct maxima, 153 of them degenerate, the best",
        "non-degenerate -4696.3332; earlier: a second split of each class into core and tails, moves",
        "from the three best maxima instead of the best (no gain on the missed seeds).",
        "",
        "Every maximum of mus03_gauss4 above -4698.6997 (whose smallest class holds 175 observations",
        "with an SD of 31% of the response SD) has a small class: in seeds 0 and 7 (100 starts each),",
        "those degenerate by the scale rule have a class SD of 0.1-3.8% of the response SD (15-64",
        "observations), the non-degenerate ones 5.7% (-4693.5500, 70 observations), 6.4% (-4687.4586, 53), 7.3%",
        "(-4696.5137), 11-17% (-4697.29, -4697.63). The 5% threshold cuts through this continuum, and",
        "the best known maximum is the highest small-class solution above the line.",
        "",
    ]
    for name, fn in CASES.items():
        lines.append(f"- `{name}`: {fn.__doc__.strip()}")
    e1b = HERE / "panel" / "example1b_seeds.json"
    if e1b.exists():
        d = json.loads(e1b.read_text())
        lines += ["", f"Stata Example 1b with default options: {d['reached_stata']}/60 seeds (0..59) reach -4712.3871."]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

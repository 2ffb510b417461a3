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
        "a `LocalMaximumWarning`. Times are wall seconds on a 2-core machine (this run: one panel",
        "process at a time, on a machine about twice as fast as earlier rounds'; compare times across",
        "runs with care: Example 1b alone is in benchmarks/results.md).",
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
        "Seeds: 20 per case. Exhaustive searches of the slow cases used 100-500 starts (machine time).",
        "Both were rerun under the degeneracy rule with its small-class part (below).",
        "",
        "**The small-class part of the degeneracy rule.** Until this round the rule flagged a class SD",
        "below 5% of both the largest class SD and the response SD. Four cases then had as best known a",
        "maximum made of a small class that the data (or, for simulated cases, the simulation) do not",
        "hold, and two of them (ex1d, mus03_gauss4) were reached by about 1 start in 1,000. The rule now",
        "also flags a class holding less than 10% of the observations whose SD is below 20% of both",
        "references (`min_scale_small=`) or that has fewer than 10 observations per parameter, and a",
        "parameter with a huge standard error (separation) as the fit's checks already did. What it",
        "flags on the panel (old best known -> new best known):",
        "",
        "- ex1d: -4710.0117 (74 observations, 2.5%, SD 6.4% of the response SD; found by 1 of 1,200",
        "  recorded starts) -> Stata's -4713.1378.",
        "- mus03_gauss4: -4687.4586 (53 observations, 1.8%, SD 6.4%) and every other maximum above",
        "  -4698.6997 (each one found has a class of 15-111 observations with an SD of 0.1-17% of the",
        "  response SD or fewer than 10 observations per parameter) ->",
        "  -4698.6997 (smallest class 175 observations, 5.9%, SD 31%).",
        "- gauss5 (simulated class SDs 0.5-1.2): -1004.8552 (39 observations, 7.8%, SD 0.12 = 4.7% of",
        "  the response SD) -> -1009.9705 (class SDs 0.45-0.92).",
        "- logit_gauss_hybrid (simulated shares 0.4/0.3/0.2/0.1, one slope of 0.5, membership",
        "  independent of z): -779.2098 (10 observations at 9.4% of the response SD), -782.8454 (9",
        "  observations for 3 parameters), -782.8001 (a class-membership coefficient of 15,000 on z:",
        "  separation), -784.5406 (25 observations for 3 parameters, slope -2.0, membership",
        "  coefficients of 9.7 and 7.7 on z) -> -784.7823 (shares 0.32/0.27/0.24/0.17).",
        "",
        "Evidence that these are spurious rather than findings: data simulated from Example 1b's fitted",
        "3-class model (no small class) and refitted with 4 classes give maxima with such a class",
        "above the proper maximum in 5 of 6 data sets, each flagged by the rule (`spurious_sim.md`);",
        "on the simulated panel cases the flagged maxima are not the simulated classes. The other",
        "eight cases' best known maxima are unchanged, and so is Stata's Example 1b (-4712.3871).",
        "",
        "**Stopping rule** (chosen in an earlier round, on searches recorded under the rule without",
        "its small-class part; the maxima named here are those of that rule). The search stops once",
        "the best maximum is replicated and the estimated",
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
        "reading) would have turned mus03_gauss4's misses of its then best known (-4687.4586) into",
        "silent ones: `replay.py --at-cap mus03_gauss4` lists 9 of the 20 recorded seeds that missed",
        "it at the cap with their best maximum reached from 9-14 of about 88 random starts, as often as",
        "on nmes1988. The warning at the cap stays tied to the unseen-maximum estimate; mus03_gauss4",
        "still reaches the cap (many distinct maxima) and warns although it now reaches its best known.",
        "",
        "History: before the small-class part of the rule, ex1d missed -4710.0117 silently in 19 of 20",
        "seeds (they returned Stata's -4713.1378, replicated) and mus03_gauss4 reached -4687.4586 in 2",
        "of 10 (warning in the others); split-merge chains, starts from split 3-class solutions and",
        "moves from degenerate maxima were tried for those basins and did not find them reliably",
        "(git history of this file).",
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

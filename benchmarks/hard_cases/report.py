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
        "a `LocalMaximumWarning`. Times are wall seconds on a 2-core machine (quiet for this run).",
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
        "mus03_gauss4); exhaustive searches of the slow cases used 100-500 starts (machine time).",
        "",
        "**Not met: mus03_gauss4** (Example 1's model with 4 classes). Its likelihood is rugged: the",
        "exhaustive search's best non-degenerate maximum (-4697.4178) was reached by 1 of 300 refined",
        "starts, and default runs found a higher one (-4687.4586, `best_known_extra.json`: a",
        "53-observation class with an SD of 6.4% of the response SD, just above the 5% degeneracy",
        "threshold) that the exhaustive random search never reached: split-merge moves lead there. In the",
        "run in the table (the code of issues 10 and 17 together) one of ten seeds reaches it, from a single start",
        "and with a LocalMaximumWarning; eight stop at the 100-start cap at a lower maximum (two of them at",
        "-4693.16 and -4693.55, above the exhaustive search's best), with a LocalMaximumWarning; one (seed 7)",
        "stops after 44 starts at -4698.6997, reached from 3 independent random starts, without a warning.",
        "The run before the issue-17 engine changes (same search) had 3 of 10 reached and the same silent",
        "miss: the landscape is rugged enough that rounding differences change which basins a seed finds.",
        "Replication cannot reveal a basin that about 1 start in 300 reaches. Tried and not",
        "kept (no gain on the missed seeds, more starts): a second split of each class into core and",
        "tails in the split-merge moves; moves from the three best maxima instead of the best; a",
        "Good-Turing threshold of 10% (seed 7 then warns, but gauss5 and logit_gauss_hybrid warn in",
        "15-17 of 20 runs that did reach the best).",
        "",
        "Since the previous panel run, split-merge moves that fall back into the maximum they were made",
        "from no longer count as replications (they are not independent evidence): silent misses on",
        "mus03_gauss4 fell from 7 to 1 of 10 seeds, at the price of more starts on the rugged cases",
        "(median starts: gauss5 70 -> 80, logit_gauss_hybrid 34 -> 66).",
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

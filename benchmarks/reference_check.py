"""A quick look at the headline reference numbers (run from the repository root).

    python benchmarks/reference_check.py

Prints Stata's Example 1b with default options (log likelihood, the 2.Class
totchr coefficient and its SE next to Stata's), MUS chapter 17's
``fmm 2, vce(robust): poisson docvis`` next to Stata's published numbers, K = 1
average marginal effects next to statsmodels' ``get_margeff``, and the error a
text column with Stata's "." missing values gets. The tests assert all of this;
this script only shows it.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from fmmreg import FMMError, fmm

DATA = Path(__file__).resolve().parents[1] / "datasets"


def main() -> None:
    warnings.simplefilter("ignore")
    df = pd.read_csv(DATA / "mus03sub.csv")
    t0 = time.perf_counter()
    r = fmm(3, "lmedexp ~ income + age + I(age**2) + totchr + C(sex)", data=df, class_formula="~ totchr")
    b, se = r.params[("2.Class", "totchr")], r.bse[("2.Class", "totchr")]
    print(
        f"Ex1b default: LL {r.llf:.4f} (Stata -4712.3871), {time.perf_counter() - t0:.2f} s wall, "
        f"replicated from {r.n_replicated} starts; 2.Class totchr {b:.7f} ({se:.7f}), Stata .9376084 (.2222695)"
    )
    mus = pd.read_csv(DATA / "mus17docvis.csv")
    rr = fmm(2, "docvis ~ 1", data=mus, family="poisson", vce="robust")
    print(
        f"MUS17 vce(robust): log pseudolikelihood {rr.llf:.2f} (Stata -12434.33); params "
        f"{np.round(rr.params.to_numpy(), 4)} (Stata 2.Class -0.8411, _cons 1.2111, 2.6986); "
        f"robust SEs {np.round(rr.bse.to_numpy(), 4)}; cov_type {rr.cov_type}"
    )
    me = fmm(1, "docvis ~ private + totchr", data=mus, family="poisson").margins(dydx=["private", "totchr"]).frame
    ref = sm.Poisson(mus["docvis"], sm.add_constant(mus[["private", "totchr"]])).fit(disp=0).get_margeff(at="overall")
    print(
        f"K=1 Poisson AME fmmreg {np.round(me['dydx'].to_numpy(), 6)} statsmodels {np.round(ref.margeff, 6)}; "
        f"SE {np.round(me['se'].to_numpy(), 6)} statsmodels {np.round(ref.margeff_se, 6)}"
    )
    bad = df.assign(income=df["income"].astype(str).where(df.index % 50 != 0, "."))
    try:
        fmm(2, "lmedexp ~ income", data=bad)
    except FMMError as exc:
        print(f"text numbers with '.' cells -> FMMError: {exc}")


if __name__ == "__main__":
    main()

"""Property test (issue 9): any small data set either fits or raises the package's error.

For random data (n 6-200, K 1-3; gaussian, poisson, logit, nbreg; flavours:
a real mixture, pure noise, tied values, extreme values, an all-equal
column) every fit returns a finite log likelihood at least the one-class
log likelihood (minus 1e-6), or raises :class:`fmmreg.FMMError`; no other
exception escapes and no example takes 10 s of CPU time.

The search budget is reduced (``draws=3, max_draws=6``) to keep 300 examples
within the CI budget: the property is about the engine's robustness, which
every start exercises; the default budget is covered by tests/test_degenerate.py
and the panel in benchmarks/hard_cases.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fmmreg import FMM, FMMError  # noqa: E402

FAMILIES = ("gaussian", "poisson", "logit", "nbreg")
FLAVOURS = ("mixture", "noise", "tied", "extreme", "constant_column")
BUDGET = {"draws": 3, "max_draws": 6}


def make_data(seed: int, n: int, family: str, flavour: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    cls = rng.random(n) < 0.4
    eta = np.where(cls, 1.0 + 0.8 * x, -0.5 - 0.4 * x) if flavour == "mixture" else 0.3 * x
    if flavour == "noise":
        eta = np.zeros(n)
    if family == "gaussian":
        y = eta + rng.normal(size=n) * np.where(cls, 0.5, 1.0)
        if flavour == "tied":
            y = np.round(y)
        if flavour == "extreme":
            y[: max(1, n // 20)] *= 1e6
    elif family in ("poisson", "nbreg"):
        y = rng.poisson(np.exp(np.clip(eta, -5, 5))).astype(float)
        if flavour == "tied":
            y = np.minimum(y, 1.0)
        if flavour == "extreme":
            y[: max(1, n // 20)] = 5000.0
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-3 * eta))).astype(float)
        if flavour == "extreme":
            x[: max(1, n // 20)] *= 1e4
    df = pd.DataFrame({"y": y, "x": x})
    if flavour == "constant_column":
        df["c"] = 2.0
    return df


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(6, 200),
    k=st.integers(1, 3),
    family=st.sampled_from(FAMILIES),
    flavour=st.sampled_from(FLAVOURS),
)
def test_fit_returns_a_finite_maximum_or_raises_fmmerror(seed, n, k, family, flavour):
    df = make_data(seed, n, family, flavour)
    formula = "y ~ x + c" if flavour == "constant_column" else "y ~ x"
    t0 = time.process_time()  # CPU seconds: wall time on a shared CI machine measures the neighbours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # data checks at construction (constant response, collinear design, too few rows)
            # and failures of the fit are both the package's own error, nothing else
            model = FMM(k, formula, data=df, family=family)
            single = FMM(1, formula, data=df, family=family)
            res = model.fit(random_state=seed, **BUDGET)
            ref = single.fit()
        except FMMError:
            return
    assert np.isfinite(res.llf)
    assert res.llf >= ref.llf - 1e-6, (res.llf, ref.llf)
    assert time.process_time() - t0 < 10.0

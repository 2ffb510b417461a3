"""Helpers of the part-B family tests: stored mixture references and scipy ML.

``tests/fixtures/<name>/`` holds ``data.csv``, ``reference.json`` and the R
script ``make_reference.R`` that produced them (R flexmix where it covers the
family, else a direct maximisation of the mixture likelihood in R with many
starts, ``tests/fixtures/directml/mixture_ml.R``). The tests only read the
stored numbers; no R is needed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOL = 1e-4


def load_reference(name: str) -> tuple[dict, pd.DataFrame, pd.Series]:
    """The stored reference: its JSON, the data and the parameters as a labelled Series."""
    ref = json.loads((FIXTURES / name / "reference.json").read_text())
    data = pd.read_csv(FIXTURES / name / "data.csv")
    index = pd.MultiIndex.from_tuples([(p["equation"], p["term"]) for p in ref["params"]], names=["equation", "term"])
    params = pd.Series([p["value"] for p in ref["params"]], index=index)
    return ref, data, params


def match_classes(res, expected: pd.Series, fixed: tuple[int, ...] = ()):
    """Relabel ``res`` to the reference's class order (closest parameters); ``fixed`` classes stay put."""
    best = None
    for perm in itertools.permutations(range(1, res.k + 1)):
        if any(perm[c - 1] != c for c in fixed):
            continue
        r = res if list(perm) == list(range(1, res.k + 1)) else res.relabel(list(perm))
        d = float(np.max(np.abs(r.params[expected.index].to_numpy() - expected.to_numpy())))
        if best is None or d < best[0]:
            best = (d, r)
    return best[1]


def assert_matches_reference(res, ref: dict, expected: pd.Series, fixed: tuple[int, ...] = ()) -> None:
    """Log likelihood and every parameter to ``TOL`` after matching the classes."""
    assert res.converged
    assert res.llf == pytest.approx(ref["llf"], abs=TOL), (
        f"fmmreg llf {res.llf:.6f} vs reference {ref['llf']:.6f}; starts: {res.start_llfs.to_numpy()}"
    )
    res = match_classes(res, expected, fixed)
    assert len(res.params) == len(expected), "fmmreg and the reference have different parameters"
    got = res.params[expected.index]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=TOL, rtol=0, err_msg=str(got - expected))


def _num_grad(f: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    g = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h * max(1.0, abs(x[j]))
        g[j] = (f(x + e) - f(x - e)) / (2 * e[j])
    return g


def scipy_maximise(loglike: Callable[[np.ndarray], float], x0: np.ndarray) -> tuple[np.ndarray, float]:
    """Maximise a scalar log likelihood with scipy only: BFGS, then Newton on central differences.

    Independent of fmmreg's derivatives: the polish uses finite differences of
    ``loglike`` itself and stops when the step is below 1e-10.
    """
    from scipy import optimize

    def nll(t):
        v = loglike(t)
        return -v if np.isfinite(v) else 1e300

    x = optimize.minimize(nll, np.asarray(x0, dtype=float), method="BFGS", options={"gtol": 1e-9}).x
    for _ in range(50):
        g = _num_grad(loglike, x, 1e-6)
        cols = [_num_grad(loglike, x + e, 1e-6) for e in np.eye(len(x)) * 1e-4]
        cols_m = [_num_grad(loglike, x - e, 1e-6) for e in np.eye(len(x)) * 1e-4]
        H = (np.array(cols) - np.array(cols_m)) / 2e-4
        H = 0.5 * (H + H.T)
        step = np.linalg.solve(-H, g)
        x = x + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return x, float(loglike(x))

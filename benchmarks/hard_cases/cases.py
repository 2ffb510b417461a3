"""The panel of hard start problems (issue 10): data and model of each case.

Each case is a function returning the keyword arguments of ``fmmreg.FMM``
(``k``, ``formula``, ``data``, ``family``, ``class_formula``). Simulated cases
use fixed seeds; the others use the data sets shipped in ``datasets/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
EX1 = "lmedexp ~ income + age + I(age**2) + totchr"


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATASETS / name)


def ex1b() -> dict:
    """Stata [FMM] Example 1b: 3 Gaussian regressions, membership on totchr (n = 2,955)."""
    return dict(k=3, formula=EX1 + " + C(sex)", data=_csv("mus03sub.csv"), family="gaussian", class_formula="~ totchr")


def ex1d() -> dict:
    """Stata [FMM] Example 1d: hybrid, class 1 without sex (n = 2,955)."""
    return dict(
        k=None,
        formula=[EX1, EX1 + " + C(sex)", EX1 + " + C(sex)"],
        data=_csv("mus03sub.csv"),
        family="gaussian",
        class_formula="~ totchr",
    )


def mus03_gauss4() -> dict:
    """Example 1's model with 4 classes (the issue's first example; n = 2,955)."""
    return dict(k=4, formula=EX1 + " + C(sex)", data=_csv("mus03sub.csv"), family="gaussian", class_formula="~ totchr")


def docvis_nb2() -> dict:
    """2-class NB2 of doctor visits with covariates (MUS ch. 17 data, n = 3,677)."""
    return dict(
        k=2, formula="docvis ~ private + medicaid + age + actlim + totchr", data=_csv("mus17docvis.csv"), family="nbreg"
    )


def docvis_poisson3() -> dict:
    """3-class Poisson of doctor visits, membership on income (n = 3,677)."""
    return dict(
        k=3,
        formula="docvis ~ private + totchr",
        data=_csv("mus17docvis.csv"),
        family="poisson",
        class_formula="~ income",
    )


def nmes_zip_hybrid() -> dict:
    """Hybrid: a point mass at 0 and two Poisson classes of NMES office visits (n = 4,406)."""
    return dict(
        k=None,
        formula="visits ~ chronic + C(health) + school",
        data=_csv("nmes1988.csv"),
        family=["pointmass", "poisson", "poisson"],
    )


def binomial_trials3() -> dict:
    """3-class binomial with trials, cbind(successes, failures), 44 groups, poorly separated."""
    rng = np.random.default_rng(44)
    n = 44
    x = rng.normal(size=n)
    trials = rng.integers(5, 30, size=n)
    cls = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    eta = np.array([-1.0, 0.0, 0.9])[cls] + np.array([0.5, -0.3, 0.8])[cls] * x
    succ = rng.binomial(trials, 1 / (1 + np.exp(-eta)))
    df = pd.DataFrame({"s": succ, "f": trials - succ, "x": x})
    return dict(k=3, formula="cbind(s, f) ~ x", data=df, family="binomial")


def gauss3_small() -> dict:
    """3 Gaussian regressions, n = 150, poorly separated, unequal variances."""
    rng = np.random.default_rng(3)
    n = 150
    x = rng.normal(size=n)
    cls = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    y = np.array([0.0, 1.0, 2.5])[cls] + np.array([1.0, 0.3, -0.5])[cls] * x
    y = y + rng.normal(size=n) * np.array([0.4, 1.0, 0.6])[cls]
    return dict(k=3, formula="y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="gaussian")


def gauss5() -> dict:
    """5 Gaussian regressions, n = 500, overlapping classes, unequal variances."""
    rng = np.random.default_rng(5)
    n = 500
    x = rng.uniform(-2, 2, size=n)
    cls = rng.choice(5, size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    y = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])[cls] + np.array([0.5, -0.5, 1.0, 0.0, -1.0])[cls] * x
    y = y + rng.normal(size=n) * np.array([0.5, 0.8, 0.6, 1.2, 0.7])[cls]
    return dict(k=5, formula="y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="gaussian")


def poisson4_membership() -> dict:
    """4 Poisson regressions with a membership covariate, n = 300."""
    rng = np.random.default_rng(4)
    n = 300
    x, z = rng.normal(size=(2, n))
    g = np.column_stack([np.zeros(n), 0.3 + 0.8 * z, -0.2 - 0.6 * z, 0.1 + 0.2 * z])
    p = np.exp(g - g.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    mu = np.exp(np.array([-0.5, 0.5, 1.3, 2.0])[cls] + np.array([0.4, -0.3, 0.2, 0.5])[cls] * x)
    df = pd.DataFrame({"y": rng.poisson(mu), "x": x, "z": z})
    return dict(k=4, formula="y ~ x", data=df, family="poisson", class_formula="~ z")


def nbreg3_small() -> dict:
    """3 NB2 regressions, n = 250, two close classes."""
    rng = np.random.default_rng(7)
    n = 250
    x = rng.normal(size=n)
    cls = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    mu = np.exp(np.array([0.2, 0.8, 2.0])[cls] + np.array([0.3, 0.6, -0.2])[cls] * x)
    alpha = 0.5
    y = rng.poisson(rng.gamma(1 / alpha, mu * alpha))
    return dict(k=3, formula="y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="nbreg")


def logit_gauss_hybrid() -> dict:
    """4 Gaussian classes on tied (rounded) y with a class formula, n = 400 (spike-prone)."""
    rng = np.random.default_rng(11)
    n = 400
    x, z = rng.normal(size=(2, n))
    cls = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    y = np.array([0.0, 1.5, 3.0, 5.0])[cls] + 0.5 * x + rng.normal(size=n) * np.array([1.0, 0.7, 1.2, 0.8])[cls]
    df = pd.DataFrame({"y": np.round(y, 1), "x": x, "z": z})
    return dict(k=4, formula="y ~ x", data=df, family="gaussian", class_formula="~ z")


CASES = {
    f.__name__: f
    for f in (
        ex1b,
        ex1d,
        mus03_gauss4,
        docvis_nb2,
        docvis_poisson3,
        nmes_zip_hybrid,
        binomial_trials3,
        gauss3_small,
        gauss5,
        poisson4_membership,
        nbreg3_small,
        logit_gauss_hybrid,
    )
}


def model(name: str):
    """The ``FMM`` object of a case."""
    from fmmreg import FMM

    kw = CASES[name]()
    return FMM(kw.pop("k"), kw.pop("formula"), kw.pop("data"), **kw)

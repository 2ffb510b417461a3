"""Wald tests and combinations of parameters: Stata's ``test``, ``lincom`` and ``nlcom``.

Every function reads the covariance from ``res.cov_params()``, so it honours
whichever variance estimator the fit reports (OIM by default). Expressions
use Stata's bracket names (:mod:`fmmreg.postestimation.expressions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.exceptions import FMMError
from fmmreg.postestimation.expressions import (
    format_restriction,
    linear_combination,
    linear_restrictions,
    nonlinear_function,
)
from fmmreg.reporting.coeftable import CoefRow, column_header, table_latex, table_markdown, table_text
from fmmreg.reporting.export import TextReport


def covariance(res) -> np.ndarray:
    """``res.cov_params()`` as an array ordered like ``res.params``."""
    index = res.params.index
    cov = res.cov_params()
    if isinstance(cov, pd.DataFrame):
        cov = cov.reindex(index=index, columns=index)
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (len(index), len(index)) or not np.all(np.isfinite(np.diag(cov))):
        raise FMMError("cov_params() does not cover every parameter with a finite variance; a test cannot use it")
    return cov


def _estimate_frame(est: np.ndarray, se: np.ndarray, labels: list[str], alpha: float) -> pd.DataFrame:
    q = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return pd.DataFrame(
        {
            "coef": est,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": est - q * se,
            "ci_high": est + q * se,
        },
        index=pd.Index(labels, name="expression"),
    )


class _EstimateTable(TextReport):
    """Shared display of lincom / nlcom: definitions above a coefficient table."""

    frame: pd.DataFrame
    alpha: float

    def _definitions(self) -> list[str]:
        raise NotImplementedError

    def _rows(self) -> list[CoefRow]:
        return [
            CoefRow(str(label), r["coef"], r["se"], r["z"], r["p"], r["ci_low"], r["ci_high"])
            for label, r in self.frame.iterrows()
        ]

    def as_text(self) -> str:
        lines = ["", *self._definitions(), ""]
        lines += table_text(column_header("Coefficient", self.alpha, second="Std. err."), self._rows())
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.reset_index()

    def to_markdown(self) -> str:
        return table_markdown(self._rows(), "Coefficient", self.alpha)

    def to_latex(self) -> str:
        return table_latex(self._rows(), "Coefficient", self.alpha)

    def conf_int(self) -> pd.DataFrame:
        return self.frame[["ci_low", "ci_high"]].rename(columns={"ci_low": 0, "ci_high": 1})


# ------------------------------------------------------------------ Wald
@dataclass(repr=False)
class WaldTestResults(TextReport):
    """Result of :func:`wald_test`, printed like Stata's ``test``.

    Attributes follow statsmodels' ``ContrastResults``: ``statistic`` (also
    ``chi2``), ``pvalue``, ``df`` (also ``df_num``), ``distribution``.
    ``restrictions`` are the displayed rows ``R theta = q``, ``dropped``
    the 1-based numbers of restrictions dropped as linearly dependent.
    """

    statistic: float
    df: int
    pvalue: float
    restrictions: list[str]
    R: np.ndarray
    q: np.ndarray
    dropped: list[int] = field(default_factory=list)
    distribution: str = "chi2"

    @property
    def chi2(self) -> float:
        return self.statistic

    @property
    def df_num(self) -> int:
        return self.df

    def summary(self) -> str:
        return self.as_text()

    def as_text(self) -> str:
        lines = [""]
        for k, text in enumerate(self.restrictions, start=1):
            lines.append(f" ({k:>2})  {text}")
        for k in self.dropped:
            lines.append(f"       Constraint {k} dropped")
        lines += [
            "",
            f"{'chi2(':>16}{self.df:>3}) = {self.statistic:>7.2f}",
            f"{'Prob > chi2':>20} = {self.pvalue:>9.4f}",
        ]
        return "\n".join(lines)


def _independent_rows(R: np.ndarray) -> list[int]:
    """Rows kept in order, skipping those linearly dependent on the earlier ones."""
    keep: list[int] = []
    scale = np.abs(R).max(axis=1, keepdims=True)
    Rs = R / np.where(scale > 0, scale, 1.0)
    for i in range(len(R)):
        trial = Rs[keep + [i]]
        if np.linalg.matrix_rank(trial, tol=1e-10 * max(1.0, np.abs(trial).max())) > len(keep):
            keep.append(i)
    return keep


def wald_test(res, hypotheses, cov: np.ndarray | None = None) -> WaldTestResults:
    """Wald test of linear hypotheses ``R theta = q`` (Stata ``test``).

    Parameters
    ----------
    res : FMMResults
    hypotheses : str, list of str, or (R, q)
        Stata-style equations (``"[1.y]x = [2.y]x"``; a list is one joint
        test), or the arrays ``R`` (m, p) and ``q`` (m,).
    cov : ndarray, optional
        Covariance to use instead of ``res.cov_params()``.

    Notes
    -----
    ``W = (R b - q)' (R V R')^{-1} (R b - q) ~ chi2(m)`` under the null,
    ``V`` the covariance of the fit. Restrictions linearly dependent on
    earlier ones are dropped (and reported) as Stata does, so ``m`` is the
    rank of ``R``.
    """
    index = res.params.index
    if isinstance(hypotheses, tuple) and len(hypotheses) == 2 and not isinstance(hypotheses[0], str):
        R = np.atleast_2d(np.asarray(hypotheses[0], dtype=float))
        q = np.atleast_1d(np.asarray(hypotheses[1], dtype=float))
        if R.shape[1] != len(index) or q.shape != (R.shape[0],):
            raise FMMError(f"R must have shape (m, {len(index)}) and q shape (m,), got {R.shape} and {q.shape}")
    else:
        R, q = linear_restrictions(hypotheses, index)
    keep = _independent_rows(R)
    dropped = [i + 1 for i in range(len(R)) if i not in keep]
    Rk, qk = R[keep], q[keep]
    V = covariance(res) if cov is None else np.asarray(cov, dtype=float)
    d = Rk @ res.params.to_numpy() - qk
    middle = Rk @ V @ Rk.T
    eig = np.linalg.eigvalsh(middle)
    if eig.min() <= 1e-12 * max(eig.max(), 1e-300):
        df = int(np.sum(eig > 1e-12 * max(eig.max(), 1e-300)))
        stat = float(d @ np.linalg.pinv(middle) @ d)
    else:
        df = len(keep)
        stat = float(d @ np.linalg.solve(middle, d))
    pvalue = float(stats.chi2.sf(stat, df)) if df > 0 else np.nan
    texts = [format_restriction(r, c, index) for r, c in zip(R, q)]
    return WaldTestResults(stat, df, pvalue, texts, R, q, dropped)


# ---------------------------------------------------------------- lincom
@dataclass(repr=False)
class LincomResults(_EstimateTable):
    """Result of :func:`lincom`: ``frame`` with ``coef, se, z, p, ci_low, ci_high`` per combination."""

    frame: pd.DataFrame
    restrictions: list[str]
    alpha: float = 0.05

    @property
    def estimate(self) -> float:
        return float(self.frame["coef"].iloc[0])

    @property
    def se(self) -> float:
        return float(self.frame["se"].iloc[0])

    @property
    def pvalue(self) -> float:
        return float(self.frame["p"].iloc[0])

    def _definitions(self) -> list[str]:
        return [f" ({k:>2})  {t}" for k, t in enumerate(self.restrictions, start=1)]


def lincom(res, expression: str | Sequence[str], alpha: float = 0.05) -> LincomResults:
    """Linear combination of parameters with its standard error (Stata ``lincom``).

    Parameters
    ----------
    expression : str or list of str
        E.g. ``"[2.y]x - [1.y]x"``; a list gives one row per combination.

    Notes
    -----
    ``c = r'b + c0`` with ``se = sqrt(r' V r)``; ``z = c / se``.
    """
    index = res.params.index
    exprs = [expression] if isinstance(expression, str) else list(expression)
    V = covariance(res)
    b = res.params.to_numpy()
    est, se, texts = [], [], []
    for e in exprs:
        r, c0 = linear_combination(e, index)
        est.append(float(r @ b + c0))
        se.append(float(np.sqrt(max(r @ V @ r, 0.0))))
        texts.append(format_restriction(r, -c0, index))
    labels = [f"({k})" for k in range(1, len(exprs) + 1)]
    return LincomResults(_estimate_frame(np.array(est), np.array(se), labels, alpha), texts, alpha)


# ----------------------------------------------------------------- nlcom
@dataclass(repr=False)
class NlcomResults(_EstimateTable):
    """Result of :func:`nlcom`: ``frame`` per expression, ``cov`` their joint covariance, ``jacobian``."""

    frame: pd.DataFrame
    expressions: dict[str, str]
    cov: np.ndarray
    jacobian: np.ndarray
    alpha: float = 0.05

    def _definitions(self) -> list[str]:
        return [f"{name:>12}: {text}" for name, text in self.expressions.items()]


def numerical_jacobian(fs: Sequence[Callable[[np.ndarray], float]], theta: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Jacobian of the functions ``fs`` at ``theta`` by the fourth-order central difference.

    ``f'(t) ~ (f(t - 2h) - 8 f(t - h) + 8 f(t + h) - f(t + 2h)) / (12 h)``,
    with ``h`` per coordinate; columns of parameters a function does not read
    (its ``parameters`` attribute) are exactly zero.
    """
    J = np.zeros((len(fs), len(theta)))
    for i, f in enumerate(fs):
        for j in getattr(f, "parameters", range(len(theta))):
            h = steps[j]
            vals = []
            for t in (-2, -1, 1, 2):
                th = theta.copy()
                th[j] += t * h
                vals.append(f(th))
            J[i, j] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
    return J


def nlcom(res, expression: str | Sequence[str] | Mapping[str, str], alpha: float = 0.05) -> NlcomResults:
    """Nonlinear combinations of parameters, delta method (Stata ``nlcom``).

    Parameters
    ----------
    expression : str, list of str or dict
        E.g. ``"exp([2.Class]_cons) / (1 + exp([2.Class]_cons))"``; a dict
        names the results (``{"share2": "..."}``), otherwise they are
        ``_nl_1``, ``_nl_2``, ... as in Stata.

    Notes
    -----
    ``Var g(b) = G V G'`` with the Jacobian ``G`` by fourth-order central
    differences, step ``1e-3`` standard errors of each parameter (scale
    free: each step moves the parameter by a fixed fraction of its
    uncertainty).
    """
    if isinstance(expression, Mapping):
        named = {str(k): v for k, v in expression.items()}
    else:
        exprs = [expression] if isinstance(expression, str) else list(expression)
        named = {f"_nl_{k}": e for k, e in enumerate(exprs, start=1)}
    if not named:
        raise FMMError("nlcom needs at least one expression")
    index = res.params.index
    fs = [nonlinear_function(e, index) for e in named.values()]
    V = covariance(res)
    b = res.params.to_numpy()
    se_b = np.sqrt(np.clip(np.diag(V), 0, None))
    steps = np.where(se_b > 0, 1e-3 * se_b, 1e-6 * np.maximum(1.0, np.abs(b)))
    steps = np.maximum(steps, 1e-9 * np.maximum(1.0, np.abs(b)))
    est = np.array([f(b) for f in fs])
    for name, value in zip(named, est):
        if not np.isfinite(value):
            raise FMMError(f"nlcom expression {name} = {named[name]!r} is not finite at the estimates")
    J = numerical_jacobian(fs, b, steps)
    cov = J @ V @ J.T
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    frame = _estimate_frame(est, se, list(named), alpha)
    return NlcomResults(frame, named, cov, J, alpha)

"""Stata's ``estat lcprob``, ``estat lcmean``, ``estat ic`` and ``lrtest`` after a mixture fit.

Each function returns a small result object that prints in Stata's layout
and exposes its numbers as a DataFrame (``.frame``) with ``to_markdown`` and
``to_latex`` exports.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from fmmreg.exceptions import FMMError
from fmmreg.panel import n_groups
from fmmreg.postestimation.predict import mean_gradient
from fmmreg.reporting.export import TextReport, latex_tabular, markdown_table
from fmmreg.reporting.formatting import abbreviate, stata_fixed, stata_g, thousands

RULE62 = "-" * 62
MID62 = "-" * 13 + "+" + "-" * 48
RULE78 = "-" * 78
MID78 = "-" * 13 + "+" + "-" * 64


def _title(left: str, nobs: float) -> str:
    return f"{left:<48}Number of obs     = {thousands(nobs):>10}"


class _ClassTable(TextReport):
    """A table with one row per class: Markdown and LaTeX of ``_header()`` and ``_cells()``."""

    def _header(self) -> list[str]:
        raise NotImplementedError

    def _cells(self) -> list[list[str]]:
        raise NotImplementedError

    def to_markdown(self) -> str:
        return markdown_table(self._header(), self._cells())

    def to_latex(self) -> str:
        return latex_tabular(self._header(), self._cells())


def _class_index(res) -> pd.Index:
    """Classes 1..K, or their names (``class_labels=``)."""
    labels = getattr(res, "class_labels", None)
    if labels is None or labels == [str(j) for j in range(1, res.k + 1)]:
        return pd.Index(range(1, res.k + 1), name="Class")
    return pd.Index(labels, name="Class")


# --------------------------------------------------------------- lcprob
@dataclass(repr=False)
class LCProb(_ClassTable):
    """Latent class marginal probabilities (``estat lcprob``).

    ``frame`` has one row per class and the columns ``margin``, ``se``,
    ``ci_low``, ``ci_high``; ``gradient`` is the Jacobian of the margins with
    respect to the membership parameters (rows: classes).
    """

    frame: pd.DataFrame
    gradient: np.ndarray
    nobs: float
    alpha: float = 0.05

    def as_text(self) -> str:
        level = int(round(100 * (1 - self.alpha)))
        lines = [
            "",
            _title("Latent class marginal probabilities", self.nobs),
            "",
            RULE62,
            f"{'':13}|            Delta-method",
            f"{'':13}|     Margin   std. err.     [{level}% conf. interval]",
            MID62,
            f"{'Class':>12} |",
        ]
        for k, row in self.frame.iterrows():
            lines.append(
                f"{k:>11}  | {stata_g(row['margin']):>10} {stata_g(row['se']):>10}"
                f"     {stata_g(row['ci_low']):>9}   {stata_g(row['ci_high']):>9}"
            )
        lines.append(RULE62)
        return "\n".join(lines)

    def _cells(self) -> list[list[str]]:
        return [[str(k)] + [stata_g(v) for v in row] for k, row in self.frame.iterrows()]

    def _header(self) -> list[str]:
        level = int(round(100 * (1 - self.alpha)))
        return ["Class", "Margin", "Std. err.", f"[{level}% conf.", "interval]"]


def lcprob(res, alpha: float = 0.05) -> LCProb:
    """Marginal class probabilities with delta-method standard errors.

    Notes
    -----
    ``P_k = (1/W) sum_i w_i pi_ik(g)`` with ``W = sum_i w_i``. Its gradient
    with respect to the membership coefficients of class ``j`` (any class but
    the base) is
    ``(1/W) sum_i w_i pi_ik (1{k=j} - pi_ij) z_i``, and
    ``Var(P) = G V_g G'`` with ``V_g`` the membership block of
    ``cov_params()``. The confidence interval is built on the logit scale,
    ``logit(P_k) +- q se_k / (P_k (1 - P_k))``, and transformed back, so it
    stays inside (0, 1); like Stata, no z statistic or p-value is shown.
    """
    lik = res.lik
    pi = res.prior_array
    w = lik.unit_weights  # a grouped model's margins are shares of groups
    wsum = w.sum()
    Z = lik.membership.Z
    k, q = res.k, lik.membership.q
    margin = w @ pi / wsum
    grad = np.zeros((k, lik.n_mem))
    for b, c in enumerate(lik.membership.others):
        for j in range(k):
            grad[j, b * q : (b + 1) * q] = Z.T @ (w * pi[:, j] * ((j == c) - pi[:, c])) / wsum
    return lcprob_table(res, margin, grad, res._cov[: lik.n_mem, : lik.n_mem], alpha)


def lcprob_table(res, margin: np.ndarray, grad: np.ndarray, cov: np.ndarray, alpha: float) -> LCProb:
    """The ``estat lcprob`` table from the class probabilities, their Jacobian and the membership covariance."""
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", grad, cov, grad), 0, None))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * se / (margin * (1 - margin))
        lo, hi = expit(logit(margin) - half), expit(logit(margin) + half)
    if res.k == 1:
        lo, hi = np.ones(1), np.ones(1)
    frame = pd.DataFrame(
        {"margin": margin, "se": se, "ci_low": lo, "ci_high": hi},
        index=_class_index(res),
    )
    return LCProb(frame, grad, res.nobs, alpha)


# --------------------------------------------------------------- lcmean
@dataclass(repr=False)
class LCMean(_ClassTable):
    """Latent class marginal means of the response (``estat lcmean``).

    ``frame`` has one row per class and the columns ``margin``, ``se``,
    ``z``, ``p``, ``ci_low``, ``ci_high``; ``gradient`` is the Jacobian of
    the margins with respect to all parameters (rows: classes).
    """

    frame: pd.DataFrame
    gradient: np.ndarray
    yname: str
    nobs: float
    alpha: float = 0.05

    def as_text(self) -> str:
        level = int(round(100 * (1 - self.alpha)))
        lines = [
            "",
            _title("Latent class marginal means", self.nobs),
            "",
            RULE78,
            f"{'':13}|            Delta-method",
            f"{'':13}|     Margin   std. err.      z    P>|z|     [{level}% conf. interval]",
            MID78,
        ]
        for i, (k, row) in enumerate(self.frame.iterrows()):
            if i:
                lines.append(MID78)
            lines.append(f"{k!s:<13}|")
            lines.append(
                f"{abbreviate(self.yname, 12):>12} | {stata_g(row['margin']):>10} {stata_g(row['se']):>10}"
                f" {stata_fixed(row['z'], 2):>8} {stata_fixed(row['p'], 3):>7}"
                f"    {stata_g(row['ci_low']):>9}   {stata_g(row['ci_high']):>9}"
            )
        lines.append(RULE78)
        return "\n".join(lines)

    def _cells(self) -> list[list[str]]:
        out = []
        for k, r in self.frame.iterrows():
            out.append(
                [str(k), stata_g(r["margin"]), stata_g(r["se"]), stata_fixed(r["z"], 2), stata_fixed(r["p"], 3)]
                + [stata_g(r["ci_low"]), stata_g(r["ci_high"])]
            )
        return out

    def _header(self) -> list[str]:
        level = int(round(100 * (1 - self.alpha)))
        return ["Class", "Margin", "Std. err.", "z", "P>|z|", f"[{level}% conf.", "interval]"]


def lcmean(res, alpha: float = 0.05) -> LCMean:
    """Class-wise sample-average predicted mean of the response, delta method.

    Notes
    -----
    ``M_k = (1/W) sum_i w_i mu_k(x_i; b_k, a_k)``, the average over the
    sample of class ``k``'s predicted mean (the membership probabilities do
    not enter). With the indices ``t_ie`` of class ``k`` (linear predictors
    and ancillaries), ``dM_k/db_ke = (1/W) sum_i w_i (dmu_ik/dt_ie) x_i``;
    ``Var(M) = G V G'`` with ``V = cov_params()``. The CI is
    ``M_k +- q se_k`` and ``z = M_k / se_k`` as printed by Stata's margins.
    """
    lik = res.lik
    _, comps = lik.unpack(res.theta)
    w = lik.w
    margin = np.empty(res.k)
    grad = np.zeros((res.k, lik.n_params))
    for k, (fam, X, th, sl) in enumerate(zip(lik.families, lik.designs, comps, lik.comp_slices)):
        m, g = mean_gradient(fam, X, th, w)
        margin[k] = m
        grad[k, sl] = g
    return lcmean_table(res, margin, grad, res._cov, alpha)


def lcmean_table(res, margin: np.ndarray, grad: np.ndarray, cov: np.ndarray, alpha: float) -> LCMean:
    """The ``estat lcmean`` table from the class means, their Jacobian and ``cov_params()``."""
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", grad, cov, grad), 0, None))
    q = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = margin / se
    frame = pd.DataFrame(
        {
            "margin": margin,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": margin - q * se,
            "ci_high": margin + q * se,
        },
        index=_class_index(res),
    )
    return LCMean(frame, grad, res.yname, res.nobs, alpha)


# ------------------------------------------------------------------- ic
@dataclass(repr=False)
class InfoCriteria(TextReport):
    """Information criteria of one fit (smaller is better, except entropy).

    Attributes are the criteria; ``frame`` is a one-row DataFrame and
    ``series`` the same numbers as a Series.
    """

    nobs: float
    k: int
    llf: float
    df: int
    aic: float
    bic: float
    caic: float
    sabic: float
    aicc: float
    entropy: float
    icl: float

    @property
    def series(self) -> pd.Series:
        return pd.Series(
            {
                "N": self.nobs,
                "K": self.k,
                "ll": self.llf,
                "df": self.df,
                "AIC": self.aic,
                "BIC": self.bic,
                "CAIC": self.caic,
                "SABIC": self.sabic,
                "AICc": self.aicc,
                "Entropy": self.entropy,
                "ICL": self.icl,
            },
            name="ic",
        )

    @property
    def frame(self) -> pd.DataFrame:
        return self.series.to_frame().T.reset_index(drop=True)

    def as_text(self) -> str:
        rule = "-" * 77
        mid = "-" * 13 + "+" + "-" * 63

        def g(v: float) -> str:
            return stata_g(v, width=10)

        lines = [
            "",
            "Akaike's information criterion and Bayesian information criterion",
            "",
            rule,
            f"{'Model':>12} |          N   ll(null)  ll(model)      df        AIC        BIC",
            mid,
            f"{'.':>12} | {thousands(self.nobs):>10} {'.':>10} {g(self.llf):>10} {self.df:>7} "
            f"{g(self.aic):>10} {g(self.bic):>10}",
            rule,
            "Note: BIC uses N = number of observations.",
            "",
            "Further criteria (smaller is better; entropy: larger is better)",
            "",
            rule,
            f"{'Model':>12} |       CAIC      SABIC       AICc        ICL    Entropy",
            mid,
            f"{'.':>12} | {g(self.caic):>10} {g(self.sabic):>10} {g(self.aicc):>10} {g(self.icl):>10} "
            f"{stata_fixed(self.entropy, 4) or '.':>10}",
            rule,
            "Entropy = 1 - sum_i sum_k (-tau_ik ln tau_ik) / (N ln K), tau = posterior probabilities.",
        ]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        s = self.series
        return markdown_table(list(s.index), [[_num(v) for v in s]])

    def to_latex(self) -> str:
        s = self.series
        return latex_tabular(list(s.index), [[_num(v) for v in s]])


def _num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "."
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    return f"{v:.4f}"


def classification_entropy(tau: np.ndarray, w: np.ndarray) -> float:
    """``sum_i w_i sum_k (-tau_ik ln tau_ik)`` with ``0 ln 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(tau > 0, -tau * np.log(tau), 0.0)
    return float(w @ t.sum(axis=1))


def info_criteria(res) -> InfoCriteria:
    """Information criteria of a fit.

    Notes
    -----
    With log likelihood ``l``, ``p`` estimated parameters and ``N``
    observations (``res.nobs``: the sum of frequency or importance weights,
    the rows after pweights, where ``l`` is a pseudolikelihood as in Stata):

    - ``AIC = -2l + 2p``, ``BIC = -2l + p ln N``,
    - ``CAIC = -2l + p (ln N + 1)``,
    - sample-size adjusted ``SABIC = -2l + p ln((N + 2) / 24)``,
    - ``AICc = AIC + 2p(p + 1) / (N - p - 1)``,
    - classification entropy ``EN = sum_i w_i sum_k -t_ik ln t_ik`` of the
      posteriors ``t``; normalised entropy ``E = 1 - EN / (N ln K)`` (1 is
      perfect separation, as Mplus and Stata's ``lcstats`` report; undefined
      for ``K = 1``), and ``ICL = BIC + 2 EN``.

    Grouped models (``group=``): ``N`` in the criteria is still the number of
    observations (rows), as Stata's ``estat ic`` after panel commands; the
    entropy is that of the groups' posteriors, ``EN = sum_g w_g sum_k -t_gk ln t_gk``,
    normalised by the number of groups.
    """
    tau = res.posterior_array
    w = res.lik.unit_weights  # a grouped model classifies groups: each counts once
    n = res.nobs
    p = res.df_model
    ll = res.llf
    en = classification_entropy(tau, w)
    n_units = n if getattr(res, "panel", None) is None else n_groups(res)
    return info_criteria_from(ll, p, n, res.k, en, n_units)


def info_criteria_from(ll: float, p: int, n: int, k: int, en: float, n_units: int) -> InfoCriteria:
    """The criteria from the log likelihood ``ll``, ``p`` parameters, ``n`` observations and the
    classification entropy ``en`` of ``n_units`` classified units (rows, or groups of a panel)."""
    bic = -2 * ll + p * np.log(n)
    aic = -2 * ll + 2 * p
    return InfoCriteria(
        nobs=n,
        k=k,
        llf=ll,
        df=p,
        aic=aic,
        bic=bic,
        caic=-2 * ll + p * (np.log(n) + 1),
        sabic=-2 * ll + p * np.log((n + 2) / 24),
        aicc=aic + 2 * p * (p + 1) / (n - p - 1) if n - p - 1 > 0 else np.inf,
        entropy=1.0 - en / (n_units * np.log(k)) if k > 1 else np.nan,
        icl=bic + 2 * en,
    )


# --------------------------------------------------------------- lrtest
@dataclass(repr=False)
class LRTest(TextReport):
    """Likelihood-ratio test of a restricted model nested in a full one."""

    chi2: float
    df: int
    pvalue: float
    llf_full: float
    llf_restricted: float
    same_k: bool

    def as_text(self) -> str:
        lines = [
            "Likelihood-ratio test",
            "Assumption: restricted nested within full",
            "",
            f" LR chi2({self.df}) = {self.chi2:>8.2f}",
            f"Prob > chi2 = {self.pvalue:>8.4f}",
        ]
        if not self.same_k:
            lines.append("Warning: the models have different numbers of classes; this test is invalid for K.")
        return "\n".join(lines)


def lrtest(res, other, force: bool = False) -> LRTest:
    """Likelihood-ratio test between two nested fits on the same sample.

    The model with more parameters is taken as the full model, as Stata's
    ``lrtest`` does. ``LR = 2 (l_full - l_restricted)`` is referred to a
    chi-squared distribution with the difference in parameter counts.

    Notes
    -----
    The reference distribution is valid only when the restriction is in the
    interior of the parameter space. Testing the number of classes (``K``
    against ``K + 1``) puts parameters on the boundary and leaves others
    unidentified, so the chi-squared reference is wrong there; a warning is
    issued when the two fits have different ``K``. Compare ``K`` with
    information criteria (:func:`fmmreg.select_k`) instead.

    After a robust or cluster VCE, or with pweights, the log likelihood is a
    pseudolikelihood and ``LR`` is not chi-squared: like Stata, the test is
    refused unless ``force=True``; use a Wald test on ``cov_params()``.
    """
    pseudo = [r for r in (res, other) if r.is_pseudolikelihood]
    if pseudo and not force:
        kinds = sorted({r.cov_type if r.cov_type in ("robust", "cluster") else "pweights" for r in pseudo})
        raise FMMError(
            f"LR test likely invalid for models with a {' / '.join(kinds)} variance (a pseudolikelihood): "
            "2 (l1 - l0) is not chi-squared there; use a Wald test on cov_params(), or pass force=True"
        )
    if abs(res.nobs - other.nobs) > 1e-9 * max(1.0, res.nobs) or len(res.lik.y) != len(other.lik.y):
        raise FMMError(
            f"the two fits use different samples ({res.nobs:g} and {other.nobs:g} observations); "
            "a likelihood-ratio test needs the same observations"
        )
    full, restr = (res, other) if res.df_model >= other.df_model else (other, res)
    df = full.df_model - restr.df_model
    if df == 0:
        raise FMMError("the two fits have the same number of parameters: they are not nested")
    same_k = full.k == restr.k
    if not same_k:
        warnings.warn(
            f"likelihood-ratio test of {full.k} against {restr.k} classes is invalid: under the null some "
            "parameters are on the boundary or unidentified, so LR is not chi-squared; compare K by "
            "information criteria (fmmreg.select_k) instead",
            UserWarning,
            stacklevel=3,
        )
    lr = 2.0 * (full.llf - restr.llf)
    if lr < -1e-6 * (1 + abs(full.llf)):
        warnings.warn(
            "the larger model has a lower log likelihood than the smaller one: the models are not nested "
            "or a fit stopped at a local maximum",
            UserWarning,
            stacklevel=3,
        )
    lr = max(lr, 0.0)
    return LRTest(lr, df, float(stats.chi2.sf(lr, df)), full.llf, restr.llf, same_k)

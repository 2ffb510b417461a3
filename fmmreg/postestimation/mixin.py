"""Postestimation methods of a fitted mixture, mixed into :class:`fmmreg.FMMResults`.

The mixin holds thin, documented entry points; the work is done in
:mod:`fmmreg.postestimation.estat` (``estat lcprob/lcmean/ic``, ``lrtest``),
:mod:`fmmreg.postestimation.predict` and :mod:`fmmreg.reporting.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.postestimation import estat
from fmmreg.postestimation import predict as _predict


class PostestimationMixin:
    """Stata's postestimation commands for :class:`~fmmreg.results.FMMResults`.

    Relies on the results' ``lik``, ``theta``, ``params``, ``bse``,
    ``_cov``, ``llf``, ``nobs``, ``df_model``, ``k`` and ``model``.
    """

    # ------------------------------------------------------------- estat
    def lcprob(self, alpha: float = 0.05) -> estat.LCProb:
        """Latent class marginal probabilities, like Stata's ``estat lcprob``.

        Parameters
        ----------
        alpha : float
            1 - confidence level of the intervals.

        Returns
        -------
        LCProb
            Prints Stata's table; ``.frame`` holds ``margin, se, ci_low,
            ci_high`` per class.

        Notes
        -----
        ``P_k = (1/W) sum_i w_i pi_ik``: the sample average of each
        observation's prior class probability. Delta-method SE with the
        membership block of the covariance; the CI is built on the logit
        scale, ``expit(logit(P_k) +- q se_k / (P_k(1 - P_k)))``; no z or P.
        """
        return estat.lcprob(self, alpha)

    def lcmean(self, alpha: float = 0.05) -> estat.LCMean:
        """Class-wise sample-average predicted mean, like Stata's ``estat lcmean``.

        Returns
        -------
        LCMean
            Prints Stata's table; ``.frame`` holds ``margin, se, z, p,
            ci_low, ci_high`` per class.

        Notes
        -----
        ``M_k = (1/W) sum_i w_i mu_ik``, the average over the whole sample of
        class ``k``'s predicted mean; delta-method SE from the class's
        component block of the covariance.
        """
        return estat.lcmean(self, alpha)

    def ic(self) -> estat.InfoCriteria:
        """Information criteria, laid out like Stata's ``estat ic``.

        Returns
        -------
        InfoCriteria
            ``llf, df, aic, bic, caic, sabic, aicc, entropy, icl``; all but
            entropy are smaller-is-better.

        Notes
        -----
        ``AIC = -2l + 2p``, ``BIC = -2l + p ln N``, ``CAIC = -2l + p(ln N + 1)``,
        ``SABIC = -2l + p ln((N+2)/24)``, ``AICc = AIC + 2p(p+1)/(N-p-1)``;
        normalised entropy ``E = 1 - sum_i sum_k (-t_ik ln t_ik) / (N ln K)``
        of the posteriors ``t`` (1 = perfect separation); ``ICL = BIC +
        2 sum_i sum_k (-t_ik ln t_ik)``. ``N`` is the sum of frequency weights.
        """
        return estat.info_criteria(self)

    def info_criteria(self) -> estat.InfoCriteria:
        """Alias of :meth:`ic`."""
        return self.ic()

    def lrtest(self, restricted) -> estat.LRTest:
        """Likelihood-ratio test against a nested fit with the same number of classes.

        Parameters
        ----------
        restricted : FMMResults
            The other fit, on the same sample; the one with fewer parameters
            is taken as the restricted model.

        Notes
        -----
        ``LR = 2(l_full - l_restricted) ~ chi2(p_full - p_restricted)`` under
        the null. A test of the number of classes is *invalid* (boundary,
        unidentified parameters): a warning is issued when ``K`` differs; use
        :func:`fmmreg.select_k` and information criteria for ``K``.
        """
        return estat.lrtest(self, restricted)

    # ------------------------------------------------------------ predict
    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "mu",
        marginal: bool = False,
        weighting: str = "prior",
        cls: int | None = None,
    ) -> pd.DataFrame | pd.Series:
        """Predictions, like Stata's ``predict`` after ``fmm``.

        Parameters
        ----------
        newdata : DataFrame, optional
            Data to predict for (default: the estimation sample). Encoded
            with the fitted formulas' stored specifications; a missing
            column or an unseen categorical level raises a ``ValueError``
            naming it. Rows with a missing needed value give NaN.
        kind : {"mu", "eta", "classpr", "classposteriorpr", "density", "scores", "survival", "hazard", "median"}
            ``mu``: class means; ``eta``: class linear predictors;
            ``classpr``: prior class probabilities (needs only the class
            formula's variables); ``classposteriorpr``: posterior class
            probabilities (needs the response); ``density``: class
            densities ``f_k(y|x)``; ``scores``: per-observation scores of
            the log likelihood, one column per parameter. Models with
            survival (``streg``) classes also have ``survival`` ``S(t|x)`` and
            ``hazard`` ``h(t|x)`` at each row's analysis time and ``median``,
            the median survival time (Stata's ``predict, surv``, ``hazard``,
            ``median time``); a cured point-mass class has ``S = 1``, ``h = 0``.
        marginal : bool
            For ``mu``, ``eta``, ``density``: average over classes,
            ``sum_k p_ik v_ik``, weighted by prior (default) or posterior
            class probabilities; the marginal density is the mixture
            density ``sum_k pi_ik f_ik``. For the survival kinds: the
            population's ``S = sum_k pi_k S_k``, hazard
            ``sum_k pi_k f_k / S`` and the median solving ``S(t) = 1/2``
            (see :mod:`fmmreg.postestimation.survival`).
        weighting : {"prior", "posterior"}
            Weights of ``marginal=True`` (Stata's ``marginal`` and
            ``pmarginal``).
        cls : int, optional
            Return one class's column as a Series.

        Returns
        -------
        DataFrame (columns: classes 1..K, or parameters for scores) or Series.
        """
        return _predict.predict(self, newdata, kind, marginal, weighting, cls)

    # ------------------------------------------------------------ exports
    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Tidy table, one row per parameter.

        Columns ``equation, class, term, coef, se, z, p, ci_low, ci_high``:
        ``equation`` is the equation of ``params`` (``"2.Class"`` for the
        membership logit of class 2, ``"1.y"`` for class 1's component),
        ``class`` the class it belongs to and ``term`` the coefficient name
        on the estimation scale (``Intercept``, ``lnsigma``, ...).
        """
        params, bse = self.params, self.bse
        q = stats.norm.ppf(1 - alpha / 2)
        eq = params.index.get_level_values("equation")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = params.to_numpy() / bse.to_numpy()
        frame = pd.DataFrame(
            {
                "equation": eq,
                "class": [int(e.split(".", 1)[0]) for e in eq],
                "term": params.index.get_level_values("term"),
                "coef": params.to_numpy(),
                "se": bse.to_numpy(),
                "z": z,
                "p": 2 * stats.norm.sf(np.abs(z)),
                "ci_low": params.to_numpy() - q * bse.to_numpy(),
                "ci_high": params.to_numpy() + q * bse.to_numpy(),
            }
        )
        return frame

    # -------------------------------------------------------------- plots
    def plot_posterior(self, bins: int = 20, modal: bool = False, fig=None):
        """Histograms of the posterior class probabilities, one panel per class.

        See :func:`fmmreg.reporting.plots.plot_posterior`. Returns the Figure.
        """
        from fmmreg.reporting.plots import plot_posterior

        return plot_posterior(self, bins=bins, modal=modal, fig=fig)

    def plot_class_means(self, x: str, data: pd.DataFrame, at: dict | None = None, ax=None, **kwargs):
        """Fitted class means against covariate ``x``, other covariates held fixed.

        See :func:`fmmreg.reporting.plots.plot_class_means`. Returns the Axes.
        """
        from fmmreg.reporting.plots import plot_class_means

        return plot_class_means(self, x, data, at=at, ax=ax, **kwargs)

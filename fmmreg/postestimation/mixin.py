"""Postestimation methods of a fitted mixture, mixed into :class:`fmmreg.FMMResults`.

The mixin holds thin, documented entry points; the work is done in
:mod:`fmmreg.postestimation.estat` (``estat lcprob/lcmean/ic``, ``lrtest``),
:mod:`fmmreg.postestimation.predict`, :mod:`fmmreg.postestimation.margins`,
:mod:`fmmreg.postestimation.hypothesis` (``test``, ``lincom``, ``nlcom``),
:mod:`fmmreg.postestimation.bootstrap` and :mod:`fmmreg.reporting.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.postestimation import bootstrap as _bootstrap
from fmmreg.postestimation import estat, hypothesis
from fmmreg.postestimation import margins as _margins
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
        2 sum_i sum_k (-t_ik ln t_ik)``. ``N`` is ``nobs``: the sum of
        frequency (or importance) weights, the number of rows with pweights.
        """
        return estat.info_criteria(self)

    def info_criteria(self) -> estat.InfoCriteria:
        """Alias of :meth:`ic`."""
        return self.ic()

    def lrtest(self, restricted, force: bool = False) -> estat.LRTest:
        """Likelihood-ratio test against a nested fit with the same number of classes.

        Parameters
        ----------
        restricted : FMMResults
            The other fit, on the same sample; the one with fewer parameters
            is taken as the restricted model.
        force : bool
            Test even after a robust/cluster VCE or pweights, which Stata
            (and fmmreg) refuse by default: the statistic is then not
            chi-squared.

        Notes
        -----
        ``LR = 2(l_full - l_restricted) ~ chi2(p_full - p_restricted)`` under
        the null. A test of the number of classes is *invalid* (boundary,
        unidentified parameters): a warning is issued when ``K`` differs; use
        :func:`fmmreg.select_k` and information criteria for ``K``.
        """
        return estat.lrtest(self, restricted, force)

    # ------------------------------------------------------------ predict
    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "mu",
        marginal: bool = False,
        weighting: str = "prior",
        cls: int | None = None,
        nooffset: bool = False,
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
            density ``sum_k pi_ik f_ik``. The marginal ``mu``/``eta`` needs
            every class to model the same variable (not a cure model, whose
            cured class models the failure indicator). For the survival kinds: the
            population's ``S = sum_k pi_k S_k``, hazard
            ``sum_k pi_k f_k / S`` and the median solving ``S(t) = 1/2``
            (see :mod:`fmmreg.postestimation.survival`).
        weighting : {"prior", "posterior"}
            Weights of ``marginal=True`` (Stata's ``marginal`` and
            ``pmarginal``).
        cls : int, optional
            Return one class's column as a Series.
        nooffset : bool
            Ignore the model's ``offset``/``exposure`` (Stata's ``nooffset``):
            means and linear predictions as if the offset were 0. Class
            posteriors, densities and scores always use the offset (they
            describe the observed outcome). By default the offset is
            included, read from ``newdata`` for new data.

        Returns
        -------
        DataFrame (columns: classes 1..K, or parameters for scores) or Series.

        Notes
        -----
        Grouped models (``group=``): the posterior (``classposteriorpr``,
        ``weighting="posterior"``) is the row's group's. On ``newdata`` the
        group variable's column says which: a fitted group keeps its fitted
        posterior, a new group gets the posterior from its own rows with a
        response (so rows without one, e.g. future waves, are predicted from
        the observed ones), or its prior without any. ``scores`` are each
        row's share of its group's score. See
        :mod:`fmmreg.postestimation.grouped`.
        """
        return _predict.predict(self, newdata, kind, marginal, weighting, cls, nooffset)

    # ------------------------------------------------------------ margins
    def margins(
        self,
        dydx: str | list[str] | None = None,
        at: dict | list[dict] | str | None = None,
        atmeans: bool = False,
        classes: int | str | list | None = None,
        kind: str = "mu",
        factors: str | list[str] = (),
        data: pd.DataFrame | None = None,
        alpha: float = 0.05,
    ) -> _margins.Margins:
        """Predictive margins and marginal effects, like Stata's ``margins``.

        Parameters
        ----------
        dydx : str or list of str, optional
            Variables to take effects of (``"*"``: every variable of the
            model; with ``kind="classpr"`` every variable of the class
            formula). Effects are with respect to *variables*: ``"age"``
            covers ``age`` and ``I(age**2)`` and every interaction with it.
            Without ``dydx``: predictive margins (average predictions).
        at : dict, list of dicts or "means", optional
            Fix variables: ``{"x": 1}``; a list of values gives one scenario
            per value (several variables: every combination), a list of
            dicts one scenario per dict, as Stata's ``at()``. A value may be
            a number, a factor level, or ``"mean"``, ``"median"``,
            ``"min"``, ``"max"``, ``"p25"``.
        atmeans : bool
            Evaluate at the means of the other variables (factors at their
            level proportions) instead of averaging over the sample
            (Stata ``atmeans``; ``at="means"`` is the same).
        classes : int, "marginal" or list, optional
            Which predictions: class means (``1..K``) and the marginal mean
            (``"marginal"``); default all classes plus the marginal mean
            (``kind="mu"``) or all class probabilities (``kind="classpr"``).
        kind : {"mu", "classpr"}
            ``mu``: ``E(y | class k)`` per class and the marginal
            ``sum_k pi_k(z) E(y | class k)``; ``classpr``: the class
            probabilities ``pi_k(z)``.
        factors : str or list of str
            Numeric variables (0/1 indicators) to treat as factors: their
            effect is the discrete change from the base (lowest) level, as
            for ``C(x)`` terms and categorical, string or boolean columns.
        data : DataFrame, optional
            Average over these rows instead of the estimation sample
            (unweighted; rows with a missing model variable are dropped).
        alpha : float
            1 - confidence level.

        Returns
        -------
        Margins
            Prints Stata's table (``dy/dx`` or ``Margin``,
            ``Delta-method std. err.``, z, P>|z|, CI); ``.frame``,
            ``.to_frame()``, ``.cov``, ``.to_markdown()``, ``.to_latex()``.

        Notes
        -----
        The effect on the marginal mean includes the effect through the
        class probabilities when the variable is in the class formula:
        ``d/dv sum_k pi_k mu_k = sum_k (pi_k dmu_k/dv + mu_k dpi_k/dv)``.
        Continuous effects are fourth-order central differences of the
        margin after re-encoding the data with the fitted formulas, factor
        effects are discrete changes; standard errors by the delta method
        with ``cov_params()`` and analytic parameter gradients (see
        :mod:`fmmreg.postestimation.margins`).
        """
        return _margins.margins(self, dydx, at, atmeans, classes, kind, factors, data, alpha)

    # ------------------------------------------------------------- tests
    def wald_test(self, hypotheses, cov=None) -> hypothesis.WaldTestResults:
        """Wald test of linear hypotheses, like Stata's ``test``.

        Parameters
        ----------
        hypotheses : str, list of str, or (R, q)
            ``"[1.y]x = [2.y]x"`` (Stata's bracket names: equation as in
            ``params``, term, ``_cons`` for the intercept); a list is one
            joint test; ``"[1.y = 2.y]: x z"`` tests equal coefficients
            across equations.
        cov : ndarray, optional
            Covariance to use instead of :meth:`cov_params`.

        Returns
        -------
        WaldTestResults
            ``statistic`` (chi2), ``df``, ``pvalue``; prints Stata's layout.

        Notes
        -----
        ``W = (Rb - q)'(R V R')^{-1}(Rb - q) ~ chi2(rank R)``.
        """
        return hypothesis.wald_test(self, hypotheses, cov)

    def lincom(self, expression, alpha: float = 0.05) -> hypothesis.LincomResults:
        """Linear combination of parameters with its standard error, like Stata's ``lincom``.

        ``res.lincom("[2.y]x - [1.y]x")``; ``se = sqrt(r' V r)``.
        """
        return hypothesis.lincom(self, expression, alpha)

    def nlcom(self, expression, alpha: float = 0.05) -> hypothesis.NlcomResults:
        """Nonlinear combinations of parameters, delta method, like Stata's ``nlcom``.

        ``res.nlcom("exp([2.Class]_cons) / (1 + exp([2.Class]_cons))")``; a
        list or a dict ``{name: expression}`` gives several with their joint
        covariance. ``Var = G V G'`` with a numerical Jacobian ``G``.
        """
        return hypothesis.nlcom(self, expression, alpha)

    # ---------------------------------------------------------- bootstrap
    def bootstrap(
        self,
        reps: int = 200,
        cluster=None,
        random_state: int | None = 0,
        progress: bool = False,
        alpha: float = 0.05,
    ) -> _bootstrap.BootstrapResults:
        """Nonparametric bootstrap standard errors and percentile intervals (Stata ``bootstrap``).

        Parameters
        ----------
        reps : int
            Replications.
        cluster : str or array-like, optional
            Resample whole clusters: a column of the fitted data or one label
            per row used.
        random_state : int, optional
            Seed; results are reproducible given it.
        progress : bool
            Show a progress bar (needs ``tqdm``).
        alpha : float
            1 - confidence level of the intervals.

        Returns
        -------
        BootstrapResults
            ``bse``, ``cov_params()``, ``conf_int()`` (percentile, or
            ``kind="normal"``), the ``replicates`` and a Stata-style table.

        Notes
        -----
        Each replicate draws observations (clusters) with replacement,
        is refitted by :meth:`FMM.fit` started at these estimates, and its
        classes are matched to the original ones by the posterior
        probabilities on the original sample (label switching); replicates
        that fail or do not converge are left out and counted.
        """
        return _bootstrap.bootstrap(self, reps, cluster, random_state, progress, alpha)

    # ------------------------------------------------------------ exports
    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Tidy table, one row per parameter.

        Columns ``equation, class, term, variable, level, coef, se, z, p,
        ci_low, ci_high``: ``equation`` is the equation of ``params``
        (``"2.Class"`` for the membership logit of class 2, ``"1.y"`` for
        class 1's component), ``class`` the class it belongs to and ``term``
        the full coefficient name on the estimation scale (``Intercept``,
        ``health[T.poor]``, ``lnsigma``, ...). ``variable`` and ``level`` say
        what the term is, as the Stata-style table shows it: ``health`` and
        ``poor`` for a factor level, ``income`` and ``None`` for a plain
        covariate, ``_cons`` for the intercept.
        """
        params, bse = self.params, self.bse
        q = stats.norm.ppf(1 - alpha / 2)
        eq = params.index.get_level_values("equation")
        terms = params.index.get_level_values("term")
        labels = [self.term_label(t) for t in terms]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.tvalues.to_numpy()  # NaN for a parameter the constraints fix
        frame = pd.DataFrame(
            {
                "equation": eq,
                "class": [int(e.split(".", 1)[0]) for e in eq],
                "term": terms,
                "variable": [lab.variable for lab in labels],
                "level": [lab.level for lab in labels],
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

    def plot_trajectories(
        self, time: str, data: pd.DataFrame | None = None, at: dict | None = None, weighting: str = "modal", ax=None
    ):
        """Group-based trajectory plot: each class's fitted mean over ``time`` with its groups' observed means.

        See :func:`fmmreg.reporting.trajectories.plot_trajectories`. Returns the Axes.
        """
        from fmmreg.reporting.trajectories import plot_trajectories

        return plot_trajectories(self, time, data=data, at=at, weighting=weighting, ax=ax)

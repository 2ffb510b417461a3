"""A degenerate class at one value (Stata ``pointmass``): no parameters."""

from __future__ import annotations

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily


class PointMass(ComponentFamily):
    """All probability at one value of the response.

    Parameters
    ----------
    value : float, default 0.0
        The point (Stata ``pointmass y, value(#)``; its default is 0 too).
    response : str, optional
        A data column to put the point mass on instead of the formula's
        response: Stata's ``(pointmass depvar)`` with its own ``depvar``. In a
        cure model the class of "never fails" is
        ``PointMass(0, response="died")`` next to
        ``Streg(..., failure="died")``: its density is 1 for censored rows
        (``died == 0``) and 0 for failures.

    Notes
    -----
    ``f(y) = 1{y = value}``, so ``log f`` is 0 at the value and ``-inf``
    elsewhere; equality is exact (compare integers or values read exactly).
    The class has no parameters (``n_linear = 0``, no ancillary
    parameter): only its share in the membership model is estimated. The
    right-hand side of its formula is ignored; write ``"y ~ 1"``.

    With a count family this gives zero-inflated models
    (``family=["pointmass", "poisson"]``: ``P(y=0) = pi_1 + pi_2 e^{-mu}``);
    with a family that puts no mass at the value (``truncreg(lower=0)``,
    zero-truncated counts) it gives hurdle models. Its density is a
    probability mass, which the likelihood mixes with the other classes'
    densities as Stata does.

    Cure models (Stata's FMM Example 4): with a survival class, a point mass
    at ``failure == 0`` is the cured (long-term survivor) class,
    ``P(censored at t) = pi_1 + pi_2 S(t)`` and ``f(failure at t) = pi_2 f(t)``;
    with delayed entry the cured class needs no truncation term (it survives
    to any entry time with probability 1).

    A value that never occurs in the response would leave the class empty
    (its share goes to 0 at the boundary of the parameter space): this is a
    ``ValueError`` naming the variable, not a silent degenerate fit.
    """

    name = "pointmass"
    stata_model = "pointmass"
    ancillary_names = ()
    n_linear = 0

    def __init__(self, value: float = 0.0, response: str | None = None):
        value = float(value)
        if not np.isfinite(value):
            raise FMMError(f"pointmass value must be finite, got {value!r}")
        if response is not None and not isinstance(response, str):
            raise FMMError(f"pointmass response= must be a column name of the data, got {response!r}")
        self.value = value
        self.response = response

    def __repr__(self) -> str:
        on = "" if self.response is None else f" response={self.response!r}"
        return f"<fmmreg family 'pointmass' value={self.value:g}{on}>"

    def data_columns(self) -> dict[str, str]:
        return {} if self.response is None else {"response": self.response}

    def class_response(self, y, columns):
        return y if self.response is None else np.asarray(columns["response"], dtype=float)

    def modelled_response(self, yname: str) -> str:
        return self.response or yname

    @property
    def fixed_coefficients(self) -> dict[str, float]:
        # Stata shows the point mass as the class's constant
        return {"_cons": self.value}

    def support(self, y):
        y = np.asarray(y, dtype=float)
        return y == self.value if y.ndim == 1 else None

    def check_endog(self, y, yname):
        yname = self.response or yname
        y = super().check_endog(y, yname)
        if y.ndim != 1:
            raise FMMError(f"family 'pointmass' needs a single response column, {yname!r} has {y.shape[1]}")
        if not np.any(y == self.value):
            raise FMMError(
                f"no observation of {yname!r} equals {self.value:g}, the value of family 'pointmass'; "
                "the class would be empty: choose a value that occurs (PointMass(value=...))"
            )
        return y

    def index_derivatives(self, y, eta, anc, order=2):
        y = np.asarray(y, dtype=float)
        n = len(y)
        logf = np.where(y == self.value, 0.0, -np.inf)
        d1 = np.zeros((n, 0)) if order >= 1 else None
        d2 = np.zeros((n, 0, 0)) if order >= 2 else None
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return np.full(eta.shape[0], self.value)

    def rvs(self, eta, anc, rng, y=None):
        return np.full(eta.shape[0], self.value)

    def response_parts(self, y):
        # on its own column the class carries that column only (the formula's response is another class's)
        return (y, {}) if self.response is None else (None, {"response": np.asarray(y, dtype=float)})

    def initial_params(self, y, X, c):
        return np.zeros(0)

    def fit_weighted(self, y, X, c, start=None, tol=1e-12, maxiter=200):
        return np.zeros(0)

    def mstep(self, y, X, c, params):
        return np.zeros(0)

    def mstep_statsmodels(self, y, X, c, params):
        return np.zeros(0)

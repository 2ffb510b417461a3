"""Multinomial logit for a nominal response (Stata ``mlogit``)."""

from __future__ import annotations

import numpy as np

from fmmreg.estimation.linalg import logsumexp_rows
from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily, draw_categories
from fmmreg.families.ordinal import category_levels, level_label


class MultinomialLogit(ComponentFamily):
    """Multinomial logit on the class design, one equation per non-base outcome.

    Parameters
    ----------
    base : float, optional
        Value of the base outcome (Stata ``baseoutcome(#)``). By default the
        most frequent outcome, as in Stata (the smallest value on ties); note
        that statsmodels' ``MNLogit`` uses the smallest value instead.
    levels : sequence of float, optional
        The outcome values; by default the distinct values of the response.

    Notes
    -----
    With outcomes ``1..J``, base ``r`` and ``eta_j = x'b_j`` (``eta_r = 0``)::

        P(y = j) = exp(eta_j) / sum_m exp(eta_m),
        d log P(y)/d eta_j = 1{y = j} - P_j,
        d2 log P(y)/d eta_j d eta_m = -P_j (1{j = m} - P_m),

    so ``n_linear = J - 1``; parameters are named ``"<outcome>:<term>"``.
    A response with fewer than two distinct values is a ``ValueError``.
    The fitted mean is ``sum_j v_j P_j`` with ``v_j`` the outcome values (a
    convention, used for ordering classes and start values only).
    """

    name = "mlogit"
    stata_model = "mlogit"
    ancillary_names = ()

    def __init__(self, base: float | None = None, levels=None):
        self.base = None if base is None else float(base)
        self._fixed_levels = None if levels is None else np.unique(np.asarray(levels, dtype=float))
        self.levels: np.ndarray | None = None
        self.base_index: int | None = None
        if self._fixed_levels is not None:
            self._set_levels(self._fixed_levels, None)

    def __repr__(self) -> str:
        return f"<fmmreg family 'mlogit' base={self.base!r}>"

    def _set_levels(self, levels: np.ndarray, counts: np.ndarray | None) -> None:
        if self.base is not None:
            hit = np.flatnonzero(levels == self.base)
            if hit.size == 0:
                raise FMMError(
                    f"base outcome {self.base:g} of family 'mlogit' is not among the outcomes {levels.tolist()}"
                )
            base_index = int(hit[0])
        elif counts is not None:
            base_index = int(np.argmax(counts))
        else:
            base_index = 0
        self.levels = levels
        self.base_index = base_index

    @property
    def n_linear(self) -> int:  # type: ignore[override]
        return 0 if self.levels is None else len(self.levels) - 1

    @property
    def others(self) -> np.ndarray:
        """Positions (in ``levels``) of the non-base outcomes, in equation order."""
        return np.array([j for j in range(len(self.levels)) if j != self.base_index], dtype=int)

    def linear_labels(self) -> list[str]:
        return [level_label(self.levels[j]) for j in self.others]

    def display_equations(self) -> list[tuple[str | None, int | None]]:
        """One equation per outcome in value order, the base outcome in its place (as Stata's ``mlogit``)."""
        if self.levels is None:
            return []
        position = {int(j): e for e, j in enumerate(self.others)}
        return [(level_label(v), position.get(j)) for j, v in enumerate(self.levels)]

    def _codes(self, y: np.ndarray) -> np.ndarray:
        if self.levels is None:
            raise ValueError("family 'mlogit' does not know the outcomes yet: call check_endog(y) first")
        y = np.asarray(y, dtype=float)
        codes = np.minimum(np.searchsorted(self.levels, y), len(self.levels) - 1)
        if not np.array_equal(self.levels[codes], y):
            raise FMMError(f"response values outside the outcomes {self.levels.tolist()} of family 'mlogit'")
        return codes

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        if y.ndim != 1:
            raise FMMError(f"family 'mlogit' needs a single response column, {yname!r} has {y.shape[1]}")
        lv = category_levels(y, yname, self.name, self._fixed_levels)
        counts = np.array([np.sum(y == v) for v in lv])
        try:
            self._set_levels(lv, counts)
        except ValueError as exc:
            raise FMMError(f"response {yname!r}: {exc}") from None
        return y

    # ----------------------------------------------------------------- density
    def _full_eta(self, eta: np.ndarray) -> np.ndarray:
        full = np.zeros((eta.shape[0], len(self.levels)))
        full[:, self.others] = eta
        return full

    def index_derivatives(self, y, eta, anc, order=2):
        codes = self._codes(y)
        full = self._full_eta(eta)
        lse = logsumexp_rows(full)
        n = len(codes)
        logf = full[np.arange(n), codes] - lse
        if order == 0:
            return logf, None, None
        p = np.exp(full[:, self.others] - lse[:, None])
        d1 = (codes[:, None] == self.others[None, :]).astype(float) - p
        if order == 1:
            return logf, d1, None
        d2 = p[:, :, None] * p[:, None, :]
        idx = np.arange(p.shape[1])
        d2[:, idx, idx] -= p
        return logf, d1, d2

    def probabilities(self, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """Outcome probabilities, shape (n, J), columns in the order of ``levels``."""
        full = self._full_eta(eta)
        return np.exp(full - logsumexp_rows(full)[:, None])

    def rvs(self, eta, anc, rng, y=None):
        return self.levels[draw_categories(rng, self.probabilities(eta, anc))]

    def mean_from_index(self, eta, anc):
        return self.probabilities(eta, anc) @ self.levels

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Zero slopes; log odds of the weighted shares on an all-ones column if there is one."""
        codes = self._codes(y)
        p = X.shape[1]
        betas = np.zeros((len(self.others), p))
        const = [j for j in range(p) if np.all(X[:, j] == 1.0)]
        if const:
            share = np.bincount(codes, weights=c, minlength=len(self.levels)) + 0.5
            betas[:, const[0]] = np.log(share[self.others] / share[self.base_index])
        return betas.ravel()

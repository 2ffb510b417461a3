"""Linear regression with an endogenous regressor (Stata ``fmm: ivregress``), by maximum likelihood.

``fmm(2, "y ~ x1 + x2", data=df, family=IVRegress("x2 ~ z1 + z2"))`` is
Stata's ``fmm 2: ivregress y x1 (x2 = z1 z2)``: the class formula is the
structural equation (with the endogenous regressor ``x2`` on its right-hand
side) and the family's formula names the endogenous regressor and its
excluded instruments. The first stage regresses ``x2`` on the structural
equation's exogenous regressors and the instruments, as in Stata.
"""

from __future__ import annotations

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily

_LOG_2PI = float(np.log(2.0 * np.pi))


def _terms(rhs: str) -> list[str]:
    return [t.strip() for t in rhs.split("+") if t.strip() and t.strip() not in ("1", "0")]


def covariance_derivatives(anc: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[list[np.ndarray]]]:
    """``Sigma`` of ``(u, v)`` and its first and second derivatives in ``(ln s1, ln s2, atanh rho)``."""
    a1, a2, a3 = (float(a) for a in anc)
    s1, s2, r = np.exp(a1), np.exp(a2), np.tanh(a3)
    dr = 1.0 / np.cosh(a3) ** 2  # d tanh / d a3 = 1 - rho^2, without cancellation
    c = r * s1 * s2

    def sym(d11: float, d12: float, d22: float) -> np.ndarray:
        return np.array([[d11, d12], [d12, d22]])

    sigma = sym(s1 * s1, c, s2 * s2)
    d1 = [sym(2 * s1 * s1, c, 0.0), sym(0.0, c, 2 * s2 * s2), sym(0.0, dr * s1 * s2, 0.0)]
    cross = sym(0.0, c, 0.0)
    rho_part = sym(0.0, dr * s1 * s2, 0.0)
    d2 = [
        [sym(4 * s1 * s1, c, 0.0), cross, rho_part],
        [cross, sym(0.0, c, 4 * s2 * s2), rho_part],
        [rho_part, rho_part, sym(0.0, -2.0 * r * dr * s1 * s2, 0.0)],
    ]
    return sigma, d1, d2


class IVRegress(ComponentFamily):
    """Structural and first-stage equations with correlated normal errors, fitted by ML.

    Parameters
    ----------
    first_stage : str
        ``"x2 ~ z1 + z2"``: the endogenous regressor (a data column that is
        also on the right-hand side of the class formula) and its excluded
        instruments (formula terms), Stata's ``(x2 = z1 z2)``. One
        endogenous regressor per class.

    Notes
    -----
    Per class::

        y  = X b + u                      (structural: the class formula, X contains x2)
        x2 = W g + v                      (first stage: W = exogenous columns of X + instruments)
        (u, v) ~ N(0, Sigma),  Sigma = [[s1^2, rho s1 s2], [rho s1 s2, s2^2]]

    ``log f(y, x2) = -log(2 pi) - log|Sigma|/2 - e' Sigma^-1 e / 2`` with
    ``e = (y - X b, x2 - W g)``: the full-information likelihood of Stata's
    ``fmm: ivregress`` (not 2SLS). The ancillary parameters are
    ``lnsigma = ln s1``, ``lnsigma_<x2> = ln s2`` and ``athrho = atanh rho``,
    shown as ``var(e.y)``, ``var(e.x2)`` and ``corr(e.y,e.x2)``. With
    ``Omega = Sigma^-1`` and ``Sigma_t`` the derivatives of ``Sigma`` in the
    ancillaries, the index derivatives are ``Omega e`` (means),
    ``-tr(Omega Sigma_t)/2 + e' Omega Sigma_t Omega e / 2`` (ancillaries),
    ``-Omega``, ``-Omega Sigma_t Omega e`` and
    ``-tr(Omega Sigma_tu)/2 + tr(Omega Sigma_u Omega Sigma_t)/2 + e' Omega Sigma_tu Omega e / 2
    - e' Omega Sigma_u Omega Sigma_t Omega e``.

    The class design holds the columns of both equations (the instruments
    are added to the class formula, :meth:`extend_formula`); the structural
    coefficients are those of the class formula's columns, the first-stage
    ones are named ``<x2>:<column>``. The fitted mean is the structural
    ``X b``.
    """

    name = "ivregress"
    stata_model = "ivregress"
    n_linear = 2

    def __init__(self, first_stage: str):
        if not isinstance(first_stage, str) or "~" not in first_stage:
            raise FMMError(
                f"IVRegress needs the first stage as 'endog ~ instruments', e.g. IVRegress('x2 ~ z1 + z2'), "
                f"got {first_stage!r}"
            )
        lhs, rhs = (part.strip() for part in first_stage.split("~", 1))
        if not lhs or "+" in lhs:
            raise FMMError(f"IVRegress takes one endogenous regressor (a data column) left of '~', got {lhs!r}")
        instruments = _terms(rhs)
        if not instruments:
            raise FMMError(f"IVRegress({first_stage!r}) names no excluded instrument; the model is not identified")
        self.endog = lhs
        self.instruments = instruments
        self.ancillary_names = ("lnsigma", f"lnsigma_{lhs}", "athrho")
        self._xnames: list[str] | None = None

    def __repr__(self) -> str:
        return f"<fmmreg family 'ivregress' {self.endog} ~ {' + '.join(self.instruments)}>"

    # ------------------------------------------------------------ design
    def extend_formula(self, formula):
        if not isinstance(formula, str) or "~" not in formula:
            return formula
        return f"{formula} + {' + '.join(self.instruments)}"

    def _is_instrument(self, name: str) -> bool:
        # formulaic names a numeric term by itself and a categorical one "term[level]"
        return any(name == t or name.startswith(f"{t}[") for t in self.instruments)

    def bind_design(self, xnames):
        names = list(xnames)
        if self._xnames is not None and self._xnames != names:
            raise FMMError("one IVRegress instance serves classes with different formulas: give each class its own")
        struct = [j for j, n in enumerate(names) if not self._is_instrument(n)]
        first = [j for j, n in enumerate(names) if n != self.endog]
        if self.endog not in names:
            raise FMMError(
                f"the endogenous regressor {self.endog!r} of IVRegress must be on the right-hand side of the class "
                f"formula (Stata's ivregress y x1 ({self.endog} = ...)); the class design has {names}"
            )
        instr = [n for n in names if self._is_instrument(n)]
        if any(n in instr for n in (names[j] for j in struct)) or len(instr) == 0:
            raise FMMError(f"the instruments {self.instruments} of IVRegress add no column to the class design")
        self._xnames, self._struct, self._first = names, struct, first

    @property
    def accepts_offset(self) -> bool:
        """The offset enters the structural equation (the first linear index)."""
        return True

    def linear_labels(self) -> list[str]:
        return ["structural", self.endog]

    def display_equations(self):
        return [(None, 0), (self.endog, 1)]

    def equation_header(self, label, yname):
        return yname if label is None else label

    def equation_terms(self, j, xnames):
        struct, first = self._bound()
        names = list(xnames)
        if j == 0:
            return list(range(len(struct))), [names[i] for i in struct]
        return list(range(len(struct), len(struct) + len(first))), [names[i] for i in first]

    def rvs(self, eta, anc, rng, y=None):
        raise NotImplementedError(
            f"family 'ivregress' has no random draw (rvs): its endogenous regressor {self.endog!r} is a column of "
            "the class design, which a parametric bootstrap (fmmreg.blrt) keeps fixed; use the nonparametric "
            "res.bootstrap() instead"
        )

    def _bound(self) -> tuple[list[int], list[int]]:
        if self._xnames is None:
            raise FMMError("IVRegress does not know its design columns yet: build the model with FMM/fmm")
        return self._struct, self._first

    def n_params(self, p):
        struct, first = self._bound()
        return len(struct) + len(first) + 3

    def param_names(self, xnames):
        struct, first = self._bound()
        names = list(xnames)
        return [names[j] for j in struct] + [f"{self.endog}:{names[j]}" for j in first] + list(self.ancillary_names)

    def designs(self, X):
        struct, first = self._bound()
        return [X[:, struct], X[:, first], None, None, None]

    def split(self, params, p):
        """``(B, anc)`` with ``B`` (p, 2): each equation's coefficients on the full class design (zeros elsewhere)."""
        struct, first = self._bound()
        params = np.asarray(params, dtype=float)
        betas = np.zeros((p, 2))
        betas[struct, 0] = params[: len(struct)]
        betas[first, 1] = params[len(struct) : len(struct) + len(first)]
        return betas, params[len(struct) + len(first) :]

    # -------------------------------------------------------------- data
    def data_columns(self):
        return {"endog": self.endog}

    def class_response(self, y, columns):
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise FMMError("family 'ivregress' needs a single response column")
        return np.column_stack([y, columns["endog"]])

    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or y.shape[1] != 2:
            raise FMMError(f"family 'ivregress' reads ({yname}, {self.endog}); build the model with FMM/fmm")
        if not np.all(np.isfinite(y)):
            raise FMMError(f"response {yname!r} or endogenous regressor {self.endog!r} has non-finite values")
        return y

    # ------------------------------------------------------------ density
    def index_derivatives(self, y, eta, anc, order=2):
        y = np.asarray(y, dtype=float)
        e = np.column_stack([y[:, 0] - eta[:, 0], y[:, 1] - eta[:, 1]])
        sigma, ds, d2s = covariance_derivatives(anc)
        a1, a2, a3 = (float(a) for a in anc)
        # |Sigma| = s1^2 s2^2 (1 - rho^2) = exp(2 a1 + 2 a2) / cosh(a3)^2, without cancellation near |rho| = 1
        with np.errstate(over="ignore"):
            det = float(np.exp(2.0 * a1 + 2.0 * a2) / np.cosh(a3) ** 2)
        if not (np.isfinite(det) and det > 0.0 and np.all(np.isfinite(sigma))):
            # |rho| -> 1 or a scale at 0/inf (a line search overshooting): no density, so the step is halved
            n = len(e)
            m = 2 + self.n_ancillary
            return (
                np.full(n, -np.inf),
                None if order < 1 else np.zeros((n, m)),
                None if order < 2 else np.zeros((n, m, m)),
            )
        omega = np.array([[sigma[1, 1], -sigma[0, 1]], [-sigma[0, 1], sigma[0, 0]]]) / det
        logdet = 2.0 * a1 + 2.0 * a2 - 2.0 * float(np.log(np.cosh(a3)))
        oe = e @ omega
        logf = -_LOG_2PI - 0.5 * logdet - 0.5 * np.sum(e * oe, axis=1)
        if order == 0:
            return logf, None, None
        n = len(e)
        d1 = np.empty((n, 5))
        d1[:, :2] = oe
        for t in range(3):
            d1[:, 2 + t] = -0.5 * np.trace(omega @ ds[t]) + 0.5 * np.sum((oe @ ds[t]) * oe, axis=1)
        if order == 1:
            return logf, d1, None
        d2 = np.empty((n, 5, 5))
        d2[:, :2, :2] = -omega
        for t in range(3):
            cross = -(oe @ ds[t] @ omega)  # -Omega Sigma_t Omega e
            d2[:, :2, 2 + t] = cross
            d2[:, 2 + t, :2] = cross
            for u in range(t, 3):
                m = ds[u] @ omega @ ds[t]
                val = (
                    -0.5 * np.trace(omega @ d2s[t][u])
                    + 0.5 * np.trace(omega @ ds[u] @ omega @ ds[t])
                    + 0.5 * np.sum((oe @ d2s[t][u]) * oe, axis=1)
                    - np.sum((oe @ m) * oe, axis=1)
                )
                d2[:, 2 + t, 2 + u] = val
                d2[:, 2 + u, 2 + t] = val
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return eta[:, 0].copy()

    def ancillary_display(self, term, yname):
        if term == "athrho":
            return (f"corr(e.{yname},e.{self.endog})", np.tanh, lambda a: 1.0 - np.tanh(a) ** 2)
        label = yname if term == "lnsigma" else self.endog
        return (f"var(e.{label})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ------------------------------------------------------------- starts
    def initial_params(self, y, X, c):
        """Weighted 2SLS for the structural equation, least squares for the first stage, residual moments."""
        struct, first = self._bound()
        y = np.asarray(y, dtype=float)
        Xs, W = X[:, struct], X[:, first]
        wt = np.sqrt(np.maximum(c, 0.0))
        g = np.linalg.lstsq(W * wt[:, None], y[:, 1] * wt, rcond=None)[0]
        proj = X.copy()
        proj[:, self._xnames.index(self.endog)] = W @ g  # fitted endogenous regressor
        y0 = y[:, 0] - self._offset_or_zero()  # the structural equation's offset
        b = np.linalg.lstsq(proj[:, struct] * wt[:, None], y0 * wt, rcond=None)[0]
        u, v = y0 - Xs @ b, y[:, 1] - W @ g
        cs = max(float(c.sum()), 1e-300)
        s1 = np.sqrt(max(float(c @ (u * u)) / cs, 1e-12))
        s2 = np.sqrt(max(float(c @ (v * v)) / cs, 1e-12))
        rho = float(np.clip(float(c @ (u * v)) / cs / (s1 * s2), -0.95, 0.95))
        return np.concatenate([b, g, [np.log(s1), np.log(s2), np.arctanh(rho)]])

"""Class-membership model: multinomial logit with base class 1.

``pi_ik = exp(z_i'g_k) / sum_j exp(z_i'g_j)`` with ``g_1 = 0``. Parameters are
held as a (q, K-1) array ``gamma``; column ``j`` belongs to class ``j + 2``.
The M-step fits this logit to *fractional* responses (the posterior
probabilities), which statsmodels' ``MNLogit`` cannot take, so the Newton
solver is our own.
"""

from __future__ import annotations

import numpy as np

from fmmreg.linalg import logsumexp_rows, solve_negdef


class Membership:
    """Multinomial-logit class membership on a design ``Z``.

    Parameters
    ----------
    Z : ndarray, shape (n, q)
        Class-membership design (its first column is usually the constant).
    k : int
        Number of classes.

    Notes
    -----
    Weighted soft-label objective ``Q(g) = sum_i w_i sum_k t_ik log pi_ik``.
    Gradient for class ``j >= 2``: ``sum_i w_i (t_ij - pi_ij) z_i``; Hessian
    block ``(j, l)``: ``-sum_i w_i pi_ij (1{j=l} - pi_il) z_i z_i'``. With a
    constant-only design the maximiser is closed form,
    ``g_k = log(sum w t_k / sum w t_1)``.
    """

    def __init__(self, Z: np.ndarray, k: int):
        self.Z = np.ascontiguousarray(Z, dtype=float)
        self.k = int(k)
        self.q = self.Z.shape[1]
        self.constant_only = self.q == 1 and bool(np.all(self.Z == 1.0))

    @property
    def n_params(self) -> int:
        return self.q * (self.k - 1)

    def unpack(self, theta: np.ndarray) -> np.ndarray:
        """Flat parameter vector (class 2 first) to a (q, K-1) array."""
        return np.asarray(theta, dtype=float).reshape(self.k - 1, self.q).T

    @staticmethod
    def pack(gamma: np.ndarray) -> np.ndarray:
        return np.asarray(gamma, dtype=float).T.ravel()

    def log_prior(self, gamma: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """Log class probabilities, shape (n, K)."""
        Z = self.Z if Z is None else Z
        eta = np.zeros((Z.shape[0], self.k))
        if self.k > 1:
            eta[:, 1:] = Z @ gamma
        return eta - logsumexp_rows(eta)[:, None]

    def objective(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> float:
        return float(w @ (tau * self.log_prior(gamma)).sum(axis=1))

    def _grad_hess(self, tau, w, gamma):
        pi = np.exp(self.log_prior(gamma))
        Z = self.Z
        km1 = self.k - 1
        grad = np.concatenate([Z.T @ (w * (tau[:, j] - pi[:, j])) for j in range(1, self.k)])
        hess = np.empty((km1 * self.q, km1 * self.q))
        for a in range(km1):
            for b in range(a, km1):
                c = w * pi[:, a + 1] * ((a == b) - pi[:, b + 1])
                blk = -((Z.T * c) @ Z)
                hess[a * self.q : (a + 1) * self.q, b * self.q : (b + 1) * self.q] = blk
                hess[b * self.q : (b + 1) * self.q, a * self.q : (a + 1) * self.q] = blk.T
        return grad, hess

    def closed_form(self, tau: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Exact maximiser for constant shares."""
        s = np.maximum(w @ tau, 1e-300)
        return np.log(s[1:] / s[0])[None, :]

    def mstep(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray, n_steps: int = 1) -> np.ndarray:
        """Warm-started M-step that never decreases ``Q``."""
        if self.k == 1:
            return gamma
        if self.constant_only:
            return self.closed_form(tau, w)
        q_old = self.objective(tau, w, gamma)
        for _ in range(n_steps):
            grad, hess = self._grad_hess(tau, w, gamma)
            step, _ = solve_negdef(hess, grad)
            step = self.unpack(step)
            t = 1.0
            for _ in range(40):
                cand = gamma + t * step
                q_new = self.objective(tau, w, cand)
                if np.isfinite(q_new) and q_new >= q_old - 1e-12 * abs(q_old):
                    gamma, q_old = cand, q_new
                    break
                t *= 0.5
            else:
                break
        return gamma

    def fit(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray | None = None, tol: float = 1e-12) -> np.ndarray:
        """Soft-label multinomial logit fitted to convergence."""
        if gamma is None:
            gamma = np.zeros((self.q, self.k - 1))
        if self.k == 1 or self.constant_only:
            return self.mstep(tau, w, gamma)
        for _ in range(100):
            grad, hess = self._grad_hess(tau, w, gamma)
            step, _ = solve_negdef(hess, grad)
            if abs(grad @ step) < tol * (1.0 + abs(self.objective(tau, w, gamma))):
                break
            gamma = self.mstep(tau, w, gamma)
        return gamma

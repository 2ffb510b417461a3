"""Class-membership model: multinomial logit with a base class (class 1 by default).

``pi_ik = exp(z_i'g_k) / sum_j exp(z_i'g_j)`` with ``g_b = 0`` for the base
class ``b`` (Stata's ``lcbase()``). Parameters are held as a (q, K-1) array
``gamma``; column ``j`` belongs to class ``others[j]`` (0-based), the classes
other than the base in their order (class ``j + 2`` for base class 1).
The M-step fits this logit to *fractional* responses (the posterior
probabilities), which statsmodels' ``MNLogit`` cannot take, so the Newton
solver is our own.
"""

from __future__ import annotations

import numpy as np

from fmmreg.estimation.linalg import logsumexp_rows, matmul_columns, solve_negdef, weighted_cross


class Membership:
    """Multinomial-logit class membership on a design ``Z``.

    Parameters
    ----------
    Z : ndarray, shape (n, q)
        Class-membership design (its first column is usually the constant).
    k : int
        Number of classes.
    base : int
        The base class (0-based) whose coefficients are 0.

    Notes
    -----
    Weighted soft-label objective ``Q(g) = sum_i w_i sum_k t_ik log pi_ik``.
    Gradient for a class ``j`` other than the base: ``sum_i w_i (t_ij - pi_ij) z_i``;
    Hessian block ``(j, l)``: ``-sum_i w_i pi_ij (1{j=l} - pi_il) z_i z_i'``.
    With a constant-only design the maximiser is closed form,
    ``g_k = log(sum w t_k / sum w t_b)``.
    """

    def __init__(self, Z: np.ndarray, k: int, base: int = 0):
        self.Z = np.ascontiguousarray(Z, dtype=float)
        self.k = int(k)
        self.base = int(base)
        #: the classes (0-based) of the columns of ``gamma``: every class but the base
        self.others = [j for j in range(self.k) if j != self.base]
        self.q = self.Z.shape[1]
        self.constant_only = self.q == 1 and bool(np.all(self.Z == 1.0))

    @property
    def n_params(self) -> int:
        return self.q * (self.k - 1)

    def unpack(self, theta: np.ndarray) -> np.ndarray:
        """Flat parameter vector (one block per class of ``others``) to a (q, K-1) array."""
        # contiguous: numpy's matmul with a strided right operand skips BLAS (20x slower)
        return np.ascontiguousarray(np.asarray(theta, dtype=float).reshape(self.k - 1, self.q).T)

    @staticmethod
    def pack(gamma: np.ndarray) -> np.ndarray:
        return np.asarray(gamma, dtype=float).T.ravel()

    def linear(self, gamma: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """Logits ``Z gamma`` of the classes ``others``, shape (n, K-1), column-major."""
        return matmul_columns(self.Z if Z is None else Z, gamma)

    def log_prior(self, gamma: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """Log class probabilities, shape (n, K)."""
        return self.log_prior_from_eta(self.linear(gamma, Z))

    def log_prior_from_eta(self, eta: np.ndarray) -> np.ndarray:
        """Log class probabilities from the (n, K-1) logits of the classes ``others``.

        Column-major (n, K) so that each class's column is contiguous.
        """
        full = np.empty((eta.shape[0], self.k), order="F")
        full[:, self.base] = 0.0
        for j, c in enumerate(self.others):
            full[:, c] = eta[:, j]
        lse = logsumexp_rows(full)
        for j in range(self.k):
            full[:, j] -= lse
        return full

    def objective(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> float:
        return self._objective(tau, w, self.log_prior(gamma))

    @staticmethod
    def _objective(tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> float:
        return float(sum(w @ (tau[:, j] * logpi[:, j]) for j in range(tau.shape[1])))

    def _grad_hess(self, tau, w, pi):
        Z = self.Z
        q, km1 = self.q, self.k - 1
        others = self.others
        grad = np.concatenate([Z.T @ (w * (tau[:, j] - pi[:, j])) for j in others])
        hess = np.empty((km1 * q, km1 * q))
        for a in range(km1):
            wp = w * pi[:, others[a]]
            for b in range(a, km1):
                c = wp * ((a == b) - pi[:, others[b]])
                blk = -weighted_cross(Z, c, Z)
                hess[a * q : (a + 1) * q, b * q : (b + 1) * q] = blk
                hess[b * q : (b + 1) * q, a * q : (a + 1) * q] = blk.T
        return grad, hess

    def q_value(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> float:
        """The M-step objective ``Q`` at the log class probabilities ``logpi`` (n, K)."""
        return self._objective(tau, w, logpi)

    def q_derivatives(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``Q``, its gradient and its Hessian in the flat parameters, at ``logpi``.

        Used by the constrained M-step (:mod:`fmmreg.estimation.constrained`),
        which projects the Newton step of several blocks at once.
        """
        grad, hess = self._grad_hess(tau, w, np.exp(logpi))
        return self._objective(tau, w, logpi), grad, hess

    def closed_form(self, tau: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Exact maximiser for constant shares."""
        s = np.maximum(w @ tau, 1e-300)
        return np.log(s[self.others] / s[self.base])[None, :]

    def mstep_state(
        self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray, eta: np.ndarray, logpi: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One monotone Newton step reusing the logits ``eta = Z gamma`` and ``log pi``.

        Returns the new ``(gamma, eta, log pi)``; step halving moves along
        ``eta + t Z d`` without further matrix products.
        """
        return self._newton(tau, w, gamma, eta, logpi)[:3]

    def _newton(self, tau, w, gamma, eta, logpi):
        """Newton step with halving; also returns the Newton decrement."""
        if self.k == 1:
            return gamma, eta, logpi, 0.0
        if self.constant_only:
            gamma = self.closed_form(tau, w)
            eta = np.broadcast_to(gamma, (self.Z.shape[0], self.k - 1))
            return gamma, eta, self.log_prior_from_eta(eta), 0.0
        grad, hess = self._grad_hess(tau, w, np.exp(logpi))
        flat, _ = solve_negdef(hess, grad)
        decrement = float(grad @ flat)
        step = self.unpack(flat)
        d_eta = matmul_columns(self.Z, step)
        q0 = self._objective(tau, w, logpi)
        t = 1.0
        for _ in range(40):
            cand_eta = eta + t * d_eta
            cand_logpi = self.log_prior_from_eta(cand_eta)
            q = self._objective(tau, w, cand_logpi)
            if np.isfinite(q) and q >= q0 - 1e-12 * abs(q0):
                return gamma + t * step, cand_eta, cand_logpi, decrement
            t *= 0.5
        return gamma, eta, logpi, 0.0

    def mstep(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """Warm-started M-step (one Newton step) that never decreases ``Q``."""
        eta = self.linear(gamma)
        return self.mstep_state(tau, w, gamma, eta, self.log_prior_from_eta(eta))[0]

    def fit(
        self,
        tau: np.ndarray,
        w: np.ndarray,
        gamma: np.ndarray | None = None,
        tol: float = 1e-12,
        maxiter: int = 100,
    ) -> np.ndarray:
        """Soft-label multinomial logit fitted until the Newton decrement is below ``tol``."""
        if gamma is None:
            gamma = np.zeros((self.q, self.k - 1))
        eta = self.linear(gamma)
        logpi = self.log_prior_from_eta(eta)
        for _ in range(maxiter):
            gamma, eta, logpi, decrement = self._newton(tau, w, gamma, eta, logpi)
            if abs(decrement) < tol * (1.0 + abs(self._objective(tau, w, logpi))):
                break
        return gamma

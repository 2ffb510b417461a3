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

from fmmreg.estimation.linalg import ROW_CHUNK, PairCrosses, map_rows, matmul_columns, normalize_rows, solve_negdef

#: Rows up to which the last prior probabilities are kept for the next Newton step.
CARRY_PRIOR_ROWS = 2_000_000


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
        self.Z = np.asarray(Z, dtype=float)  # column-major designs stay so
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
        # the probabilities are wanted only to be remembered for the next Newton step
        return self.prior_from_eta(eta, keep_pi=eta.shape[0] <= CARRY_PRIOR_ROWS)[0]

    def prior(self, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log class probabilities and the probabilities themselves, each (n, K)."""
        return self.prior_from_eta(self.linear(gamma))

    def prior_from_eta(self, eta: np.ndarray, keep_pi: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """``(log pi, pi)`` from the logits of the classes ``others``, one exponential per entry at most.

        The last pair is remembered, so that a Newton step from this
        ``log pi`` finds ``pi`` without exponentiating again. With
        ``keep_pi=False`` the probabilities are not kept (``None``): each row
        chunk's go to a small buffer, an (n, K) array less on large data.
        """
        n = eta.shape[0]
        logpi = np.empty((n, self.k), order="F")
        pi = np.empty_like(logpi) if keep_pi else None
        # the base class's logit is 0: exp(0) = 1 needs no exponential, and
        # the unshifted sum cannot overflow for logits below 700
        unshifted = self.k > 1 and n > 0 and float(np.abs(eta).max()) < 700.0

        def one(rows: slice) -> None:
            part = pi[rows] if pi is not None else np.empty((rows.stop - rows.start, self.k), order="F")
            self._prior_rows(eta[rows], logpi[rows], part, unshifted)

        if n > 4 * ROW_CHUNK:
            map_rows(one, n)
        else:
            one(slice(0, n))
        # remembered up to a size where an extra (n, K) array matters
        self._last_prior = (logpi, pi) if n <= CARRY_PRIOR_ROWS and pi is not None else None
        return logpi, pi

    def _prior_rows(self, eta: np.ndarray, logpi: np.ndarray, pi: np.ndarray, unshifted: bool) -> None:
        """``log pi`` and ``pi`` of some rows, written into ``logpi`` and ``pi``."""
        logpi[:, self.base] = 0.0
        for j, c in enumerate(self.others):
            logpi[:, c] = eta[:, j]
        if unshifted:
            pi[:, self.base] = 1.0
            s = np.ones(eta.shape[0])
            for c in self.others:
                np.exp(logpi[:, c], out=pi[:, c])
                s += pi[:, c]
            for j in range(self.k):
                pi[:, j] /= s
            lse = np.log(s)
        else:
            pi[...] = logpi
            lse = normalize_rows(pi)
        for j in range(self.k):
            logpi[:, j] -= lse

    def objective(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> float:
        return self._objective(tau, w, self.log_prior(gamma))

    @staticmethod
    def _objective(tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> float:
        return float(sum(w @ (tau[:, j] * logpi[:, j]) for j in range(tau.shape[1])))

    def _grad_hess(self, tau, w, pi):
        Z = self.Z
        q, km1 = self.q, self.k - 1
        others = self.others
        wp = w[:, None] * pi
        grad = np.concatenate([Z.T @ (w * tau[:, j] - wp[:, j]) for j in others])
        # every block is Z' diag(c) Z: one Khatri-Rao GEMM for all of them
        pairs = [(a, b) for a in range(km1) for b in range(a, km1)]
        crosses = self._crosses(len(pairs))
        c = np.empty((Z.shape[0], len(pairs)), order="F")
        for r, (a, b) in enumerate(pairs):
            col = c[:, crosses.slot[r]]
            np.multiply(wp[:, others[a]], pi[:, others[b]], out=col)
            if a == b:
                col -= wp[:, others[a]]
        hess = np.empty((km1 * q, km1 * q))
        for (a, b), blk in zip(pairs, crosses(c)):
            hess[a * q : (a + 1) * q, b * q : (b + 1) * q] = blk
            hess[b * q : (b + 1) * q, a * q : (a + 1) * q] = blk.T
        return grad, hess

    def _crosses(self, n_pairs: int) -> PairCrosses:
        cached = self.__dict__.get("_pair_crosses")
        if cached is None or cached.designs[0] is not self.Z or cached.n_pairs != n_pairs:
            cached = self._pair_crosses = PairCrosses([self.Z], [(0, 0)] * n_pairs)
        return cached

    def _prior_probs(self, logpi: np.ndarray) -> np.ndarray:
        """``exp(log pi)``, from the prior computed with it when that is the one passed."""
        cached = self.__dict__.get("_last_prior")
        if cached is not None and cached[0] is logpi:
            return cached[1]
        return np.exp(logpi)

    def q_value(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> float:
        """The M-step objective ``Q`` at the log class probabilities ``logpi`` (n, K)."""
        return self._objective(tau, w, logpi)

    def q_derivatives(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``Q``, its gradient and its Hessian in the flat parameters, at ``logpi``.

        Used by the constrained M-step (:mod:`fmmreg.estimation.constrained`),
        which projects the Newton step of several blocks at once.
        """
        grad, hess = self._grad_hess(tau, w, self._prior_probs(logpi))
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
        grad, hess = self._grad_hess(tau, w, self._prior_probs(logpi))
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

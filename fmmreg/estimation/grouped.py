"""The mixture likelihood of grouped (panel) data: one latent class per group.

With groups ``g`` (subjects, firms, ...) whose rows all come from the same
class (flexmix's ``y ~ x | id``, group-based trajectory models)::

    l(theta) = sum_g w_g log sum_k pi_gk(gamma) prod_{i in g} f_k(y_i | x_i, theta_k)
             = sum_g w_g logsumexp_k (log pi_gk + L_gk),   L_gk = sum_{i in g} log f_ik,

and the posterior class probabilities ``t_gk = exp(log pi_gk + L_gk - l_g)``
belong to the group. The rows keep their order; every per-group quantity is
one segment sum over the rows (:class:`Groups`), never a Python loop over
groups. Arrays only (numpy), like the rest of :mod:`fmmreg.estimation`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fmmreg.estimation.linalg import logsumexp_rows, weighted_cross, weighted_sum
from fmmreg.estimation.membership import Membership
from fmmreg.estimation.mixture import HESSIAN_BLOCK, MixtureLikelihood, _Index


class Groups:
    """Group membership of the rows, with segment sums and broadcasts.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        Group of each row, ``0 .. G-1``; every code must occur.

    Notes
    -----
    When the rows of each group are contiguous and the codes non-decreasing
    (panel data sorted by the group, the usual layout, and always the case
    for codes numbered by first appearance of contiguous groups), a segment
    sum is one ``np.add.reduceat`` over the rows and a broadcast one
    ``np.repeat``; otherwise a stable sort permutation is applied first.
    """

    def __init__(self, codes: np.ndarray):
        codes = np.ascontiguousarray(codes, dtype=np.intp)
        if codes.ndim != 1 or codes.size == 0:
            raise ValueError("group codes must be a non-empty 1-d array")
        self.codes = codes
        self.n = codes.size
        self.n_groups = int(codes.max()) + 1
        self.sizes = np.bincount(codes, minlength=self.n_groups)
        if codes.min() < 0 or np.any(self.sizes == 0):
            raise ValueError("group codes must number the groups 0..G-1, each with at least one row")
        self.contiguous = bool(np.all(codes[1:] >= codes[:-1]))
        #: row order that sorts the rows by group (None when already sorted)
        self.order = None if self.contiguous else np.argsort(codes, kind="stable")
        #: start of each group's rows in sorted order, plus the end
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)])
        starts = self.bounds[:-1]
        #: the first row of each group
        self.first = starts if self.order is None else self.order[starts]
        #: ``1 / n_g`` of each row's group
        self.inv_size = 1.0 / self.sizes[codes]

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (n,) or (n, m) over the rows of each group: (G,) or (G, m)."""
        values = values if self.order is None else values[self.order]
        return np.add.reduceat(values, self.bounds[:-1], axis=0)

    def broadcast(self, values: np.ndarray) -> np.ndarray:
        """Per-group ``values`` (G,) or (G, m) repeated on every row of the group.

        A 2-d result is column-major, as the engine's per-class loops read
        whole columns.
        """
        if values.ndim == 1:
            return np.repeat(values, self.sizes) if self.order is None else values[self.codes]
        out = np.empty((self.n, values.shape[1]), order="F")
        for j in range(values.shape[1]):
            col = np.ascontiguousarray(values[:, j])
            out[:, j] = np.repeat(col, self.sizes) if self.order is None else col[self.codes]
        return out

    def subset(self, rows: slice | np.ndarray) -> Groups:
        """The groups of some rows, renumbered ``0 .. G'-1`` in the order of their codes."""
        codes = self.codes[rows]
        if self.contiguous and isinstance(rows, slice):
            return Groups(codes - codes[0])
        _, new = np.unique(codes, return_inverse=True)
        return Groups(new.ravel())

    def blocks(self, size: int) -> Iterator[slice | np.ndarray]:
        """Row selections of whole groups with about ``size`` rows each (a larger group is a block alone)."""
        g0 = 0
        bounds = self.bounds
        while g0 < self.n_groups:
            g1 = int(np.searchsorted(bounds, bounds[g0] + size, side="right")) - 1
            g1 = min(max(g1, g0 + 1), self.n_groups)
            a, b = int(bounds[g0]), int(bounds[g1])
            yield slice(a, b) if self.order is None else np.sort(self.order[a:b])
            g0 = g1

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Sorted rows of randomly drawn whole groups, about ``size`` rows in all."""
        perm = rng.permutation(self.n_groups)
        count = int(np.searchsorted(np.cumsum(self.sizes[perm]), size)) + 1
        chosen = np.zeros(self.n_groups, dtype=bool)
        chosen[perm[:count]] = True
        return np.flatnonzero(chosen[self.codes])


class GroupedMembership(Membership):
    """Multinomial-logit class membership of groups, on the rows' (group-constant) design.

    The engine hands every M-step row-level posteriors ``t`` and weights
    ``w`` (the group's values repeated on its rows). The membership
    objective of the grouped model counts each group once,

        ``Q(g) = sum_g w_g sum_k tbar_gk log pi_gk``,  ``tbar_gk = mean_{i in g} t_ik``,

    (``tbar = t`` in EM, where the posterior is the group's; a starting
    posterior may vary within a group). So the M-steps run the
    :class:`~fmmreg.estimation.membership.Membership` Newton steps on one
    row per group -- ``n_g`` times fewer rows than the data -- and repeat
    the new logits and log probabilities on the rows.
    """

    def __init__(self, Z: np.ndarray, k: int, groups: Groups, base: int = 0):
        super().__init__(Z, k, base)
        self.groups = groups
        self.per_group = Membership(self.Z[groups.first], k, base)

    def linear(self, gamma: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        if Z is not None:
            return super().linear(gamma, Z)
        return self.groups.broadcast(self.per_group.linear(gamma))

    def log_prior(self, gamma: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """Log class probabilities (n, K): computed once per group, repeated on its rows."""
        if Z is not None:
            return super().log_prior(gamma, Z)
        return self.groups.broadcast(self.per_group.log_prior(gamma))

    def _group_tau(self, tau: np.ndarray) -> np.ndarray:
        g = self.groups
        return g.sum(tau) / g.sizes[:, None]

    def objective(self, tau: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> float:
        return self.per_group.objective(self._group_tau(tau), w[self.groups.first], gamma)

    def mstep_state(self, tau, w, gamma, eta, logpi):
        g = self.groups
        gamma, eta_g, logpi_g = self.per_group.mstep_state(
            self._group_tau(tau), w[g.first], gamma, eta[g.first], logpi[g.first]
        )
        return gamma, g.broadcast(np.asarray(eta_g)), g.broadcast(logpi_g)

    def fit(self, tau, w, gamma=None, tol: float = 1e-12, maxiter: int = 100) -> np.ndarray:
        return self.per_group.fit(self._group_tau(tau), w[self.groups.first], gamma, tol=tol, maxiter=maxiter)

    # the constrained M-step (:mod:`fmmreg.estimation.constrained`) reads Q through these
    def q_value(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> float:
        first = self.groups.first
        return self.per_group.q_value(self._group_tau(tau), w[first], logpi[first])

    def q_derivatives(self, tau: np.ndarray, w: np.ndarray, logpi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        first = self.groups.first
        return self.per_group.q_derivatives(self._group_tau(tau), w[first], logpi[first])


class GroupedMixtureLikelihood(MixtureLikelihood):
    """Log likelihood, posterior, score and observed information of a grouped mixture.

    Parameters
    ----------
    y, designs, Z, families, weights, offsets
        As :class:`~fmmreg.estimation.mixture.MixtureLikelihood`, one entry
        per row. ``Z`` and ``weights`` must be constant within each group
        (the model checks it): class membership and the weight belong to
        the group.
    groups : Groups
        Group of each row.

    Notes
    -----
    Everything the engine uses keeps its row-level shape: the posterior is
    the group's ``t_gk`` repeated on its rows, so the component M-steps are
    the usual weighted fits with row weights ``w_g t_gk``, and the
    membership M-step is :class:`GroupedMembership` (one row per group).

    Score: with the row scores ``s_ike = d log f_ik / d eta_ike`` of index
    ``e`` of class ``k`` (design row ``x_ie``),

    - component: ``sum_g w_g t_gk sum_{i in g} s_ike x_ie`` (a row-level sum);
    - membership ``j``: ``sum_g w_g (t_gj - pi_gj) z_g``.

    Observed information by Louis' identity per group, with the group-level
    complete-data scores ``S_gke = sum_{i in g} s_ike x_ie`` (one segment sum
    per index, a (G, p) matrix):

    - component ``(k,e)``, ``(k,e')``:
      ``sum_i w_i t_gk d2_ike e' x_ie x_ie'`` (rows) ``+ sum_g w_g t_gk (1 - t_gk) S_gke S_gke''``;
    - component ``(k,e)``, ``(l,e')``, ``l != k``: ``-sum_g w_g t_gk t_gl S_gke S_gle''``;
    - membership ``j`` with component ``(k,e)``: ``sum_g w_g t_gk (1{k=j} - t_gj) z_g S_gke'``;
    - membership ``j``, ``l``: ``sum_g w_g [(t_gj - pi_gj) 1{j=l} + pi_gj pi_gl - t_gj t_gl] z_g z_g'``.

    With groups of one row these are the row formulas of
    :class:`MixtureLikelihood`.
    """

    def __init__(
        self, y, designs, Z, families, weights=None, offsets=None, base=0, constraints=None, *, groups: Groups
    ):
        super().__init__(y, designs, Z, families, weights, offsets=offsets, base=base, constraints=constraints)
        self._attach(groups)

    def _attach(self, groups: Groups) -> None:
        if groups.n != self.n:
            raise ValueError(f"groups cover {groups.n} rows, the likelihood {self.n}")
        self.groups = groups
        # same Z array: the membership indices built by the parent stay valid
        self.membership = GroupedMembership(self.membership.Z, self.k, groups, self.membership.base)

    @classmethod
    def from_rows(cls, lik: MixtureLikelihood, groups: Groups) -> GroupedMixtureLikelihood:
        """The grouped likelihood of the rows of a (row-level) likelihood."""
        out = cls.__new__(cls)
        out.__dict__.update(lik.__dict__)
        out._attach(groups)
        return out

    # --------------------------------------------------------------- E-step
    def _group_logs(self, logpi: np.ndarray, logf: np.ndarray) -> np.ndarray:
        """``log pi_gk + L_gk``, shape (G, K)."""
        g = self.groups
        return logpi[g.first] + g.sum(logf)

    def posterior_from(self, logpi: np.ndarray, logf: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log likelihood, the group posteriors on every row (n, K) and each row's share of its group's
        log likelihood (``l_g / n_g``, so ``w @ share = l``) from row-level log pi and log f."""
        g = self.groups
        a = self._group_logs(logpi, logf)
        ll_g = logsumexp_rows(a)
        a -= ll_g[:, None]
        with np.errstate(invalid="ignore"):
            tau_g = np.exp(a, out=a)
        ll = float(self.w[g.first] @ ll_g)
        return ll, g.broadcast(tau_g), g.broadcast(ll_g) * g.inv_size

    def loglike(self, theta: np.ndarray) -> float:
        gamma, comps = self.unpack(theta)
        a = self._group_logs(self.membership.log_prior(gamma), self.component_logf(comps))
        return float(self.w[self.groups.first] @ logsumexp_rows(a))

    def group_posterior(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior class probabilities (G, K) and log likelihood (G,) of each group."""
        gamma, comps = self.unpack(theta)
        a = self._group_logs(self.membership.log_prior(gamma), self.component_logf(comps))
        ll_g = logsumexp_rows(a)
        return np.exp(a - ll_g[:, None]), ll_g

    # ---------------------------------------------------------- derivatives
    def _index_gradient(self, idx: _Index, tau, pi, d1s) -> np.ndarray:
        g = super()._index_gradient(idx, tau, pi, d1s)
        # the membership score of a group is spread evenly over its rows
        return g * self.groups.inv_size if idx.kind == "mem" else g

    def _group_scores(self, idx: _Index, d1s) -> np.ndarray:
        """``S_gke``: the group sums of one component index's complete-data scores, (G, width)."""
        s = d1s[idx.cls][:, idx.pos]
        rows = s[:, None] if idx.design is None else idx.design * s[:, None]
        return self.groups.sum(rows)

    def _score_hessian_dense(self, theta, hessian):
        ll, tau, pi, d1s, d2s = self._index_scores(theta)
        w = self.w
        grad = np.empty(self.n_params)
        for idx in self._indices:
            grad[idx.sl] = weighted_sum(idx.design, w * self._index_gradient(idx, tau, pi, d1s))
        if not hessian:
            return ll, grad, None
        first = self.groups.first
        tg, pg, wg = tau[first], pi[first], w[first]
        zg = self.membership.Z[first]
        scores = {a: self._group_scores(p, d1s) for a, p in enumerate(self._indices) if p.kind == "comp"}
        h = np.empty((self.n_params, self.n_params))
        for a, p in enumerate(self._indices):
            for b in range(a, len(self._indices)):
                q = self._indices[b]
                if p.kind == "mem" and q.kind == "mem":
                    j, l = p.cls, q.cls
                    c = pg[:, j] * pg[:, l] - tg[:, j] * tg[:, l]
                    if j == l:
                        c += tg[:, j] - pg[:, j]
                    blk = weighted_cross(zg, wg * c, zg)
                elif p.kind == "mem":  # the membership indices come first
                    k, j = q.cls, p.cls
                    blk = weighted_cross(zg, wg * tg[:, k] * ((k == j) - tg[:, j]), scores[b])
                else:
                    k, l = p.cls, q.cls
                    if k == l:
                        c_rows = w * tau[:, k] * d2s[k][:, p.pos, q.pos]
                        blk = weighted_cross(p.design, c_rows, q.design)
                        blk += weighted_cross(scores[a], wg * tg[:, k] * (1.0 - tg[:, k]), scores[b])
                    else:
                        blk = weighted_cross(scores[a], -wg * tg[:, k] * tg[:, l], scores[b])
                h[p.sl, q.sl] = blk
                h[q.sl, p.sl] = blk.T
        return ll, grad, h

    def score_hessian(self, theta: np.ndarray, hessian: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
        """Log likelihood, analytic score and observed Hessian (Louis, per group), in blocks of whole groups."""
        if self.n <= 2 * HESSIAN_BLOCK:
            return self._score_hessian_dense(theta, hessian)
        ll, grad, hess = 0.0, np.zeros(self.n_params), np.zeros((self.n_params, self.n_params)) if hessian else None
        for _, part in self.row_blocks(HESSIAN_BLOCK):
            l_b, g_b, h_b = part._score_hessian_dense(theta, hessian)
            ll += l_b
            grad += g_b
            if hessian:
                hess += h_b
        return ll, grad, hess

    # ----------------------------------------------------------------- units
    def subset(self, rows: slice | np.ndarray) -> GroupedMixtureLikelihood:
        """The grouped likelihood of some rows (a group keeps only its rows among them)."""
        return GroupedMixtureLikelihood.from_rows(super().subset(rows), self.groups.subset(rows))

    @property
    def unit_weights(self) -> np.ndarray:
        """``w_g / n_g`` on each row: sums over a group to its weight ``w_g``."""
        return self.w * self.groups.inv_size

    def row_blocks(self, size: int):
        if self.n <= size:
            yield slice(0, self.n), self
            return
        for rows in self.groups.blocks(size):
            yield rows, self.subset(rows)

    def unit_scores(self, theta: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group scores ``dl_g/dtheta`` (G, n_params) and each group's value of the row-level ``m``."""
        return self.groups.sum(self.score_obs(theta)), m[self.groups.first]

    def sample_rows(self, size: int, rng: np.random.Generator) -> np.ndarray:
        return self.groups.sample(size, rng)

    @property
    def n_units(self) -> int:
        """Number of groups."""
        return self.groups.n_groups

    def unit_mean(self, values: np.ndarray) -> np.ndarray:
        """The mean of per-row ``values`` (n,) or (n, m) over each group's rows, on its rows."""
        g = self.groups
        sizes = g.sizes if values.ndim == 1 else g.sizes[:, None]
        return g.broadcast(g.sum(values) / sizes)

    def unit_posterior(self, tau: np.ndarray) -> np.ndarray:
        """The mean of a row-level posterior over each group's rows, on its rows.

        Starting posteriors are built from row residuals (quantiles, k-means,
        random partitions); a group's rows then vote for its class. On
        simulated panels this raised the share of default fits that reach
        the best maximum (86% to 94% of 36 fits of a 3-class, 4-wave design).
        Random class ids and posteriors are drawn per row and averaged too:
        one draw per group reached the best maximum less often (80 of 120
        random starts against 92 on noisy 3-class trajectory panels).
        """
        return self.unit_mean(tau)

    def score_obs(self, theta: np.ndarray) -> np.ndarray:
        """Each row's share of its group's score (unweighted), shape (n, n_params).

        A component's part is the row's complete-data score times the group
        posterior, ``t_gk s_ike x_ie``; the membership part of the group,
        ``(t_gj - pi_gj) z_g``, is split evenly over its rows. The rows of a
        group sum to the group's score ``dl_g/dtheta``, so cluster sums over
        groups, or over clusters of whole groups, are exact.
        """
        return super().score_obs(theta)

"""The observed-data log likelihood of a finite mixture, on arrays.

``l(theta) = sum_i w_i log sum_k pi_ik(gamma) f_k(y_i | theta_k)``.

Parameters are packed as ``theta = (gamma_2, ..., gamma_K, theta_1, ...,
theta_K)`` -- the membership equations first, as Stata prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmmreg.estimation.linalg import Design, PairCrosses, map_rows, normalize_rows, weighted_sum
from fmmreg.estimation.membership import Membership
from fmmreg.families.base import ComponentFamily

#: Rows per chunk of the chunked score and Hessian evaluation: the index
#: derivatives and the weights of a chunk are vectorised over its rows (few
#: Python calls), its temporaries stay small however large the data.
HESSIAN_BLOCK = 65_536
#: Rows up to which the posterior of the last score/Hessian evaluation is
#: kept for an :meth:`MixtureLikelihood.estep` at the same point.
MEMO_ROWS = 2_000_000


@dataclass(frozen=True)
class _Index:
    """One linear index of the full model and where its coefficients live."""

    kind: str  # "mem" or "comp"
    cls: int  # class (0-based) the index belongs to
    pos: int  # position inside the family's indices (comp) or 0 (mem)
    design: Design
    sl: slice


class MixtureLikelihood:
    """Log likelihood, posterior, score and observed information of a mixture.

    Parameters
    ----------
    y : ndarray or list of ndarray
        Response, shared by every class, or one array per class: the
        response with the data columns its family reads
        (:func:`fmmreg.families.base.class_responses`). ``self.y`` is class
        1's array, ``self.ys`` every class's.
    designs : list of ndarray
        Component design of each class (the same array object may be shared).
    Z : ndarray, shape (n, q)
        Class-membership design.
    families : list of ComponentFamily
        Component family of each class.
    weights : ndarray, optional
        Weights ``w_i`` of the log likelihood (ones by default); frequency,
        sampling and importance weights enter the likelihood alike.
    offsets : list of (ndarray or None), optional
        One per class: an offset added to the class's first linear index
        (Stata's ``offset()``; ``exposure(t)`` is the offset ``log t``).
        Each family is bound to its offset (:meth:`ComponentFamily.with_offset`),
        so the EM and Newton steps, the scores and the predictions all see it.
    base : int
        Base class (0-based) of the membership logit (Stata's ``lcbase()``).
    constraints : LinearConstraints, optional
        Linear constraints on ``theta`` (:mod:`fmmreg.constraints`): EM and
        Newton then move on the free parameters only
        (:mod:`fmmreg.estimation.constrained`).

    Notes
    -----
    Every parameter enters the likelihood through a linear index (a
    component's linear predictor or ancillary value, or a membership logit
    ``z'g_j``), so with ``a_ik = log pi_ik + log f_ik`` and posteriors
    ``t_ik`` the observed information is a sum of weighted cross-products of
    designs, with per-observation weights (Louis' identity written on the
    indices):

    - component ``(k,e)`` with ``(k,e')``: ``t_k d2_ee' + t_k (1 - t_k) d1_e d1_e'``
    - component ``(k,e)`` with ``(l,e')``, ``l != k``: ``-t_k t_l d1_ke d1_le'``
    - component ``(k,e)`` with membership ``j``: ``t_k d1_ke (1{k=j} - t_j)``
    - membership ``j`` with ``j'``: ``(t_j - pi_j) 1{j=j'} + pi_j pi_j' - t_j t_j'``

    where ``d1``/``d2`` are the family's index derivatives of ``log f``.
    """

    def __init__(
        self,
        y: np.ndarray | list[np.ndarray],
        designs: list[np.ndarray],
        Z: np.ndarray,
        families: list[ComponentFamily],
        weights: np.ndarray | None = None,
        offsets: list[np.ndarray | None] | None = None,
        base: int = 0,
        constraints=None,
    ):
        self.ys = list(y) if isinstance(y, (list, tuple)) else [y] * len(families)
        self.y = self.ys[0]
        self.constraints = constraints
        self.designs = designs
        self.offsets = [None] * len(families) if offsets is None else list(offsets)
        self.families = [fam.with_offset(off) for fam, off in zip(families, self.offsets)]
        self.k = len(families)
        self.n = len(self.y)
        self.membership = Membership(Z, self.k, base)
        self.w = np.ones(self.n) if weights is None else np.asarray(weights, dtype=float)
        self.n_mem = self.membership.n_params
        self.comp_sizes = [fam.n_params(X.shape[1]) for fam, X in zip(families, designs)]
        offsets = np.cumsum([self.n_mem] + self.comp_sizes)
        self.comp_slices = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        self.n_params = int(offsets[-1])
        self._indices = self._build_indices()

    # ------------------------------------------------------------- packing
    def _build_indices(self) -> list[_Index]:
        out = []
        q = self.membership.q
        for j in range(self.k - 1):
            out.append(_Index("mem", self.membership.others[j], 0, self.membership.Z, slice(j * q, (j + 1) * q)))
        for k, (fam, X, sl) in enumerate(zip(self.families, self.designs, self.comp_slices)):
            start = sl.start
            for e, d in enumerate(fam.designs(X)):
                width = 1 if d is None else d.shape[1]
                out.append(_Index("comp", k, e, d, slice(start, start + width)))
                start += width
        return out

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        theta = np.asarray(theta, dtype=float)
        gamma = self.membership.unpack(theta[: self.n_mem])
        return gamma, [theta[sl] for sl in self.comp_slices]

    def pack(self, gamma: np.ndarray, comps: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([Membership.pack(gamma)] + [np.asarray(c, dtype=float) for c in comps])

    # ------------------------------------------------------------ pieces
    def component_logf(self, comps: list[np.ndarray]) -> np.ndarray:
        """Log densities of each class, shape (n, K)."""
        out = np.empty((self.n, self.k), order="F")
        for k, (fam, y, X, th) in enumerate(zip(self.families, self.ys, self.designs, comps)):
            out[:, k] = fam.loglike_obs(y, X, th)
        return out

    def estep(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log likelihood, posterior probabilities (n, K) and per-obs log likelihood.

        Large data are evaluated in row chunks (in :data:`fmmreg.estimation.linalg.THREADS`
        threads), each chunk's temporaries small.
        """
        memo = self.__dict__.pop("_posterior_memo", None)
        # (a likelihood made from another's attributes must not take its posterior)
        if memo is not None and memo[0] is type(self) and memo[1] == np.asarray(theta, dtype=float).tobytes():
            return memo[2], memo[3], memo[4]
        if self._chunked():
            tau = np.empty((self.n, self.k), order="F")
            ll_obs = np.empty(self.n)

            def one(rows: slice) -> float:
                ll, tau[rows], ll_obs[rows] = self.subset(rows).estep(theta)
                return ll

            return float(sum(self._map_chunks(one))), tau, ll_obs
        gamma, comps = self.unpack(theta)
        return self.posterior_from(self.membership.log_prior(gamma), self.component_logf(comps))

    def _chunked(self) -> bool:
        """Whether whole-data evaluations go by row chunks: many rows, and rows that are the units.

        Subclasses whose units span rows (groups) or whose pieces differ
        keep their own evaluation.
        """
        return self.n > 2 * HESSIAN_BLOCK and type(self) is MixtureLikelihood

    def _map_chunks(self, fn):
        """``[fn(rows) for rows in chunks]`` over row chunks of ``HESSIAN_BLOCK``, in threads on large data.

        numpy releases the GIL inside its loops and BLAS calls, so chunks of
        this size run in parallel on a second core.
        """
        return map_rows(fn, self.n, HESSIAN_BLOCK)

    def posterior_from(self, logpi: np.ndarray, logf: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log likelihood, posteriors and per-obs log likelihood from log pi and log f (n, K)."""
        tau = np.add(logpi, logf, order="F")
        ll_obs = normalize_rows(tau)
        return float(self.w @ ll_obs), tau, ll_obs

    def loglike(self, theta: np.ndarray) -> float:
        return self.estep(theta)[0]

    # ----------------------------------------------------- derivatives
    def _index_scores(self, theta):
        gamma, comps = self.unpack(theta)
        logpi, pi = self.membership.prior(gamma)
        logf = np.empty((self.n, self.k), order="F")
        d1s, d2s = [], []
        for k, (fam, y, X, th) in enumerate(zip(self.families, self.ys, self.designs, comps)):
            eta, anc = fam.indices(X, th)
            lf, d1, d2 = fam.index_derivatives(y, eta, anc, order=2)
            logf[:, k] = lf
            d1s.append(d1)
            d2s.append(d2)
        ll, tau, ll_obs = self.posterior_from(logpi, logf)
        self._remember_posterior(theta, ll, tau, ll_obs)
        return ll, tau, pi, d1s, d2s

    def _remember_posterior(self, theta, ll, tau, ll_obs) -> None:
        """Keep the posterior of the last derivative evaluation for one :meth:`estep` at the same point.

        The fit's checks ask for the posterior at the converged point, where
        the final Hessian was just evaluated. Not on very large data, where
        an (n, K) array kept alive matters more.
        """
        if self.n <= MEMO_ROWS:
            self._posterior_memo = (type(self), np.asarray(theta, dtype=float).tobytes(), ll, tau, ll_obs)

    def _index_gradient(self, idx: _Index, tau, pi, d1s) -> np.ndarray:
        if idx.kind == "mem":
            return tau[:, idx.cls] - pi[:, idx.cls]
        return tau[:, idx.cls] * d1s[idx.cls][:, idx.pos]

    def _index_hessian(self, p: _Index, q: _Index, tau, pi, d1s, d2s) -> np.ndarray:
        if p.kind == "mem" and q.kind == "mem":
            j, l = p.cls, q.cls
            c = pi[:, j] * pi[:, l] - tau[:, j] * tau[:, l]
            if j == l:
                c += tau[:, j] - pi[:, j]
            return c
        if p.kind == "comp" and q.kind == "mem":
            p, q = q, p
        if p.kind == "mem":
            k, j = q.cls, p.cls
            return tau[:, k] * d1s[k][:, q.pos] * ((k == j) - tau[:, j])
        k, l = p.cls, q.cls
        prod = d1s[k][:, p.pos] * d1s[l][:, q.pos]
        if k == l:
            return tau[:, k] * (d2s[k][:, p.pos, q.pos] + (1.0 - tau[:, k]) * prod)
        return -tau[:, k] * tau[:, l] * prod

    def subset(self, rows: slice | np.ndarray) -> MixtureLikelihood:
        """The likelihood of some rows (views for a slice, copies for an index array)."""
        cache: dict[int, np.ndarray] = {}

        def take(a: np.ndarray) -> np.ndarray:
            if id(a) not in cache:
                part = a[rows]
                # a fancy-indexed copy comes out row-major: keep the column-major layout
                if a.ndim == 2 and a.flags.f_contiguous and not isinstance(rows, slice):
                    part = np.asfortranarray(part)
                cache[id(a)] = part
            return cache[id(a)]

        designs = [take(X) for X in self.designs]
        ys = [cache.setdefault(id(y), y[rows]) for y in self.ys]
        offsets = [None if off is None else off[rows] for off in self.offsets]
        return MixtureLikelihood(
            ys,
            designs,
            take(self.membership.Z),
            self.families,
            self.w[rows],
            offsets=offsets,
            base=self.membership.base,
            constraints=self.constraints,
        )

    def score_hessian(self, theta: np.ndarray, hessian: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
        """Log likelihood, analytic score and observed Hessian (Louis).

        Large data are processed in row chunks of ``HESSIAN_BLOCK``, so the
        temporaries stay small however many rows there are.
        """
        if self.n <= 2 * HESSIAN_BLOCK:
            return self._score_hessian_dense(theta, hessian)
        keep = self.n <= MEMO_ROWS
        tau = np.empty((self.n, self.k), order="F") if keep else None
        ll_obs = np.empty(self.n) if keep else None

        def one(rows: slice):
            part = self.subset(rows)
            out = part._score_hessian_dense(theta, hessian)
            memo = part.__dict__.get("_posterior_memo")
            if keep and memo is not None:
                tau[rows], ll_obs[rows] = memo[3], memo[4]
            return out

        parts = self._map_chunks(one)
        ll = float(sum(p[0] for p in parts))
        grad = np.sum([p[1] for p in parts], axis=0)
        hess = np.sum([p[2] for p in parts], axis=0) if hessian else None
        if keep and type(self) is MixtureLikelihood:
            self._remember_posterior(theta, ll, tau, ll_obs)
        return ll, grad, hess

    def _cross_plan(self) -> tuple[PairCrosses, list[tuple[int, int]]]:
        """Every pair of linear indices, grouped by their two designs (built once per likelihood).

        Returns the :class:`PairCrosses` of the distinct designs and, for each
        pair ``r``, the positions ``(a, b)`` of its indices oriented so that
        Hessian block ``[a, b]`` is ``D_a' diag(c_r) D_b`` with ``D_a``'s
        design first in the plan.
        """
        plan = self.__dict__.get("_plan")
        if plan is None or plan[2] is not self._indices:
            keys: dict[int | None, int] = {}
            designs: list[Design] = []
            for idx in self._indices:
                key = None if idx.design is None else id(idx.design)
                if key not in keys:
                    keys[key] = len(designs)
                    designs.append(idx.design)
            pos = [keys[None if idx.design is None else id(idx.design)] for idx in self._indices]
            pairs, orient = [], []
            m = len(self._indices)
            for a in range(m):
                for b in range(a, m):
                    if pos[a] <= pos[b]:
                        pairs.append((pos[a], pos[b]))
                        orient.append((a, b))
                    else:
                        pairs.append((pos[b], pos[a]))
                        orient.append((b, a))
            plan = (PairCrosses(designs, pairs), orient, self._indices)
            self._plan = plan
        return plan[0], plan[1]

    def _score_hessian_dense(self, theta, hessian):
        ll, tau, pi, d1s, d2s = self._index_scores(theta)
        w = self.w
        wt = tau * w[:, None]
        wp = pi * w[:, None]
        # u_ke = t_k d1_ke and its weighted version: the index scores of class k
        us = [tau[:, k, None] * d1 for k, d1 in enumerate(d1s)]
        wus = [w[:, None] * u for u in us]
        grad = np.empty(self.n_params)
        for idx in self._indices:
            if idx.kind == "mem":
                g = wt[:, idx.cls] - wp[:, idx.cls]
            else:
                g = wus[idx.cls][:, idx.pos]
            grad[idx.sl] = weighted_sum(idx.design, g)
        if not hessian:
            return ll, grad, None
        crosses, orient = self._cross_plan()
        c = np.empty((self.n, len(orient)), order="F")
        for r, (a, b) in enumerate(orient):
            p, q = self._indices[a], self._indices[b]
            self._pair_weight(p, q, tau, wt, wp, pi, d1s, d2s, us, wus, c[:, crosses.slot[r]])
        blocks = crosses(c)
        h = np.empty((self.n_params, self.n_params))
        for (a, b), blk in zip(orient, blocks):
            p, q = self._indices[a], self._indices[b]
            h[p.sl, q.sl] = blk
            h[q.sl, p.sl] = blk.T
        return ll, grad, h

    @staticmethod
    def _pair_weight(p: _Index, q: _Index, tau, wt, wp, pi, d1s, d2s, us, wus, out: np.ndarray) -> None:
        """``w_i`` times the Louis weight of index pair ``(p, q)`` (see :meth:`_index_hessian`), into ``out``."""
        if p.kind == "mem" and q.kind == "mem":
            j, l = p.cls, q.cls
            np.multiply(wp[:, j], pi[:, l], out=out)
            out -= wt[:, j] * tau[:, l]
            if j == l:
                out += wt[:, j]
                out -= wp[:, j]
            return
        if p.kind == "mem" or q.kind == "mem":
            mem, comp = (p, q) if p.kind == "mem" else (q, p)
            k, j = comp.cls, mem.cls
            wu = wus[k][:, comp.pos]
            np.multiply(wu, tau[:, j], out=out)
            if k == j:
                np.subtract(wu, out, out=out)
            else:
                np.negative(out, out=out)
            return
        k, l = p.cls, q.cls
        if k == l:
            np.multiply(wt[:, k], d2s[k][:, p.pos, q.pos], out=out)
            out += wus[k][:, p.pos] * d1s[k][:, q.pos] * (1.0 - tau[:, k])
            return
        np.multiply(wus[k][:, p.pos], us[l][:, q.pos], out=out)
        np.negative(out, out=out)

    # ------------------------------------------------- units of the likelihood
    # The likelihood is a sum over independent units: rows here, groups in
    # :class:`fmmreg.estimation.grouped.GroupedMixtureLikelihood`. Code that
    # blocks rows or sums scores per unit goes through these methods.
    @property
    def unit_weights(self) -> np.ndarray:
        """Per-row weights that sum to the weighted number of units (here ``w``)."""
        return self.w

    def row_blocks(self, size: int):
        """Yield ``(rows, likelihood of those rows)`` in blocks of about ``size`` rows, never splitting a unit."""
        if self.n <= size:
            yield slice(0, self.n), self
            return
        for start in range(0, self.n, size):
            rows = slice(start, min(start + size, self.n))
            yield rows, self.subset(rows)

    def unit_scores(self, theta: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of each unit (unweighted) and the per-row values ``m`` of each unit."""
        return self.score_obs(theta), m

    @property
    def n_units(self) -> int:
        """Number of units (here rows)."""
        return self.n

    def unit_mean(self, values: np.ndarray) -> np.ndarray:
        """The mean of per-row ``values`` (n,) or (n, m) over each unit's rows, on its rows (here unchanged)."""
        return values

    def unit_posterior(self, tau: np.ndarray) -> np.ndarray:
        """A row-level (starting) posterior as one posterior per unit, on its rows (here unchanged)."""
        return self.unit_mean(tau)

    def sample_rows(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Sorted positions of a random subsample of about ``size`` rows made of whole units."""
        return np.sort(rng.choice(self.n, size=size, replace=False))

    def score_obs(self, theta: np.ndarray) -> np.ndarray:
        """Per-observation scores ``g_i`` (unweighted), shape (n, n_params)."""
        _, tau, pi, d1s, _ = self._index_scores(theta)
        out = np.empty((self.n, self.n_params))
        for idx in self._indices:
            g = self._index_gradient(idx, tau, pi, d1s)
            out[:, idx.sl] = g[:, None] if idx.design is None else idx.design * g[:, None]
        return out

"""EM and Newton on the free parameters of a constrained mixture.

The constraint set is ``theta = theta0 + N phi`` (:class:`fmmreg.constraints.LinearConstraints`,
attached to the likelihood as ``lik.constraints``). Arrays only, like the rest of the engine.

- **Newton** on the full log likelihood moves along ``N d`` with
  ``d = (-N'HN)^{-1} N'g`` (:func:`newton_direction`); a feasible point stays
  feasible.
- **EM** (:func:`run_em`): the expected complete-data log likelihood
  ``Q(theta) = sum_k Q_k(theta_k) + Q_mem(gamma)`` is a sum over blocks (one per
  class, one for the membership logit), so its gradient and Hessian are block
  diagonal. A block no constraint touches gets its usual M-step (the family's
  weighted fit, the soft-label multinomial logit). Blocks linked by constraints
  (a coefficient tied across classes, a fixed value) form a group that takes
  one projected Newton step on the sum of their ``Q``: direction
  ``N_G (-N_G' H_G N_G)^{-1} N_G' g_G``, halved until ``Q_G`` does not
  decrease. Every block's ``Q`` therefore increases (a generalised EM), and
  the log likelihood never decreases.
- Every run starts from the projection of its starting point onto the set,
  so start values (the multi-start's, the user's) need not satisfy it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from fmmreg.estimation.linalg import matmul_columns, solve_negdef
from fmmreg.families.base import IndexState

MEMBERSHIP = 0


def constraints_of(lik):
    """The likelihood's constraints, or ``None``."""
    return getattr(lik, "constraints", None)


def feasible(lik, theta: np.ndarray) -> np.ndarray:
    """``theta`` projected onto the constraint set (unchanged without constraints)."""
    cons = constraints_of(lik)
    return theta if cons is None else cons.project(theta)


def newton_direction(lik, hess: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, bool]:
    """Newton step ``(-H)^{-1} g`` restricted to the constraint set: ``N (-N'HN)^{-1} N'g``.

    Returns the step in ``theta`` and whether ``-N'HN`` was positive definite
    (see :func:`~fmmreg.estimation.linalg.solve_negdef`); ``g @ step`` is the
    Newton decrement in the free parameters.
    """
    cons = constraints_of(lik)
    if cons is None:
        return solve_negdef(hess, grad)
    step, pos_def = solve_negdef(cons.reduce(hess), cons.N.T @ grad)
    return cons.N @ step, pos_def


@dataclass
class _Group:
    """Blocks linked by constraints: block 0 is the membership, block ``k + 1`` class ``k``."""

    blocks: list[int]
    slices: list[slice]
    N: np.ndarray  # rows: the group's parameters (blocks in order), columns: their free directions


def _plan(lik) -> tuple[list[int], list[_Group]]:
    cons = lik.constraints
    slices = [slice(0, lik.n_mem)] + list(lik.comp_slices)
    free, groups = cons.coupled_blocks(slices)
    out = []
    for blocks in groups:
        coords = np.concatenate([np.arange(slices[b].start, slices[b].stop) for b in blocks])
        sub = cons.N[coords]
        moving = np.flatnonzero(np.any(sub != 0.0, axis=0))
        out.append(_Group(blocks, [slices[b] for b in blocks], sub[:, moving]))
    return free, out


def run_em(
    lik, theta: np.ndarray, maxiter: int, tol: float, engine: str, trace, callback=None
) -> tuple[np.ndarray, float, np.ndarray]:
    """EM under the likelihood's constraints; see the module notes.

    Same contract as :func:`fmmreg.estimation.engine.run_em`: stops when the
    relative increase of the log likelihood is below ``tol``; returns the
    parameters, their log likelihood and the posteriors. ``callback("em")``
    is called before every iteration when given.
    """
    w, mem = lik.w, lik.membership
    theta = lik.constraints.project(theta)
    free, groups = _plan(lik)
    gamma, comps = lik.unpack(theta)
    states = [fam.index_state(y, X, th) for fam, y, X, th in zip(lik.families, lik.ys, lik.designs, comps)]
    eta_m = mem.linear(gamma)
    logpi = mem.log_prior_from_eta(eta_m)
    logf = np.empty((lik.n, lik.k), order="F")
    for k, s in enumerate(states):
        logf[:, k] = s.logf
    ll, tau, _ = lik.posterior_from(logpi, logf)
    for _ in range(maxiter):
        if callback is not None:
            callback("em")
        new_states = list(states)
        new_m = (gamma, eta_m, logpi)
        for b in free:
            if b == MEMBERSHIP:
                new_m = _membership_step(mem, tau, w, gamma, eta_m, logpi, engine)
            else:
                k = b - 1
                new_states[k] = _class_step(lik, k, w * tau[:, k], states[k], engine)
        for group in groups:
            new_m = _group_step(lik, group, tau, new_states, new_m)
        for k, s in enumerate(new_states):
            logf[:, k] = s.logf
        ll_new, tau_new, _ = lik.posterior_from(new_m[2], logf)
        if not np.isfinite(ll_new):
            break
        trace.em_llf.append(ll_new)
        states, (gamma, eta_m, logpi) = new_states, new_m
        tau, ll_old, ll = tau_new, ll, ll_new
        if ll - ll_old < tol * (1.0 + abs(ll)):
            break
    return lik.pack(gamma, [s.params for s in states]), ll, tau


def _membership_step(mem, tau, w, gamma, eta_m, logpi, engine):
    if engine == "fast":
        return mem.mstep_state(tau, w, gamma, eta_m, logpi)
    gamma = mem.fit(tau, w, gamma)
    eta_m = mem.linear(gamma)
    return gamma, eta_m, mem.log_prior_from_eta(eta_m)


def _class_step(lik, k: int, c: np.ndarray, state: IndexState, engine: str) -> IndexState:
    fam, y, X = lik.families[k], lik.ys[k], lik.designs[k]
    if engine == "fast":
        return fam.mstep_state(y, X, c, state)
    return fam.index_state(y, X, fam.mstep_statsmodels(y, X, c, state.params))


def _group_step(lik, group: _Group, tau, states: list[IndexState], membership):
    """One projected Newton step with step halving on the group's ``Q``; updates ``states`` in place."""
    if group.N.shape[1] == 0:
        return membership
    w, mem = lik.w, lik.membership
    gamma, eta_m, logpi = membership
    grads, hessians, q0 = [], [], 0.0
    for b in group.blocks:
        if b == MEMBERSHIP:
            q, g, h = mem.q_derivatives(tau, w, logpi)
            q0 += q
        else:
            k = b - 1
            c = w * tau[:, k]
            q, g, h = lik.families[k].weighted_objective(lik.ys[k], lik.designs[k], c, states[k].params, order=2)
            q0 += q
        grads.append(g)
        hessians.append(h)
    g, h = np.concatenate(grads), linalg.block_diag(*hessians)
    d_free, _ = solve_negdef(group.N.T @ h @ group.N, group.N.T @ g)
    step = group.N @ d_free
    parts, pos = [], 0
    for sl in group.slices:
        width = sl.stop - sl.start
        parts.append(step[pos : pos + width])
        pos += width
    # directions of the indices, so that halving costs no matrix products
    moves = []
    for b, d in zip(group.blocks, parts):
        if b == MEMBERSHIP:
            moves.append(matmul_columns(mem.Z, mem.unpack(d)))
        else:
            fam, X = lik.families[b - 1], lik.designs[b - 1]
            d_betas, d_anc = fam.split(d, X.shape[1])
            moves.append((matmul_columns(X, d_betas), d_anc))
    t = 1.0
    for _ in range(40):
        q, cand = 0.0, []
        for b, d, move in zip(group.blocks, parts, moves):
            if b == MEMBERSHIP:
                new_eta = eta_m + t * move
                new_logpi = mem.log_prior_from_eta(new_eta)
                q += mem.q_value(tau, w, new_logpi)
                cand.append((gamma + t * mem.unpack(d), new_eta, new_logpi))
            else:
                k = b - 1
                s, fam = states[k], lik.families[k]
                eta, anc = s.eta + t * move[0], s.anc + t * move[1]
                logf = fam.index_derivatives(lik.ys[k], eta, anc, order=0)[0]
                q += float((w * tau[:, k]) @ logf)
                cand.append(IndexState(s.params + t * d, eta, anc, logf))
        if np.isfinite(q) and q >= q0 - 1e-12 * abs(q0):
            for b, new in zip(group.blocks, cand):
                if b == MEMBERSHIP:
                    membership = new
                else:
                    states[b - 1] = new
            return membership
        t *= 0.5
    return membership

"""EM followed by Newton on the full likelihood, for one starting point.

The engine sees a :class:`~fmmreg.estimation.mixture.MixtureLikelihood` only (arrays, no
pandas, no formulas).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fmmreg.estimation import constrained
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError

ENGINES = ("fast", "statsmodels")


@dataclass
class FitTrace:
    """What happened during one fit: EM log likelihoods, Newton steps."""

    em_llf: list[float] = field(default_factory=list)
    newton_llf: list[float] = field(default_factory=list)
    converged: bool = False
    gradient_norm: float = np.nan
    #: True when Newton stopped at its iteration cap (``maxiter``).
    hit_cap: bool = False
    #: Score and Hessian at the converged point (reused for the OIM).
    final: tuple[np.ndarray, float, np.ndarray, np.ndarray] | None = None

    @property
    def n_iter(self) -> int:
        return len(self.em_llf) + len(self.newton_llf)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise FMMError(f"engine={engine!r} is not known; use one of {ENGINES}")
    return engine


def m_step_statsmodels(lik: MixtureLikelihood, theta: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The reference M-step: literal weighted statsmodels fits per class.

    Each class is refitted with its family's ``mstep_statsmodels`` (a weighted
    ``statsmodels`` GLM/WLS fit) and the membership logit to convergence.
    The fast engine's M-step is :meth:`ComponentFamily.mstep_state` inside
    :func:`_run_em_fast`. Both increase the expected complete-data log
    likelihood, so EM stays monotone with either.
    """
    gamma, comps = lik.unpack(theta)
    new = [
        fam.mstep_statsmodels(y, X, lik.w * tau[:, k], comps[k])
        for k, (fam, y, X) in enumerate(zip(lik.families, lik.ys, lik.designs))
    ]
    return lik.pack(lik.membership.fit(tau, lik.w, gamma), new)


#: Rows used to turn a starting posterior into parameters on large data.
POSTERIOR_START_ROWS = 50_000


def theta_from_posterior(lik: MixtureLikelihood, tau: np.ndarray) -> np.ndarray:
    """Parameters that (nearly) maximise the complete-data likelihood given ``tau``.

    A few Newton steps per class and for the membership logit; on large data
    they run on an evenly spaced subsample of ``POSTERIOR_START_ROWS`` rows,
    since this only initialises EM.
    """
    tau = lik.unit_posterior(tau)  # a grouped likelihood's posterior is its groups'
    if lik.n > POSTERIOR_START_ROWS:
        rows = np.linspace(0, lik.n - 1, POSTERIOR_START_ROWS).astype(np.intp)
        return theta_from_posterior(lik.subset(rows), tau[rows])
    comps = []
    for k, (fam, y, X) in enumerate(zip(lik.families, lik.ys, lik.designs)):
        c = lik.w * tau[:, k]
        # a few Newton steps are enough: EM (and Newton) take over from here
        comps.append(fam.fit_weighted(y, X, c, tol=1e-8, maxiter=4))
    gamma = lik.membership.fit(tau, lik.w, tol=1e-8, maxiter=4)
    return lik.pack(gamma, comps)


def run_em(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    maxiter: int,
    tol: float = 1e-8,
    engine: str = "fast",
    trace: FitTrace | None = None,
    callback: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Run EM from ``theta`` for at most ``maxiter`` iterations.

    Stops when the relative increase of the log likelihood falls below
    ``tol``. Returns the parameters, their log likelihood and posteriors.
    """
    trace = FitTrace() if trace is None else trace
    if hasattr(lik, "run_em"):
        # a likelihood whose rows live elsewhere (fmmreg.distributed) runs its own EM
        return lik.run_em(theta, maxiter, tol, trace)
    if constrained.constraints_of(lik) is not None:
        return constrained.run_em(lik, theta, maxiter, tol, engine, trace, callback)
    if engine == "fast":
        return _run_em_fast(lik, theta, maxiter, tol, trace, callback)
    ll, tau, _ = lik.estep(theta)
    for _ in range(maxiter):
        if callback is not None:
            callback("em")
        theta_new = m_step_statsmodels(lik, theta, tau)
        ll_new, tau_new, _ = lik.estep(theta_new)
        if not np.isfinite(ll_new):
            break
        trace.em_llf.append(ll_new)
        theta, tau, ll_old, ll = theta_new, tau_new, ll, ll_new
        if ll - ll_old < tol * (1.0 + abs(ll)):
            break
    return theta, ll, tau


def _run_em_fast(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    maxiter: int,
    tol: float,
    trace: FitTrace,
    callback: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """EM with the fast M-step, carrying each class's linear predictors and
    log densities from one step to the next (see ``IndexState``)."""
    w, mem = lik.w, lik.membership
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
        new_states = [
            fam.mstep_state(y, X, w * tau[:, k], s)
            for k, (fam, y, X, s) in enumerate(zip(lik.families, lik.ys, lik.designs, states))
        ]
        new_gamma, new_eta_m, new_logpi = mem.mstep_state(tau, w, gamma, eta_m, logpi)
        for k, s in enumerate(new_states):
            logf[:, k] = s.logf
        ll_new, tau_new, _ = lik.posterior_from(new_logpi, logf)
        if not np.isfinite(ll_new):
            break
        trace.em_llf.append(ll_new)
        states, gamma, eta_m, logpi = new_states, new_gamma, new_eta_m, new_logpi
        tau, ll_old, ll = tau_new, ll, ll_new
        if ll - ll_old < tol * (1.0 + abs(ll)):
            break
    return lik.pack(gamma, [s.params for s in states]), ll, tau


def newton_polish(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    tol: float = 1e-10,
    maxiter: int = 100,
    engine: str = "fast",
    trace: FitTrace | None = None,
    callback: Callable[[str], None] | None = None,
    optimistic: float | None = None,
    state: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Newton-Raphson on the full log likelihood until the gradient is ~0.

    Converged means ``-H`` is positive definite and the Newton decrement
    ``g'(-H)^{-1} g`` is below ``tol``. Steps are halved until the log
    likelihood does not decrease; where ``-H`` is indefinite a
    Levenberg-damped ascent step is taken, and when no step helps -- or the
    score or Hessian are not finite -- a few EM iterations move the point
    instead. ``maxiter`` caps the Newton iterations (``trace.hit_cap`` tells
    whether the cap stopped the fit). Where the decrement is below
    ``optimistic`` (default :data:`OPTIMISTIC_DECREMENT`) a full step is
    taken with its score and Hessian at once, without a line-search
    evaluation first.
    Under constraints (``lik.constraints``) the point is first projected
    onto them and every step stays on them
    (:func:`fmmreg.estimation.constrained.newton_direction`).
    ``state`` is the log likelihood, score and Hessian at ``theta`` when the
    caller has them already (``theta`` is then taken as feasible).
    """
    trace = FitTrace() if trace is None else trace
    optimistic = OPTIMISTIC_DECREMENT if optimistic is None else optimistic
    converged = False
    if state is None:
        theta = constrained.feasible(lik, theta)
        ll, grad, hess = lik.score_hessian(theta)
    else:
        ll, grad, hess = state
    fallbacks = 0
    for _ in range(maxiter):
        if callback is not None:
            callback("newton")
        if not (np.isfinite(ll) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            # a class on the edge of the parameter space (a collapsing scale, a
            # share near zero): derivatives overflow before the likelihood does
            before = ll
            fallbacks += 1
            theta, ll_em, _ = run_em(lik, theta, maxiter=10, tol=0.0, engine=engine, trace=trace)
            if not (np.isfinite(ll_em) and ll_em > before) or fallbacks > MAX_EM_FALLBACKS:
                break
            ll, grad, hess = lik.score_hessian(theta)
            continue
        step, pos_def = constrained.newton_direction(lik, hess, grad)
        decrement = float(grad @ step)
        trace.gradient_norm = float(np.sqrt(abs(decrement)))
        if pos_def and abs(decrement) < tol:
            converged = True
            trace.final = (theta.copy(), ll, grad, hess)
            break
        t = 1.0
        if pos_def and decrement < optimistic:
            # near the maximum a full step is all but certain to ascend: take it and
            # evaluate score and Hessian there at once instead of a separate check
            cand = theta + step
            ll_c, grad_c, hess_c = lik.score_hessian(cand)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                theta, ll, grad, hess = cand, ll_c, grad_c, hess_c
                trace.newton_llf.append(ll)
                continue
            t = 0.5
        moved = False
        for _ in range(30):
            cand = theta + t * step
            ll_new = lik.loglike(cand)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                theta, moved = cand, True
                break
            t *= 0.5
        if not moved:
            before = ll
            fallbacks += 1
            theta, ll_em, _ = run_em(lik, theta, maxiter=10, tol=0.0, engine=engine, trace=trace)
            if not ll_em > before or fallbacks > MAX_EM_FALLBACKS:
                # no ascent, or Newton keeps failing (a flat or degenerate solution): stop unconverged
                break
        ll, grad, hess = lik.score_hessian(theta)
        if moved:
            trace.newton_llf.append(ll)
    else:
        trace.hit_cap = True
    trace.converged = converged
    return theta, ll, converged


#: Times Newton may hand over to 10 EM iterations before it gives up (unconverged).
MAX_EM_FALLBACKS = 20

#: Newton decrement (twice the predicted gain in log likelihood) below which
#: a full Newton step is taken without a separate line-search evaluation.
OPTIMISTIC_DECREMENT = 1.0


#: Relative log-likelihood change at which EM hands over to Newton. The fast
#: engine switches early (Newton with step halving and an EM fallback is safe
#: from there, and each Newton step replaces dozens of EM steps); the
#: statsmodels engine is the literal textbook EM, run to flexmix-like
#: convergence before the Newton polish that gives the exact MLE and the OIM.
EM_SWITCH_TOL = {"fast": 1e-3, "statsmodels": 1e-8}
EM_MAXITER = {"fast": 500, "statsmodels": 5000}


def fit_from(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    em_maxiter: int | None = None,
    em_tol: float | None = None,
    newton_tol: float = 1e-10,
    engine: str = "fast",
    newton_maxiter: int = 100,
    callback: Callable[[str], None] | None = None,
    optimistic: float | None = None,
) -> tuple[np.ndarray, float, FitTrace]:
    """EM until the relative change is below ``em_tol``, then Newton.

    ``em_tol`` and ``em_maxiter`` default to the engine's values in
    :data:`EM_SWITCH_TOL` and :data:`EM_MAXITER`; ``callback("em")`` /
    ``callback("newton")`` is called once per iteration (progress display);
    ``optimistic`` goes to :func:`newton_polish`.
    """
    em_tol = EM_SWITCH_TOL[engine] if em_tol is None else em_tol
    em_maxiter = EM_MAXITER[engine] if em_maxiter is None else em_maxiter
    trace = FitTrace()
    theta, ll, _ = run_em(lik, theta, maxiter=em_maxiter, tol=em_tol, engine=engine, trace=trace, callback=callback)
    theta, ll, _ = newton_polish(
        lik,
        theta,
        tol=newton_tol,
        maxiter=newton_maxiter,
        engine=engine,
        trace=trace,
        callback=callback,
        optimistic=optimistic,
    )
    return theta, ll, trace


#: Each rung of the subsample ladder of :func:`fit_large` has this many times the rows of the one below.
LADDER_FACTOR = 10.0
#: The ladder's rungs hold at most this share of all rows (measured: a rung at a third of the rows
#: costs more than the full-data Hessian it saves; a tenth is cheaper, at 1e6 and 1e7 rows).
LADDER_TOP = 0.1
#: Newton decrement at which a rung hands over to the next: the sampling
#: difference between rungs (about the number of parameters times the ratio
#: of their sizes) dwarfs it.
RUNG_TOL = 1.0


def fit_large(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    rng: np.random.Generator,
    start_rows: int,
    newton_tol: float = 1e-10,
    newton_maxiter: int = 100,
    callback: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, float, FitTrace]:
    """Refine a subsample's maximum on all rows of a large likelihood.

    ``theta`` maximises the likelihood of a random subsample of
    ``start_rows`` rows. Instead of EM and then Newton on all rows from
    there, the point climbs a ladder of random subsamples, each
    ``LADDER_FACTOR`` times larger than the one below and at most
    ``LADDER_TOP`` of the rows, each polished by Newton from the maximum of
    the rung below; on all rows Newton then takes full steps. The result is
    the maximum :func:`fit_from` reaches, with its exact score and Hessian
    (``trace.final``); only the path is cheaper.

    Notes
    -----
    A subsample maximum :math:`\\hat\\theta_m` is :math:`\\sqrt m`-consistent
    for the maximum on :math:`n` rows, so at :math:`\\hat\\theta_m` the Newton
    decrement of the larger sample, :math:`g'(-H)^{-1}g`, is about
    :math:`P (n/m - 1)` for :math:`P` parameters: small enough for full
    Newton steps, which converge quadratically from there. A rung costs
    Newton steps on :math:`m` rows only. The first step on all rows uses the
    top rung's Hessian at its maximum, scaled by the ratio of the weights,
    :math:`H_n \\approx (n/m) H_m` (a sampling error of order
    :math:`m^{-1/2}`), with the exact score on all rows: a score pass instead
    of a Hessian pass; exact Newton follows (three full Hessians from a
    rung a tenth of the size, measured at a million rows: the decrement
    goes 195 -> 0.33 -> 4e-6 -> 2e-16). The step is kept only when it
    ascends. EM is not needed on the way: where a full step does not
    ascend, :func:`newton_polish` halves it and falls back to EM as usual.
    """
    trace = FitTrace()
    theta = constrained.feasible(lik, np.asarray(theta, dtype=float))
    rows = start_rows * LADDER_FACTOR
    rung_hessian = None
    while rows <= LADDER_TOP * lik.n:
        rung = lik.subset(lik.sample_rows(int(rows), rng))
        rung_trace = FitTrace()
        try:
            cand, _, converged = newton_polish(
                rung, theta, tol=RUNG_TOL, maxiter=newton_maxiter, optimistic=np.inf, trace=rung_trace
            )
        except (ArithmeticError, np.linalg.LinAlgError, ValueError):
            converged = False  # a rung is a shortcut only: go on from the rung below's maximum
        if converged and rung_trace.final is not None:
            theta = cand
            rung_hessian = rung_trace.final[3] * (lik.w.sum() / rung.w.sum())
        rows *= LADDER_FACTOR
    state = None
    if rung_hessian is not None:
        if callback is not None:
            callback("newton")
        state, theta = _rung_step(lik, theta, rung_hessian, trace)
    theta, ll, _ = newton_polish(
        lik,
        theta,
        tol=newton_tol,
        maxiter=newton_maxiter,
        trace=trace,
        callback=callback,
        optimistic=np.inf,
        state=state,
    )
    return theta, ll, trace


def _rung_step(
    lik: MixtureLikelihood, theta: np.ndarray, hessian: np.ndarray, trace: FitTrace
) -> tuple[tuple[float, np.ndarray, np.ndarray] | None, np.ndarray]:
    """One Newton step on all rows with a subsample's (scaled) Hessian.

    Returns the log likelihood, score and Hessian at the new point with the
    point, or ``(None, theta)`` when the step does not ascend (Newton then
    starts from ``theta`` as before).
    """
    ll, grad, _ = lik.score_hessian(theta, hessian=False)
    step, pos_def = constrained.newton_direction(lik, hessian, grad)
    if not (pos_def and np.isfinite(ll) and np.all(np.isfinite(step))):
        return None, theta
    cand = theta + step
    state = lik.score_hessian(cand)
    # the acceptance of newton_polish's full steps; a score or Hessian that is not
    # finite there is its business (it falls back to EM)
    if np.isfinite(state[0]) and state[0] >= ll - 1e-12 * abs(ll):
        trace.newton_llf.append(state[0])
        return state, cand
    return None, theta

"""Checks after a fit: convergence, replication, degenerate classes and parameters.

A fit that stopped at a local maximum, at a degenerate solution or before
convergence is reported, not hidden. :func:`report_fit` runs the checks once,
stores their messages in ``res.warnings`` and the flag ``res.degenerate`` on
the results (the summary prints both), and issues the warnings:

- :class:`~fmmreg.ConvergenceWarning` -- Newton stopped before the Newton
  decrement fell below ``tol`` (at the ``maxiter`` cap or stuck), with the
  gradient norm;
- :class:`~fmmreg.LocalMaximumWarning` -- the best log likelihood was reached
  from a single start, or the search's cap stopped it before ``replicate``
  starts reached it;
- :class:`~fmmreg.DegenerateClassWarning` -- the degeneracy rule of
  :mod:`fmmreg.estimation.degeneracy` (a class too small for its
  parameters, a collapsed scale, a near-singular observed information), and
  parameters the data do not pin down: a standard error above
  :data:`~fmmreg.estimation.degeneracy.HUGE_SE` index units for a one-SD change of the variable (the
  response SD for Gaussian-type means, 1 on a link or log scale) -- the
  signature of separation, in a component or in the class-membership model.
"""

from __future__ import annotations

import warnings

import numpy as np

from fmmreg.estimation import degeneracy
from fmmreg.estimation.degeneracy import (
    DEFAULT_RULE,
    class_findings,
    dispersion_at_boundary,
    huge_standard_errors,
    information_condition,
    response_sd,
)
from fmmreg.exceptions import ConvergenceWarning, DegenerateClassWarning, LocalMaximumWarning


def parameter_units(res) -> np.ndarray:
    """Index units of a one-SD change of each parameter's variable (see the module docstring)."""
    return degeneracy.parameter_units(res.lik)


def _label(name: tuple[str, str]) -> str:
    return f"{name[0]}:{name[1]}"


def fit_messages(res, options=None) -> tuple[list[tuple[type, str]], bool]:
    """All findings of a fit as ``(warning class, message)`` and the degenerate flag."""
    out: list[tuple[type, str]] = []
    degenerate = False
    search = getattr(res, "search", None)
    trace = res.trace
    if not res.converged:
        cap = " (maxiter reached)" if getattr(trace, "hit_cap", False) else ""
        out.append(
            (
                ConvergenceWarning,
                f"the fit did not converge{cap}: gradient norm {trace.gradient_norm:.3g}; "
                "raise maxiter=, try more starts (draws=) or check the model",
            )
        )
    if search is not None and search.capped:
        n = len(search.table)
        hits = search.n_replicated
        want = options.replicate if options is not None else 2
        if hits < want:
            why = f"reached from {hits} of {n} starts (wanted {want})"
        else:
            why = (
                f"reached from {hits} of {n} starts, but the estimated chance that one more start finds a "
                f"new maximum is still {search.unseen:.0%} (a better one may be unseen)"
            )
        out.append(
            (
                LocalMaximumWarning,
                f"the best log likelihood {res.llf:.4f} was {why}; the search stopped at max_draws={n}: "
                "it may be a local maximum; raise max_draws= or draws=",
            )
        )
    with np.errstate(all="ignore"):
        # a fit whose rows live in partitions (fmmreg.distributed) computes these from sums
        rule = options.rule if options is not None else DEFAULT_RULE  # the search's rule (min_scale=)
        if hasattr(res, "_class_findings"):
            findings = res._class_findings(rule)
        else:
            findings = class_findings(res.lik, res.theta, res.posterior_array, response_sd(res.lik), rule)
    for f in findings:
        degenerate = True
        out.append((DegenerateClassWarning, f"{f.message}: the maximum is degenerate; fit fewer classes"))
    hess = res.hessian
    cons = getattr(res, "constraints", None)
    if hess is not None and cons is not None:
        # under constraints the information of the free parameters phi (theta = theta0 + N phi) is N'(-H)N
        hess = cons.reduce(hess)
    if hess is not None:
        cond = information_condition(hess)
        bse = res.bse.to_numpy()
        units = res._parameter_units() if hasattr(res, "_parameter_units") else parameter_units(res)
        names = list(res.params.index)
        huge = huge_standard_errors(bse, units, dispersion_at_boundary(res.lik, res.theta))
        if len(huge):
            degenerate = True
            shown = ", ".join(_label(names[i]) for i in huge[:5]) + (" ..." if len(huge) > 5 else "")
            out.append(
                (
                    DegenerateClassWarning,
                    f"the data do not pin down {shown}: standard errors are huge (separation, an empty "
                    "factor level or a degenerate class); those estimates and tests are meaningless",
                )
            )
        elif cond > 1e10:
            degenerate = True
            a_s = -hess / np.sqrt(np.outer(np.abs(np.diag(hess)), np.abs(np.diag(hess))))
            try:
                vec = np.linalg.eigh(np.where(np.isfinite(a_s), a_s, 0.0))[1][:, 0]
                vec = vec if cons is None else cons.N @ vec  # the free direction in the parameters
                top = np.argsort(-np.abs(vec))[:3]
                shown = ", ".join(_label(names[i]) for i in top)
            except np.linalg.LinAlgError:
                shown = "some parameters"
            out.append(
                (
                    DegenerateClassWarning,
                    f"the observed information is near singular (condition number {cond:.2g}), "
                    f"mostly in {shown}: the model is over-parameterised or a class is degenerate",
                )
            )
    if search is not None and search.degenerate and not degenerate:
        # the search's reason when the checks above do not show it (separation judged on the
        # observed information while the reported SEs come from another vce, say)
        degenerate = True
        out.append(
            (
                DegenerateClassWarning,
                "no start reached a non-degenerate maximum; the best one found is degenerate "
                f"({'; '.join(f.message for f in search.findings)}); fit fewer classes",
            )
        )
    return out, degenerate


def report_fit(res, options=None, stacklevel: int = 3) -> None:
    """Run the checks, store ``res.warnings`` / ``res.degenerate`` and warn."""
    messages, degenerate = fit_messages(res, options)
    res.warnings = [m for _, m in messages]
    res.degenerate = degenerate
    for cls, msg in messages:
        warnings.warn(msg, cls, stacklevel=stacklevel)

"""When is a local maximum degenerate (spurious)?

Mixture likelihoods with a scale parameter are unbounded: a class that sits on
a handful of observations with its standard deviation going to zero has a log
likelihood going to infinity, and between that edge and the interior there are
finite *spurious* maxima -- a class of a few observations with a tiny scale.
Count and binary models have their own edge solutions: a class whose
coefficients run off to infinity (separation) with a flat likelihood, often a
little above the interior maximum. The maximum a user wants is the best
*non-degenerate* one (Hathaway's constrained MLE for scale mixtures); fmmreg
keeps degenerate maxima it finds in ``res.starts``, flagged, and never returns
one without saying so.

The rule (:class:`DegeneracyRule`): a local maximum is degenerate when any of

1. **size** -- a class's effective size ``n_k = sum_i w_i t_ik`` is below its
   number of component parameters plus ``size_margin`` (default 1); with
   groups (panel data), also when its effective number of groups
   ``sum_g w_g t_gk`` is below the number of class-membership parameters per
   class plus ``size_margin`` (membership is estimated from the groups);
2. **scale** -- a class's standard deviation ``s_k = exp(lnsigma_k)`` is below
   ``min_scale_ratio`` (default 5%; ``min_scale=`` of :meth:`fmmreg.FMM.fit`) of
   *both* the largest class standard
   deviation and the standard deviation of the response (the two together:
   a tight class beside a wide one is legitimate when the classes are far
   apart, and a small class SD is legitimate when the others are small too);
3. **small class** -- a class holding less than ``small_share`` (10%) of the
   observations (``n_k / sum_i w_i``) must show more than the minimum:

   - *small and tight*: its SD is below ``small_scale_ratio`` (default 20%;
     ``min_scale_small=`` of :meth:`fmmreg.FMM.fit`) of both references of
     the scale part;
   - *small and few*: it holds fewer than ``small_per_param`` (10)
     observations per component parameter (the one-in-ten rule of thumb of
     regression modelling: fewer observations per parameter fit noise).

   Such a class is a regression plane threaded through the few observations
   that happen to lie close to it, which the wide classes explain as well.
   Evidence (benchmarks/hard_cases): data simulated from Example 1b's fitted
   3-class model, which holds no such class, refitted with 4 classes, give
   maxima with one (89 observations with an SD of 13% of the response SD,
   2.2 log likelihood units above the proper maximum; spurious_sim.md); on
   the panel's simulated cases the maxima above the one with the simulated
   classes are of this kind (39 observations at 4.7% of the response SD;
   10 at 9.4%; 9 and 25 observations for 3 parameters, the latter with a
   slope of -2.0 where every simulated class has +0.5), and Stata's Example 1d has
   one at -4710.0117 (74 observations, 2.5%, at 6.4%) above its published
   -4713.1378. This is Hathaway's bound on the ratio of class SDs and a
   floor on the observations per parameter, for small classes only: a large
   tight class (a spike of many observations) is a finding;
4. **flat** -- the observed information is not finite or, scaled to unit
   diagonal, its condition number exceeds ``max_condition`` (default 1e10):
   some parameter is not identified or runs off to infinity;
5. **separation** -- a parameter's standard error (inverse observed
   information) exceeds :data:`HUGE_SE` index units for a one-SD change of
   its variable (the response SD for the means of scale families, 1 on a
   link or log scale): a class-membership or component coefficient running
   off to infinity where a covariate separates a class, which the scaled
   condition number does not always show. (An NB dispersion at its lower
   boundary, ``lnalpha < -10``, is a Poisson class, not a degenerate one.)
   The fit's checks (:mod:`fmmreg.diagnostics`) report the same;
6. **not converged** -- Newton did not reach a maximum.

Only the first three are checked on short EM runs (no Hessian there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmmreg.estimation.linalg import jacobi_scale
from fmmreg.estimation.mixture import MixtureLikelihood


@dataclass(frozen=True)
class DegeneracyRule:
    """Thresholds of the degenerate-maximum rule (see the module docstring)."""

    min_scale_ratio: float = 0.05
    small_scale_ratio: float = 0.20
    small_share: float = 0.10
    small_per_param: float = 10.0
    size_margin: float = 1.0
    max_condition: float = 1e10


DEFAULT_RULE = DegeneracyRule()

#: Standard error, in index units per SD of the variable, above which a
#: parameter is not identified by the data (the *separation* part of the rule).
HUGE_SE = 100.0
#: Rows (evenly spaced) from which :func:`parameter_units` takes the SDs of the variables.
UNIT_ROWS = 100_000


def rule_of(fit_options: dict) -> DegeneracyRule:
    """The rule a fit used, from its ``fit_options`` (``min_scale``, ``min_scale_small`` of :meth:`fmmreg.FMM.fit`)."""
    return DegeneracyRule(
        min_scale_ratio=fit_options.get("min_scale", DEFAULT_RULE.min_scale_ratio),
        small_scale_ratio=fit_options.get("min_scale_small", DEFAULT_RULE.small_scale_ratio),
    )


@dataclass(frozen=True)
class Finding:
    """One reason a solution is degenerate; ``cls`` is 0-based or ``None`` (whole model)."""

    kind: str  # "size" | "small few" | "scale" | "small tight" | "flat" | "separation" | "not converged"
    cls: int | None
    value: float
    message: str


def response_sd(lik: MixtureLikelihood) -> float:
    """Standard deviation of the response (first column; finite values only).

    Classes may read different data columns (a cure model's point mass): the
    response of the first class with a scale parameter is used, as the rule
    compares scales with it.
    """
    cached = vars(lik).get("_response_sd")
    if cached is not None and cached[0] is lik.y:
        return cached[1]  # the fit's checks ask more than once: one pass over the response
    scaled = [y for fam, y in zip(lik.families, lik.ys) if "lnsigma" in fam.ancillary_names]
    y = scaled[0] if scaled else lik.y
    y = y if y.ndim == 1 else y[:, 0]
    y = y[np.isfinite(y)]
    sd = float(np.std(y)) if len(y) else 0.0
    lik._response_sd = (lik.y, sd)
    return sd


def class_sigmas(lik: MixtureLikelihood, theta: np.ndarray) -> list[float | None]:
    """Each class's standard deviation ``exp(lnsigma)``, ``None`` for families without one."""
    _, comps = lik.unpack(theta)
    out: list[float | None] = []
    for fam, th in zip(lik.families, comps):
        if "lnsigma" in fam.ancillary_names:
            # ancillary parameters close each class's block (its linear part may use column subsets)
            pos = len(th) - len(fam.ancillary_names) + fam.ancillary_names.index("lnsigma")
            out.append(float(np.exp(th[pos])))
        else:
            out.append(None)
    return out


def class_findings(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    tau: np.ndarray,
    sd_y: float,
    rule: DegeneracyRule = DEFAULT_RULE,
) -> list[Finding]:
    """The size, scale and small-class parts of the rule (cheap: no derivatives)."""
    out = []
    eff = lik.w @ tau
    total = float(eff.sum())
    for k, p in enumerate(lik.comp_sizes):
        if not eff[k] >= p + rule.size_margin:
            out.append(
                Finding(
                    "size", k, float(eff[k]), f"class {k + 1} holds about {eff[k]:.1f} observations for {p} parameters"
                )
            )
    if lik.n_units < lik.n:
        # a grouped model: class membership is estimated from groups, so a class
        # needs groups for its membership parameters as it needs rows for its
        # component parameters (one subject's rows are not a class)
        groups = lik.unit_weights @ tau
        q = lik.membership.q
        for k in range(lik.k):
            if not groups[k] >= q + rule.size_margin and not any(f.cls == k for f in out):
                out.append(
                    Finding(
                        "size",
                        k,
                        float(groups[k]),
                        f"class {k + 1} holds about {groups[k]:.1f} groups for {q} class-membership parameter"
                        f"{'s' if q > 1 else ''}",
                    )
                )
    sigmas = class_sigmas(lik, theta)
    scales = [s for s in sigmas if s is not None]
    if scales:
        largest = max(scales)
        for k, s in enumerate(sigmas):
            if s is None:
                continue
            if not (s >= rule.min_scale_ratio * largest or s >= rule.min_scale_ratio * sd_y):
                out.append(
                    Finding(
                        "scale",
                        k,
                        s,
                        f"class {k + 1}'s standard deviation collapsed to {s:.3g}, below "
                        f"{rule.min_scale_ratio:.3g} (min_scale) of the largest class SD {largest:.3g} "
                        f"and of the response SD {sd_y:.3g}",
                    )
                )
            elif eff[k] < rule.small_share * total and not (
                s >= rule.small_scale_ratio * largest or s >= rule.small_scale_ratio * sd_y
            ):
                out.append(
                    Finding(
                        "small tight",
                        k,
                        s,
                        f"class {k + 1} is small and tight: about {eff[k]:.1f} observations "
                        f"({eff[k] / total:.1%}) with a standard deviation of {s:.3g}, below "
                        f"{rule.small_scale_ratio:.3g} (min_scale_small) of the largest class SD {largest:.3g} "
                        f"and of the response SD {sd_y:.3g}",
                    )
                )
    flagged = {f.cls for f in out}  # a class's first reason is its most telling one (a collapse, say)
    for k, p in enumerate(lik.comp_sizes):
        if k not in flagged and eff[k] < rule.small_share * total and eff[k] < rule.small_per_param * p:
            out.append(
                Finding(
                    "small few",
                    k,
                    float(eff[k]),
                    f"class {k + 1} is small: about {eff[k]:.1f} observations ({eff[k] / total:.1%}) for {p} "
                    f"parameters, fewer than {rule.small_per_param:g} per parameter",
                )
            )
    return out


def parameter_units(lik: MixtureLikelihood) -> np.ndarray:
    """Index units of a one-SD change of each parameter's variable (see :data:`HUGE_SE`)."""
    units = np.ones(lik.n_params)
    sd_y = response_sd(lik) or 1.0
    # membership variables vary over the units (a grouped model's groups), not the rows
    unit_z = getattr(lik.membership, "per_group", lik.membership).Z
    sds: dict[int, np.ndarray] = {}  # classes share one design array: one pass over it
    for idx in lik._indices:
        if idx.design is None:
            continue
        design = unit_z if idx.kind == "mem" else idx.design
        if id(design) not in sds:
            # a scale for a threshold: evenly spaced rows give it on large data
            step = max(1, design.shape[0] // UNIT_ROWS)
            sds[id(design)] = design[::step].std(axis=0)
        sd = sds[id(design)]
        sd = np.where(sd > 0, sd, 1.0)
        if idx.kind == "comp":
            fam = lik.families[idx.cls]
            if "lnsigma" in fam.ancillary_names and idx.pos < fam.n_linear:
                sd = sd / sd_y
        units[idx.sl] = sd
    return units


def dispersion_at_boundary(lik: MixtureLikelihood, theta: np.ndarray) -> np.ndarray:
    """Mask of NB dispersions at their lower boundary (``ln alpha`` / ``ln delta`` below -10).

    A boundary estimate, not a degenerate one: the likelihood is bounded
    there and flat in the dispersion (the class is Poisson), so its standard
    error is huge by nature.
    """
    out = np.zeros(lik.n_params, dtype=bool)
    for fam, sl in zip(lik.families, lik.comp_slices):
        # ancillary parameters close each class's block
        for j, name in enumerate(fam.ancillary_names):
            pos = sl.stop - len(fam.ancillary_names) + j
            if name in ("lnalpha", "lndelta") and theta[pos] < -10:
                out[pos] = True
    return out


def separated_parameters(lik: MixtureLikelihood, theta: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Indices of the parameters whose standard error exceeds :data:`HUGE_SE` (see the rule)."""
    cons = getattr(lik, "constraints", None)
    info = -hess if cons is None else cons.reduce(-hess)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.arange(lik.n_params)
    if cons is not None:
        cov = cons.expand(cov)
    with np.errstate(invalid="ignore"):
        bse = np.sqrt(np.diag(cov))
    units = vars(lik).get("_parameter_units")
    if units is None:
        units = lik._parameter_units = parameter_units(lik)
    return huge_standard_errors(bse, units, dispersion_at_boundary(lik, theta))


def huge_standard_errors(bse: np.ndarray, units: np.ndarray, at_boundary: np.ndarray) -> np.ndarray:
    """Indices of the standard errors above :data:`HUGE_SE` index units per SD (or not finite),
    dispersions at their boundary (``at_boundary``) left out."""
    return np.flatnonzero((~np.isfinite(bse) | (bse * units > HUGE_SE)) & ~at_boundary)


def information_condition(hess: np.ndarray) -> float:
    """Condition number of the unit-diagonal scaled observed information ``-H`` (inf if not PD)."""
    if not np.all(np.isfinite(hess)):
        return np.inf
    a_s, _ = jacobi_scale(-hess)
    try:
        eig = np.linalg.eigvalsh(a_s)
    except np.linalg.LinAlgError:
        return np.inf
    if eig[0] <= 0:
        return np.inf
    return float(eig[-1] / eig[0])


def solution_findings(
    lik: MixtureLikelihood,
    theta: np.ndarray,
    hess: np.ndarray | None,
    converged: bool,
    sd_y: float,
    rule: DegeneracyRule = DEFAULT_RULE,
    tau: np.ndarray | None = None,
) -> list[Finding]:
    """All parts of the rule at a refined solution (``hess`` from the converged fit).

    ``tau``, the posterior at ``theta``, is computed when not given.
    """
    if tau is None:
        tau = lik.estep(theta)[1]
    out = class_findings(lik, theta, tau, sd_y, rule)
    if not converged:
        out.append(Finding("not converged", None, np.nan, "Newton did not converge"))
    elif hess is not None:
        cons = getattr(lik, "constraints", None)  # a constrained maximum is one in the free parameters only
        cond = information_condition(hess if cons is None else cons.reduce(hess))
        if cond > rule.max_condition:
            out.append(
                Finding("flat", None, cond, f"the observed information is near singular (condition number {cond:.2g})")
            )
        else:
            huge = separated_parameters(lik, theta, hess)
            if len(huge):
                out.append(
                    Finding(
                        "separation",
                        None,
                        float(len(huge)),
                        f"{len(huge)} parameter(s) with huge standard errors (separation: a coefficient "
                        "running off to infinity)",
                    )
                )
    return out

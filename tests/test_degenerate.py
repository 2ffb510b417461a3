"""Degenerate fits and failing starts (issue 9, engine half; issue 10's replication record).

A start never takes the fit down; degenerate optima are reported (warning,
``res.degenerate``, ``res.warnings``, the summary), never hidden; the search
records every start and the distinct maxima it found.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import fmmreg.estimation.starts as starts_module
from fmmreg import (
    FMM,
    ConvergenceWarning,
    DegenerateClassWarning,
    FMMError,
    LocalMaximumWarning,
    fmm,
)
from fmmreg.estimation.degeneracy import (
    DEFAULT_RULE,
    DegeneracyRule,
    class_findings,
    information_condition,
    response_sd,
    rule_of,
    solution_findings,
)
from fmmreg.estimation.engine import fit_from, newton_polish, theta_from_posterior
from fmmreg.estimation.linalg import solve_negdef
from tests.simulate import gaussian_mixture


def _fit(*args, **kwargs):
    """Fit and return the result with the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fmm(*args, **kwargs)
    return res, [w for w in caught if not issubclass(w.category, DeprecationWarning)]


def _kinds(caught) -> set[type]:
    return {w.category for w in caught}


@pytest.fixture(scope="module")
def two_lines() -> pd.DataFrame:
    return gaussian_mixture(n=300, seed=4, k=2)


@pytest.fixture(scope="module")
def clean_fit(two_lines):
    return _fit(2, "y ~ x", data=two_lines, class_formula="~ z")


# ------------------------------------------------------------ known crashers
def test_mus17_poisson_with_few_starts_fits(mus17):
    """Issue 9/10: this call used to end with LinAlgError in newton_polish."""
    res, _ = _fit(2, "docvis ~ private", data=mus17, family="poisson", draws=10, max_draws=10)
    assert np.isfinite(res.llf) and res.converged
    single = fmm(1, "docvis ~ private", data=mus17, family="poisson")
    assert res.llf > single.llf


def test_four_gaussian_classes_on_one_class_data_do_not_crash():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=120)})
    df["y"] = 1 + df.x + rng.normal(size=120)
    try:
        # no maximum replicates on such data: the search runs to its cap (kept small here for CI)
        res, caught = _fit(4, "y ~ x", data=df, max_draws=30)
    except FMMError as exc:
        assert "fewer classes" in str(exc)
        return
    assert np.isfinite(res.llf)
    assert res.llf >= fmm(1, "y ~ x", data=df).llf - 1e-6


def test_gaussian_on_tied_values_does_not_crash():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=80)})
    df["y"] = np.round(1 + df.x + rng.normal(size=80))
    try:
        res, caught = _fit(3, "y ~ x", data=df)
    except FMMError as exc:
        assert "fewer classes" in str(exc)
        return
    assert np.isfinite(res.llf)
    # a collapsed class is never returned silently
    if res.degenerate:
        assert DegenerateClassWarning in _kinds(caught) and res.warnings


@pytest.mark.parametrize(
    "seed,family,k", [(2, "gaussian", 3), (4, "poisson", 3), (18, "gaussian", 2), (47, "logit", 3)]
)
def test_small_random_data_fit_or_raise_fmmerror(seed, family, k):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    x = rng.normal(size=n)
    y = {"gaussian": rng.normal(size=n), "poisson": rng.poisson(np.exp(0.5 * x)), "logit": rng.random(n) < 0.5}[family]
    df = pd.DataFrame({"y": np.asarray(y, dtype=float), "x": x})
    try:
        res, _ = _fit(k, "y ~ x", data=df, family=family, random_state=seed)
    except FMMError:
        return
    assert np.isfinite(res.llf)
    assert res.llf >= fmm(1, "y ~ x", data=df, family=family).llf - 1e-6


def test_more_classes_than_the_data_can_hold_raise_fmmerror():
    # 12 rows hold the 11 parameters (the data check before the fit passes), but not 3 classes
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=12)})
    df["y"] = df.x + rng.normal(size=12)
    with pytest.raises(FMMError, match="every start collapsed a class.*try fewer classes"):
        fmm(3, "y ~ x", data=df)


# ----------------------------------------------------- failing starts recorded
def test_a_start_that_raises_is_recorded_and_discarded(two_lines, monkeypatch):
    real = starts_module.fit_from
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise np.linalg.LinAlgError("Eigenvalues did not converge")
        return real(*args, **kwargs)

    monkeypatch.setattr(starts_module, "fit_from", flaky)
    res, _ = _fit(2, "y ~ x", data=two_lines, class_formula="~ z")
    failed = res.starts[res.starts.status == "failed"]
    assert len(failed) == 1 and "LinAlgError: Eigenvalues did not converge" in failed.reason.iloc[0]
    assert res.converged and np.isfinite(res.llf)


def test_every_start_failing_raises_fmmerror_with_the_reason(two_lines, monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("overflow in exp")

    monkeypatch.setattr(starts_module, "run_em", broken)
    with pytest.raises(FMMError, match="every start failed.*FloatingPointError: overflow in exp"):
        fmm(2, "y ~ x", data=two_lines)


def test_newton_falls_back_to_em_when_the_hessian_is_not_finite(two_lines):
    model = FMM(2, "y ~ x", data=two_lines)
    lik = model._likelihood([0, 1])
    tau = np.column_stack([two_lines.y < 0, two_lines.y >= 0]).astype(float) * 0.9 + 0.05
    theta = theta_from_posterior(lik, tau)
    real = lik.score_hessian
    calls = {"n": 0}

    def nan_once(t, hessian=True):
        calls["n"] += 1
        ll, g, h = real(t, hessian)
        return (ll, g, np.full_like(h, np.nan)) if calls["n"] == 1 else (ll, g, h)

    lik.score_hessian = nan_once
    theta, ll, converged = newton_polish(lik, theta)
    assert converged and np.isfinite(ll)
    assert ll == pytest.approx(fit_from(model._likelihood([0, 1]), theta)[1], abs=1e-8)


def test_solve_negdef_survives_a_non_finite_matrix():
    h = np.array([[np.nan, 1.0], [1.0, -2.0]])
    step, pos_def = solve_negdef(h, np.array([1.0, 1.0]))
    assert not pos_def and step.shape == (2,)


# ------------------------------------------------------------ degeneracy rule
def _two_class_lik(df, sigmas, shares=(0.5, 0.5)):
    model = FMM(2, "y ~ x", data=df)
    lik = model._likelihood([0, 1])
    gamma = np.array([[np.log(shares[1] / shares[0])]])
    comps = [np.array([0.5, -4.0, np.log(sigmas[0])]), np.array([1.0, 0.0, np.log(sigmas[1])])]
    return lik, lik.pack(gamma, comps)


def test_rule_flags_a_collapsed_scale(two_lines):
    lik, theta = _two_class_lik(two_lines, sigmas=(0.01, 1.0))
    found = class_findings(lik, theta, lik.estep(theta)[1], response_sd(lik))
    assert [f.kind for f in found] == ["scale"] and found[0].cls == 0
    assert "class 1's standard deviation collapsed" in found[0].message


def test_rule_accepts_tight_classes_far_apart(two_lines):
    """Both SDs small against the response SD: the ratio part keeps the solution."""
    lik, theta = _two_class_lik(two_lines, sigmas=(0.02, 0.03))
    found = class_findings(lik, theta, lik.estep(theta)[1], response_sd(lik))
    assert not [f for f in found if f.kind == "scale"]


def test_rule_flags_a_class_smaller_than_its_parameters(two_lines):
    lik, theta = _two_class_lik(two_lines, sigmas=(1.0, 1.0), shares=(1 - 1e-9, 1e-9))
    found = class_findings(lik, theta, lik.estep(theta)[1], response_sd(lik))
    assert any(f.kind == "size" and f.cls == 1 for f in found)


def test_rule_flags_a_flat_information_and_thresholds_are_tunable(two_lines):
    # collinear directions: scaled to unit diagonal, the smallest eigenvalue is 1e-12
    assert information_condition(-np.array([[1.0, 1.0 - 1e-12], [1.0 - 1e-12, 1.0]])) > 1e10
    assert information_condition(np.diag([-1.0, -1e-14])) < 10  # units alone are not degeneracy
    assert information_condition(np.diag([-1.0, 0.5])) == np.inf
    lik, theta = _two_class_lik(two_lines, sigmas=(0.2, 1.0))
    sd = response_sd(lik)
    assert not solution_findings(lik, theta, None, True, sd, DegeneracyRule(min_scale_ratio=0.05))
    strict = solution_findings(lik, theta, None, True, sd, DegeneracyRule(min_scale_ratio=0.5))
    assert [f.kind for f in strict] == ["scale"]


# ------------------------------------------------------ reported, not hidden
def test_clean_fit_has_no_warnings(clean_fit):
    res, caught = clean_fit
    assert res.warnings == [] and res.degenerate is False and not caught


def test_membership_separation_is_named():
    rng = np.random.default_rng(3)
    n = 300
    z, x = rng.normal(size=(2, n))
    df = pd.DataFrame({"x": x, "z": z, "y": np.where(z > 0, 10, 0) + x + 0.5 * rng.normal(size=n)})
    res, caught = _fit(2, "y ~ x", data=df, class_formula="~ z")
    assert res.degenerate
    assert any("2.Class:z" in str(w.message) for w in caught if w.category is DegenerateClassWarning)
    assert "2.Class:z" in str(res.summary())


def test_separated_logit_component_is_named():
    x = np.linspace(-2, 2, 60)
    df = pd.DataFrame({"x": x, "y": (x > 0).astype(int)})
    res, caught = _fit(1, "y ~ x", data=df, family="logit")
    assert res.degenerate
    assert any("1.y:x" in m for m in res.warnings)
    assert DegenerateClassWarning in _kinds(caught)


def test_poisson_boundary_of_nbreg_is_not_degenerate():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(size=300)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df.x))
    res, _ = _fit(1, "y ~ x", data=df, family="nbreg")
    assert res.params[("1.y", "lnalpha")] < -5
    assert not res.degenerate


def test_maxiter_cap_warns_with_the_gradient_norm(two_lines):
    start = pd.Series(0.1, index=FMM(2, "y ~ x", data=two_lines).param_index())
    res, caught = _fit(2, "y ~ x", data=two_lines, maxiter=1, start=start)
    assert not res.converged and res.trace.hit_cap
    msgs = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert msgs and "maxiter" in msgs[0] and "gradient norm" in msgs[0]
    assert "Warning: convergence not achieved." in str(res.summary())


def test_looser_tol_stops_earlier(two_lines):
    strict = fmm(2, "y ~ x", data=two_lines, tol=1e-10, draws=4)
    loose = fmm(2, "y ~ x", data=two_lines, tol=1e-2, draws=4)
    assert loose.n_iter <= strict.n_iter and loose.converged
    assert loose.llf == pytest.approx(strict.llf, abs=1e-2)


# ----------------------------------------------------- replication record
def test_unreplicated_best_warns_local_maximum(two_lines):
    res, caught = _fit(2, "y ~ x", data=two_lines, draws=3, max_draws=3, replicate=10)
    msgs = [str(w.message) for w in caught if w.category is LocalMaximumWarning]
    assert msgs and "reached from" in msgs[0] and "max_draws" in msgs[0]
    assert res.warnings and res.n_replicated < 10


def test_starts_table_and_local_maxima(clean_fit):
    res, _ = clean_fit
    tab = res.starts
    assert {"kind", "llf_short", "llf", "status", "degenerate", "reason"} <= set(tab.columns)
    assert set(tab.status) <= {"short", "duplicate", "collapsed", "failed", "refined", "same"}
    maxima = res.local_maxima
    assert maxima.llf.iloc[0] >= res.llf - 1e-6 * abs(res.llf) or maxima.degenerate.iloc[0]
    best = maxima[maxima.best]
    assert len(best) == 1 and best.n_independent.iloc[0] == res.n_replicated >= 2
    assert best.n_starts.iloc[0] >= best.n_independent.iloc[0]
    assert abs(sum(best.shares.iloc[0]) - 1) < 1e-3
    note = res.starts_note()
    assert f"reached from {res.n_replicated} distinct start(s)" in note
    assert note in str(res.summary())


def test_split_merge_moves_back_into_their_source_are_not_replications(mus03sub):
    """A move from a maximum that falls back into it says nothing about other basins: not counted."""
    model = FMM(3, "lmedexp ~ income + age + I(age**2) + totchr + C(sex)", data=mus03sub, class_formula="~ totchr")
    search = starts_module.StartSearch(
        model._likelihood([0, 1, 2]), starts_module.StartOptions(), np.random.default_rng(1)
    )
    search.run()
    reached = [i for i, c in enumerate(search.cands) if c.status in ("refined", "same")]
    moves = [i for i in reached if search.cands[i].kind == "smem"]
    back = [i for i in moves if abs(search._root(i).llf - search.cands[i].source_llf) < 1e-6]
    assert back, "the moves from the best maximum fall back into it on this data"
    assert not any(search.independent(i) for i in back)
    assert all(search.independent(i) for i in reached if search.cands[i].kind != "smem")
    b, hits = search.best()
    at_best = [i for i in reached if abs(search._root(i).llf - search.cands[b].llf) < 1e-6 * abs(search.cands[b].llf)]
    assert hits == len([i for i in at_best if i not in back]) < len(at_best)
    assert search.unseen_mass() <= 1.0


def test_other_local_maxima_are_listed_in_the_summary(mus03sub):
    res, _ = _fit(
        3,
        "lmedexp ~ income + age + I(age**2) + totchr + C(sex)",
        data=mus03sub,
        class_formula="~ totchr",
        random_state=1,
    )
    others = res.local_maxima[~res.local_maxima.best]
    if len(others):
        assert "other local maxima" in res.starts_note()
        assert f"{others.llf.iloc[0]:.4f}" in res.starts_note()


# ------------------------------------------------------------ options
@pytest.mark.parametrize("kind", ["randomid", "randompr", "jitter", "kmeans", "partition"])
def test_every_startvalues_kind_reaches_the_maximum(two_lines, clean_fit, kind):
    res = fmm(2, "y ~ x", data=two_lines, class_formula="~ z", startvalues=kind)
    assert res.llf == pytest.approx(clean_fit[0].llf, abs=1e-6)
    assert set(res.starts.kind) == {kind}


def test_classid_and_classpr_start_values(two_lines, clean_fit):
    ids = np.where(two_lines.y > two_lines.y.median(), 2, 1)
    by_id = fmm(2, "y ~ x", data=two_lines, class_formula="~ z", startvalues="classid", start_posterior=ids)
    by_pr = fmm(2, "y ~ x", data=two_lines, class_formula="~ z", start_posterior=np.eye(2)[ids - 1])
    assert by_id.llf == pytest.approx(by_pr.llf, abs=1e-9)
    assert by_id.llf == pytest.approx(clean_fit[0].llf, abs=1e-6)
    with pytest.raises(FMMError, match="needs start_posterior"):
        fmm(2, "y ~ x", data=two_lines, startvalues="classpr")


@pytest.mark.parametrize(
    "options,fragment",
    [
        ({"startvalues": "factor"}, "startvalues='factor' is not known"),
        ({"draws": 0}, "draws must be an integer >= 1"),
        ({"emopts": {"iter": 5}}, "emopts: unknown key"),
        ({"tol": -1.0}, "tol must be a positive number"),
        ({"maxiter": 2.5}, "maxiter must be an integer"),
        ({"min_scale": -0.1}, r"min_scale=-0.1 is outside \[0, 1\)"),
        ({"min_scale": 1.0}, r"min_scale=1.0 is outside \[0, 1\)"),
        ({"min_scale": "5%"}, "min_scale must be a number"),
        ({"min_scale": True}, "min_scale must be a number"),
        ({"min_scale_small": 1.5}, r"min_scale_small=1.5 is outside \[0, 1\)"),
        ({"min_scale_small": None}, "min_scale_small must be a number"),
    ],
)
def test_bad_start_options_raise_fmmerror(two_lines, options, fragment):
    with pytest.raises(FMMError, match=fragment):
        fmm(2, "y ~ x", data=two_lines, **options)


def test_min_scale_is_the_rule_of_the_search_and_of_the_fit_checks(two_lines, clean_fit):
    """``min_scale=`` sets the scale part of the degeneracy rule for the search and the fit's checks."""
    from fmmreg.diagnostics import fit_messages
    from fmmreg.estimation.starts import StartOptions

    res = clean_fit[0]
    assert res.fit_options["min_scale"] == 0.05 and not res.degenerate
    sd_y = float(np.std(two_lines["y"]))

    def smallest_ratio(r):
        sig = np.exp(r.params.filter(like="lnsigma").to_numpy())
        return sig.min() / min(sig.max(), sd_y)

    strict = (1.0 + smallest_ratio(res)) / 2.0  # between the clean maximum's ratio and 1
    # the checks: the clean maximum is degenerate under the stricter rule, named with the threshold
    messages, degenerate = fit_messages(res, StartOptions(rule=DegeneracyRule(min_scale_ratio=strict)))
    assert degenerate and any("(min_scale)" in m for kind, m in messages if kind is DegenerateClassWarning)
    assert not fit_messages(res, StartOptions())[1]
    # the search: a lower maximum that passes the stricter rule, else the best degenerate one, flagged
    other, caught = _fit(2, "y ~ x", data=two_lines, class_formula="~ z", min_scale=strict)
    assert other.fit_options["min_scale"] == pytest.approx(strict)
    passes = not other.degenerate and smallest_ratio(other) >= strict and other.llf < res.llf - 1e-6
    flagged = other.degenerate and DegenerateClassWarning in _kinds(caught) and other.llf == pytest.approx(res.llf)
    assert passes or flagged
    assert other.local_maxima["degenerate"].iloc[0] or passes
    # the options refit as they are (bootstrap and blrt pass them on)
    again = FMM(2, "y ~ x", data=two_lines, class_formula="~ z").fit(**other.fit_options)
    assert again.llf == other.llf


def test_small_class_part_of_the_rule_flags_small_classes_only(clean_fit):
    """A class below ``min_scale_small`` (20%) of both SDs, or with fewer than 10 observations per parameter,
    is degenerate when it holds less than 10% of the observations, not when it holds more; below
    ``min_scale`` (5%) it is degenerate at any size."""
    res = clean_fit[0]
    lik, theta = res.lik, res.theta.copy()
    sd_y = response_sd(lik)
    pos = [i for i, name in enumerate(res.params.index) if "lnsigma" in name]
    s1 = float(np.exp(theta[pos[0]]))
    reference = min(s1, sd_y)
    n = lik.n

    def findings(ratio: float, share: float, rule: DegeneracyRule = DEFAULT_RULE) -> list:
        th = theta.copy()
        th[pos[1]] = np.log(ratio * reference)
        tau = np.column_stack([np.full(n, 1.0 - share), np.full(n, share)])
        return [f for f in class_findings(lik, th, tau, sd_y, rule) if f.cls == 1]

    # 300 rows: a small class holds fewer than 30, under 10 per parameter; the tight part alone first
    tight_only = DegeneracyRule(small_per_param=0.0)
    assert [f.kind for f in findings(0.12, 0.09, tight_only)] == ["small tight"]  # 27 observations
    assert "(min_scale_small)" in findings(0.12, 0.09, tight_only)[0].message
    assert findings(0.25, 0.09, tight_only) == []  # a small class with a wide enough SD
    assert findings(0.12, 0.30) == []  # a large tight class is a finding
    few = findings(0.25, 0.09)  # 27 observations for 3 parameters
    assert [f.kind for f in few] == ["small few"] and "fewer than 10 per parameter" in few[0].message
    assert findings(0.25, 0.09, DegeneracyRule(small_per_param=5.0)) == []
    assert [f.kind for f in findings(0.03, 0.30)] == ["scale"]  # a collapse at any size
    assert findings(0.12, 0.09, DegeneracyRule(small_scale_ratio=0.05, small_per_param=0.0)) == []  # both off
    assert rule_of({"min_scale": 0.05, "min_scale_small": 0.1}).small_scale_ratio == 0.1


def test_example_1d_small_tight_maximum_is_degenerate_by_default(mus03sub):
    """Example 1d, random_state 3: the search finds -4710.0117, 3.1 above Stata's maximum, made of a
    74-observation class (2.5%) whose SD is 6.4% of the response SD; by default (min_scale_small=0.2)
    that maximum is degenerate and the fit returns Stata's -4713.1378 with it listed, flagged. With the
    small-class part of the rule turned off (``min_scale_small=0.05``, the old rule) it is the result,
    and ``min_scale=0.07`` flags it again."""
    ex1 = "lmedexp ~ income + age + I(age**2) + totchr"
    formulas = [ex1, ex1 + " + C(sex)", ex1 + " + C(sex)"]
    res, caught = _fit(None, formulas, data=mus03sub, class_formula="~ totchr", random_state=3)
    assert res.llf == pytest.approx(-4713.1378, abs=1e-4)  # Stata [FMM] Example 1d
    assert not res.degenerate and LocalMaximumWarning not in _kinds(caught)
    above = res.local_maxima[res.local_maxima["llf"] > res.llf + 1e-6 * abs(res.llf)]
    assert len(above) and above["degenerate"].all()
    assert above["llf"].max() == pytest.approx(-4710.0117, abs=1e-4)
    spurious = res.starts[(res.starts["llf"] - -4710.0117).abs() < 1e-3]
    assert spurious["reason"].str.contains("small and tight").any()
    old, _ = _fit(None, formulas, data=mus03sub, class_formula="~ totchr", random_state=3, min_scale_small=0.05)
    assert old.llf == pytest.approx(-4710.0117, abs=1e-4) and not old.degenerate
    strict, _ = _fit(
        None, formulas, data=mus03sub, class_formula="~ totchr", random_state=3, min_scale_small=0.05, min_scale=0.07
    )
    assert strict.llf == pytest.approx(-4713.1378, abs=1e-4)


def test_deprecated_names_still_work(two_lines):
    with pytest.warns(DeprecationWarning) as caught:
        old = fmm(2, "y ~ x", data=two_lines, n_starts=6, short_iter=10)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("draws=" in m for m in messages) and any("emopts=" in m for m in messages)
    new = fmm(2, "y ~ x", data=two_lines, draws=6, max_draws=6, emopts={"iterate": 10})
    pd.testing.assert_series_equal(old.params, new.params)


def test_same_random_state_is_bit_identical(two_lines):
    a = fmm(2, "y ~ x", data=two_lines, random_state=5)
    b = fmm(2, "y ~ x", data=two_lines, random_state=5)
    assert a.llf == b.llf and np.array_equal(a.theta, b.theta)
    pd.testing.assert_frame_equal(a.starts, b.starts)


def test_progress_events_cover_starts_newton_and_covariance(two_lines, monkeypatch):
    import fmmreg.model as model_module

    seen: list = []

    class Recorder(model_module.FitProgress):
        def __exit__(self, *exc):
            seen.append(dict(self.counts))
            return super().__exit__(*exc)

    monkeypatch.setattr(model_module, "FitProgress", Recorder)
    fmm(2, "y ~ x", data=two_lines, draws=4)
    assert seen and {"start", "em", "newton", "covariance"} <= set(seen[0])


def test_large_data_search_runs_on_a_subsample(two_lines, monkeypatch, clean_fit):
    import fmmreg.model as model_module

    monkeypatch.setattr(model_module, "StartOptions", lambda: starts_module.StartOptions(subsample=150))
    res = fmm(2, "y ~ x", data=two_lines, class_formula="~ z")
    assert res.search.subsample == 150
    assert "on a subsample of 150 rows" in res.starts_note()
    assert res.llf == pytest.approx(clean_fit[0].llf, abs=1e-6) and res.converged
    # the posterior the search computed on all rows, handed to the results in their class order
    assert "posterior_array" in vars(res) and res.search.posterior is None
    np.testing.assert_allclose(res.posterior_array, res.lik.estep(res.theta)[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.posterior_array, clean_fit[0].posterior_array, rtol=0, atol=1e-6)

"""Survival components (``Streg``, Stata's ``fmm: streg``) and cure models (issue 16).

The family contract (K = 1 equals an independent fit, log density equals
scipy.stats, integer weights equal replicated rows, analytic derivatives equal
central differences, impossible responses raise) runs over every distribution
and metric:

- right censoring: R ``survival::survreg`` (``tests/fixtures/streg``);
- delayed entry: lifelines' AFT fitters with ``entry_col`` (``tests/fixtures/streg_entry``);
- the two-parameter gamma (censoring and delayed entry): a scipy maximisation
  of the scipy.stats likelihood.

Two-class references (direct ML with many starts, scripts alongside):
``tests/fixtures/streg_weibull2`` (Weibull PH with censoring) and
``tests/fixtures/streg_cure`` (point mass at "never fails" + Weibull).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmmreg import FMM, FMMError, fmm, get_family
from fmmreg.families import PointMass, Streg
from tests.family_contract import FamilyCase, FamilyContract
from tests.mixture_reference import FIXTURES, assert_matches_reference, load_reference, scipy_maximise

SURVREG = pd.read_csv(FIXTURES / "streg" / "survreg.csv")
LIFELINES = json.loads((FIXTURES / "streg_entry" / "reference.json").read_text())
FORMULA = "t ~ x1 + x2"


def _data(name):
    frame = pd.read_csv(FIXTURES / name / "data.csv")
    return lambda rng, n: frame.copy()


# ------------------------------------------------------------------ references
def survreg_reference(dist: str, time: bool):
    """survreg's fit in Stata's metric: AFT ``b``; PH ``-b / scale``; ``ln_p = -log scale``, else ``log scale``."""

    def fit(y, X):
        r = SURVREG[SURVREG["dist"] == dist].set_index("term")["value"]
        b = r[["x1", "x2", "(Intercept)"]].to_numpy()
        log_scale = float(r["log(scale)"])
        if dist in ("exponential", "weibull"):
            coefs = b if time else -b / np.exp(log_scale)
            anc = [] if dist == "exponential" else [-log_scale]
        else:
            coefs, anc = b, [log_scale]
        return np.concatenate([coefs, anc]), float(r["loglik"])

    return fit


def lifelines_reference(dist: str):
    def fit(y, X):
        m = LIFELINES["models"][dist]
        return np.array(list(m["params"].values())), float(m["llf"])

    return fit


def scipy_dist(dist: str, time: bool, X, params):
    """The scipy.stats distribution of the survival time per row."""
    eta = X @ params[: X.shape[1]]
    anc = params[X.shape[1] :]
    if dist in ("exponential", "weibull"):
        p = 1.0 if dist == "exponential" else np.exp(anc[0])
        return stats.weibull_min(p, scale=np.exp(eta) if time else np.exp(-eta / p))
    if dist == "lognormal":
        return stats.lognorm(np.exp(anc[0]), scale=np.exp(eta))
    if dist == "loglogistic":
        return stats.fisk(np.exp(-anc[0]), scale=np.exp(eta))
    k = np.exp(-anc[0])
    return stats.gamma(k, scale=np.exp(eta) / k)


def survival_density(dist: str, time: bool = True):
    """``died log f(t) + (1 - died) log S(t) - log S(t0)`` with scipy.stats."""

    def logdensity(y, X, params):
        t, d, t0 = y[:, 0], y[:, 1], y[:, 2]
        D = scipy_dist(dist, time, X, params)
        entry = np.where(t0 > 0, D.logsf(np.where(t0 > 0, t0, 1.0)), 0.0)
        return np.where(d > 0, D.logpdf(t), D.logsf(t)) - entry

    return logdensity


_GAMMA_FITS: dict[bytes, tuple[np.ndarray, float]] = {}


def gamma_reference(y, X):
    """ML of the scipy.stats gamma likelihood by scipy, from least squares of log t (computed once)."""
    key = y.tobytes() + X.tobytes()
    if key not in _GAMMA_FITS:
        beta = np.linalg.lstsq(X, np.log(y[:, 0]), rcond=None)[0]
        x0 = np.append(beta, np.log(0.5))
        _GAMMA_FITS[key] = scipy_maximise(lambda th: float(survival_density("gamma")(y, X, th).sum()), x0)
    params, llf = _GAMMA_FITS[key]
    return params.copy(), llf


_BAD = (("t", 0.0), ("t", -1.0))


def _case(id_, dist, time, fixture, reference, **kw):
    family = lambda: Streg(dist, failure="died", entry="t0" if fixture == "streg_entry" else None, time=time)  # noqa: E731
    return FamilyCase(id_, family, _data(fixture), reference, survival_density(dist, time), _BAD, FORMULA, **kw)


CASES = [
    _case("exponential_ph", "exponential", False, "streg", survreg_reference("exponential", False)),
    _case("exponential_aft", "exponential", True, "streg", survreg_reference("exponential", True)),
    _case("weibull_ph", "weibull", False, "streg", survreg_reference("weibull", False)),
    _case("weibull_aft", "weibull", True, "streg", survreg_reference("weibull", True)),
    _case("lognormal", "lognormal", True, "streg", survreg_reference("lognormal", True)),
    _case("loglogistic", "loglogistic", True, "streg", survreg_reference("loglogistic", True)),
    _case("weibull_entry", "weibull", True, "streg_entry", lifelines_reference("weibull")),
    _case("lognormal_entry", "lognormal", True, "streg_entry", lifelines_reference("lognormal")),
    _case("loglogistic_entry", "loglogistic", True, "streg_entry", lifelines_reference("loglogistic")),
    _case("gamma_entry", "gamma", True, "streg_entry", gamma_reference, params_tol=1e-5, llf_tol=1e-6),
]


class TestStregContract(FamilyContract):
    cases = CASES


# ------------------------------------------------------------- specification
def test_registry_names_metrics_and_ancillaries():
    wei = get_family("weibull")
    assert isinstance(wei, Streg) and not wei.time and wei.ancillary_names == ("ln_p",)
    assert wei.stata_model == "streg, distribution(weibull)"
    assert get_family("exponential").ancillary_names == ()
    assert get_family("llogistic").distribution == "loglogistic"
    assert Streg("weibull", time=True).stata_model == "streg, distribution(weibull) time"
    assert Streg("lnormal").ancillary_names == ("ln_sig",) and Streg("lnormal").time
    assert Streg("loglogistic").ancillary_names == ("ln_gam",)
    assert Streg("gamma").ancillary_names == ("logs",)
    with pytest.raises(FMMError, match="accelerated-failure-time model only"):
        Streg("gamma", time=False)
    with pytest.raises(FMMError, match="unknown streg distribution 'gompertz'"):
        Streg("gompertz")


def _surv_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.weibull(1.4, size=n) * np.exp(0.3 * x)
    return pd.DataFrame({"t": t, "died": (rng.random(n) < 0.7).astype(int), "x": x, "t0": 0.3 * t})


def test_bad_survival_data_are_clear_errors():
    df = _surv_frame()
    with pytest.raises(ValueError, match="'dead'.*not found"):
        FMM(1, "t ~ x", df, family=Streg("weibull", failure="dead"))
    bad = df.assign(t0=df["t"])
    with pytest.raises(FMMError, match="enter at or after they end: 't0'.*'t'"):
        FMM(1, "t ~ x", bad, family=Streg("weibull", failure="died", entry="t0"))
    with pytest.raises(FMMError, match="no record of 't' ends in a failure"):
        FMM(1, "t ~ x", df.assign(died=0), family=Streg("weibull", failure="died"))
    with pytest.raises(FMMError, match="single response column.*failure='died'"):
        FMM(1, "t + died ~ x", df, family="weibull")
    with pytest.raises(FMMError, match="failure indicator of family .weibull.. must hold numbers"):
        FMM(1, "t ~ x", df.assign(died="yes"), family=Streg("weibull", failure="died"))


def test_failure_coding_follows_stata_and_default_is_all_failures():
    df = _surv_frame()
    base = FMM(1, "t ~ x", df, family=Streg("weibull", failure="died"))
    coded = FMM(1, "t ~ x", df.assign(died=2 * df["died"]), family=Streg("weibull", failure="died"))
    np.testing.assert_array_equal(base.y, coded.y)  # nonzero is a failure, as in stset's failure()
    all_fail = FMM(1, "t ~ x", df.assign(died=1), family=Streg("weibull", failure="died"))
    np.testing.assert_array_equal(FMM(1, "t ~ x", df, family="weibull").y, all_fail.y)
    missing = df.assign(died=df["died"].astype(float))
    missing.loc[3, "died"] = np.nan
    assert FMM(1, "t ~ x", missing, family=Streg("weibull", failure="died")).design.n_dropped == 1


# ---------------------------------------------------------- two-class fits
@pytest.fixture(scope="module")
def cure_fit():
    ref, df, expected = load_reference("streg_cure")
    families = [PointMass(0, response="died"), Streg("weibull", failure="died")]
    res = fmm(["t ~ 1", "t ~ x"], df, family=families, class_formula="~ z")
    return ref, df, expected, res


def test_two_class_weibull_reference():
    ref, df, expected = load_reference("streg_weibull2")
    res = fmm(2, "t ~ x", df, family=Streg("weibull", failure="died"), class_formula="~ z")
    assert_matches_reference(res, ref, expected)


def test_cure_model_reference(cure_fit):
    ref, df, expected, res = cure_fit
    assert_matches_reference(res, ref, expected, fixed=(1, 2))
    text = str(res.summary())
    assert "Response: died" in text and "streg, distribution(weibull)" in text and "/ln_p" in text
    post = res.predict(kind="classposteriorpr")
    # a failure cannot be cured; a censored record is cured with positive probability
    assert np.all(post.loc[df["died"] == 1, 1] == 0.0)
    assert np.all(post.loc[df["died"] == 0, 1] > 0.0)


def test_survival_predictions_of_the_cure_model(cure_fit):
    _, df, _, res = cure_fit
    b = res.params["2.t"]
    eta = b["x"] * df["x"].to_numpy() + b["Intercept"]
    dist = stats.weibull_min(np.exp(b["ln_p"]), scale=np.exp(-eta / np.exp(b["ln_p"])))
    t = df["t"].to_numpy()
    surv, haz, med = (res.predict(kind=k) for k in ("survival", "hazard", "median"))
    np.testing.assert_allclose(surv[2], dist.sf(t), rtol=1e-10)
    np.testing.assert_allclose(haz[2], dist.pdf(t) / dist.sf(t), rtol=1e-9)
    np.testing.assert_allclose(med[2], dist.median(), rtol=1e-10)
    assert np.all(surv[1] == 1.0) and np.all(haz[1] == 0.0) and np.all(np.isinf(med[1]))

    prior = res.predict(kind="classpr").to_numpy()
    s_mix = res.predict(kind="survival", marginal=True).to_numpy()
    np.testing.assert_allclose(s_mix, prior[:, 0] + prior[:, 1] * dist.sf(t), rtol=1e-12)
    h_mix = res.predict(kind="hazard", marginal=True).to_numpy()
    np.testing.assert_allclose(h_mix, prior[:, 1] * dist.pdf(t) / s_mix, rtol=1e-9)
    m_mix = res.predict(kind="median", marginal=True).to_numpy()
    cured_half = prior[:, 0] >= 0.5
    assert np.all(np.isinf(m_mix[cured_half])) and np.isfinite(m_mix[~cured_half]).all()
    keep = ~cured_half
    p = np.exp(b["ln_p"])
    s_at_median = prior[keep, 0] + prior[keep, 1] * stats.weibull_min(p, scale=np.exp(-eta[keep] / p)).sf(m_mix[keep])
    np.testing.assert_allclose(s_at_median, 0.5, atol=1e-10)

    # new data: the same numbers; the failure column is needed for the response
    new = df.head(6)
    np.testing.assert_allclose(res.predict(new, kind="survival", marginal=True), s_mix[:6], rtol=1e-12)
    with pytest.raises(ValueError, match="'died'"):
        res.predict(new.drop(columns="died"), kind="survival")


def test_median_and_mean_of_each_distribution():
    eta = np.array([[-0.3], [0.4]])
    for dist, anc in [("weibull", [0.2]), ("lognormal", [-0.3]), ("loglogistic", [-0.7]), ("gamma", [-0.4])]:
        for time in (True, False) if dist == "weibull" else (True,):
            fam = Streg(dist, time=time)
            X = np.eye(2)
            D = scipy_dist(dist, time, X, np.concatenate([eta[:, 0], anc]))
            np.testing.assert_allclose(fam.median_from_index(eta, np.array(anc)), D.median(), rtol=1e-10)
            np.testing.assert_allclose(fam.mean_from_index(eta, np.array(anc)), D.mean(), rtol=1e-10)
    assert np.isinf(Streg("loglogistic").mean_from_index(eta, np.array([0.1]))).all()


def test_survival_predictions_need_survival_classes():
    df = _surv_frame()
    res = fmm(1, "t ~ x", df, family="gaussian")
    with pytest.raises(FMMError, match="survival .*streg"):
        res.predict(kind="survival")


def test_glm_families_statsmodels_lacks():
    """Stata's fmm: glm families beta, exponential, weibull, lognormal, loglogistic."""
    import statsmodels.api as sm

    from fmmreg.families.betareg import BetaRegression
    from fmmreg.families.glm import glm

    df = _surv_frame(200, seed=4)
    exp_ph = fmm(1, "t ~ x", df, family=glm("exponential"))
    ref = sm.GLM(df["t"], sm.add_constant(df["x"]), family=sm.families.Gamma(sm.families.links.Log())).fit(scale=1.0)
    # PH coefficients (hazard exp(x'b)) are minus those of the mean exp(x'b) of the GLM
    np.testing.assert_allclose(exp_ph.params.to_numpy(), -ref.params.to_numpy()[[1, 0]], atol=1e-7)
    assert exp_ph.llf == pytest.approx(ref.llf, abs=1e-7)
    lnorm = fmm(1, "t ~ x", df, family=glm("lognormal"))
    assert lnorm.llf == pytest.approx(fmm(1, "t ~ x", df, family="lognormal").llf, abs=1e-8)
    assert isinstance(glm("beta", link="probit"), BetaRegression) and glm("beta").link == "logit"
    assert glm("weibull", time=True).time and glm("llogistic").distribution == "loglogistic"
    with pytest.raises(FMMError, match="takes link 'log'"):
        glm("weibull", link="logit")
    with pytest.raises(FMMError, match="takes link 'logit' or 'probit'"):
        glm("beta", link="log")

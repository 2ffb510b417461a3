"""K = 1 reproduces the plain statsmodels GLM fit for every core family."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from fmmreg import fmm
from tests.simulate import simulate_single

SM_FAMILY = {
    "gaussian": sm.families.Gaussian(),
    "poisson": sm.families.Poisson(),
    "logit": sm.families.Binomial(),
}


@pytest.mark.parametrize("family", ["gaussian", "poisson", "logit"])
def test_k1_equals_statsmodels_glm(family):
    df = simulate_single(family)
    res = fmm(1, "y ~ x1 + x2 + C(g)", data=df, family=family)
    ref = smf.glm("y ~ x1 + x2 + C(g)", data=df, family=SM_FAMILY[family]).fit()
    eq = "1.y"
    b = res.params.loc[eq]
    for term, value in ref.params.items():
        assert b[term] == pytest.approx(value, abs=1e-8)
    if family == "gaussian":
        # ML variance (no df correction) and the OIM: GLM at the ML scale
        s2 = np.exp(2 * b["lnsigma"])
        assert s2 == pytest.approx(np.mean(ref.resid_response**2), rel=1e-10)
        ref = smf.glm("y ~ x1 + x2 + C(g)", data=df, family=SM_FAMILY[family]).fit(scale=s2)
        # SE of ln(sigma) is 1/sqrt(2n) exactly at the MLE
        assert res.bse[(eq, "lnsigma")] == pytest.approx(1 / np.sqrt(2 * len(df)), rel=1e-6)
        llf_ref = sm.OLS.from_formula("y ~ x1 + x2 + C(g)", data=df).fit().llf
    else:
        llf_ref = ref.llf
    se = res.bse.loc[eq]
    for term, value in ref.bse.items():
        assert se[term] == pytest.approx(value, rel=1e-6)
    assert res.llf == pytest.approx(llf_ref, abs=1e-8)
    assert res.converged
    assert res.df_model == len(res.params)

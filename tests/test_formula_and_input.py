"""Formulas, listwise deletion and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, DataWarning, FMMError, fmm


@pytest.fixture
def small(mus03sub):
    df = mus03sub.iloc[:600].copy()
    df.loc[df.index[:7], "income"] = np.nan
    df.loc[df.index[5:12], "totchr"] = np.nan  # overlaps two rows with income
    df["region"] = np.where(np.arange(len(df)) % 3 == 0, "north", "south")
    return df


def test_listwise_deletion_across_all_formulas(small):
    res = fmm(2, "lmedexp ~ income + C(region)", data=small, class_formula="~ totchr", draws=4, max_draws=4)
    assert res.n_dropped == 12
    assert res.nobs == 588
    assert res.posterior.index.equals(small.index[12:])
    assert np.allclose(res.posterior.sum(axis=1), 1)
    assert "12 row(s) dropped" in str(res.summary())


def test_user_dataframe_is_never_mutated(small):
    before = small.copy(deep=True)
    fmm(2, "lmedexp ~ income + np.log(age) + age:sex", data=small, class_formula="~ totchr", draws=3, max_draws=3)
    pd.testing.assert_frame_equal(small, before)


def test_formulaic_terms_are_supported(small):
    res = fmm(
        2,
        "lmedexp ~ income * C(sex) + I(age**2) + np.log(age) + C(region)",
        data=small,
        class_formula="~ totchr + C(region)",
        draws=3,
        max_draws=3,
    )
    terms = list(res.params.loc["1.lmedexp"].index)
    assert terms[-2:] == ["Intercept", "lnsigma"]
    assert {"income:C(sex)[T.1]", "I(age ** 2)", "np.log(age)", "C(region)[T.south]"} <= set(terms)
    assert "C(region)[T.south]" in res.params.loc["2.Class"].index
    assert "_cons" in str(res.summary()) and "Intercept" not in str(res.summary())


def test_stateful_transforms_read_their_columns(small):
    """center/scale/poly/bs: formulaic's required_variables leaves out their arguments."""
    res = fmm(1, "lmedexp ~ center(income) + scale(age) + poly(totchr, 2)", data=small)
    assert res.n_dropped == 12  # income and totchr are missing in 12 rows, listwise
    # K = 1 Gaussian is OLS on the same columns, built by hand
    rows = small.dropna(subset=["income", "totchr"])
    plain = fmm(1, "lmedexp ~ income + age + totchr + I(totchr**2)", data=small)
    assert res.llf == pytest.approx(plain.llf, abs=1e-8)
    # a new row predicts with the estimation sample's centring
    np.testing.assert_allclose(res.predict(rows.iloc[:5]), plain.predict(rows.iloc[:5]), rtol=1e-10)
    assert fmm(1, "lmedexp ~ bs(income, df=3)", data=small).n_dropped == 7
    with pytest.raises(FMMError, match="'income'"):
        fmm(1, "lmedexp ~ center(income)", data=small.drop(columns="income"))


def test_rows_with_nonfinite_transforms_are_dropped(small):
    df = small.copy()
    df.loc[df.index[20], "income"] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(DataWarning, match=r"np\.log\(income\)"):
        res = fmm(1, "lmedexp ~ np.log(income)", data=df)
    expected = int((~(df["income"] > 0)).sum())  # NaN, zero or negative income
    assert expected > 7
    assert res.n_dropped == expected


def test_missing_variable_is_named(small):
    with pytest.raises(ValueError, match="'incom'"):
        fmm(2, "lmedexp ~ incom", data=small)
    with pytest.raises(ValueError, match="'zz'"):
        fmm(2, "lmedexp ~ income", data=small, class_formula="~ zz")


def test_bad_options_get_clear_errors(small):
    with pytest.raises(ValueError, match="positive integer"):
        fmm(0, "lmedexp ~ income", data=small)
    with pytest.raises(ValueError, match="unknown family 'gausian'"):
        fmm(2, "lmedexp ~ income", data=small, family="gausian")
    with pytest.raises(ValueError, match="no response"):
        fmm(2, "~ income", data=small)
    with pytest.raises(ValueError, match="must not have a response"):
        fmm(2, "lmedexp ~ income", data=small, class_formula="y ~ totchr")
    with pytest.raises(ValueError, match="engine"):
        fmm(2, "lmedexp ~ income", data=small, engine="turbo")
    with pytest.raises(TypeError, match="DataFrame"):
        fmm(2, "lmedexp ~ income", data=small.to_dict())
    with pytest.raises(ValueError, match="same response"):
        fmm(None, ["lmedexp ~ income", "totexp ~ income"], data=small)
    with pytest.raises(ValueError, match="collinear"):
        df = small.assign(income2=2 * small["income"])
        fmm(2, "lmedexp ~ income + income2", data=df)


def test_impossible_responses_name_variable_and_family(small):
    df = small.assign(neg=-small["totchr"], frac=small["lmedexp"])
    with pytest.raises(ValueError, match="'neg'.*'poisson'"):
        fmm(2, "neg ~ income", data=df, family="poisson")
    with pytest.raises(ValueError, match="'frac'.*0/1.*'logit'"):
        fmm(2, "frac ~ income", data=df, family="logit")


def test_start_values_must_fit_the_layout(small):
    model = FMM(2, "lmedexp ~ income", data=small)
    with pytest.raises(ValueError, match="must have"):
        model.fit(start=[0.0, 1.0])
    with pytest.raises(ValueError, match="missing values"):
        model.fit(start=pd.Series({("2.Class", "Intercept"): 0.0}))


def test_frequency_weights_equal_replicated_rows(mus03sub):
    df = mus03sub.iloc[:300].reset_index(drop=True)
    w = np.random.default_rng(0).integers(1, 4, size=len(df))
    rep = df.loc[df.index.repeat(w)].reset_index(drop=True)
    a = fmm(2, "lmedexp ~ income + totchr", data=df.assign(w=w), weights="w", draws=6, max_draws=6)
    b = fmm(2, "lmedexp ~ income + totchr", data=rep, draws=6, max_draws=6)
    assert a.nobs == len(rep)
    assert a.llf == pytest.approx(b.llf, abs=1e-6)
    np.testing.assert_allclose(a.params, b.params, atol=1e-5)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-4)

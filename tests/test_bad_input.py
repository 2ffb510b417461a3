"""Bad or surprising data: the package's own error naming the culprit, a warning, or the right result.

Every case also checks that the user's DataFrame is unchanged (values,
dtypes, index, column order). The rules are in :mod:`fmmreg.datacheck`.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, DataWarning, FMMError, fmm

N = 60


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(20240509)
    x = rng.normal(size=N)
    z = rng.normal(size=N)
    df = pd.DataFrame(
        {
            "y": 1.0 + x + rng.normal(size=N),
            "x": x,
            "z": z,
            "visits": rng.poisson(np.exp(0.3 + 0.4 * x)),
            "region": np.where(rng.random(N) < 0.5, "north", "south"),
            "ins": np.where(x + rng.normal(size=N) > 0, "yes", "no"),
            "three": rng.choice(["a", "b", "c"], N),
            "id": [f"p{i:03d}" for i in range(N)],
            "grp": rng.integers(0, 20, N),
        },
        # a non-default index: it must survive and come back on the results
        index=pd.Index([f"r{i}" for i in rng.permutation(N)], name="person"),
    )
    income = np.round(np.exp(rng.normal(3, 0.3, N)), 1)
    df["income"] = pd.Series(income, index=df.index).astype(str)
    df.loc[df.index[[3, 8, 21]], "income"] = "."  # missing values as a Stata/SAS export writes them
    df["b"] = df["x"] > 0
    df["cat"] = pd.Categorical(df["ins"], categories=["yes", "no"])  # event: the second category, "no"
    return df


BASE = _frame()


@pytest.fixture(autouse=True)
def base_frame_is_never_mutated():
    before = BASE.copy(deep=True)
    yield
    pd.testing.assert_frame_equal(BASE, before, check_exact=True)
    assert list(BASE.columns) == list(before.columns) and BASE.index.equals(before.index)


def _unchanged_after(df: pd.DataFrame, call):
    """Run ``call(df)`` and check ``df`` afterwards; returns what ``call`` returned."""
    before = df.copy(deep=True)
    try:
        return call(df)
    finally:
        pd.testing.assert_frame_equal(df, before, check_exact=True)
        assert df.dtypes.equals(before.dtypes) and df.index.equals(before.index)


def _with(**columns):
    return lambda df: df.assign(**columns)


def _same(df):
    return df


def _inf_at(col, row, value=np.inf):
    def make(df):
        out = df.copy()
        out.loc[out.index[row], col] = value
        return out

    return make


def _dup_x(df):
    return pd.concat([df[["y", "x", "z"]], (2 * df["x"]).to_frame("x")], axis=1)


def _num(df):
    return pd.to_numeric(df["income"], errors="coerce")


# (id, make the frame, the call, regex the FMMError message must match)
ERRORS = [
    # text where numbers are needed
    (
        "text-regressor",
        _same,
        lambda d: fmm(1, "y ~ x + income", data=d),
        r"'income' \(regressor\) is text.*'\.'.*C\(income\)",
    ),
    (
        "text-class-var",
        _same,
        lambda d: fmm(2, "y ~ x", data=d, class_formula="~ income"),
        r"'income' \(class formula variable\) is text",
    ),
    (
        "text-response",
        _with(yt=lambda d: d["y"].round(2).astype(str).where(d["x"] > -1, ".")),
        lambda d: fmm(1, "yt ~ x", data=d),
        r"'yt' \(response\) is text.*'\.'",
    ),
    (
        "numbers-as-text",
        _with(xs=lambda d: d["x"].round(3).astype(str)),
        lambda d: fmm(1, "y ~ xs", data=d),
        r"'xs'.*numbers stored as text",
    ),
    (
        "numbers-as-object",
        _with(xo=lambda d: d["x"].astype(object)),
        lambda d: fmm(1, "y ~ xo", data=d),
        r"'xo'.*dtype object",
    ),
    ("identifier-text", _same, lambda d: fmm(1, "y ~ id", data=d), r"'id'.*60 distinct values.*identifier.*C\(id\)"),
    (
        "transform-of-text",
        _same,
        lambda d: fmm(1, "y ~ np.log(income)", data=d),
        r"np\.log\(income\).*text column\(s\) 'income'",
    ),
    (
        "text-poisson-response",
        _same,
        lambda d: fmm(1, "ins ~ x", data=d, family="poisson"),
        r"'ins' \(response\) is text.*'yes'",
    ),
    ("categorical-gaussian-response", _same, lambda d: fmm(1, "cat ~ x", data=d), r"'cat' is categorical.*'gaussian'"),
    (
        "text-mlogit-response",
        _same,
        lambda d: fmm(1, "three ~ x", data=d, family="mlogit"),
        r"'three' \(response\) is text",
    ),
    (
        "text-response-hybrid-nonbinary",
        _same,
        lambda d: fmm(None, ["ins ~ x", "ins ~ 1"], data=d, family=["logit", "poisson"]),
        r"'ins' \(response\) is text",
    ),
    # binary families
    (
        "logit-three-levels",
        _same,
        lambda d: fmm(1, "three ~ x", data=d, family="logit"),
        r"'three' has 3 outcomes \('a', 'b', 'c'\).*'logit'",
    ),
    (
        "logit-01-as-text",
        _with(yb=lambda d: np.where(d["b"], "1", "0")),
        lambda d: fmm(1, "yb ~ x", data=d, family="logit"),
        r"'yb'.*numbers stored as text",
    ),
    ("logit-C-response", _same, lambda d: fmm(1, "C(ins) ~ x", data=d, family="logit"), r"'ins' without C\(\)"),
    (
        "logit-one-text-level",
        _with(ins="yes"),
        lambda d: fmm(1, "ins ~ x", data=d, family="cloglog"),
        r"'ins' takes only the value 'yes'.*'cloglog'",
    ),
    (
        "logit-all-true",
        _with(b=True),
        lambda d: fmm(1, "b ~ x", data=d, family="probit"),
        r"every value of 'b' is True.*does not vary",
    ),
    (
        "logit-all-ones",
        _with(b=1.0),
        lambda d: fmm(1, "b ~ x", data=d, family="logit"),
        r"every value of 'b' is 1.*does not vary",
    ),
    # ±inf is an error, never a silent drop
    (
        "inf-regressor",
        _inf_at("x", 4),
        lambda d: fmm(1, "y ~ x", data=d),
        r"'x' \(regressor\) has 1 infinite value.*r\d+",
    ),
    (
        "minus-inf-class-var",
        _inf_at("z", 5, -np.inf),
        lambda d: fmm(2, "y ~ x", data=d, class_formula="~ z"),
        r"'z' \(class formula variable\) has 1 infinite",
    ),
    ("inf-response", _inf_at("y", 6), lambda d: fmm(1, "y ~ x", data=d), r"'y' \(response\) has 1 infinite"),
    (
        "inf-weights-column",
        _with(w=lambda d: np.where(np.arange(N) == 7, np.inf, 1.0)),
        lambda d: fmm(1, "y ~ x", data=d, weights="w"),
        r"'w' \(weights\) has 1 infinite",
    ),
    (
        "inf-weights-array",
        _same,
        lambda d: fmm(1, "y ~ x", data=d, weights=np.where(np.arange(N) == 7, np.inf, 1.0)),
        r"weights given as an array holds 1 infinite value",
    ),
    # structure of the data
    ("duplicated-column", _dup_x, lambda d: fmm(1, "y ~ x", data=d), r"'x' \(2 times\).*more than once"),
    ("missing-column", _same, lambda d: fmm(1, "y ~ incom", data=d), r"'incom' not found"),
    ("no-complete-rows", _with(x=np.nan), lambda d: fmm(1, "y ~ x", data=d), r"no complete rows.*'x' \(60 of 60\)"),
    ("no-usable-rows", _with(x=0.0), lambda d: fmm(1, "y ~ np.log(x)", data=d), r"no usable rows: np\.log\(x\)"),
    ("constant-response", _with(y=2.5), lambda d: fmm(2, "y ~ x", data=d), r"'y' is constant \(every value is 2\.5\)"),
    (
        "all-zero-counts",
        _with(visits=0),
        lambda d: fmm(2, "visits ~ x", data=d, family="poisson"),
        r"every count of 'visits' is 0 .*a mixture cannot be identified",
    ),
    # weights
    (
        "all-zero-weights-column",
        _with(w=0.0),
        lambda d: fmm(2, "y ~ x", data=d, weights="w"),
        r"weights 'w' sum to 0: no observation carries weight",
    ),
    (
        "all-zero-weights-array",
        _same,
        lambda d: fmm(2, "y ~ x", data=d, weights=np.zeros(N)),
        r"weights sum to 0",
    ),
    (
        "negative-weights",
        _with(w=-1.0),
        lambda d: fmm(1, "y ~ x", data=d, weights="w"),
        r"weights 'w' has negative values",
    ),
    ("text-weights", _with(w="1"), lambda d: fmm(1, "y ~ x", data=d, weights="w"), r"'w' \(weights\) is text"),
    (
        "weights-wrong-length",
        _same,
        lambda d: fmm(1, "y ~ x", data=d, weights=np.ones(5)),
        r"one value per row of data \(60\)",
    ),
    (
        "weights-not-numbers",
        _same,
        lambda d: fmm(1, "y ~ x", data=d, weights=["a"] * N),
        r"weights could not be read as numbers",
    ),
    # offsets and exposures
    (
        "inf-exposure-column",
        _with(t=lambda d: np.where(np.arange(N) == 9, np.inf, 2.0)),
        lambda d: fmm(1, "visits ~ x", data=d, family="poisson", exposure="t"),
        r"'t' \(exposure\) has 1 infinite",
    ),
    (
        "inf-offset-array",
        _same,
        lambda d: fmm(1, "visits ~ x", data=d, family="poisson", offset=np.where(np.arange(N) == 9, -np.inf, 0.0)),
        r"offset given as an array holds 1 infinite value",
    ),
    # the number of classes
    ("k-above-n", lambda d: d.iloc[:8], lambda d: fmm(9, "y ~ 1", data=d), r"k=9 classes but only 8 observation"),
    (
        "parameters-above-n",
        lambda d: d.iloc[:10],
        lambda d: fmm(3, "y ~ x + z", data=d),
        r"14 parameters \(3 classes\) but only 10 observations",
    ),
    ("k-zero", _same, lambda d: fmm(0, "y ~ x", data=d), r"positive integer, got 0"),
    ("k-negative", _same, lambda d: fmm(-2, "y ~ x", data=d), r"positive integer, got -2"),
    ("k-fraction", _same, lambda d: fmm(1.5, "y ~ x", data=d), r"whole number.*got 1\.5"),
    ("k-float-integer", _same, lambda d: fmm(2.0, "y ~ x", data=d), r"whole number.*got 2\.0"),
    ("k-bool", _same, lambda d: fmm(True, "y ~ x", data=d), r"positive integer, got True"),
    ("k-numpy-bool", _same, lambda d: fmm(np.True_, "y ~ x", data=d), r"positive integer, got (np\.)?True"),
    # formulas
    ("parse-error", _same, lambda d: fmm(1, "y ~ x +", data=d), r"could not parse formula 'y ~ x \+'"),
]


@pytest.mark.parametrize("make, call, match", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_raises_fmmerror_naming_the_culprit(make, call, match):
    df = make(BASE)
    with np.errstate(divide="ignore"), pytest.raises(FMMError, match=match) as info:
        _unchanged_after(df, call)
    # the package's own message, no formulaic/numpy traceback chained to it, no terminal colour codes
    assert info.value.__cause__ is None and "\x1b" not in str(info.value)


def test_there_are_enough_cases():
    assert len(ERRORS) >= 35


# ---------------------------------------------------------------- warnings
def test_factor_with_many_levels_warns():
    with pytest.warns(DataWarning, match=r"'C\(grp\)' is categorical with 20 levels in 60 rows"):
        res = _unchanged_after(BASE, lambda d: fmm(1, "y ~ C(grp)", data=d))
    assert len(res.params) == 21  # 19 contrasts, intercept, lnsigma


def test_few_levels_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        _unchanged_after(BASE, lambda d: fmm(1, "y ~ C(three) + region", data=d))


def test_rows_where_a_transform_is_not_finite_are_dropped_with_a_warning():
    df = BASE.assign(pos=np.where(np.arange(N) < 4, 0.0, np.exp(BASE["x"])))
    with np.errstate(divide="ignore"), pytest.warns(DataWarning, match=r"4 row\(s\) dropped because np\.log\(pos\)"):
        res = _unchanged_after(df, lambda d: fmm(1, "y ~ np.log(pos)", data=d))
    assert res.nobs == N - 4 and res.n_dropped == 4


# ------------------------------------------------------------ right results
def test_text_response_of_logit_models_the_second_level():
    res = _unchanged_after(BASE, lambda d: fmm(1, "ins ~ x", data=d, family="logit"))
    ref = fmm(1, "ins01 ~ x", data=BASE.assign(ins01=(BASE["ins"] == "yes").astype(float)), family="logit")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert res.model.design.event == "ins = yes"
    assert "logit: P(ins = yes)" in str(res.summary())
    assert "P(ins01" not in str(ref.summary())  # a numeric 0/1 response needs no label


def test_categorical_response_event_follows_the_category_order():
    res = _unchanged_after(BASE, lambda d: fmm(1, "cat ~ x", data=d, family="logit"))
    ref = fmm(1, "no ~ x", data=BASE.assign(no=(BASE["ins"] == "no").astype(float)), family="logit")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert "logit: P(cat = no)" in str(res.summary())


def test_boolean_response_event_is_true():
    res = _unchanged_after(BASE, lambda d: fmm(1, "b ~ z", data=d, family="probit"))
    ref = fmm(1, "b01 ~ z", data=BASE.assign(b01=BASE["b"].astype(float)), family="probit")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert "probit: P(b = True)" in str(res.summary())


def test_binary_text_response_in_a_mixture_and_on_new_data():
    res = _unchanged_after(BASE, lambda d: fmm(2, "ins ~ x", data=d, family="logit", draws=3, max_draws=3))
    new = BASE.iloc[:7]
    np.testing.assert_allclose(
        res.predict(newdata=new, kind="classposteriorpr").to_numpy(),
        res.predict(kind="classposteriorpr").loc[new.index].to_numpy(),
        rtol=1e-10,
    )
    bad = new.assign(ins="maybe")
    with pytest.raises(FMMError, match=r"'ins'.*'maybe'.*outside its two outcomes"):
        _unchanged_after(bad, lambda d: res.predict(newdata=d, kind="classposteriorpr"))


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_label_text_regressor_is_categorical(dtype):
    """Labels only ("north"/"south"): a categorical variable, as in R; the same fit as C(region)."""
    df = BASE.assign(region=BASE["region"].astype(dtype))
    res = _unchanged_after(df, lambda d: fmm(1, "y ~ x + region", data=d))
    ref = fmm(1, "y ~ x + C(region)", data=BASE)
    assert ("1.y", "region[T.south]") in res.params.index
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)


def test_text_inside_an_expression_is_allowed():
    res = _unchanged_after(BASE, lambda d: fmm(1, "y ~ I(region == 'north')", data=d))
    assert ("1.y", "I(region == 'north')") in res.params.index


def test_numbers_converted_as_the_message_says_then_fit():
    df = BASE.assign(income=_num(BASE))
    res = _unchanged_after(df, lambda d: fmm(1, "y ~ x + income", data=d))
    assert res.n_dropped == 3 and res.nobs == N - 3


def test_nullable_float_column_equals_float_with_nan():
    a = BASE.assign(x=BASE["x"].astype("Float64"))
    a.loc[a.index[2], "x"] = pd.NA
    b = BASE.assign(x=BASE["x"].where(np.arange(N) != 2))
    ra = _unchanged_after(a, lambda d: fmm(1, "y ~ x", data=d))
    rb = fmm(1, "y ~ x", data=b)
    np.testing.assert_allclose(ra.params.to_numpy(), rb.params.to_numpy(), rtol=1e-12)
    assert ra.nobs == rb.nobs == N - 1


def test_duplicated_names_not_used_by_the_model_are_fine():
    df = pd.concat([BASE[["y", "x", "z"]], BASE[["z"]]], axis=1)
    res = _unchanged_after(df, lambda d: fmm(1, "y ~ x", data=d))
    assert res.nobs == N


def _copy_on_write():
    """pandas 3 always copies on write (read-only arrays); pandas 2 has it as an option."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return nullcontext()
    return pd.option_context("mode.copy_on_write", True)


@pytest.mark.parametrize("kind", ["ndarray", "read-only ndarray", "list", "Series"])
def test_weights_as_an_array_equal_the_weights_column(kind):
    """pandas 3 regression: an array of weights failed with 'output array is read-only'."""
    w = np.random.default_rng(1).integers(1, 4, size=N).astype(float)
    df = BASE.assign(y=BASE["y"].where(np.arange(N) != 0))  # a missing value: listwise deletion runs
    given = {
        "ndarray": w.copy(),
        "read-only ndarray": w.copy(),
        "list": list(w),
        "Series": pd.Series(w, index=df.index),
    }[kind]
    if kind == "read-only ndarray":
        given.setflags(write=False)
    with _copy_on_write():
        res = _unchanged_after(df, lambda d: fmm(1, "y ~ x", data=d, weights=given))
        ref = fmm(1, "y ~ x", data=df.assign(w=w), weights="w")
    assert res.nobs == ref.nobs == w[1:].sum()
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-12)
    if kind == "ndarray":
        np.testing.assert_array_equal(given, w)  # the caller's array is not modified either


def test_results_keep_the_users_index():
    df = BASE.assign(y=BASE["y"].where(np.arange(N) != 5))
    res = _unchanged_after(df, lambda d: fmm(1, "y ~ x", data=d))
    assert res.posterior.index.equals(df.index.drop(df.index[5]))


def test_same_random_state_gives_bit_identical_results():
    fits = [
        _unchanged_after(
            BASE, lambda d: fmm(2, "visits ~ x", data=d, family="poisson", draws=4, max_draws=4, random_state=7)
        )
        for _ in range(2)
    ]
    fits.append(fmm(2, "visits ~ x", data=BASE.copy(deep=True), family="poisson", draws=4, max_draws=4, random_state=7))
    a = fits[0]
    for b in fits[1:]:
        assert np.array_equal(a.params.to_numpy(), b.params.to_numpy())
        assert np.array_equal(a.bse.to_numpy(), b.bse.to_numpy())
        assert a.llf == b.llf
        assert np.array_equal(a.posterior.to_numpy(), b.posterior.to_numpy())


def test_model_object_checks_too():
    """The checks run when the model is built, before any fitting."""
    with pytest.raises(FMMError, match=r"'income' \(regressor\) is text"):
        FMM(2, "y ~ income", data=BASE)

"""fmmreg.datasets: load with proper dtypes, describe, names (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMMError, datasets, fmm


def test_names_and_descriptions_cover_every_file():
    names = datasets.names()
    assert {"nmes1988", "mus03sub", "mus17docvis", "swisslabor", "biochemists", "insurance"} <= set(names)
    for name in names:
        d = datasets.describe(name)
        assert d.source and d.licence and d.reference and d.title
        frame = datasets.load(name)
        assert d.rows == len(frame) and list(d.variables.index) == list(frame.columns)
        assert (d.variables["description"].str.len() > 0).all()
        assert name in str(d) and "Licence:" in str(d)


def test_factors_are_categoricals_in_the_source_level_order():
    nmes = datasets.load("nmes1988")
    assert isinstance(nmes["health"].dtype, pd.CategoricalDtype)
    assert list(nmes["health"].cat.categories) == ["average", "poor", "excellent"]  # AER: average is the reference
    assert list(nmes["region"].cat.categories)[0] == "other"
    assert nmes["visits"].dtype.kind == "i" and nmes["income"].dtype.kind == "f"
    ins = datasets.load("insurance")
    assert ins["Age"].cat.ordered and list(ins["Age"].cat.categories) == ["<25", "25-29", "30-35", ">35"]
    assert list(ins["District"].cat.categories) == [1, 2, 3, 4]
    assert (
        (ins["Claims"] <= ins["Holders"]).all() and ins["Holders"].sum() == 23359 and ins["Claims"].sum() == 3151
    )  # sums from R
    # the CSV holds exactly what the description declares (no value silently turned into NaN)
    raw = pd.read_csv(datasets.path("insurance"))
    assert raw["Group"].nunique() == 4 and not ins.isna().any().any()


def test_the_base_level_of_a_loaded_factor_is_the_reference_level():
    nmes = datasets.load("nmes1988")
    res = fmm(1, "visits ~ health", data=nmes, family="poisson")
    assert list(res.params.index.get_level_values(1)) == ["health[T.poor]", "health[T.excellent]", "Intercept"]
    # a one-class Poisson on one factor: the intercept is the log mean of the base level, the others log ratios
    means = nmes.groupby("health", observed=True)["visits"].mean()
    b = res.params.loc["1.visits"]
    assert b["Intercept"] == pytest.approx(np.log(means["average"]), abs=1e-7)
    assert b["health[T.poor]"] == pytest.approx(np.log(means["poor"] / means["average"]), abs=1e-7)


def test_load_returns_a_new_frame_and_unknown_names_fail_clearly():
    a = datasets.load("swisslabor")
    a.loc[0, "income"] = -1.0
    assert datasets.load("swisslabor").loc[0, "income"] != -1.0
    with pytest.raises(FMMError, match="no data set named 'nosuch'.*nmes1988"):
        datasets.load("nosuch")
    assert json.loads((datasets.HERE / "swisslabor.json").read_text())["rows"] == 872


def test_readme_examples_load_the_shipped_data():
    """README examples get shipped data from fmmreg.datasets (never a path into the checkout)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        compile(block, "README.md", "exec")
        assert "read_csv" not in block and "datasets/" not in block
        for name in datasets.names():  # a shipped data set is loaded with load(), as outside the checkout
            if name in block:
                assert f'datasets.load("{name}")' in block, f"README block uses {name} without datasets.load"
    assert 'df = datasets.load("nmes1988")' in blocks[0]  # the first example runs as is after pip install

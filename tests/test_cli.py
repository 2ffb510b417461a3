"""The command line: ``fmmreg fit DATA "y ~ x" -k 2 --family poisson --class "~ z"`` and ``fmmreg datasets``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmmreg import fmm
from fmmreg.__main__ import main
from tests.simulate import poisson_mixture


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "counts.csv"
    poisson_mixture(n=400, seed=3).to_csv(path, index=False)
    return path


def test_fit_prints_the_summary_and_writes_every_export(data_file, tmp_path, capsys):
    out = {kind: tmp_path / f"out.{ext}" for kind, ext in [("latex", "tex"), ("markdown", "md"), ("html", "html")]}
    out["csv"] = tmp_path / "coef.csv"
    argv = [
        str(data_file),
        "y ~ x",
        "-k",
        "2",
        "--family",
        "poisson",
        "--class",
        "~ z",
        "--draws",
        "6",
        "--max-draws",
        "6",
    ]
    for kind, path in out.items():
        argv += [f"--{kind}", str(path)]
    assert main(["fit", *argv]) == 0
    printed = capsys.readouterr().out
    api = fmm(
        2, "y ~ x", pd.read_csv(data_file), family="poisson", class_formula="~ z", draws=6, max_draws=6, random_state=0
    )
    assert printed.strip() == api.summary().as_text().strip()  # the same fit and text as the Python API
    tidy = pd.read_csv(out["csv"])
    np.testing.assert_allclose(tidy["coef"], api.params.to_numpy(), rtol=1e-10)
    assert list(tidy.columns[:5]) == ["equation", "class", "term", "variable", "level"]
    assert out["latex"].read_text().startswith(r"\documentclass{article}")
    assert "| Coefficient |" in out["markdown"].read_text()
    page = out["html"].read_text()
    assert page.startswith("<!doctype html>") and "<style>" in page and "fmmreg-coef" in page


def test_fit_hybrid_lists_and_a_shipped_data_set(capsys):
    argv = [
        "fit",
        "biochemists",
        "art ~ fem + ment",
        "--family",
        "pointmass,poisson",
        "--draws",
        "4",
        "--max-draws",
        "4",
        "--level",
        "90",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Model:    pointmass" in text and "Model:    poisson" in text
    assert "[90% conf. interval]" in text
    assert "         fem |" in text and "      Women  |" in text  # the factor shown as Stata's i.fem


def test_fit_passes_the_degeneracy_rule_options(capsys):
    """Example 1d, random_state 3: the default rule flags the -4710.0117 maximum (a small tight class)
    and the summary reports Stata's -4713.1378; --min-scale-small 0.05 keeps that class."""
    base = "lmedexp ~ income + age + I(age**2) + totchr"
    argv = ["fit", "mus03sub", base, base + " + C(sex)", base + " + C(sex)", "--class", "~ totchr"]
    argv += ["--random-state", "3"]
    assert main(argv) == 0
    assert "Log likelihood = -4713.1378" in capsys.readouterr().out
    assert main(argv + ["--min-scale-small", "0.05"]) == 0
    assert "Log likelihood = -4710.0117" in capsys.readouterr().out
    assert main(argv + ["--min-scale-small", "0.05", "--min-scale", "0.07"]) == 0
    assert "Log likelihood = -4713.1378" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "no_such_file.csv", "y ~ x", "-k", "2"], "not found"),
        (["fit", "nmes1988", "visits ~ nosuch", "-k", "2", "--family", "poisson"], "'nosuch' not found in data"),
        (["fit", "nmes1988", "visits ~ chronic", "--family", "poisson"], "number of classes k"),
        (["fit", "nmes1988", "visits ~ chronic", "-k", "2", "--family", "nosuch"], "unknown family"),
        (
            ["fit", "nmes1988", "visits ~ chronic", "-k", "2", "--min-scale-small", "2"],
            "min_scale_small=2.0 is outside",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fmmreg: error: ") and message in err and "Traceback" not in err


def test_datasets_lists_and_describes(capsys):
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "insurance" in listing and "nmes1988" in listing
    assert main(["datasets", "insurance"]) == 0
    assert "Holders" in capsys.readouterr().out

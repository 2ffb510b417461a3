"""Shared fixtures: data sets and simulated mixtures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

EXAMPLE_1B_FORMULA = "lmedexp ~ income + age + I(age**2) + totchr + C(sex)"


@pytest.fixture(scope="session")
def mus03sub() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "mus03sub.csv")


@pytest.fixture(scope="session")
def mus17() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "mus17docvis.csv")


@pytest.fixture(scope="session")
def nmes() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "nmes1988.csv")

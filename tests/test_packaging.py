"""fmmreg works after ``pip install`` (not only from a checkout): the wheel ships the data sets.

The wheel is built from a copy of the sources (the checkout stays clean),
installed into an empty directory and run from another directory, so the
demo and ``fmmreg.datasets.load`` cannot see the repository's files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    """pyproject lists the packages explicitly (fmmreg.datasets maps to datasets/); none may be forgotten."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {"fmmreg"} | {f"fmmreg.{p.parent.name}" for p in (ROOT / "fmmreg").glob("*/__init__.py")}
    assert set(config["packages"]) == found | {"fmmreg.datasets"}
    assert config["package-dir"] == {"fmmreg.datasets": "datasets"}


def _can_build_without_isolation() -> bool:
    """setuptools >= 70.1 builds wheels itself; older ones need the ``wheel`` package."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    major, minor = (int(v) for v in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("fmmreg", "datasets"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)]
    if _can_build_without_isolation():
        cmd.insert(4, "--no-build-isolation")
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    (whl,) = dist.glob("fmmreg-*.whl")
    return whl


def test_wheel_contains_the_package_and_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = sorted(p.name for p in (ROOT / "datasets").iterdir() if p.suffix in (".csv", ".json"))
    assert data and {f"fmmreg/datasets/{n}" for n in data} <= names
    assert "fmmreg/datasets/__init__.py" in names
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "fmmreg").rglob("*.py")}
    assert modules <= names


def test_installed_wheel_runs_the_demo_and_loads_data_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import fmmreg, fmmreg.datasets as d; "
        "df = d.load('nmes1988'); "
        "print(fmmreg.__file__); print(d.__file__); "
        "print(df.shape, df['health'].dtype, list(df['health'].cat.categories))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert out[0].startswith(str(site)) and out[1].startswith(str(site))  # not the checkout
    assert out[2] == "(4406, 19) category ['average', 'poor', 'excellent']"
    demo = subprocess.run(
        [sys.executable, "-m", "fmmreg", "demo"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "Number of obs     =      4,406" in demo.stdout
    assert "Model:    poisson" in demo.stdout and "Class:    3" in demo.stdout

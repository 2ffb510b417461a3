"""The code base stays ruff-clean (lint and format), as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the test extra installs ruff next to the interpreter running the tests
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
PATHS = [p for p in ("fmmreg", "tests", "benchmarks", "notebooks", "datasets") if (ROOT / p).exists()]


@pytest.mark.skipif(RUFF is None, reason="ruff is in the test extra; not installed here")
def test_ruff_lint_is_clean():
    out = subprocess.run([RUFF, "check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(RUFF is None, reason="ruff is in the test extra; not installed here")
def test_ruff_format_is_clean():
    out = subprocess.run([RUFF, "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

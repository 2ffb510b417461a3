"""The README's demo command runs and prints a summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_command_prints_summary():
    out = subprocess.run(
        [sys.executable, "-m", "fmmreg", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert "Finite mixture model" in out
    assert "Number of obs     =      4,406" in out
    assert "Model:    poisson" in out
    assert "Class:    3" in out

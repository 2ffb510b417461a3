"""The notebooks: stored with their outputs (figures included) and re-executed here.

All notebooks run at the same time (one kernel each), which keeps the wall
time of this module near that of the slowest notebook.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(DIR.glob("*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def _images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def executed() -> dict[str, tuple[nbformat.NotebookNode, BaseException | None]]:
    async def run(path: Path):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(DIR)}})
        try:
            await client.async_execute()
        except Exception as exc:  # reported by the test of that notebook
            return nb, exc
        return nb, None

    async def run_all():
        return await asyncio.gather(*(run(p) for p in NOTEBOOKS))

    return dict(zip(IDS, asyncio.run(run_all())))


def test_the_story_notebooks_are_there():
    assert {"01_quickstart.ipynb", "02_replicating_stata_fmm.ipynb", "03_doctor_visits.ipynb"} <= set(IDS)
    assert {"04_insurance_risk.ipynb", "05_reporting.ipynb"} <= set(IDS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_notebook_has_its_outputs_and_figures(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "store the notebook executed (make_notebooks.py)"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert sum(_images(c) for c in code) >= 1  # inline figures, not an Agg backend
    assert not any("matplotlib.use(" in c.source for c in code)


@pytest.mark.parametrize("name", IDS)
def test_notebook_executes(executed, name):
    nb, error = executed[name]
    assert error is None, f"{name}: {error}"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # a plot returned as a cell's last value (or assigned and saved) is shown exactly once
    for cell in nb.cells:
        if "one-figure" in cell.get("metadata", {}).get("tags", []):
            assert _images(cell) == 1, cell.source

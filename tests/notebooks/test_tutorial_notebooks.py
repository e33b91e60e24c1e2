"""Every notebook under notebooks/ runs top to bottom without an error.

The tutorials are documentation that executes: each runs in a fresh kernel
with its working directory in notebooks/ (so it finds its neighbours, such as
analysis.ipynb) and with this test's own JUPYTER_FLOWS_HOME, which the kernel
inherits from the environment. The notebooks on disk are not modified.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

pytestmark = pytest.mark.slow  # each notebook starts a kernel, which may start more


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_runs_without_errors(path, jupyter_flows_home):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})

    client.execute()  # a cell that raises fails the test with the cell and its traceback

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)


def test_the_tutorials_are_there():
    names = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert {"01-hello-flow.ipynb", "02-notebook-as-flow.ipynb", "03-map-notebooks.ipynb",
            "analysis.ipynb"} <= names

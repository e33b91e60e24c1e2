"""What every notebook run does first (imports, finding kernel specs, compiling nbformat's schema) is done once,
by the run template, and reused by each notebook run forked from it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat

#: Run in a process of its own: prepares as a template does once it runs notebooks, then forks one run
#: process and reports what that run's notebook execution had to import or build.
FORKED_NOTEBOOK_RUN = textwrap.dedent('''
    import json, os, sys

    from jupyter_flows.agent.template import _import_notebook_stack

    _import_notebook_stack()
    read_fd, write_fd = os.pipe()
    if os.fork() == 0:
        os.close(read_fd)
        from nbformat.validator import validators
        from jupyter_flows.tasks.papermill_engine import run_notebook

        modules, built = set(sys.modules), set(validators)
        run_notebook(sys.argv[1], sys.argv[2], {"n": 3}, "python3", name="probe")
        report = {"imported": sorted(set(sys.modules) - modules),
                  "validators_built": [list(key) for key in set(validators) - built]}
        os.write(write_fd, json.dumps(report).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.wait()
    print(b"".join(chunks).decode())
''')


def notebook(path, minor: int) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.nbformat_minor = minor
    nb.cells = [nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(n * n)")]
    if minor < 5:  # cell ids came with 4.5
        for cell in nb.cells:
            del cell["id"]
    nbformat.write(nb, str(path))


def run_forked(tmp_path, minor: int) -> dict:
    source, output = tmp_path / f"probe-4.{minor}.ipynb", tmp_path / "out" / f"probe-4.{minor}.ipynb"
    notebook(source, minor)
    result = subprocess.run([sys.executable, "-c", FORKED_NOTEBOOK_RUN, str(source), str(output)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    executed = nbformat.read(str(output), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "9\n"  # it ran, with its parameter
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_notebook_run_forked_from_the_template_reuses_its_kernel_lookup_and_notebook_validator(tmp_path):
    report = run_forked(tmp_path, nbformat.current_nbformat_minor)
    assert report["validators_built"] == []
    assert not [m for m in report["imported"] if m.split(".")[0] in ("IPython", "papermill", "nbclient",
                                                                      "jupyter_client", "nbformat")]


def test_a_notebook_saved_as_format_4_4_is_validated_with_the_reused_validator_too(tmp_path):
    assert run_forked(tmp_path, 4)["validators_built"] == []

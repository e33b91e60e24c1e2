"""``Remote`` storage on real fsspec file systems: a shared folder, HTTP on loopback; bad URLs and credentials."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jupyter_flows import Flow, task
from jupyter_flows.exceptions import StorageError
from jupyter_flows.storage import Remote, storage_from_dict

NOTEBOOKS = Path(__file__).parent.parent / "notebooks" / "files"


@pytest.fixture
def backend(backend):
    backend.create_project("tests")
    return backend


def _flow(storage) -> Flow:
    @task
    def answer():
        return 42

    with Flow("remote-hello", storage=storage) as flow:
        answer()
    return flow


def _execute_elsewhere(run_id: str) -> subprocess.CompletedProcess:
    """The run in a fresh process, as an agent's would be (its home holds no copy of the flow)."""
    return subprocess.run([sys.executable, "-m", "jupyter_flows.agent.execute", run_id], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())


def test_a_pickled_flow_is_uploaded_at_registration_and_downloaded_by_the_run(backend, tmp_path):
    shared = tmp_path / "shared"
    flow_id = _flow(Remote(f"file://{shared}/flows")).register("tests")
    record = backend.get_flow(flow_id)
    assert record["location"].startswith(f"file://{shared}/flows/remote-hello/") and record["labels"] == []
    assert Path(record["location"].removeprefix("file://")).is_file()
    run = backend.create_flow_run(flow_id)
    done = _execute_elsewhere(run["id"])
    assert done.returncode == 0, done.stderr
    assert backend.get_flow_run(run["id"])["state"] == "Success"


def test_a_notebook_in_remote_storage_runs_from_the_uploaded_copy(backend, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    notebook = shutil.copy(NOTEBOOKS / "params.ipynb", work / "params.ipynb")
    flow = Flow("remote-nb", storage=Remote(f"file://{tmp_path}/shared", notebook=notebook))
    assert sorted(p.name for p in flow.parameters()) == ["alpha", "count", "label", "name"]
    flow_id = flow.register("tests")
    os.unlink(notebook)  # the working copy is gone: runs read the uploaded one
    run = backend.create_flow_run(flow_id, parameters={"count": 5})
    done = _execute_elsewhere(run["id"])
    assert done.returncode == 0, done.stderr
    output = json.loads(Path(backend.get_flow_run(run["id"])["output_path"]).read_text())
    printed = "".join("".join(out.get("text", "")) for cell in output["cells"] for out in cell.get("outputs", []))
    assert "count=5" in printed


@pytest.fixture
def http_folder(tmp_path):
    """``(folder, url)``: a folder served over HTTP on loopback."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_flow_published_on_a_web_server_loads_over_http(tmp_path, http_folder):
    folder, url = http_folder
    written = Remote(f"file://{folder}")
    location = written.add_flow(_flow(written))
    relative = location.removeprefix(f"file://{folder}")
    reader = Remote(url, flows={"remote-hello": url + relative})
    assert reader.get_flow(url + relative).name == "remote-hello"
    with pytest.raises(StorageError, match=r"the stored flow 'http://127.0.0.1:\d+/missing.flow' is missing"):
        reader.get_flow(f"{url}/missing.flow")
    with pytest.raises(StorageError, match=r"cannot download 'http://127.0.0.1:1/x.flow': ClientConnectorError"):
        reader.get_flow("http://127.0.0.1:1/x.flow")


def test_a_url_scheme_fsspec_does_not_know_is_refused_naming_it():
    with pytest.raises(StorageError, match=r"fsspec does not know the URL scheme 'nosuch' of 'nosuch://x'; known"):
        Remote("nosuch://x")


def test_missing_credentials_name_the_secret_and_values_are_never_printed(tmp_path, monkeypatch):
    storage = Remote(f"file://{tmp_path}/x", secret_options={"password": "SHARE_PASSWORD"})
    with pytest.raises(StorageError, match=r"needs option 'password': secret 'SHARE_PASSWORD' is not set"):
        storage.add_flow(_flow(storage))
    assert "SHARE_PASSWORD" in storage_from_dict(storage.to_dict()).secret_options.values()
    assert "hunter2" not in json.dumps(storage.to_dict())
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__SHARE_PASSWORD", "hunter2")
    unreachable = Remote("http://127.0.0.1:1/flows", secret_options={"password": "SHARE_PASSWORD"})
    with pytest.raises(StorageError) as refused:
        unreachable.get_flow("http://127.0.0.1:1/flows/x.flow")
    assert "hunter2" not in str(refused.value)


def test_a_deleted_upload_is_a_clear_error(tmp_path):
    storage = Remote(f"file://{tmp_path}/flows")
    location = storage.add_flow(_flow(storage))
    os.unlink(location.removeprefix("file://"))
    with pytest.raises(StorageError, match="is missing: it was uploaded when the flow was registered"):
        storage.get_flow(location)

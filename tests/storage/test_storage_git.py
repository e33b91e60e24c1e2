"""``Git`` storage against a real ``git daemon`` on loopback: commits recorded, runs load them, bad input.

The repository is made by the test (a script flow and a notebook flow) and
served by ``git daemon`` on 127.0.0.1, so the runs fetch over the git protocol
as an agent on another host would.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_flows import Flow
from jupyter_flows.agent.execute import execute_flow_run
from jupyter_flows.backend import Backend
from jupyter_flows.exceptions import StorageError
from jupyter_flows.storage import Git, storage_from_dict

NOTEBOOKS = Path(__file__).parent.parent / "notebooks" / "files"

SCRIPT = """
    from jupyter_flows import Flow, task
    from jupyter_flows.storage import Git

    @task
    def version():
        return {version!r}

    with Flow("from-git", storage=Git({repo!r}, "flows/hello.py", ref="main", follow_branch={follow})) as flow:
        version()
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Repo:
    """A repository served by ``git daemon`` on loopback; ``commit(files)`` pushes a new commit to ``main``."""

    def __init__(self, root: Path, port: int):
        self.work = root / "work"
        self.url = f"git://127.0.0.1:{port}/flows.git"
        self.served = root / "served" / "flows.git"

    def commit(self, files: dict[str, str | bytes], message: str = "change") -> str:
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else textwrap.dedent(content).encode())
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", str(self.served), "HEAD:main", "--tags", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def script(self, version: str, follow: bool = False) -> str:
        return SCRIPT.format(version=version, repo=self.url, follow=follow)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def backend(backend):
    backend.create_project("tests")
    return backend


@pytest.fixture
def repo(tmp_path):
    port = _free_port()
    served = tmp_path / "served"
    served.mkdir()
    git("init", "-q", "--bare", "-b", "main", "flows.git", cwd=served)
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    git("config", "user.email", "test@example.com", cwd=work)
    git("config", "user.name", "Test", cwd=work)
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}",
                               "--listen=127.0.0.1", f"--port={port}", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and daemon.poll() is None, "git daemon did not start"
            time.sleep(0.05)
        yield Repo(tmp_path, port)
    finally:
        daemon.terminate()
        daemon.wait(10)


def _flow_of(script_text: str, where: Path) -> Flow:
    path = where / "hello_local.py"
    path.write_text(textwrap.dedent(script_text))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["flow"]


def _run(backend: Backend, flow_id: str) -> dict:
    run = backend.create_flow_run(flow_id)
    assert execute_flow_run(run["id"], backend) == "Success", backend.get_flow_run(run["id"])["state_message"]
    return run


def test_a_run_loads_the_commit_registered_not_what_was_pushed_later(repo, backend, tmp_path):
    first = repo.commit({"flows/hello.py": repo.script("v1")})
    flow = _flow_of(repo.script("v1"), tmp_path)
    flow_id = flow.register("tests")
    record = backend.get_flow(flow_id)
    assert record["location"] == first and record["labels"] == []  # no host label: any host may run it
    repo.commit({"flows/hello.py": repo.script("v2")})
    storage = storage_from_dict(record["storage"])
    assert storage.get_flow(first).tasks.pop().run() == "v1"
    _run(backend, flow_id)


def test_with_follow_branch_each_run_takes_the_tip_of_the_branch(repo, backend, tmp_path):
    repo.commit({"flows/hello.py": repo.script("v1", follow=True)})
    flow_id = _flow_of(repo.script("v1", follow=True), tmp_path).register("tests")
    record = backend.get_flow(flow_id)
    assert record["location"] == "ref:main"
    repo.commit({"flows/hello.py": repo.script("v2", follow=True)})
    loaded = storage_from_dict(record["storage"]).get_flow(record["location"])
    assert loaded.tasks.pop().run() == "v2"


def test_a_notebook_in_git_is_a_flow_whose_runs_execute_the_registered_commit(repo, backend, tmp_path):
    repo.commit({"analysis/params.ipynb": (NOTEBOOKS / "params.ipynb").read_bytes()})
    flow = Flow("nb-from-git", storage=Git(repo.url, "analysis/params.ipynb"))
    assert sorted(p.name for p in flow.parameters()) == ["alpha", "count", "label", "name"]
    flow_id = flow.register("tests")
    run = backend.create_flow_run(flow_id, parameters={"count": 4})
    assert execute_flow_run(run["id"], backend) == "Success", backend.get_flow_run(run["id"])["state_message"]
    output = json.loads(Path(backend.get_flow_run(run["id"])["output_path"]).read_text())
    assert any("alpha=0.5 count=4" in "".join(out.get("text", "")) for cell in output["cells"]
               for out in cell.get("outputs", []))


def test_the_fetched_commit_is_cached_per_host_and_reused(repo, backend, tmp_path):
    commit = repo.commit({"flows/hello.py": repo.script("v1")})
    storage = Git(repo.url, "flows/hello.py", flows={"from-git": commit})
    storage.get_flow(commit)
    from jupyter_flows import gitrepo

    tree = gitrepo.cache_dir(repo.url) / "trees" / commit
    assert (tree / "flows" / "hello.py").is_file()
    shutil.rmtree(repo.served)  # the repository is gone: the cached commit still loads
    assert storage.get_flow(commit).name == "from-git"


def test_an_unreachable_repository_is_a_storage_error_naming_it():
    storage = Git("git://127.0.0.1:1/nowhere.git", "flow.py")
    with pytest.raises(StorageError, match=r"cannot reach git repository 'git://127.0.0.1:1/nowhere.git'"):
        storage.add_flow(Flow("x"))


def test_an_unknown_ref_names_the_branches_and_tags_there_are(repo):
    repo.commit({"flows/hello.py": repo.script("v1")})
    git("tag", "v1", cwd=repo.work)
    git("push", "-q", str(repo.served), "--tags", cwd=repo.work)
    with pytest.raises(StorageError, match=r"has no ref 'nope'; its branches and tags: main, v1"):
        Git(repo.url, "flows/hello.py", ref="nope").add_flow(Flow("x"))


def test_a_flow_path_not_in_the_repository_is_refused_listing_what_is_there(repo):
    repo.commit({"flows/hello.py": repo.script("v1")})
    with pytest.raises(StorageError, match=r"'flows/missing.py' is not in git repository .* at its top level: flows"):
        Git(repo.url, "flows/missing.py").add_flow(Flow("x"))


@pytest.mark.parametrize("flow_path", ["/etc/passwd.py", "../up.py", "flow.txt", ""])
def test_a_flow_path_outside_the_repository_or_of_another_kind_is_refused(flow_path):
    with pytest.raises(StorageError, match="flow_path must"):
        Git("git://127.0.0.1:1/x.git", flow_path)


def test_a_missing_token_secret_is_named_and_a_token_is_never_printed(monkeypatch):
    storage = Git("http://127.0.0.1:1/x.git", "flow.py", token_secret="GIT_TOKEN")
    with pytest.raises(StorageError, match=r"needs its token: secret 'GIT_TOKEN' is not set"):
        storage.add_flow(Flow("x"))
    monkeypatch.setenv("JUPYTER_FLOWS__SECRETS__GIT_TOKEN", "s3cret-token-value")
    with pytest.raises(StorageError) as refused:
        storage.add_flow(Flow("x"))
    assert "s3cret-token-value" not in str(refused.value)
    with pytest.raises(StorageError) as refused:
        Git("http://someone:hunter2@127.0.0.1:1/x.git", "flow.py").add_flow(Flow("x"))
    assert "hunter2" not in str(refused.value) and "http://127.0.0.1:1/x.git" in str(refused.value)


def test_the_storage_round_trips_through_its_dict():
    storage = Git("git://127.0.0.1:1/x.git", "a/b.py", ref="v2", follow_branch=True, token_secret="T",
                  flows={"f": "ref:v2"})
    again = storage_from_dict(storage.to_dict())
    assert again.to_dict() == storage.to_dict() and again.labels == []

"""``Git`` storage: the flow is a script (or a notebook) in a git repository, loadable on any host.

Registering resolves ``ref`` to a commit, checks that ``flow_path`` is there,
and records that commit: every run of the version loads exactly that commit,
whatever is pushed later, unless ``follow_branch=True`` (then each run takes
the tip of ``ref``). A run fetches the commit shallowly into its host's cache
(:mod:`jupyter_flows.gitrepo`) and runs the script, or builds the notebook's
flow, from there. No host label is added: any agent that can reach the
repository runs it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Iterable

from .. import gitrepo
from ..exceptions import SecretError, StorageError
from .base import Storage, register_storage
from .script import load_flow_script


@register_storage
class Git(Storage):
    """Keep the flow as a file in a git repository.

    ``repo``: what ``git clone`` takes (``https://...``, ``git://...``,
    ``ssh://...``, a path). ``flow_path``: the ``.py`` script that builds the
    flow, or an ``.ipynb`` notebook that is the flow, relative to the
    repository's root. ``ref``: branch, tag or commit (default: the default
    branch). ``follow_branch``: runs take the branch's tip, not the commit
    registered. ``token_secret``: the name of a secret (see
    :mod:`jupyter_flows.secrets`) holding an HTTPS token, sent as
    ``token_username``. ``notebook_options``: options of the
    :class:`~jupyter_flows.storage.Notebook` a notebook flow is run with
    (``kernel_name``, ``timeout``, ...).

    >>> flow.storage = Git("https://git.example.com/team/flows.git", "etl/daily.py", ref="main")
    >>> report = Flow("report", storage=Git(repo, "report.ipynb"))   # a notebook flow
    """

    def __init__(self, repo: str, flow_path: str, ref: str | None = None, follow_branch: bool = False,
                 token_secret: str | None = None, token_username: str = "x-access-token",
                 notebook_options: dict | None = None, labels: Iterable[str] | None = None,
                 add_default_labels: bool = True, flows: dict | None = None):
        super().__init__(labels=labels, add_default_labels=add_default_labels)
        if not isinstance(repo, str) or not repo.strip():
            raise StorageError(f"Git storage needs the repository to clone (a URL or path), got {repo!r}")
        if not isinstance(flow_path, str) or not flow_path.strip() or posixpath.isabs(flow_path) \
                or ".." in flow_path.split("/"):
            raise StorageError(f"flow_path must be a path inside the repository (relative, without '..'), "
                               f"got {flow_path!r}")
        if not flow_path.endswith((".py", ".ipynb")):
            raise StorageError(f"flow_path must name a .py script or an .ipynb notebook, got {flow_path!r}")
        self.repo = repo
        self.flow_path = flow_path
        self.ref = ref
        self.follow_branch = bool(follow_branch)
        self.token_secret = token_secret
        self.token_username = token_username
        self.notebook_options = dict(notebook_options or {})
        self.flows: dict[str, str] = dict(flows or {})
        self._notebook = None

    @property
    def is_notebook(self) -> bool:
        return self.flow_path.endswith(".ipynb")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "repo": self.repo, "flow_path": self.flow_path, "ref": self.ref,
                "follow_branch": self.follow_branch, "token_secret": self.token_secret,
                "token_username": self.token_username, "notebook_options": dict(self.notebook_options),
                "flows": dict(self.flows)}

    # -- git ------------------------------------------------------------------------------------

    def _env(self) -> dict:
        if self.token_secret is None:
            return {}
        from .. import secrets

        try:
            token = secrets.get(self.token_secret)
        except SecretError as exc:
            raise StorageError(f"Git storage of {gitrepo.display_url(self.repo)!r} needs its token: {exc}") from None
        return gitrepo.auth_env(token, self.token_username)

    def _tree(self, commit: str, env: dict) -> Path:
        """The files of ``commit``, with ``flow_path`` among them."""
        tree = gitrepo.checkout(self.repo, commit, self.ref, env)
        path = tree / self.flow_path
        if not path.is_file():
            top = sorted(p.name for p in tree.iterdir() if not p.name.startswith("."))
            raise StorageError(f"{self.flow_path!r} is not in git repository {gitrepo.display_url(self.repo)!r} at "
                               f"commit {commit[:12]}; at its top level: {', '.join(top[:20]) or 'nothing'}")
        return tree

    def _checked_out(self) -> tuple[str, Path]:
        env = self._env()
        commit = gitrepo.resolve(self.repo, self.ref, env)
        return commit, self._tree(commit, env)

    # -- a notebook flow ------------------------------------------------------------------------

    def attach(self, flow) -> None:
        """For a notebook: fill the flow in from the notebook at ``ref`` (a script's flow fills itself)."""
        if not self.is_notebook:
            return
        from .notebook import Notebook

        _, tree = self._checked_out()
        self._notebook = Notebook(tree / self.flow_path, add_default_labels=False, **self.notebook_options)
        self._notebook.attach(flow)

    def output_path(self, flow_run_id: str) -> str | None:
        if not self.is_notebook:
            return None
        from .notebook import Notebook

        return Notebook.from_dict({"path": self.flow_path, **self.notebook_options}).output_path(flow_run_id)

    # -- registering and loading ----------------------------------------------------------------

    def add_flow(self, flow) -> str:
        """Record the commit ``ref`` names now (or ``ref`` itself when runs follow the branch)."""
        commit, _ = self._checked_out()
        location = f"ref:{self.ref or 'HEAD'}" if self.follow_branch else commit
        self.flows[flow.name] = location
        return location

    def get_flow(self, location: str | None = None):
        location = self.resolve_location(location)
        env = self._env()
        if location.startswith("ref:"):
            commit = gitrepo.resolve(self.repo, location[4:] if location[4:] != "HEAD" else None, env)
        else:
            commit = location
        path = self._tree(commit, env) / self.flow_path
        names = [name for name, where in self.flows.items() if where == location]
        flow_name = names[0] if len(names) == 1 else None
        if not self.is_notebook:
            return load_flow_script(path, flow_name)
        from ..core.flow import Flow
        from .notebook import Notebook

        notebook = Notebook(path, add_default_labels=False, **self.notebook_options)
        return Flow(flow_name or Path(self.flow_path).stem, storage=notebook)

    def __repr__(self) -> str:
        return f"Git({gitrepo.display_url(self.repo)!r}, {self.flow_path!r}, ref={self.ref!r})"

"""The one place jupyter-flows talks to git: resolve a ref, fetch a commit, export its files.

Through the ``git`` binary (present wherever notebooks are versioned), with
prompts off (a missing credential is an error, never a hang) and a time
limit. A token comes from a secret and reaches git through
``GIT_CONFIG_*`` environment variables as an HTTP header: it is never on a
command line, in a URL or in a message.

Each host keeps a cache under ``$JUPYTER_FLOWS_HOME/git-cache``: one bare
repository per remote URL, fetched shallowly, and one exported tree per
commit (immutable, so reused by every later run of that commit).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from . import config
from .exceptions import StorageError
from .redaction import mask_secrets

#: Seconds one git command may take.
TIMEOUT_S = 120
_SHA = re.compile(r"[0-9a-f]{40}")


def display_url(url: str) -> str:
    """``url`` without any user name or password it holds, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, parts.query, ""))


def auth_env(token: str | None, username: str = "x-access-token") -> dict[str, str]:
    """Environment that makes git send ``token`` as HTTP basic credentials (empty without a token)."""
    if not token:
        return {}
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}


def _git(args: list[str], doing: str, env: dict | None = None, cwd: str | None = None) -> str:
    environ = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", **(env or {})}
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=TIMEOUT_S, env=environ, cwd=cwd)
    except FileNotFoundError:
        raise StorageError(f"cannot {doing}: the git command is not installed on this host") from None
    except subprocess.TimeoutExpired:
        raise StorageError(f"cannot {doing}: git took longer than {TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        detail = mask_secrets(lines[-1] if lines else f"exit {done.returncode}")
        raise StorageError(f"cannot {doing}: {detail}")
    return done.stdout


def resolve(url: str, ref: str | None, env: dict | None = None) -> str:
    """The commit ``ref`` (a branch, a tag, a commit; None: the default branch) names in the repository."""
    shown = display_url(url)
    if ref is not None and _SHA.fullmatch(ref):
        return ref
    listing = _git(["ls-remote", "--", url, ref or "HEAD"], f"reach git repository {shown!r}", env)
    refs = {}
    for line in listing.splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    for name in (("HEAD",) if ref is None else (ref, f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}",
                                                f"refs/tags/{ref}")):
        if name in refs:
            return refs[name]
    known = _known_refs(url, env)
    raise StorageError(f"git repository {shown!r} has no ref {ref!r}; its branches and tags: "
                       f"{', '.join(known[:20]) or 'none'}")


def _known_refs(url: str, env: dict | None) -> list[str]:
    listing = _git(["ls-remote", "--heads", "--tags", "--", url], f"list the refs of {display_url(url)!r}", env)
    names = {line.partition("\t")[2].removesuffix("^{}") for line in listing.splitlines()}
    return sorted(name.split("/", 2)[-1] for name in names if name)


def checkout(url: str, commit: str, ref: str | None = None, env: dict | None = None) -> Path:
    """A directory holding the files of ``commit`` (fetched shallowly once per host, then reused)."""
    cache = cache_dir(url)
    tree = cache / "trees" / commit
    if tree.is_dir():
        return tree
    with _locked(cache):
        if tree.is_dir():
            return tree
        bare = cache / "repo.git"
        if not bare.is_dir():
            _git(["init", "--bare", "--quiet", str(bare)], "create the git cache")
        _fetch(bare, url, commit, ref, env)
        tree.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=tree.parent, prefix=".export-"))
        try:
            _git(["--git-dir", str(bare), "--work-tree", str(staging), "checkout", "--force", commit, "--", "."],
                 f"export commit {commit[:12]} of {display_url(url)!r}")
            os.replace(staging, tree)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return tree


def _fetch(bare: Path, url: str, commit: str, ref: str | None, env: dict | None) -> None:
    """Fetch ``commit`` alone when the server allows it, else ``ref`` (deeper) and look for it there."""
    shown = display_url(url)
    if _has_commit(bare, commit):
        return
    try:
        _git(["--git-dir", str(bare), "fetch", "--quiet", "--depth", "1", "--", url, commit],
             f"fetch commit {commit[:12]} from {shown!r}", env)
    except StorageError:
        wanted = ref if ref and not _SHA.fullmatch(ref) else "HEAD"
        _git(["--git-dir", str(bare), "fetch", "--quiet", "--", url, wanted], f"fetch {wanted!r} from {shown!r}", env)
    if not _has_commit(bare, commit):
        raise StorageError(f"git repository {shown!r} has no commit {commit}; it may have been rewritten "
                           "(force-pushed); register the flow again")


def _has_commit(bare: Path, commit: str) -> bool:
    try:
        _git(["--git-dir", str(bare), "cat-file", "-e", f"{commit}^{{commit}}"], "look up a commit")
    except StorageError:
        return False
    return True


def cache_dir(url: str) -> Path:
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    return config.home() / "git-cache" / key


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One fetch per cache at a time on this host (two runs starting together share the result)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

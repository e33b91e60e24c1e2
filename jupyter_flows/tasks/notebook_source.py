"""Reading a notebook before running it: is it a notebook, which kernel, which parameters.

Everything that can be wrong with a notebook file is found here, before a
kernel starts, and reported as a :class:`~jupyter_flows.exceptions.NotebookError`
that names the file and says what would have been accepted. Parameters are
read from the cell tagged ``parameters`` with papermill's own inspection, so
jupyter-flows and papermill agree on what a notebook declares.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import NotebookError, ParameterError

if TYPE_CHECKING:  # nbformat (with jsonschema) is slow to import: only runs that read notebooks pay for it
    import nbformat

#: The notebook format version papermill and nbclient run.
SUPPORTED_NBFORMAT = 4

# Type names a parameters cell may use (annotation or type comment), and the values each accepts.
# An int is a fine float; a bool is not a fine int even though Python says it is one.
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "complex": (int, float, complex),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "tuple": (tuple, list),
    "dict": (dict,),
    "set": (set, list, tuple),
}


class NotebookParameterSpec:
    """One variable of a notebook's ``parameters`` cell, as jupyter-flows understands it.

    ``type_name`` is the annotation or ``# type:`` comment when the cell has
    one, else the type of the default value (``None`` when unknown);
    ``default`` is the value of the literal default; ``required`` is true when
    the default is not a Python literal (``today = date.today()``), since such
    a value cannot be known without running the notebook.
    """

    __slots__ = ("name", "type_name", "default", "required", "help", "source")

    def __init__(self, name: str, type_name: str | None, default: Any, required: bool, help: str, source: str):
        self.name = name
        self.type_name = type_name
        self.default = default
        self.required = required
        self.help = help
        self.source = source

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type_name, "default": self.default,
                "required": self.required, "help": self.help}

    def __repr__(self) -> str:
        return f"<NotebookParameterSpec {self.source}>"


def check_type(spec_name: str, type_name: str | None, value: Any, where: str) -> None:
    """Raise :class:`ParameterError` when ``value`` does not fit the parameter's inferred type.

    Unknown type names (``Optional[Path]``, a class of the notebook's own) are
    not checked: the notebook is the judge of those.
    """
    accepted = accepted_types(type_name)
    if accepted is None or value is None:
        return
    fits = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
    if not fits:
        raise ParameterError(
            f"parameter {spec_name!r} of {where} expects {type_name} (from its parameters cell), "
            f"got {type(value).__name__} {value!r:.60}; pass a value of type {type_name}"
        )


def accepted_types(type_name: str | None) -> tuple[type, ...] | None:
    """The Python types a declared type name accepts, or ``None`` when it is not checked."""
    if not type_name:
        return None
    base = type_name.strip().split("[", 1)[0].rsplit(".", 1)[-1].lower()
    return _ACCEPTED.get(base)


def resolve_path(path: str | os.PathLike) -> Path:
    """An absolute path for ``path``, checked to be an existing file."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise NotebookError(f"a notebook path must be a non-empty str or Path, got {path!r}")
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise NotebookError(
            f"notebook {os.fspath(path)!r} does not exist (looked for {resolved}); "
            "give the path of an existing .ipynb file"
        )
    if not resolved.is_file():
        raise NotebookError(f"notebook path {os.fspath(path)!r} is a directory; give the path of an .ipynb file")
    return resolved


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a version 4 notebook; any other content is a :class:`NotebookError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"cannot read notebook {str(path)!r}: {exc}") from None
    return parse_notebook(text, str(path))


def parse_notebook(text: str, name: str) -> nbformat.NotebookNode:
    """A notebook from its JSON text; ``name`` is how errors refer to it."""
    import nbformat

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotebookError(
            f"{name!r} is not a notebook: its content is not valid JSON ({exc}); "
            "give a Jupyter notebook (.ipynb) saved by JupyterLab or nbformat"
        ) from None
    if not isinstance(data, dict) or "nbformat" not in data or "cells" not in data and "worksheets" not in data:
        raise NotebookError(
            f"{name!r} is JSON but not a notebook (it has no 'nbformat' and 'cells'); "
            "give a Jupyter notebook (.ipynb) saved by JupyterLab or nbformat"
        )
    if data["nbformat"] != SUPPORTED_NBFORMAT:
        raise NotebookError(
            f"notebook {name!r} is in nbformat {data['nbformat']}; jupyter-flows runs nbformat "
            f"{SUPPORTED_NBFORMAT} notebooks: open and save it in JupyterLab, or convert it with "
            "`jupyter nbconvert --to notebook --nbformat 4 --inplace`"
        )
    try:
        nb = nbformat.reads(text, as_version=SUPPORTED_NBFORMAT)
        nbformat.validate(nb, version=SUPPORTED_NBFORMAT)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"notebook {name!r} is not a valid nbformat 4 notebook: {exc.message}") from None
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill's inspection reads cell.metadata.tags
    return nb


def available_kernels() -> list[str]:
    """Names of the kernels installed for this Python environment (``jupyter kernelspec list``)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return sorted(KernelSpecManager().find_kernel_specs())


def check_kernel(kernel_name: str, where: str) -> None:
    """Raise :class:`NotebookError` unless ``kernel_name`` is an installed kernel."""
    if not isinstance(kernel_name, str) or not kernel_name:
        raise NotebookError(f"kernel_name for {where} must be a non-empty string, got {kernel_name!r}")
    known = available_kernels()
    if kernel_name not in known:
        raise NotebookError(
            f"no kernel named {kernel_name!r} for {where}; installed kernels: {', '.join(known) or 'none'} "
            "(see `jupyter kernelspec list`)"
        )


def kernel_of(nb: nbformat.NotebookNode, kernel_name: str | None, where: str) -> str:
    """The kernel a run uses: ``kernel_name`` if given, else the one the notebook was saved with."""
    if kernel_name is not None:
        return kernel_name
    name = nb.metadata.get("kernelspec", {}).get("name")
    if not name:
        raise NotebookError(
            f"{where} does not say which kernel runs it (no metadata.kernelspec.name); "
            f"pass kernel_name=, e.g. one of: {', '.join(available_kernels())}"
        )
    return name


def inspect_parameters(nb: nbformat.NotebookNode, kernel_name: str, where: str,
                       warn_required: bool = True) -> list[NotebookParameterSpec]:
    """The variables of the cell tagged ``parameters`` (none when there is no such cell).

    Names, annotations and help comments come from papermill; defaults are
    evaluated with :func:`ast.literal_eval` only, never executed. A default
    that is not a literal makes its parameter required, with a warning unless
    ``warn_required`` is false.
    """
    from papermill.inspection import _infer_parameters

    specs = []
    for found in _infer_parameters(nb, name=kernel_name):
        annotation = None if found.inferred_type_name in ("", "None") else found.inferred_type_name
        source = f"{found.name} = {found.default}"
        try:
            default = ast.literal_eval(found.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if warn_required:
                warnings.warn(
                    f"parameter {found.name!r} of {where} has a default that is not a Python literal "
                    f"({found.default!r}); it is required: give it a value in every run",
                    stacklevel=3,
                )
            specs.append(NotebookParameterSpec(found.name, annotation, None, True, found.help, source))
            continue
        type_name = annotation or _type_name_of(default)
        specs.append(NotebookParameterSpec(found.name, type_name, default, False, found.help, source))
    return specs


def _type_name_of(value: Any) -> str | None:
    name = type(value).__name__
    return name if name in _ACCEPTED else None


def content_hash(nb: nbformat.NotebookNode) -> str:
    """A hash of what a notebook does: its cells' types, sources and tags, its kernel and language.

    Outputs, execution counts and other metadata are left out, so a notebook
    that was only re-run (or re-saved) keeps its hash.
    """
    cells = [[c.cell_type, c.source, sorted(c.metadata.get("tags", []))] for c in nb.cells]
    kernelspec = nb.metadata.get("kernelspec", {})
    identity = {
        "cells": cells,
        "kernel": kernelspec.get("name"),
        "language": kernelspec.get("language") or nb.metadata.get("language_info", {}).get("name"),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def safe_path_part(value: Any, what: str) -> str:
    """``value`` if it can be used as one file name as is (letters, digits, ``_ . -``), else an error.

    Flow run ids and other values that end up in output paths go through here,
    so that ``../x`` or ``a/b`` can never choose where a file is written.
    """
    if not isinstance(value, str) or not _SAFE_ID.match(value) or ".." in value:
        raise NotebookError(
            f"{what} {value!r} cannot be used in a file path; use letters, digits, '_', '.' and '-' "
            "only (no path separators or '..', at most 128 characters)"
        )
    return value

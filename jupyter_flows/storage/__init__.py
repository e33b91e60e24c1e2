"""Storage: where a registered flow is kept and how a flow run loads it back.

``Local`` (the default) pickles the flow to a file on this machine,
``Module`` imports it from a module, ``Script`` runs the file that builds it,
``Notebook`` keeps a notebook that is the flow, ``Docker`` builds an image
that holds the flow, ``Git`` loads a script or notebook from a git repository
and ``Remote`` keeps the flow (or notebook) at any fsspec URL: those two run
on any host.
"""

from .base import Storage, register_storage, storage_from_dict
from .docker import Docker
from .git import Git
from .local import Local
from .module import Module
from .remote import Remote
from .script import Script

__all__ = ["Docker", "Git", "Local", "Module", "Remote", "Script", "Storage", "register_storage", "storage_from_dict"]

try:
    from .notebook import Notebook
except ImportError as _missing:  # notebook storage lives in its own module, which may not be there
    if getattr(_missing, "name", None) != f"{__name__}.notebook":
        raise
else:
    __all__.append("Notebook")

"""Storage: where a registered flow is kept and how a flow run loads it back.

``Local`` (the default) pickles the flow to a file on this machine,
``Module`` imports it from a module, ``Script`` runs the file that builds it,
``Notebook`` keeps a notebook that is the flow, ``Docker`` builds an image
that holds the flow.
"""

from .base import Storage, register_storage, storage_from_dict
from .docker import Docker
from .local import Local
from .module import Module
from .script import Script

__all__ = ["Docker", "Local", "Module", "Script", "Storage", "register_storage", "storage_from_dict"]

try:
    from .notebook import Notebook
except ImportError as _missing:  # notebook storage lives in its own module, which may not be there
    if getattr(_missing, "name", None) != f"{__name__}.notebook":
        raise
else:
    __all__.append("Notebook")

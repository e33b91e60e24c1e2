"""Ready-made tasks: ``ExecuteNotebook`` runs a notebook with papermill."""

from .notebook import ExecuteNotebook

__all__ = ["ExecuteNotebook"]

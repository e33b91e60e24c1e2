"""Edge annotations: ``unmapped``, ``mapped``, ``flatten`` (defined in :mod:`jupyter_flows.core.edges`)."""

from ..core.edges import EdgeAnnotation, flatten, mapped, unmapped

__all__ = ["EdgeAnnotation", "flatten", "mapped", "unmapped"]

"""Infrastructure code: the embedded local AWS (``infra.embedded``) and its CLI (``python -m infra``)."""

from .embedded import DeployedStack, EmbeddedAws, SamError

__all__ = ["DeployedStack", "EmbeddedAws", "SamError"]

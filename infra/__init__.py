"""Infrastructure code: the embedded local AWS (``infra.embedded``) and its CLI (``python -m infra``)."""

from .embedded import DeployedStack, EmbeddedAws, FaultInjector, FaultPlan, FaultRule, SamError

__all__ = ["DeployedStack", "EmbeddedAws", "FaultInjector", "FaultPlan", "FaultRule", "SamError"]

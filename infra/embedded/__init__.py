"""The embedded local AWS: the project's SAM template deployed into moto and made to run in process."""

from ._auth import LocalIdentityProvider
from ._core import DeployedStack, EmbeddedAws
from ._faults import FAULTS_ENV_KNOB, FaultInjector, FaultPlan, FaultRule
from ._http import Route
from ._runtime import LambdaContext, check_moto_invoke_signature
from ._sam import SamError

__all__ = [
    "FAULTS_ENV_KNOB",
    "DeployedStack",
    "EmbeddedAws",
    "FaultInjector",
    "FaultPlan",
    "FaultRule",
    "LambdaContext",
    "LocalIdentityProvider",
    "Route",
    "SamError",
    "check_moto_invoke_signature",
]

"""Business rules kept in SSM parameters, read through Powertools' parameters utility (cached 5 minutes
per container, so a change applies within 5 minutes without a deploy)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from oms.config import Settings
from oms.governance.rules import GovernancePolicy
from oms.logic.allocation_policy import AllocationPolicy

POLICY_MAX_AGE_SECONDS = 300


def allocation_policy(settings: Settings) -> AllocationPolicy:
    raw = parameters.get_parameter(
        settings.require("allocation_policy_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    return AllocationPolicy.model_validate(raw)


def governance_policy(settings: Settings) -> GovernancePolicy:
    """The approval rules, the credit-control rule and the duties (decision 0024)."""
    raw = parameters.get_parameter(
        settings.require("governance_policy_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    return GovernancePolicy.model_validate(raw)

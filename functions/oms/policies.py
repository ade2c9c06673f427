"""Business rules kept in SSM parameters, read through Powertools' parameters utility (cached 5 minutes
per container, so a change applies within 5 minutes without a deploy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities import parameters

from oms.config import Settings
from oms.governance.rules import GovernancePolicy
from oms.logic.allocation_policy import AllocationPolicy

if TYPE_CHECKING:
    from oms.cash.policy import CashPolicy

POLICY_MAX_AGE_SECONDS = 300


def allocation_policy(settings: Settings) -> AllocationPolicy:
    raw = parameters.get_parameter(
        settings.require("allocation_policy_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    return AllocationPolicy.model_validate(raw)


def cash_policy(settings: Settings) -> CashPolicy:
    from oms.cash.policy import CashPolicy as Policy

    raw = parameters.get_parameter(
        settings.require("cash_policy_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    return Policy.model_validate(raw)


def seller_lines(settings: Settings) -> list[str]:
    """The seller block of invoices, credit notes and letters (name, address lines, tax id)."""
    raw = parameters.get_parameter(
        settings.require("seller_profile_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    profile = dict(raw) if isinstance(raw, dict) else {}
    return [
        str(profile.get("name", "")),
        *[str(x) for x in profile.get("address_lines", [])],
        str(profile.get("tax_id", "")),
    ]


def governance_policy(settings: Settings) -> GovernancePolicy:
    """The approval rules, the credit-control rule and the duties (decision 0024)."""
    raw = parameters.get_parameter(
        settings.require("governance_policy_parameter"), transform="json", max_age=POLICY_MAX_AGE_SECONDS
    )
    return GovernancePolicy.model_validate(raw)

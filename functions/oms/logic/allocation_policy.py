"""The allocation policy: which strategy, what to do when stock is short, how long stock is held.

Kept in an SSM parameter (`AllocationPolicyParameter`) so operations change it without a deploy. Rules
resolve customer first, then channel, then the default; each level overrides only what it names.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from oms.logic.allocation_plan import Strategy


class BackorderPolicy(StrEnum):
    HOLD_UNTIL_COMPLETE = "HOLD_UNTIL_COMPLETE"
    """Reserve nothing until every line can be reserved; the whole order waits in the backorder queues."""
    SHIP_AVAILABLE = "SHIP_AVAILABLE"
    """Reserve and ship what is available now; the rest becomes a child backorder order that waits in the
    queues and ships (and is invoiced) on its own when stock arrives."""


class AllocationRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Strategy = Strategy.FEWEST_SHIPMENTS
    backorder: BackorderPolicy = BackorderPolicy.HOLD_UNTIL_COMPLETE
    backorder_escalation_hours: int = Field(default=72, ge=1, le=24 * 90)
    """A backorder waiting longer than this escalates (a BackorderOverdue event for purchasing and ops)."""
    reservation_hold_hours: int = Field(default=72, ge=1, le=24 * 30)
    """Stock reserved for an order that has not shipped after this long is released (the order is held)."""


class RulesOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Strategy | None = None
    backorder: BackorderPolicy | None = None
    backorder_escalation_hours: int | None = Field(default=None, ge=1, le=24 * 90)
    reservation_hold_hours: int | None = Field(default=None, ge=1, le=24 * 30)


class AllocationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: AllocationRules = AllocationRules()
    channels: dict[str, RulesOverride] = Field(default_factory=dict)
    customers: dict[str, RulesOverride] = Field(default_factory=dict)
    zones: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Destination ("US-NJ", or a country "US" as the fallback) -> warehouse id -> zone distance."""

    def rules_for(self, channel: str, customer_id: str) -> AllocationRules:
        rules = self.default
        for override in (self.channels.get(channel), self.customers.get(customer_id)):
            if override is not None:
                rules = rules.model_copy(update=override.model_dump(exclude_none=True))
        return rules

    def distances_to(self, country: str, region: str | None) -> tuple[str, dict[str, int]]:
        """The destination key used and its warehouse distances (empty when the table has neither)."""
        for key in (f"{country}-{region}" if region else None, country):
            if key and key in self.zones:
                return key, dict(self.zones[key])
        return f"{country}-{region}" if region else country, {}

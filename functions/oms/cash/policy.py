"""The cash policy: an SSM parameter finance changes without a deploy (read through Powertools' parameters,
cached 5 minutes): the write-off tolerance, the aging buckets, the dunning levels, how credit is applied."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oms.money import NonNegativeMoney


class DunningLevel(BaseModel):
    """One level of the credit-control ladder (OCA credit control's policy levels)."""

    model_config = ConfigDict(frozen=True)

    level: int = Field(ge=1, le=9)
    days_after_due: int = Field(ge=0, le=365)
    fee: NonNegativeMoney = Decimal("0")
    """Stated on the letter (a reminder fee), in the invoice's currency."""
    annual_interest_percent: Decimal = Field(default=Decimal("0"), ge=0, le=100)
    """Late-payment interest stated on the letter: outstanding x rate x days past due / 365."""
    action: Literal["LETTER", "CREDIT_HOLD"] = "LETTER"
    """CREDIT_HOLD: the letter is the last one, and the customer goes on credit hold (new orders wait)."""
    title: str = "Payment reminder"


class CashPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    write_off_tolerance: NonNegativeMoney = Decimal("1.00")
    """An underpayment leaving at most this much is written off when the payment is applied."""
    aging_buckets: list[int] = Field(default_factory=lambda: [30, 60, 90, 120])
    """Upper limits (days past due) of the aging buckets; a not-yet-due bucket comes first, 'over' last."""
    dunning_levels: list[DunningLevel] = Field(
        default_factory=lambda: [
            DunningLevel(level=1, days_after_due=7, title="Payment reminder"),
            DunningLevel(
                level=2,
                days_after_due=21,
                fee=Decimal("15.00"),
                annual_interest_percent=Decimal("8"),
                title="Second reminder",
            ),
            DunningLevel(
                level=3,
                days_after_due=45,
                fee=Decimal("25.00"),
                annual_interest_percent=Decimal("8"),
                action="CREDIT_HOLD",
                title="Final notice: account on credit hold",
            ),
        ]
    )
    match_amount_tolerance: NonNegativeMoney = Decimal("0")
    """A credit without a usable reference matches an open invoice of the same amount within this."""
    max_invoices_per_payment: int = Field(default=20, ge=1, le=40)
    """One payment is applied to at most this many invoices in one transaction (the rest stays unapplied)."""
    forecast_default_days_late: int = 5
    """Expected lateness of a customer without payment history (days after the due date)."""

    @field_validator("aging_buckets")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if not value or value != sorted(set(value)) or value[0] <= 0:
            raise ValueError("aging buckets must be increasing positive day counts")
        return value

    @model_validator(mode="after")
    def _levels(self) -> CashPolicy:
        levels = self.dunning_levels
        if [lv.level for lv in levels] != list(range(1, len(levels) + 1)):
            raise ValueError("dunning levels must be numbered 1, 2, 3, ... in order")
        days = [lv.days_after_due for lv in levels]
        if days != sorted(set(days)):
            raise ValueError("each dunning level must come later (days after due) than the one before")
        return self

    def level_for(self, days_past_due: int) -> DunningLevel | None:
        """The highest level an invoice this many days past due has reached."""
        reached = [lv for lv in self.dunning_levels if days_past_due >= lv.days_after_due]
        return reached[-1] if reached else None

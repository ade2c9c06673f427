"""The reconciliation workflow's messages between its steps (statemachine/reconciliation.asl.json)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from oms.config import Settings

PERIOD = r"^\d{4}-\d{2}-\d{2}$"


class RunInput(BaseModel):
    """What starts a run: the Scheduler's planned time (the run reconciles the day before it), or a person's
    period (`python -m ops recon run --date`), optionally with the clock to judge by."""

    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime | None = None
    period: date | None = None
    as_of: AwareDatetime | None = None


class PlanInput(BaseModel):
    input: RunInput
    run_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,80}$")
    started_at: AwareDatetime

    def period_and_clock(self) -> tuple[str, datetime]:
        as_of = self.input.as_of or self.input.time or self.started_at
        if self.input.period:
            return self.input.period.isoformat(), as_of
        return (as_of - timedelta(days=1)).date().isoformat(), as_of


class PlanOutput(BaseModel):
    run_id: str
    period: str = Field(pattern=PERIOD)
    as_of: AwareDatetime
    bucket: str
    run_prefix: str
    manifest_key: str
    segments: int
    orders: int
    cash_subjects: int = 0


class SegmentItem(BaseModel):
    segment_key: str
    orders: int
    scope: str = "order"
    subjects: int = 0


class SegmentInput(BaseModel):
    plan: PlanOutput
    segment: SegmentItem
    index: int = Field(ge=0)


class FinishInput(BaseModel):
    plan: PlanOutput
    ledgers: dict[str, Any]


def invoice_grace_minutes(settings: Settings) -> int:
    return int(settings.invoice_grace_minutes or 240)


def unapplied_cash_days(settings: Settings) -> int:
    return int(settings.unapplied_cash_days or 5)


def dead_letter_queues(settings: Settings) -> dict[str, str]:
    raw = json.loads(settings.dead_letter_queues or "{}")
    return {str(k): str(v) for k, v in raw.items()}

"""Order intake: persist a channel's order exactly once and start its lifecycle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from oms.aws import client
from oms.data.orders import amendment_of, create_order
from oms.domain.order import CanonicalOrder
from oms.domain.status import OrderStatus
from oms.observability import MetricUnit, logger, metrics


@dataclass(frozen=True)
class IntakeResult:
    order_id: str
    status: str
    duplicate: bool


def start_lifecycle(
    order_id: str,
    workflow_arn: str,
    *,
    amendment: int = 0,
    execution_name: str | None = None,
    resume_at_allocation: bool = False,
) -> None:
    """Start the order's workflow for the channel's `amendment` of the order (0: as first received), named
    by the order id (or by order id and revision after an amendment; idempotent by name where AWS makes it
    so). `resume_at_allocation`:
    a served backorder (or a retried order) continues at the Allocate step (validation is behind it)."""
    sfn = client("stepfunctions")
    payload = {
        "order_id": order_id,
        "amendment": amendment,
        "resume": "ALLOCATION" if resume_at_allocation else "VALIDATION",
    }
    try:
        sfn.start_execution(
            stateMachineArn=workflow_arn,
            name=execution_name or order_id,
            input=json.dumps(payload),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("workflow already started", extra={"order_id": order_id})


def receive_order(order: CanonicalOrder, *, workflow_arn: str, received_at: datetime) -> IntakeResult:
    """Persist the order once; start its lifecycle if it has not moved yet.

    A redelivered webhook finds the first record and starts nothing new, unless the order is still
    RECEIVED (the first delivery persisted it but failed before the workflow started).
    """
    record, created = create_order(order, received_at)
    if created:
        metrics.add_metric(name="OrdersReceived", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    if record.status == OrderStatus.RECEIVED.value:
        revision = int(record.revision)
        name = record.order_id if revision == 1 else f"{record.order_id}-r{revision}"
        start_lifecycle(record.order_id, workflow_arn, amendment=amendment_of(record), execution_name=name)
    return IntakeResult(order_id=record.order_id, status=record.status, duplicate=not created)

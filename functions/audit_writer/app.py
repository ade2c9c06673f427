"""DynamoDB stream consumer of the orders and approvals tables: every change becomes an entry of the order's
hash-chained audit trail, in stream order, once (decision 0025). A record that cannot be recorded stops the
batch there (ReportBatchItemFailures with its sequence number): Lambda delivers it again with what follows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer

from oms.data.models import OrderRecord
from oms.governance.audit_trail import ChangeRecord, plain, record_changes
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.privacy.keys import pseudonym_key
from oms.privacy.pseudonyms import pseudonymised
from oms.runtime import now, prepare

_DESERIALIZER = TypeDeserializer()


def _image(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    return {name: plain(_DESERIALIZER.deserialize(value)) for name, value in raw.items()}


def _table_of(source_arn: str, orders_table: str) -> str:
    table = source_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    return "orders" if table == orders_table else "approvals"


def change_records(event: dict[str, Any], orders_table: str, key: bytes | None = None) -> list[ChangeRecord]:
    """The stream records as changes; with `key`, an order's personal values as their pseudonyms: the audit
    trail never holds a name, e-mail or address, so an erasure leaves every entry and hash as it was
    (decision 0054)."""
    records = []
    for raw in event.get("Records", []):
        data = raw["dynamodb"]
        created = data.get("ApproximateCreationDateTime")
        table = _table_of(raw.get("eventSourceARN", ""), orders_table)
        old, new = _image(data.get("OldImage")), _image(data.get("NewImage"))
        if table == "orders" and key is not None:
            old = pseudonymised(OrderRecord, old, key) if old is not None else None
            new = pseudonymised(OrderRecord, new, key) if new is not None else None
        records.append(
            ChangeRecord(
                table=table,
                event_id=raw["eventID"],
                event_name=raw["eventName"],
                sequence=str(data["SequenceNumber"]),
                old=old,
                new=new,
                approximate_at=datetime.fromtimestamp(float(created), UTC) if created else now(),
            )
        )
    return records


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    records = change_records(event, settings.require("orders_table"), pseudonym_key(settings))
    failed = record_changes(records, now=now())
    if failed is not None:
        logger.warning("audit record failed; the stream delivers it again", extra={"sequence": failed})
        metrics.add_metric(name="AuditRecordsRetried", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": [{"itemIdentifier": failed}]}
    metrics.add_metric(name="AuditRecordsWritten", unit=MetricUnit.Count, value=len(records))
    return {"batchItemFailures": []}

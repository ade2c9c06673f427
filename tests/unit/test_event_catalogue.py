"""The outbound event catalogue (docs/events/): the files are what the code's models say, every event model
the code publishes is catalogued, and events built as the code builds them validate against their schema
(the e2e day in tests/e2e/test_cash_lifecycle.py validates the events really put on the bus)."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel

from oms.domain import events
from oms.finance.export import kpi_snapshot
from oms.logic.invoicing import recognition_date
from tools.event_schemas import FOLDER, main

ROOT = Path(__file__).resolve().parents[2]


def schema(detail_type: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FOLDER / f"{detail_type}.json").read_text())
    return loaded


def test_docs_events_are_the_catalogue_of_the_code() -> None:
    assert main(["--check"]) == 0


def test_every_event_model_the_code_can_publish_is_catalogued() -> None:
    published = {
        getattr(model, "detail_type", None) or model.model_fields["detail_type"].default
        for _, model in inspect.getmembers(events, inspect.isclass)
        if issubclass(model, BaseModel)
        and model is not BaseModel
        and ("detail_type" in model.model_fields or isinstance(getattr(model, "detail_type", None), str))
    }
    assert published == set(events.CATALOGUE)
    for name, entry in events.CATALOGUE.items():
        assert (
            getattr(entry.model, "detail_type", None) or entry.model.model_fields["detail_type"].default
        ) == name


def test_no_code_publishes_a_detail_type_by_a_string_of_its_own() -> None:
    """Publications name their detail-type through a catalogued model (`Model.detail_type`), not a string."""
    literal = re.compile(
        r'(?:"DetailType":\s*|OutboxEvent\(\s*\w+,\s*|put_events\([^)]*?,\s*\w+,\s*)"([A-Za-z]+)"'
    )
    found = {
        (path.relative_to(ROOT).as_posix(), m.group(1))
        for path in (ROOT / "functions").rglob("*.py")
        for m in literal.finditer(path.read_text())
    }
    assert found == set()


NOW = datetime(2026, 12, 2, 2, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        events.DocumentCreated(
            event_id="document:invoice:INV-2026-0000001",
            document_type=events.DocumentType.INVOICE,
            document_number="INV-2026-0000001",
            customer_id="cus_1",
            currency="EUR",
            amount="119.00",
            issued_at=NOW,
            bucket="docs",
            pdf_key="invoices/2026/12/INV-2026-0000001.pdf",
            json_key="invoices/2026/12/INV-2026-0000001.json",
            order_id="ord_1",
            invoice_numbers=["INV-2026-0000001"],
        ),
        events.InvoiceIssued(
            order_id="ord_1",
            invoice_number="INV-2026-0000001",
            customer_id="cus_1",
            currency="EUR",
            grand_total="119.00",
            net_total="100.00",
            tax_total="19.00",
            due_date="2026-12-31",
            issued_at=NOW,
            recognition_date=recognition_date([datetime(2026, 12, 1, 23, 30, tzinfo=UTC)], NOW),
        ),
        events.ExpectedReceiptsForecast(
            event_id="expected-receipts:2026-12-02",
            as_of=date(2026, 12, 2),
            weeks=[
                events.ExpectedReceiptsWeek(
                    week_start=date(2026, 11, 30), currency="EUR", expected="5.00", invoices=1
                )
            ],
            generated_at=NOW,
        ),
        kpi_snapshot(
            "2026-12-01",
            {"orders": 3, "orders_shipped": 2, "fill_rate": 1.0, "gross_margin": "9.10"},
            exported_at=NOW,
        ),
        events.StockReleased(sku="SKU-1", warehouse_id="WH-1", quantity=2, reason="cancelled"),
    ],
)
def test_events_as_the_code_builds_them_validate_against_their_schema(event: BaseModel) -> None:
    detail = json.loads(event.model_dump_json(exclude={"detail_type"}))
    jsonschema.validate(detail, schema(type(event).detail_type))  # type: ignore[attr-defined]


def test_a_field_the_schema_does_not_declare_is_refused() -> None:
    detail = {"sku": "SKU-1", "warehouse_id": "WH-1", "quantity": 2, "reason": "x", "customer_email": "a@b"}
    with pytest.raises(jsonschema.ValidationError, match="customer_email"):
        jsonschema.validate(detail, schema("StockReleased"))


def test_revenue_is_recognised_on_the_day_the_first_shipment_left() -> None:
    shipped = [datetime(2026, 12, 1, 23, 30, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)]
    assert recognition_date(shipped, NOW) == date(2026, 11, 30)
    assert recognition_date([], NOW) == date(2026, 12, 2)  # invoiced by hand, nothing shipped on record

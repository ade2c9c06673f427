"""The finance export's tables: one list of columns each, the single source of the Parquet files
(oms.data.exports), the Glue tables in template.yaml (held equal by tests/unit/test_finance_exports.py) and
the local duckdb views of `python -m ops sql`.

Extensible: a business area adds its tables here and regenerates the template's Glue block
(`python -m tools.template_blocks --write`). Every table is partitioned by `dt` (UTC, partition projection):
the orders' business day for the order tables and approvals, the day of the fact for cash (a payment's day
received, an application's day written, a credit note's day issued) and the as-of day of the receivables
snapshot (decision 0045).

No personal data beyond ids: names, e-mail and postal addresses, and free text a payer or a person wrote
(remittance information, notes, reasons) stay out of the cash and approval tables."""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "decimal(18,2)"
RATE = "double"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The Glue/Athena type (string, bigint, double, boolean, timestamp, date, decimal(18,2))."""
    comment: str = ""


def _c(name: str, type_: str, comment: str = "") -> Column:
    return Column(name, type_, comment)


TABLES: dict[str, tuple[Column, ...]] = {
    "orders": (
        _c("order_id", "string"),
        _c("channel", "string"),
        _c("external_id", "string"),
        _c("customer_id", "string"),
        _c("status", "string"),
        _c("billing_status", "string"),
        _c("hold_reason", "string"),
        _c("currency", "string"),
        _c("placed_at", "timestamp"),
        _c("received_at", "timestamp"),
        _c("first_shipped_at", "timestamp"),
        _c("delivered_at", "timestamp"),
        _c("subtotal", MONEY),
        _c("discount_total", MONEY),
        _c("shipping_total", MONEY),
        _c("tax_total", MONEY),
        _c("grand_total", MONEY),
        _c("net_revenue", MONEY, "lines net of discounts and tax"),
        _c("cost_of_goods", MONEY, "units x catalog cost price; null when a cost is unknown"),
        _c("gross_margin", MONEY, "net_revenue - cost_of_goods"),
        _c("units_ordered", "bigint"),
        _c("units_shipped", "bigint"),
        _c("shipped", "boolean"),
        _c("on_time", "boolean", "first shipment within the shipping promise"),
        _c("complete", "boolean", "every unit ordered shipped in this order"),
        _c("undamaged", "boolean", "no delivery exception"),
        _c("documents_right", "boolean", "invoiced once, quantities and totals equal to the order"),
        _c("perfect", "boolean", "shipped and all four criteria met"),
        _c("cycle_time_hours", RATE, "placed to delivered"),
        _c("invoice_number", "string"),
        _c(
            "customer_key",
            "string",
            "keyed hash (HMAC) of the customer's e-mail: the same person across channels",
        ),
        _c("ship_to_country", "string"),
        _c("ship_to_region", "string"),
        _c("ship_to_postal_area", "string", "the postal code's first characters (masked)"),
    ),
    "order_lines": (
        _c("order_id", "string"),
        _c("line_id", "string"),
        _c("customer_id", "string"),
        _c("sku", "string"),
        _c("quantity", "bigint"),
        _c("currency", "string"),
        _c("unit_price", MONEY),
        _c("discount", MONEY),
        _c("tax", MONEY),
        _c("net_amount", MONEY),
        _c("unit_cost", MONEY),
        _c("cost", MONEY),
        _c("gross_margin", MONEY),
    ),
    "invoices": (
        _c("invoice_number", "string"),
        _c("order_id", "string"),
        _c("customer_id", "string"),
        _c("issued_at", "timestamp"),
        _c("due_date", "date"),
        _c("currency", "string"),
        _c("grand_total", MONEY),
        _c("tax_total", MONEY),
        _c("order_grand_total", MONEY),
        _c("accurate", "boolean", "quantities and totals equal to the order's"),
    ),
    "invoice_lines": (
        _c("invoice_number", "string"),
        _c("order_id", "string"),
        _c("line_no", "bigint"),
        _c("sku", "string"),
        _c("quantity", "bigint"),
        _c("unit_price", MONEY),
        _c("discount", MONEY),
        _c("net_amount", MONEY),
        _c("tax_amount", MONEY),
    ),
    "shipments": (
        _c("order_id", "string"),
        _c("shipment_id", "string"),
        _c("warehouse_id", "string"),
        _c("carrier", "string"),
        _c("tracking_number", "string"),
        _c("status", "string"),
        _c("shipped_at", "timestamp"),
        _c("delivered_at", "timestamp"),
        _c("delivery_exception", "boolean"),
    ),
    "exceptions": (
        _c("exception_id", "string"),
        _c("kind", "string"),
        _c("subject", "string"),
        _c("state", "string"),
        _c("owner_group", "string"),
        _c("assigned_to", "string"),
        _c("escalate_to", "string"),
        _c("opened_at", "timestamp"),
        _c("sla_due_at", "timestamp"),
        _c("escalated_at", "timestamp"),
        _c("closed_at", "timestamp"),
        _c("closed_by", "string"),
        _c("detail", "string"),
    ),
    "kpi_daily": (
        _c("orders", "bigint"),
        _c("orders_shipped", "bigint"),
        _c("orders_delivered", "bigint"),
        _c("cycle_time_p50_hours", RATE),
        _c("cycle_time_p90_hours", RATE),
        _c("on_time_shipment_rate", RATE),
        _c("complete_rate", RATE),
        _c("undamaged_rate", RATE),
        _c("documents_right_rate", RATE),
        _c("perfect_order_rate_product", RATE, "on time x complete x undamaged x documents right"),
        _c("perfect_order_rate_all", RATE, "share of shipped orders meeting every criterion"),
        _c("invoice_accuracy", RATE),
        _c("fill_rate", RATE, "units shipped / units ordered"),
        _c("net_revenue", MONEY),
        _c("cost_of_goods", MONEY),
        _c("gross_margin", MONEY),
        _c("gross_margin_pct", RATE),
        _c(
            "dso_currency",
            "string",
            "the currency with the most outstanding on the day (DSO is per currency)",
        ),
        _c("dso_standard_days", RATE, "outstanding / credit sales of the last 30 days x 30"),
        _c("dso_countback_days", RATE, "days of the latest months' sales the outstanding amounts to"),
    ),
    # cash (issue 12) and governance (issue 11): decision 0045
    "payments": (
        _c("payment_id", "string"),
        _c("source", "string", "BANK, STRIPE, CHANNEL or MANUAL"),
        _c("customer_id", "string", "null: payer not identified"),
        _c("order_id", "string", "the order it was paid for, when its source says"),
        _c("currency", "string"),
        _c("amount", MONEY),
        _c("applied", MONEY),
        _c("refunded", MONEY),
        _c("unapplied", MONEY),
        _c("disputed", MONEY),
        _c("received_on", "date"),
        _c("statement_id", "string"),
        _c("recorded_at", "timestamp"),
        _c("recorded_by", "string"),
    ),
    "applications": (
        _c("invoice_number", "string"),
        _c("entry_id", "string"),
        _c("order_id", "string"),
        _c("customer_id", "string"),
        _c("currency", "string"),
        _c("source_id", "string", "the payment, credit note or write-off applied"),
        _c("source_kind", "string"),
        _c("amount", MONEY, "negative: a reversal"),
        _c("applied_at", "timestamp"),
        _c("applied_by", "string"),
        _c("reverses", "string", "the entry this one reverses"),
    ),
    "credit_notes": (
        _c("credit_note_id", "string"),
        _c("number", "string"),
        _c("customer_id", "string"),
        _c("currency", "string"),
        _c("amount", MONEY),
        _c("applied", MONEY),
        _c("unapplied", MONEY),
        _c("rma_id", "string"),
        _c("issued_at", "timestamp"),
        _c("issued_by", "string"),
    ),
    "aging": (
        _c("customer_id", "string"),
        _c("currency", "string"),
        _c("bucket", "string", "the cash policy's aging buckets, with a not-yet-due bucket"),
        _c("bucket_order", "bigint"),
        _c("amount", MONEY, "outstanding in the bucket"),
    ),
    "receivables_daily": (
        _c("currency", "string"),
        _c("outstanding", MONEY),
        _c("unapplied_credit", MONEY),
        _c("credit_sales_30d", MONEY),
        _c("dso_standard_days", RATE),
        _c("dso_countback_days", RATE),
        _c("payments_received", MONEY, "payments received on the day"),
        _c("cash_applied", MONEY, "payments applied on the day, net of reversals"),
        _c("credit_applied", MONEY, "credit notes applied on the day, net of reversals"),
    ),
    "approvals": (
        _c("approval_id", "string"),
        _c("order_id", "string"),
        _c("revision", "bigint"),
        _c("status", "string", "PENDING, APPROVED, REJECTED, VOID or EXPIRED"),
        _c("created_at", "timestamp"),
        _c("currency", "string"),
        _c("amount", MONEY),
        _c("levels", "bigint"),
        _c("level_index", "bigint", "the level waiting (or the last decided)"),
        _c("escalations", "bigint"),
        _c("current_group", "string"),
        _c("due_at", "timestamp", "when the waiting level's SLA runs out"),
        _c("past_sla", "boolean", "pending past its due time when exported"),
        _c("entered_by", "string"),
        _c("decided_at", "timestamp", "the last decision"),
        _c("decided_by", "string"),
        _c("decision", "string"),
        _c("hours_to_decide", RATE, "created to the last decision"),
    ),
}

PARTITION = Column("dt", "string", "the orders' business day, YYYY-MM-DD (UTC)")


PERSONAL_PREFIX = "personal"
"""Where the full personal values go: `personal/<table>/dt=<day>/`, a Glue database of its own
(`<stack>_finance_personal`) and a bucket policy that lets only the export, the erasure and the
PersonalDataReaderRole near it (decision 0051). The analyst tables above carry only keyed hashes and masks."""

PERSONAL_TABLES: dict[str, tuple[Column, ...]] = {
    "order_contacts": (
        _c("order_id", "string"),
        _c("customer_id", "string"),
        _c("customer_key", "string", "the analyst tables' customer_key: the join to them"),
        _c("customer_name", "string"),
        _c("customer_email", "string"),
        _c("ship_to_name", "string"),
        _c("ship_to_line1", "string"),
        _c("ship_to_line2", "string"),
        _c("ship_to_city", "string"),
        _c("ship_to_postal_code", "string"),
        _c("ship_to_region", "string"),
        _c("ship_to_country", "string"),
    ),
}

PERSONAL_COLUMNS: dict[str, frozenset[str]] = {
    "order_contacts": frozenset(
        {
            "customer_name",
            "customer_email",
            "ship_to_name",
            "ship_to_line1",
            "ship_to_line2",
            "ship_to_city",
            "ship_to_postal_code",
        }
    ),
}
"""The columns an erasure pseudonymises in each personal table (the rest: ids, region, country)."""

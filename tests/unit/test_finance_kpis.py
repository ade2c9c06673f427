"""The KPIs of docs/kpis.md on a hand-worked day, and the export's schema held to the Glue tables of
template.yaml (generated from it) and to the Parquet duckdb writes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from oms.finance.kpis import daily_kpis, nearest_rank
from oms.finance.rows import OrderDay, order_rows
from oms.finance.schema import TABLES
from tools import template_blocks

ROOT = Path(__file__).resolve().parents[2]


def row(
    status: str = "DELIVERED", *, on_time: bool = True, complete: bool = True, **extra: Any
) -> dict[str, Any]:
    shipped = status in {"SHIPPED", "DELIVERED"}
    base = {
        "status": status,
        "shipped": shipped,
        "on_time": shipped and on_time,
        "complete": shipped and complete,
        "undamaged": shipped,
        "documents_right": shipped,
        "units_ordered": 2,
        "units_shipped": (2 if complete else 1) if shipped else 0,
        "cycle_time_hours": None,
        "invoice_number": "INV" if shipped else None,
        "net_revenue": Decimal("100.00"),
        "cost_of_goods": Decimal("60.00"),
    }
    base.update(extra)
    base["perfect"] = bool(base["shipped"] and base["on_time"] and base["complete"] and base["undamaged"])
    base["perfect"] = base["perfect"] and base["documents_right"]
    return base


DAY = [
    row(cycle_time_hours=24.0),
    row(on_time=False, cycle_time_hours=48.0),
    row("SHIPPED", complete=False),
    row(cycle_time_hours=30.0, net_revenue=Decimal("50.00"), cost_of_goods=Decimal("45.00")),
    row("BACKORDERED", units_ordered=3),
    row("ON_HOLD", units_ordered=5, cost_of_goods=None),
]


def test_the_two_perfect_order_definitions_differ_as_worked_by_hand() -> None:
    kpis = daily_kpis(DAY)
    # 4 shipped: on time 3/4, complete 3/4, undamaged 4/4, documents 4/4
    assert kpis["orders_shipped"] == 4
    assert kpis["perfect_order_rate_product"] == pytest.approx(0.75 * 0.75 * 1 * 1)  # 0.5625
    assert kpis["perfect_order_rate_all"] == pytest.approx(2 / 4)  # only the 1st and 4th meet all four


def test_cycle_time_percentiles_are_nearest_rank_over_delivered_orders() -> None:
    kpis = daily_kpis(DAY)
    assert (kpis["cycle_time_p50_hours"], kpis["cycle_time_p90_hours"]) == (30.0, 48.0)
    assert nearest_rank([], 50) is None
    assert nearest_rank([5.0], 90) == 5.0
    assert nearest_rank([float(n) for n in range(1, 11)], 90) == 9.0


def test_fill_rate_counts_the_units_of_orders_released_to_fulfilment() -> None:
    # shipped 2 + 2 + 1 + 2 of 8, the backorder 0 of 3; the held order's 5 units are not a fill problem
    assert daily_kpis(DAY)["fill_rate"] == pytest.approx(7 / 11)


def test_gross_margin_is_net_revenue_less_cost_over_the_costed_orders() -> None:
    kpis = daily_kpis(DAY)
    assert kpis["net_revenue"] == Decimal("450.00")
    assert kpis["cost_of_goods"] == Decimal("285.00")
    assert kpis["gross_margin"] == Decimal("165.00")
    assert kpis["gross_margin_pct"] == pytest.approx(165 / 450)
    assert daily_kpis([])["on_time_shipment_rate"] is None


def test_an_order_row_carries_its_margin_and_criteria() -> None:
    # Given an order of 2 x 8.99 and 1 x 14.50 (one discounted by 1.00), costs 5.00 and 9.00, placed at 09:00,
    # shipped at 15:00 (the 48 h promise kept), delivered the next day at 09:00, invoiced as ordered
    placed = datetime(2026, 12, 1, 9, tzinfo=UTC)
    history = [NS(status="DELIVERED", at=placed + timedelta(hours=24))]
    lines = [
        NS(
            line_id="1",
            sku="A",
            quantity=2,
            unit_price=Decimal("8.99"),
            discount=Decimal("0"),
            tax=Decimal("1.44"),
        ),
        NS(
            line_id="2",
            sku="B",
            quantity=1,
            unit_price=Decimal("14.50"),
            discount=Decimal("1.00"),
            tax=Decimal("1.08"),
        ),
    ]
    order = NS(
        order_id="o1",
        channel="shopify",
        external_id="1",
        customer=NS(customer_id="C1", name="Ann Lee", email="Ann.Lee@Example.com"),
        shipping_address=NS(
            name="Ann Lee", line1="1 Main St", city="New York", region="NY", postal_code="10001", country="US"
        ),
        status="DELIVERED",
        billing_status="INVOICED",
        hold_reason=None,
        currency="USD",
        placed_at=placed,
        received_at=placed.isoformat(),
        subtotal=Decimal("32.48"),
        discount_total=Decimal("1.00"),
        shipping_total=Decimal("0"),
        tax_total=Decimal("2.52"),
        grand_total=Decimal("34.00"),
        prices_include_tax=False,
        lines=lines,
        backorder_order_id=None,
        allocation=[NS(sku="A", warehouse_id="W", quantity=2), NS(sku="B", warehouse_id="W", quantity=1)],
    )
    shipment = NS(warehouse_id="W", shipped_at=placed + timedelta(hours=6), status="DELIVERED", events=[])
    invoice = NS(invoice_number="INV-2026-000001", grand_total=Decimal("34.00"))
    document = {"lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}], "grand_total": "34.00"}
    costs = {"A": Decimal("5.00"), "B": Decimal("9.00")}
    head, rows = order_rows(
        OrderDay(order, [shipment], invoice, document, history=history), costs, timedelta(hours=48), b"k"
    )
    # personal fields only as a keyed hash (HMAC-SHA256 of the normalised e-mail) and masks
    expected_key = "pii:" + hmac.new(b"k", b"ann.lee@example.com", hashlib.sha256).hexdigest()[:16]
    assert head["customer_key"] == expected_key
    assert (head["ship_to_country"], head["ship_to_region"], head["ship_to_postal_area"]) == (
        "US",
        "NY",
        "100**",
    )
    assert not {"Ann Lee", "1 Main St", "Ann.Lee@Example.com"} & {str(v) for v in head.values()}
    assert (head["net_revenue"], head["cost_of_goods"], head["gross_margin"]) == (
        Decimal("31.48"),  # 17.98 + 13.50
        Decimal("19.00"),  # 10.00 + 9.00
        Decimal("12.48"),
    )
    assert [r["gross_margin"] for r in rows] == [Decimal("7.98"), Decimal("4.50")]
    assert (head["on_time"], head["complete"], head["undamaged"], head["documents_right"]) == (True,) * 4
    assert head["perfect"] is True
    assert head["cycle_time_hours"] == 24.0
    assert head["placed_at"].tzinfo is None  # Parquet timestamps are UTC without a zone


def test_the_glue_tables_of_the_template_are_the_export_schema() -> None:
    assert template_blocks.main(["--check"]) == 0
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    for table, columns in TABLES.items():
        glue = template["Resources"][template_blocks.table_logical_id(table)]["Properties"]["TableInput"]
        assert [(c["Name"], c["Type"]) for c in glue["StorageDescriptor"]["Columns"]] == [
            (c.name, c.type) for c in columns
        ]
        assert glue["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
        assert glue["Parameters"]["projection.enabled"] == "true"
        assert glue["Parameters"]["projection.dt.type"] == "date"


def test_the_athena_workgroup_limits_the_bytes_a_query_scans() -> None:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    config = template["Resources"]["FinanceWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert 0 < config["BytesScannedCutoffPerQuery"] <= 100 * 1024**3


def test_parquet_written_by_duckdb_reads_back_with_the_declared_types(tmp_path: Path) -> None:
    import duckdb

    from oms.data.exports import parquet_bytes

    columns = TABLES["invoices"]
    rows = [
        {
            "invoice_number": "INV-2026-000001",
            "order_id": "o1",
            "customer_id": "C1",
            "issued_at": datetime(2026, 12, 1, 15, tzinfo=UTC).replace(tzinfo=None),
            "due_date": date(2026, 12, 31),
            "currency": "USD",
            "grand_total": Decimal("34.00"),
            "tax_total": Decimal("2.52"),
            "order_grand_total": Decimal("34.00"),
            "accurate": True,
        }
    ]
    data = parquet_bytes(columns, rows)
    assert data[:4] == b"PAR1"
    assert data[-4:] == b"PAR1"
    connection = duckdb.connect()
    target = tmp_path / "invoices.parquet"
    target.write_bytes(data)
    described = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(target)]).fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        ("invoice_number", "VARCHAR"),
        ("order_id", "VARCHAR"),
        ("customer_id", "VARCHAR"),
        ("issued_at", "TIMESTAMP"),
        ("due_date", "DATE"),
        ("currency", "VARCHAR"),
        ("grand_total", "DECIMAL(18,2)"),
        ("tax_total", "DECIMAL(18,2)"),
        ("order_grand_total", "DECIMAL(18,2)"),
        ("accurate", "BOOLEAN"),
    ]
    total = connection.execute("SELECT sum(grand_total) FROM read_parquet(?)", [str(target)]).fetchone()
    assert total == (Decimal("34.00"),)

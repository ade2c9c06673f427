"""The invariant checks find what they are meant to find: each is given a small, hand-made snapshot with one
defect (a phantom unit, a double release, a gap in the invoice numbers...) and must name it; the healthy
snapshot passes them all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.data.models import (
    AllocationLineAttribute,
    BackorderRecord,
    InventoryMovementRecord,
    InventoryRecord,
    InvoiceRecord,
    OrderRecord,
    ReservationRecord,
    ShipmentRecord,
    StatusChangeAttribute,
)
from oms.data.snapshot import DeadLetter, Snapshot
from oms.governance.invariants import Refusal, check_invariants

AT = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def _order(order_id: str, status: str, **extra: object) -> OrderRecord:
    record = OrderRecord(
        order_id,
        status=status,
        billing_status=extra.pop("billing_status", "NOT_INVOICED"),
        last_change=StatusChangeAttribute(
            status=status, at=AT, by="test", reason=extra.pop("reason", "because")
        ),
        change_no=1,
        allocation=[AllocationLineAttribute(sku="A", warehouse_id="WH", quantity=2)],
    )
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def _healthy() -> Snapshot:
    shipped = _order("o-shipped", "DELIVERED", billing_status="INVOICED", invoice_number="INV-2026-0000001")
    held = _order("o-allocated", "FULFILLMENT_REQUESTED")
    return Snapshot(
        orders=[shipped, held],
        stock=[InventoryRecord("A", "WH", on_hand=8, reserved=2, available=6)],
        reservations=[
            ReservationRecord("o-shipped", state="CONSUMED", lines=shipped.allocation),
            ReservationRecord("o-allocated", state="RESERVED", lines=held.allocation),
        ],
        shipments=[ShipmentRecord("o-shipped", "s1", warehouse_id="WH")],
        invoices=[
            InvoiceRecord(
                "o-shipped", invoice_number="INV-2026-0000001", grand_total=Decimal(1), tax_total=Decimal(0)
            )
        ],
        sequences={2026: 1},
        movements=[
            InventoryMovementRecord("A#WH", "RECEIPT#1", sku="A", warehouse_id="WH", quantity_change=5)
        ],
    )


OPENING = {("A", "WH"): 5}  # + receipt 5 - shipped 2 = 8 on hand


def _violations(snapshot: Snapshot, **kwargs: object) -> dict[str, list[str]]:
    report = check_invariants(snapshot, opening_stock=OPENING, **kwargs)  # type: ignore[arg-type]
    return {r.name: r.violations for r in report.results if r.violations}


def test_a_healthy_system_keeps_every_invariant() -> None:
    assert _violations(_healthy()) == {}


def test_a_phantom_unit_is_found_and_counted() -> None:
    snapshot = _healthy()
    snapshot.stock[0].on_hand, snapshot.stock[0].available = 9, 7  # one unit shipped but still on hand
    report = check_invariants(snapshot, opening_stock=OPENING)
    assert report.phantom_units == 1
    assert "units_shipped_equal_consumed" in _violations(snapshot)


def test_stock_that_does_not_add_up_or_goes_negative_is_found() -> None:
    snapshot = _healthy()
    snapshot.stock[0].available = -1
    found = _violations(snapshot)
    assert any("on hand 8 != available -1 + reserved 2" in v for v in found["stock_balances"])
    assert any("negative" in v for v in found["stock_balances"])


def test_reserved_units_without_an_open_reservation_are_found() -> None:
    snapshot = _healthy()
    snapshot.reservations[1].state = "RELEASED"  # released, but the stock still counts it reserved
    found = _violations(snapshot)
    assert "reserved_matches_reservations" in found
    assert any(
        "FULFILLMENT_REQUESTED but its reservation is RELEASED" in v
        for v in found["one_status_with_a_reason"]
    )


def test_orders_without_a_reason_or_with_owed_events_are_found() -> None:
    snapshot = _healthy()
    snapshot.orders.append(_order("o-held", "ON_HOLD"))  # no hold reason
    snapshot.orders.append(_order("o-failed", "FAILED", failure_code="X"))  # no sentence
    snapshot.orders[0].outbox = [object()]  # type: ignore[list-item]
    found = _violations(snapshot)["one_status_with_a_reason"]
    assert any("o-held: ON_HOLD without a hold reason" in v for v in found)
    assert any("o-failed: FAILED without a failure code and reason" in v for v in found)
    assert any("committed but never published" in v for v in found)


def test_a_backordered_order_must_wait_in_exactly_its_queues() -> None:
    snapshot = _healthy()
    snapshot.orders.append(_order("o-bo", "BACKORDERED", allocation=None))
    snapshot.backorders.append(BackorderRecord("B", "k#o-bo", order_id="o-bo", quantity=1))
    found = _violations(snapshot)["one_status_with_a_reason"]
    assert any("o-bo: BACKORDERED for [] but queued for ['B']" in v for v in found)


def test_a_gap_a_double_number_and_an_uninvoiced_shipment_are_found() -> None:
    snapshot = _healthy()
    snapshot.sequences = {2026: 3}
    snapshot.orders.append(_order("o-late", "SHIPPED"))
    snapshot.reservations.append(
        ReservationRecord("o-late", state="CONSUMED", lines=snapshot.orders[-1].allocation)
    )
    snapshot.shipments.append(ShipmentRecord("o-late", "s2", warehouse_id="WH"))
    found = _violations(snapshot, opening_stock=None) if False else _violations(snapshot)
    assert any("missing [2, 3]" in v for v in found["invoice_numbers_gapless"])
    assert any("o-late: SHIPPED but not invoiced" in v for v in found["invoiced_exactly_once"])


def test_dead_letters_must_name_something_a_person_can_look_up() -> None:
    snapshot = _healthy()
    snapshot.dead_letters = [
        DeadLetter("InvoiceDLQ", "m1", '{"order_id": "o-shipped"}', 5),
        DeadLetter("ShipmentEventsDLQ", "m2", '{"detail": {"order_id": "o-nobody"}}', 5),
        DeadLetter("BackorderDLQ", "m3", "not json", 5),
    ]
    found = _violations(snapshot)["dead_letters_actionable"]
    assert [v.split(":")[0] for v in found] == ["ShipmentEventsDLQ message m2", "BackorderDLQ message m3"]


def test_a_refused_request_that_wrote_something_is_found() -> None:
    snapshot = _healthy()
    snapshot.archive_keys = ["raw/shopify/2026/11/02/refused-1.abc"]
    refused = [
        Refusal("bad signature", order_id="o-shipped", archive_key_part="/refused-1."),
        Refusal("receipt of true units", movement=("A#WH", "RECEIPT#1")),
        Refusal("nothing written", order_id="o-none", archive_key_part="/refused-9."),
    ]
    found = _violations(snapshot, refused=refused)["refused_requests_wrote_nothing"]
    assert len(found) == 3
    assert not any("nothing written" in v for v in found)


def _audited(snapshot: Snapshot) -> Snapshot:
    """The snapshot with each order's audit chain: its one change, recorded."""
    from oms.data.models import AuditRecord
    from oms.domain.audit import next_entry

    for order in snapshot.orders:
        entry = next_entry(
            None,
            subject=f"order:{order.order_id}",
            at=AT,
            actor="test",
            action="ORDER_RECEIVED",
            source="orders:1",
            after={"status": order.status},
        )
        snapshot.audit[entry.subject] = [
            AuditRecord(
                entry.subject, 1, **entry.model_dump(exclude={"subject", "seq"}), n=1, applied_change=1
            )
        ]
    snapshot.audit_read = True
    return snapshot


def test_an_audit_trail_behind_its_order_or_tampered_with_is_found() -> None:
    snapshot = _audited(_healthy())
    assert _violations(snapshot) == {}
    # an order whose latest change the trail has not recorded
    snapshot.orders[1].change_no = 2
    behind = _violations(snapshot)["audit_trail_complete"]
    assert behind == ["o-allocated: 1 change(s) not in its audit trail"]
    # and an entry edited in place
    snapshot.orders[1].change_no = 1
    snapshot.audit["order:o-shipped"][0].actor = "user:mallory"
    tampered = _violations(snapshot)["audit_trail_complete"]
    assert tampered == ["ALTERED order:o-shipped entry 1: its content does not match its hash"]

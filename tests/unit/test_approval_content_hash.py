"""An approval is bound to a hash of what the approver saw: the order's content, not its progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from oms.channels.erp import parse_erp_order
from oms.data.credit import CustomerCredit
from oms.data.orders import new_order_record
from oms.governance.approvals import content_hash, facts_of

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "events" / "erp" / "order.json").read_text())
AT = datetime(2026, 11, 2, 16, 3, tzinfo=UTC)


def _record(**changes: object):  # type: ignore[no-untyped-def]
    return new_order_record(parse_erp_order(SAMPLE | changes, entered_by="user:ann"), AT)


def test_the_hash_follows_the_content_and_ignores_the_progress() -> None:
    # Given the recorded ERP order
    record = _record()
    first = content_hash(record)
    # When only its progress changes (status, who touched it last), the hash stays
    record.status = "ON_HOLD"
    record.amended_by = "user:someone"
    assert content_hash(record) == first
    # When a quantity, a price, the ship-to or the customer changes, it does not
    lines = json.loads(json.dumps(SAMPLE["lines"]))
    lines[2]["quantity"] = 7
    assert content_hash(_record(lines=lines)) != first
    moved = SAMPLE["shipping_address"] | {"line1": "1 Elsewhere Rd"}
    assert content_hash(_record(shipping_address=moved)) != first
    # and a copy (another order id) is another order with its own approval
    assert content_hash(_record(order_id="SO-2026-COPY")) != first


def test_the_facts_the_rules_see_are_the_orders_amounts_and_the_customers_credit() -> None:
    record = _record()
    credit = CustomerCredit(
        "erp-ACCT-10442", "CORPORATE", Decimal("5000"), Decimal("1500"), False, known=True
    )
    facts = facts_of(record, credit)
    assert facts.grand_total == Decimal("3943.95")
    # line 10: 79.90 off 40 x 39.95 = 1,598.00 is 5 %; line 20: 72.50 off 1,450.00 is 5 %
    assert facts.largest_line_discount_percent == Decimal("5")
    # 1,500 owed + 3,943.95 = 5,443.95, past the 5,000 limit
    assert facts.exposure_after == Decimal("5443.95")
    assert facts.over_credit_limit

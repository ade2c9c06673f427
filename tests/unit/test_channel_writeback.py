"""Writing back to the channels over real HTTP against local fakes of their APIs, which refuse any request
that is not in the documented shape (`demo.fake_channels`): shipments become fulfillments with tracking,
deliveries fulfillment events or notes, retries never duplicate, rate limits are respected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from demo.fake_channels import FakeShopify, FakeTaxJar, FakeWebhookReceiver, FakeWooCommerce
from oms.channels.writeback.adapters import (
    ShopifyWriteBack,
    WebhookWriteBack,
    WooCommerceWriteBack,
    carrier_info,
)
from oms.channels.writeback.http import ChannelRateLimitedError, ChannelUnavailableError, retry_after_seconds
from oms.domain.notifications import ChannelNotification, NotificationKind, NotifiedLine, notification_id
from oms.domain.order import Address
from oms.domain.pricing import ItemKind
from oms.tax.engine import TaxEngineCalculator, encode_decimal_json
from oms.tax.policy import TaxEngineSettings
from oms.tax.port import TaxableItem, TaxRequest

AT = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
ORDER = {"id": 5912345678901, "line_items": [{"id": 111, "quantity": 3}, {"id": 222, "quantity": 1}]}


def shipped(
    shipment: str, lines: list[tuple[str, str, int]], tracking: str, *, all_shipped: bool = False
) -> ChannelNotification:
    return ChannelNotification(
        notification_id=notification_id(NotificationKind.SHIPPED, "ord_x", shipment),
        kind=NotificationKind.SHIPPED,
        order_id="ord_0123456789abcdef01234567",
        channel="shopify",
        external_id=str(ORDER["id"]),
        shipment_id=shipment,
        carrier="UPS",
        tracking_number=tracking,
        lines=[NotifiedLine(line_id=lid, sku=sku, quantity=q) for lid, sku, q in lines],
        all_shipped=all_shipped,
        occurred_at=AT,
    )


def delivered(shipment: str, tracking: str) -> ChannelNotification:
    return ChannelNotification(
        notification_id=notification_id(NotificationKind.DELIVERED, "ord_x", shipment),
        kind=NotificationKind.DELIVERED,
        order_id="ord_0123456789abcdef01234567",
        channel="shopify",
        external_id=str(ORDER["id"]),
        shipment_id=shipment,
        carrier="UPS",
        tracking_number=tracking,
        occurred_at=AT,
    )


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify() as fake:
        fake.add_order(ORDER)
        yield fake


def test_a_shipment_becomes_one_fulfillment_with_its_tracking_number(shop: FakeShopify) -> None:
    # Given the order's two lines shipped in one parcel
    writeback = ShopifyWriteBack(shop.credentials())
    result = writeback.deliver(
        shipped("s1", [("111", "A", 3), ("222", "B", 1)], "1Z999AA10123456784"),
        first_attempt=True,
        reference=None,
    )
    # Then Shopify has one fulfillment of both lines with UPS's tracking number and URL, the customer notified
    assert result.done
    (fulfillment,) = shop.fulfillments_of(ORDER["id"])
    assert fulfillment["tracking_number"] == "1Z999AA10123456784"
    assert fulfillment["tracking_company"] == "UPS"
    assert fulfillment["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert fulfillment["notify_customer"] is True
    assert sorted((x["id"], x["quantity"]) for x in fulfillment["line_items"]) == [(111, 3), (222, 1)]
    assert result.reference == str(fulfillment["id"])
    assert shop.violations == []


def test_two_shipments_of_one_order_are_two_fulfillments(shop: FakeShopify) -> None:
    writeback = ShopifyWriteBack(shop.credentials())
    writeback.deliver(shipped("s1", [("111", "A", 2)], "1ZAAA"), first_attempt=True, reference=None)
    writeback.deliver(
        shipped("s2", [("111", "A", 1), ("222", "B", 1)], "1ZBBB"), first_attempt=True, reference=None
    )
    assert [f["tracking_number"] for f in shop.fulfillments_of(ORDER["id"])] == ["1ZAAA", "1ZBBB"]
    assert shop.violations == []


def test_a_retry_after_a_lost_answer_does_not_fulfil_twice(shop: FakeShopify) -> None:
    # Given Shopify creates the fulfillment but its answer is lost
    writeback = ShopifyWriteBack(shop.credentials())
    notification = shipped("s1", [("111", "A", 3)], "1ZLOST")
    shop.lose_answers(1)
    with pytest.raises(ChannelUnavailableError):
        writeback.deliver(notification, first_attempt=True, reference=None)
    # When the queue retries it
    result = writeback.deliver(notification, first_attempt=False, reference=None)
    # Then the existing fulfillment is found, not a second one made
    assert result.done
    assert [f["tracking_number"] for f in shop.fulfillments_of(ORDER["id"])] == ["1ZLOST"]


def test_a_delivery_is_a_delivered_event_on_the_shipments_fulfillment_once(shop: FakeShopify) -> None:
    writeback = ShopifyWriteBack(shop.credentials())
    first = writeback.deliver(shipped("s1", [("111", "A", 3)], "1ZDLV"), first_attempt=True, reference=None)
    writeback.deliver(delivered("s1", "1ZDLV"), first_attempt=True, reference=first.reference)
    writeback.deliver(delivered("s1", "1ZDLV"), first_attempt=False, reference=None)  # a retry
    events = shop.events_of(ORDER["id"], first.reference or "")
    assert [e["status"] for e in events] == ["delivered"]
    assert shop.violations == []


def test_a_delivery_before_its_shipment_reached_shopify_waits(shop: FakeShopify) -> None:
    with pytest.raises(ChannelUnavailableError, match="no Shopify fulfillment"):
        ShopifyWriteBack(shop.credentials()).deliver(
            delivered("s9", "1ZNONE"), first_attempt=True, reference=None
        )


def test_the_client_stays_within_the_leaky_bucket() -> None:
    # Given a small bucket (4 requests, leaking 10 a second) and ten shipments told in a row
    slept: list[float] = []
    with FakeShopify(capacity=4, leak_per_second=10) as tiny:
        for n in range(10):
            tiny.add_order({"id": 1000 + n, "line_items": [{"id": 1, "quantity": 1}]})
        credentials = tiny.credentials()

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            import time

            time.sleep(seconds)

        writeback = ShopifyWriteBack(credentials, sleep=sleep)
        for n in range(10):
            note = shipped(f"s{n}", [("1", "A", 1)], f"1ZT{n}").model_copy(
                update={"external_id": str(1000 + n)}
            )
            writeback.deliver(note, first_attempt=True, reference=None)
        # Then every shipment is fulfilled, by waiting when the header showed the bucket nearly full
        assert all(len(tiny.fulfillments_of(1000 + n)) == 1 for n in range(10))
        assert slept
        assert tiny.violations == []


def test_a_long_retry_after_goes_back_to_the_queue() -> None:
    # Given a shop whose bucket is full and leaks slowly (Retry-After 10 s)
    with FakeShopify(capacity=1, leak_per_second=0.1) as slow:
        slow.add_order(ORDER)
        writeback = ShopifyWriteBack(slow.credentials(), sleep=lambda s: None)
        writeback.client.request("GET", f"orders/{ORDER['id']}/fulfillments.json")  # fills the bucket
        with pytest.raises(ChannelRateLimitedError) as caught:
            writeback.deliver(shipped("s1", [("111", "A", 3)], "1ZRL"), first_attempt=True, reference=None)
        assert caught.value.retry_after == pytest.approx(10.0)
        assert slow.throttled >= 1


def test_retry_after_is_read_as_seconds() -> None:
    assert retry_after_seconds("2.0") == 2.0
    assert retry_after_seconds(None) == 2.0
    assert retry_after_seconds("soon") == 2.0
    assert retry_after_seconds("100000") == 900.0


def test_carriers_get_shopifys_names_and_tracking_pages() -> None:
    assert carrier_info("FEDEX", "7489") == {
        "number": "7489",
        "company": "FedEx",
        "url": "https://www.fedex.com/fedextrack/?trknbr=7489",
    }
    assert carrier_info("ACME", "1") == {"number": "1", "company": "ACME"}


def test_woocommerce_gets_a_customer_note_per_shipment_and_completes_once_all_shipped() -> None:
    with FakeWooCommerce() as woo:
        woo.add_order(4711)
        writeback = WooCommerceWriteBack(woo.credentials())
        base = shipped("s1", [("301", "ELC-USB-C-1M", 12)], "1ZWOO").model_copy(
            update={"channel": "woocommerce", "external_id": "4711"}
        )
        writeback.deliver(base, first_attempt=True, reference=None)
        assert woo.orders[4711]["status"] == "processing"
        last = base.model_copy(
            update={"notification_id": "ord_x:shipped:s2", "shipment_id": "s2", "all_shipped": True}
        )
        writeback.deliver(last, first_attempt=True, reference=None)
        writeback.deliver(last, first_attempt=False, reference=None)  # a retry: no second note
        notes = woo.orders[4711]["notes"]
        assert len(notes) == 2
        assert all(n["customer_note"] for n in notes)
        assert "1ZWOO" in notes[0]["note"]
        assert woo.orders[4711]["status"] == "completed"
        assert woo.violations == []


def test_the_web_shop_gets_a_signed_standard_webhook_deduplicated_by_its_id() -> None:
    with FakeWebhookReceiver() as shop:
        writeback = WebhookWriteBack(shop.credentials())
        note = shipped("s1", [("1", "A", 1)], "1ZWEB").model_copy(
            update={"channel": "webshop", "external_id": "WS-1"}
        )
        writeback.deliver(note, first_attempt=True, reference=None)
        writeback.deliver(note, first_attempt=False, reference=None)
        assert list(shop.messages) == [note.notification_id]
        message = shop.messages[note.notification_id]
        assert message["type"] == "order.shipped"
        assert message["data"]["tracking_number"] == "1ZWEB"
        assert shop.duplicates == 1
        assert shop.violations == []


def test_the_tax_engine_is_asked_in_taxjars_shape_and_its_answer_becomes_a_quote() -> None:
    # Given an order to New York City: 2 x 50.00 less 10.00, and 10.00 shipping
    with FakeTaxJar() as engine:
        calculator = TaxEngineCalculator(
            TaxEngineSettings(from_state="NJ", from_zip="07094"), engine.credentials()
        )
        request = TaxRequest(
            channel="erp",
            currency="USD",
            destination=Address(
                name="A",
                line1="312 W 84th St",
                city="New York",
                region="NY",
                postal_code="10024",
                country="US",
            ),
            items=[
                TaxableItem(
                    item_id="line:1",
                    kind=ItemKind.LINE,
                    description="line 1",
                    quantity=2,
                    unit_price=Decimal("50.00"),
                    discount=Decimal("10.00"),
                    amount=Decimal("90.00"),
                ),
                TaxableItem(
                    item_id="shipping:s",
                    kind=ItemKind.SHIPPING,
                    description="shipping",
                    amount=Decimal("10.00"),
                ),
            ],
        )
        quote = calculator.quote(request)
        assert engine.violations == []
    # Then the line's tax is 90.00 x 4 % = 3.60 state, x 4.5 % = 4.05 city,
    # x 0.375 % = 0.3375 -> 0.34 district
    line = quote.for_item("line:1")
    assert line is not None
    assert [(t.level.value, t.amount) for t in line.lines] == [
        ("STATE", Decimal("3.60")),
        ("CITY", Decimal("4.05")),
        ("DISTRICT", Decimal("0.34")),
    ]
    # And New York taxes shipping: 0.40 + 0.45 + 0.04 (0.0375 rounded) = 0.89
    shipping = quote.for_item("shipping:s")
    assert shipping is not None
    assert shipping.total == Decimal("0.89")


def test_money_goes_to_the_engine_as_exact_json_numbers() -> None:
    assert (
        encode_decimal_json({"amount": Decimal("0.10"), "n": [Decimal("1E+2")]})
        == b'{"amount":0.10,"n":[100]}'
    )

"""A synthetic business day of Shopify `orders/create` webhooks for the demo distributor.

Orders look like the real thing: money as strings, prices from the catalog, tax per line computed half-up
on the net of discount for the customer's jurisdiction, a discount code on some orders, free shipping
above a threshold. Everything derives from the seed, so a demo run is repeatable. A small share of orders
is deliberately wrong (a stale price, an unknown SKU) so that holds show up; each is labelled with the hold
reason the OMS should give it.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from demo.reference_data import (
    CATALOG,
    CURRENCY,
    CUSTOMERS,
    SCARCE_SKUS,
    SHOP_DOMAIN,
    SHOPIFY_API_VERSION,
    CustomerTier,
    DemoCustomer,
    Product,
    channel_tax_lines,
    channel_taxes_shipping,
)
from oms.channels.signatures import shopify_signature
from oms.domain.status import HoldReason
from oms.money import ZERO, round_money

TOPIC = "orders/create"
SHOP_TIMEZONE = "America/New_York"
DISCOUNT_CODE = "WHOLESALE10"
DISCOUNT_RATE = Decimal("0.10")
DISCOUNT_SHARE = 0.15
DEFAULT_PROBLEM_SHARE = 0.02
FREE_SHIPPING_FROM = Decimal("250.00")
SHIPPING_LIGHT = Decimal("9.99")
SHIPPING_HEAVY = Decimal("14.99")
HEAVY_FROM_GRAMS = 2000
STALE_PRICE_FACTOR = Decimal("0.85")
UNKNOWN_PRODUCT = Product(
    sku="ELC-VGA-2M-LEGACY",
    name="VGA Cable 2 m (discontinued)",
    category="cables",
    unit_price=Decimal("5.99"),
    weight_grams=110,
)

# Orders per hour of the shop's day: quiet at night, busy in office hours, a small evening bump.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 10, 9, 7, 6, 6, 5, 4, 2, 1)
_LINE_COUNT_WEIGHTS = (35, 25, 17, 11, 7, 5)  # 1..6 lines
_RETAIL_QUANTITIES = ((1, 2, 3, 4, 5), (55, 22, 10, 8, 5))
_CORPORATE_QUANTITIES = ((1, 2, 3, 5, 10, 20, 25, 50), (20, 18, 14, 14, 14, 10, 6, 4))


@dataclass(frozen=True)
class ShopifyDelivery:
    """One webhook delivery: the order JSON and the delivery metadata Shopify puts in headers."""

    payload: dict[str, Any]
    event_id: str
    webhook_id: str
    triggered_at: datetime
    expected_hold: HoldReason | None = None
    """The hold the OMS should put this order on (None for a normal order)."""
    topic: str = field(default=TOPIC)

    @property
    def order_id(self) -> int:
        return int(self.payload["id"])


@dataclass(frozen=True)
class _Line:
    product: Product
    quantity: int
    price: Decimal


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(value: Decimal) -> str:
    return str(round_money(value, CURRENCY))


def _product_weight(product: Product) -> float:
    if product.sku in SCARCE_SKUS:
        return 0.3
    if product.unit_price < 20:
        return 3.0
    return 2.0 if product.unit_price < 100 else 1.0


def _pick_lines(rng: random.Random, customer: DemoCustomer) -> list[_Line]:
    count = rng.choices(range(1, 7), weights=_LINE_COUNT_WEIGHTS)[0]
    weights = [_product_weight(p) for p in CATALOG]
    chosen: list[Product] = []
    while len(chosen) < count:
        product = rng.choices(CATALOG, weights=weights)[0]
        if product not in chosen:
            chosen.append(product)
    values, quantity_weights = (
        _CORPORATE_QUANTITIES if customer.tier is CustomerTier.CORPORATE else _RETAIL_QUANTITIES
    )
    lines = []
    for product in chosen:
        quantity = (
            rng.choice((1, 1, 2)) if product.sku in SCARCE_SKUS else rng.choices(values, quantity_weights)[0]
        )
        lines.append(_Line(product=product, quantity=quantity, price=product.unit_price))
    return lines


def _spoil(rng: random.Random, lines: list[_Line], kind: HoldReason) -> list[_Line]:
    """Make one line wrong the way real channel data goes wrong."""
    index = rng.randrange(len(lines))
    line = lines[index]
    if kind is HoldReason.PRICE_MISMATCH:
        # A stale price in the shop: 15 % below the catalog (well outside any rounding tolerance).
        wrong = _Line(line.product, line.quantity, round_money(line.price * STALE_PRICE_FACTOR, CURRENCY))
    else:
        wrong = _Line(UNKNOWN_PRODUCT, line.quantity, UNKNOWN_PRODUCT.unit_price)
    return [*lines[:index], wrong, *lines[index + 1 :]]


def _address_json(customer: DemoCustomer) -> dict[str, Any]:
    address = customer.address
    country_names = {"US": "United States", "CA": "Canada"}
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "name": customer.name,
        "company": customer.company,
        "address1": address.line1,
        "address2": address.line2,
        "city": address.city,
        "province_code": address.region,
        "zip": address.postal_code,
        "country": country_names.get(address.country, address.country),
        "country_code": address.country,
        "phone": customer.phone,
    }


def _amount_set(value: Decimal) -> dict[str, Any]:
    money = {"amount": _money(value), "currency_code": CURRENCY}
    return {"shop_money": money, "presentment_money": dict(money)}


def shopify_order_payload(
    *,
    order_id: int,
    order_number: int,
    first_line_id: int,
    customer: DemoCustomer,
    lines: list[tuple[Product, int, Decimal]],
    discount_code: str | None,
    created_at: datetime,
) -> dict[str, Any]:
    """An internally consistent orders/create body for `lines` (product, quantity, unit price charged).

    Discount: `DISCOUNT_RATE` of each line, rounded half-up per line. Tax: each of the customer's tax lines
    (`channel_tax_lines`: state, county, city, district) on each line's net, rounded half-up per line and
    tax line, as Shopify does; shipping is taxed the same way where the shop taxes shipping. Shipping:
    free from `FREE_SHIPPING_FROM` (net), else by weight.
    """
    rates = channel_tax_lines(customer.address)
    by_title: dict[str, Decimal] = {}

    def tax_lines(net: Decimal) -> list[dict[str, Any]]:
        found = []
        for title, rate in rates:
            amount = round_money(net * rate, CURRENCY)
            by_title[title] = by_title.get(title, ZERO) + amount
            found.append(
                {
                    "title": title,
                    "price": _money(amount),
                    "price_set": _amount_set(amount),
                    "rate": float(rate),  # Shopify sends the rate as a JSON number; it is not money
                    "channel_liable": False,
                }
            )
        return found

    items: list[dict[str, Any]] = []
    subtotal = discounts = taxes = ZERO
    grams = 0
    for offset, (product, quantity, price) in enumerate(lines):
        line_id = first_line_id + offset
        gross = price * quantity
        discount = round_money(gross * DISCOUNT_RATE, CURRENCY) if discount_code else ZERO
        line_taxes = tax_lines(gross - discount)
        tax = sum((Decimal(t["price"]) for t in line_taxes), ZERO)
        subtotal, discounts, taxes = subtotal + gross, discounts + discount, taxes + tax
        grams += product.weight_grams * quantity
        items.append(
            {
                "id": line_id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "sku": product.sku,
                "title": product.name,
                "name": product.name,
                "variant_title": None,
                "vendor": "Voltline",
                "quantity": quantity,
                "current_quantity": quantity,
                "fulfillable_quantity": quantity,
                "grams": product.weight_grams,
                "price": _money(price),
                "price_set": _amount_set(price),
                "total_discount": "0.00",
                "total_discount_set": _amount_set(ZERO),
                "discount_allocations": (
                    [
                        {
                            "amount": _money(discount),
                            "amount_set": _amount_set(discount),
                            "discount_application_index": 0,
                        }
                    ]
                    if discount_code
                    else []
                ),
                "tax_lines": line_taxes,
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
                "fulfillment_status": None,
            }
        )
    net = subtotal - discounts
    shipping = (
        ZERO if net >= FREE_SHIPPING_FROM else SHIPPING_HEAVY if grams >= HEAVY_FROM_GRAMS else SHIPPING_LIGHT
    )
    shipping_taxes = tax_lines(shipping) if shipping and channel_taxes_shipping(customer.address) else []
    taxes += sum((Decimal(t["price"]) for t in shipping_taxes), ZERO)
    total = net + shipping + taxes
    local = created_at.astimezone(ZoneInfo(SHOP_TIMEZONE))
    stamp = local.isoformat(timespec="seconds")
    corporate = customer.tier is CustomerTier.CORPORATE
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_number}",
        "number": order_number - 1000,
        "order_number": order_number,
        "confirmed": True,
        "test": False,
        "email": customer.email,
        "contact_email": customer.email,
        "phone": None,
        "created_at": stamp,
        "processed_at": stamp,
        "updated_at": stamp,
        "currency": CURRENCY,
        "presentment_currency": CURRENCY,
        "customer_locale": "en-US",
        "source_name": "web",
        "financial_status": "pending" if corporate else "paid",
        "fulfillment_status": None,
        "payment_gateway_names": ["manual"] if corporate else ["shopify_payments"],
        "tags": "wholesale, corporate" if corporate else "retail",
        "taxes_included": False,
        "estimated_taxes": False,
        "total_weight": grams,
        "total_line_items_price": _money(subtotal),
        "total_line_items_price_set": _amount_set(subtotal),
        "subtotal_price": _money(net),
        "subtotal_price_set": _amount_set(net),
        "total_discounts": _money(discounts),
        "total_discounts_set": _amount_set(discounts),
        "total_shipping_price_set": _amount_set(shipping),
        "total_tax": _money(taxes),
        "total_tax_set": _amount_set(taxes),
        "total_price": _money(total),
        "total_price_set": _amount_set(total),
        "current_total_price": _money(total),
        "total_outstanding": _money(total) if corporate else "0.00",
        "tax_lines": [
            {"title": title, "price": _money(amount), "price_set": _amount_set(amount)}
            for title, amount in by_title.items()
        ],
        "discount_codes": (
            [{"code": discount_code, "amount": _money(discounts), "type": "percentage"}]
            if discount_code
            else []
        ),
        "discount_applications": (
            [
                {
                    "type": "discount_code",
                    "code": discount_code,
                    "value": str(DISCOUNT_RATE * 100),
                    "value_type": "percentage",
                    "allocation_method": "across",
                    "target_selection": "all",
                    "target_type": "line_item",
                }
            ]
            if discount_code
            else []
        ),
        "customer": {
            "id": customer.shopify_id,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer.shopify_id}",
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "state": "enabled",
            "verified_email": True,
            "tax_exempt": False,
            "currency": CURRENCY,
            "tags": customer.tier.value.lower(),
        },
        "billing_address": _address_json(customer),
        "shipping_address": _address_json(customer),
        "line_items": items,
        "shipping_lines": [
            {
                "id": order_id * 10 + 1,
                "code": "UPS Ground" if shipping else "Free Shipping",
                "title": "UPS Ground" if shipping else "Free Shipping",
                "source": "shopify",
                "price": _money(shipping),
                "price_set": _amount_set(shipping),
                "discounted_price": _money(shipping),
                "discounted_price_set": _amount_set(shipping),
                "tax_lines": shipping_taxes,
                "discount_allocations": [],
            }
        ],
        "fulfillments": [],
        "refunds": [],
    }


def _placement_times(rng: random.Random, count: int, start: datetime) -> list[datetime]:
    offsets = []
    for _ in range(count):
        hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
        offsets.append(hour * 3600 + rng.randrange(3600))
    return [start + timedelta(seconds=offset) for offset in sorted(offsets)]


def generate_shopify_orders(
    count: int,
    seed: int,
    start: datetime,
    *,
    problem_share: float = DEFAULT_PROBLEM_SHARE,
) -> list[ShopifyDelivery]:
    """`count` orders/create deliveries placed over the 24 hours from `start` (time zone aware), by time.

    Deterministic for (`count`, `seed`, `start`, `problem_share`). About `problem_share` of the orders carry
    one deliberate error (labelled in `expected_hold`); the problem draw uses its own random stream, so
    changing the share does not change the other orders.
    """
    if start.tzinfo is None:
        raise ValueError("start must be time zone aware")
    if count < 0 or not 0 <= problem_share <= 1:
        raise ValueError("count must be >= 0 and problem_share within [0, 1]")
    rng = random.Random(seed)
    problems = random.Random(f"{seed}:problems")
    order_id = 5_900_000_000_000 + rng.randrange(10**10) * 10
    line_id = 15_000_000_000 + rng.randrange(10**9) * 10
    order_number = 1001 + rng.randrange(9000)
    deliveries: list[ShopifyDelivery] = []
    for placed_at in _placement_times(rng, count, start.astimezone(UTC)):
        customer = rng.choice(CUSTOMERS)
        lines = _pick_lines(rng, customer)
        discount_code = DISCOUNT_CODE if rng.random() < DISCOUNT_SHARE else None
        expected_hold: HoldReason | None = None
        if problems.random() < problem_share:
            expected_hold = problems.choice((HoldReason.PRICE_MISMATCH, HoldReason.UNKNOWN_SKU))
            lines = _spoil(problems, lines, expected_hold)
        payload = shopify_order_payload(
            order_id=order_id,
            order_number=order_number,
            first_line_id=line_id,
            customer=customer,
            lines=[(line.product, line.quantity, line.price) for line in lines],
            discount_code=discount_code,
            created_at=placed_at,
        )
        deliveries.append(
            ShopifyDelivery(
                payload=payload,
                event_id=_uuid(rng),
                webhook_id=_uuid(rng),
                triggered_at=placed_at + timedelta(milliseconds=rng.randrange(400, 4000)),
                expected_hold=expected_hold,
            )
        )
        order_id += 10 * rng.randint(1, 40)
        line_id += 10 * (len(lines) + rng.randint(0, 5))
        order_number += 1
    return deliveries


def delivery_body(delivery: ShopifyDelivery) -> bytes:
    """The exact bytes Shopify would send: compact JSON, UTF-8."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_delivery(
    delivery: ShopifyDelivery, secret: str, *, shop_domain: str = SHOP_DOMAIN
) -> tuple[dict[str, str], bytes]:
    """The headers and body of the HTTP request Shopify would make for `delivery`, signed with `secret`."""
    body = delivery_body(delivery)
    triggered = (
        delivery.triggered_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-Webhook-Id": delivery.webhook_id,
        "X-Shopify-Event-Id": delivery.event_id,
        "X-Shopify-Triggered-At": triggered,
        "X-Shopify-API-Version": SHOPIFY_API_VERSION,
    }
    return headers, body

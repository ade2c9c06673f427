"""Writes the channel-order corpus (`python -m tests.events.corpus.build`): orders in each channel's real
shape, with every amount computed the way that channel computes it (`tests.support.channel_math`, written
independently of the OMS's pricing code), then, for the hold cases, one amount spoiled the way real data
goes wrong. `expected.json` (written by hand) says what the OMS must make of each: the channel's totals to
the cent, or the hold and the words of its reason.

The JSON files are committed; this script documents how they were made and rebuilds them identically.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.channel_math import half_up

HERE = Path(__file__).resolve().parent
EVENTS = HERE.parent
D = Decimal
ZERO = D("0")


def _s(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _taxes(
    base: Decimal, rates: Sequence[tuple[str, Decimal]], inclusive: bool
) -> list[tuple[str, Decimal, Decimal]]:
    total_rate = sum((r for _, r in rates), ZERO)
    if inclusive:
        return [(t, r, half_up(base * r / (1 + total_rate))) for t, r in rates]
    return [(t, r, half_up(base * r)) for t, r in rates]


# --- Shopify ---------------------------------------------------------------------------------------------

SHOPIFY_TEMPLATE = json.loads((EVENTS / "shopify" / "orders_create.json").read_text())


def shopify(
    order_id: int,
    lines: list[tuple[str, int, str]],
    *,
    rates: list[tuple[str, str]],
    address: dict[str, str],
    applications: list[dict[str, Any]] | None = None,
    allocations: dict[int, list[tuple[int, str]]] | None = None,
    shipping: tuple[str, str] | None = ("UPS Ground", "14.99"),
    shipping_allocations: list[tuple[int, str]] | None = None,
    shipping_taxed: bool = False,
    taxes_included: bool = False,
    currency: str = "USD",
    customer: bool = True,
) -> dict[str, Any]:
    """A Shopify REST order. `allocations`: per line index, (discount application index, amount)."""
    payload = copy.deepcopy(SHOPIFY_TEMPLATE)
    template_line = payload["line_items"][0]
    rate_list = [(title, D(rate)) for title, rate in rates]
    allocations = allocations or {}
    applications = applications or []
    items = []
    by_title: dict[str, tuple[Decimal, Decimal]] = {}
    gross_total = net_total = tax_total = discount_total = ZERO
    per_application: dict[int, Decimal] = {}

    def tax_lines(base: Decimal) -> list[dict[str, Any]]:
        nonlocal tax_total
        found = []
        for title, rate, amount in _taxes(base, rate_list, taxes_included):
            found.append({"title": title, "price": _s(amount), "rate": float(rate), "channel_liable": False})
            previous = by_title.get(title, (rate, ZERO))[1]
            by_title[title] = (rate, previous + amount)
            tax_total += amount
        return found

    for index, (sku, quantity, price) in enumerate(lines):
        gross = D(price) * quantity
        allocated = [(app, D(amount)) for app, amount in allocations.get(index, [])]
        discount = sum((a for _, a in allocated), ZERO)
        for app, amount in allocated:
            per_application[app] = per_application.get(app, ZERO) + amount
        item = copy.deepcopy(template_line)
        for key in ("price_set", "total_discount_set", "admin_graphql_api_id"):
            item.pop(key, None)
        item.update(
            id=order_id * 10 + index,
            sku=sku,
            name=sku,
            title=sku,
            quantity=quantity,
            current_quantity=quantity,
            fulfillable_quantity=quantity,
            price=price,
            total_discount="0.00",
            discount_allocations=[
                {"amount": _s(a), "discount_application_index": app} for app, a in allocated
            ],
            tax_lines=tax_lines(gross - discount),
        )
        items.append(item)
        gross_total += gross
        net_total += gross - discount
        discount_total += discount
    shipping_lines = []
    shipping_net = ZERO
    if shipping:
        title, price = shipping
        allocated = [(app, D(amount)) for app, amount in shipping_allocations or []]
        for app, amount in allocated:
            per_application[app] = per_application.get(app, ZERO) + amount
        net = D(price) - sum((a for _, a in allocated), ZERO)
        discount_total += D(price) - net
        shipping_net += net
        shipping_lines.append(
            {
                "id": order_id * 10 + 9,
                "code": title,
                "title": title,
                "source": "shopify",
                "price": price,
                "discounted_price": _s(net),
                "discount_allocations": [
                    {"amount": _s(a), "discount_application_index": app} for app, a in allocated
                ],
                "tax_lines": tax_lines(net) if shipping_taxed and net else [],
            }
        )
    codes = [
        {
            "code": app["code"],
            "amount": _s(per_application.get(i, ZERO)),
            "type": app.get("value_type", "fixed_amount"),
        }
        for i, app in enumerate(applications)
        if app.get("type") == "discount_code"
    ]
    grand = net_total + shipping_net + (ZERO if taxes_included else tax_total)
    payload.update(
        id=order_id,
        name=f"#{order_id % 100000}",
        order_number=order_id % 100000,
        currency=currency,
        presentment_currency=currency,
        taxes_included=taxes_included,
        line_items=items,
        shipping_lines=shipping_lines,
        discount_applications=applications,
        discount_codes=codes,
        total_line_items_price=_s(gross_total),
        subtotal_price=_s(net_total),
        total_discounts=_s(discount_total),
        total_tax=_s(tax_total),
        total_price=_s(grand),
        tax_lines=[{"title": t, "price": _s(a), "rate": float(r)} for t, (r, a) in by_title.items()],
    )
    for key in (
        "subtotal_price_set",
        "total_discounts_set",
        "total_line_items_price_set",
        "total_price_set",
        "total_shipping_price_set",
        "total_tax_set",
        "current_subtotal_price",
        "current_total_discounts",
        "current_total_price",
        "current_total_tax",
    ):
        payload.pop(key, None)
    payload["shipping_address"] = {**payload["shipping_address"], **address}
    payload["billing_address"] = {**payload["billing_address"], **address}
    if not customer:
        payload.pop("customer")
    return payload


def across_percentage(lines: list[tuple[str, int, str]], percent: str) -> dict[int, list[tuple[int, str]]]:
    """Shopify's "across" percentage discount: each line's share is its amount times the percentage."""
    return {i: [(0, _s(half_up(D(p) * q * D(percent) / 100)))] for i, (_, q, p) in enumerate(lines)}


def across_fixed(
    lines: list[tuple[str, int, str]], amount: str, app: int = 0
) -> dict[int, list[tuple[int, str]]]:
    """A fixed amount spread over the lines by their amounts, the rounding remainder on the last line."""
    grosses = [D(p) * q for _, q, p in lines]
    total = sum(grosses, ZERO)
    shares = [half_up(D(amount) * g / total) for g in grosses[:-1]]
    shares.append(D(amount) - sum(shares, ZERO))
    return {i: [(app, _s(s))] for i, s in enumerate(shares)}


CA = {
    "province_code": "CA",
    "province": "California",
    "city": "Burlingame",
    "zip": "94010",
    "country_code": "US",
}
NYC = {
    "province_code": "NY",
    "province": "New York",
    "city": "New York",
    "zip": "10024",
    "country_code": "US",
    "address1": "312 W 84th St",
}
CHI = {
    "province_code": "IL",
    "province": "Illinois",
    "city": "Chicago",
    "zip": "60605",
    "country_code": "US",
    "address1": "600 S Michigan Ave",
}
AUS = {
    "province_code": "TX",
    "province": "Texas",
    "city": "Austin",
    "zip": "78701",
    "country_code": "US",
    "address1": "900 Congress Ave",
}
PDX = {
    "province_code": "OR",
    "province": "Oregon",
    "city": "Portland",
    "zip": "97209",
    "country_code": "US",
    "address1": "1120 NW Couch St",
}
LDN = {
    "province_code": "",
    "province": "",
    "city": "London",
    "zip": "E9 5LN",
    "country_code": "GB",
    "country": "United Kingdom",
    "address1": "12 Wallis Road",
}
CA_TAX = [("CA State Tax", "0.0725"), ("San Mateo County District Tax", "0.02125")]
NYC_TAX = [
    ("NY State Tax", "0.04"),
    ("New York City Tax", "0.045"),
    ("Metropolitan Commuter Transportation District", "0.00375"),
]
CHI_TAX = [
    ("IL State Tax", "0.0625"),
    ("Cook County Tax", "0.0175"),
    ("Chicago City Tax", "0.0125"),
    ("RTA Special District Tax", "0.01"),
]
AUS_TAX = [("TX State Tax", "0.0625"), ("Austin City Tax", "0.01"), ("Austin MTA Transit District", "0.01")]
VAT = [("VAT", "0.20")]

L3 = [("ELC-USB-C-1M", 10, "8.99"), ("ELC-HDMI-2M", 4, "14.50"), ("ELC-PSU-65W", 3, "39.95")]
L2 = [("ELC-DOCK-TB4", 1, "249.00"), ("ELC-MS-WL", 2, "19.50")]


def shopify_orders() -> dict[str, dict[str, Any]]:
    code10 = {
        "type": "discount_code",
        "code": "WHOLESALE10",
        "value": "10.0",
        "value_type": "percentage",
        "allocation_method": "across",
        "target_selection": "all",
        "target_type": "line_item",
    }
    orders: dict[str, dict[str, Any]] = {}
    orders["s01_discount_code_across"] = shopify(
        7100000000001,
        L3,
        rates=CA_TAX,
        address=CA,
        applications=[code10],
        allocations=across_percentage(L3, "10"),
    )
    tenoff = {
        "type": "discount_code",
        "code": "TENOFF",
        "value": "10.00",
        "value_type": "fixed_amount",
        "allocation_method": "across",
        "target_selection": "all",
        "target_type": "line_item",
    }
    spoiled = shopify(7100000000002, L2, rates=CA_TAX, address=CA, applications=[tenoff])
    # The code is listed with its amount and the total is reduced, but no line carries the discount.
    spoiled["discount_codes"] = [{"code": "TENOFF", "amount": "10.00", "type": "fixed_amount"}]
    spoiled["total_discounts"] = "10.00"
    spoiled["total_price"] = _s(D(spoiled["total_price"]) - 10)
    orders["s02_discount_code_not_in_the_lines"] = spoiled
    auto = {
        "type": "automatic",
        "title": "Fall sale",
        "value": "15.00",
        "value_type": "fixed_amount",
        "allocation_method": "across",
        "target_selection": "all",
        "target_type": "line_item",
    }
    orders["s03_automatic_discount"] = shopify(
        7100000000003,
        L3,
        rates=CA_TAX,
        address=CA,
        applications=[auto],
        allocations=across_fixed(L3, "15.00"),
    )
    manual = {
        "type": "manual",
        "title": "Damaged box",
        "description": "Damaged box",
        "value": "5.00",
        "value_type": "fixed_amount",
        "allocation_method": "one",
        "target_selection": "explicit",
        "target_type": "line_item",
    }
    orders["s04_manual_line_discount"] = shopify(
        7100000000004, L2, rates=CA_TAX, address=CA, applications=[manual], allocations={1: [(0, "5.00")]}
    )
    freeship = {
        "type": "discount_code",
        "code": "FREESHIP",
        "value": "100.0",
        "value_type": "percentage",
        "allocation_method": "each",
        "target_selection": "all",
        "target_type": "shipping_line",
    }
    orders["s05_shipping_discount_code"] = shopify(
        7100000000005,
        L2,
        rates=CA_TAX,
        address=CA,
        applications=[freeship],
        shipping_allocations=[(0, "14.99")],
    )
    orders["s06_new_york_city_three_tax_lines_and_shipping_tax"] = shopify(
        7100000000006, L3, rates=NYC_TAX, address=NYC, shipping_taxed=True
    )
    orders["s07_chicago_four_tax_lines"] = shopify(7100000000007, L2, rates=CHI_TAX, address=CHI)
    orders["s08_tax_inclusive_uk_shop"] = shopify(
        7100000000008,
        [("UK-HUB-7P", 2, "36.00"), ("UK-CABLE-2M", 5, "12.00")],
        rates=VAT,
        address=LDN,
        shipping=("Royal Mail Tracked 48", "6.00"),
        shipping_taxed=True,
        taxes_included=True,
        currency="GBP",
    )
    wrong_state = shopify(7100000000009, L2, rates=[("CA State Tax", "0.08")], address=CA)
    orders["s09_state_rate_not_the_states"] = wrong_state
    off_cent = shopify(7100000000010, L2, rates=CA_TAX, address=CA)
    line = off_cent["line_items"][0]["tax_lines"][0]
    line["price"] = _s(D(line["price"]) + D("0.01"))  # a rounding slip on one tax line
    off_cent["total_tax"] = _s(D(off_cent["total_tax"]) + D("0.01"))
    off_cent["total_price"] = _s(D(off_cent["total_price"]) + D("0.01"))
    off_cent["tax_lines"][0]["price"] = _s(D(off_cent["tax_lines"][0]["price"]) + D("0.01"))
    orders["s10_tax_line_a_cent_off"] = off_cent
    wrong_total = shopify(7100000000011, L2, rates=CA_TAX, address=CA)
    wrong_total["total_price"] = _s(D(wrong_total["total_price"]) + D("5.00"))
    orders["s11_total_price_does_not_add_up"] = wrong_total
    long_address = shopify(
        7100000000012, L2, rates=CA_TAX, address={**CA, "address1": "1450 Bayshore Blvd " + "x" * 230}
    )
    orders["s12_address_of_249_characters"] = long_address
    orders["s13_austin_local_taxes_shipping_taxed"] = shopify(
        7100000000013, L3, rates=AUS_TAX, address=AUS, shipping_taxed=True
    )
    orders["s14_oregon_no_sales_tax_guest"] = shopify(
        7100000000014, L2, rates=[], address=PDX, customer=False
    )
    return orders


# --- WooCommerce -----------------------------------------------------------------------------------------

WOO_TEMPLATE = json.loads((EVENTS / "woocommerce" / "order_created.json").read_text())


def woo(
    order_id: int,
    lines: list[tuple[str, int, str, str]],
    *,
    rates: list[tuple[int, str, str]],
    state: str,
    city: str = "Kingston",
    postcode: str = "12401",
    country: str = "US",
    shipping: tuple[str, str] | None = ("UPS Ground", "12.50"),
    shipping_taxed: bool = False,
    fees: list[tuple[str, str, bool]] | None = None,
    coupons: list[tuple[str, str]] | None = None,
    prices_include_tax: bool = False,
    currency: str = "USD",
) -> dict[str, Any]:
    """A WooCommerce REST v3 order. Lines: (sku, quantity, unit price, discount on the line); with
    `prices_include_tax` the unit price and discount include tax, and WooCommerce stores them without."""
    payload = copy.deepcopy(WOO_TEMPLATE)
    rate_list = [(rid, label, D(percent) / 100) for rid, label, percent in rates]
    per_rate: dict[int, list[Decimal]] = {rid: [ZERO, ZERO] for rid, _, _ in rate_list}
    items = []
    discount_ex = discount_tax = cart_tax = lines_total = ZERO
    for index, (sku, quantity, unit, discount) in enumerate(lines):
        gross = D(unit) * quantity
        if prices_include_tax:
            sub_taxes = _taxes(gross, [(label, r) for _, label, r in rate_list], True)
            tot_taxes = _taxes(gross - D(discount), [(label, r) for _, label, r in rate_list], True)
            subtotal = gross - sum((a for _, _, a in sub_taxes), ZERO)
            total = gross - D(discount) - sum((a for _, _, a in tot_taxes), ZERO)
        else:
            sub_taxes = _taxes(gross, [(label, r) for _, label, r in rate_list], False)
            tot_taxes = _taxes(gross - D(discount), [(label, r) for _, label, r in rate_list], False)
            subtotal, total = gross, gross - D(discount)
        subtotal_tax = sum((a for _, _, a in sub_taxes), ZERO)
        total_tax = sum((a for _, _, a in tot_taxes), ZERO)
        for (rid, _, _), (_, _, amount) in zip(rate_list, tot_taxes, strict=True):
            per_rate[rid][0] += amount
        discount_ex += subtotal - total
        discount_tax += subtotal_tax - total_tax
        cart_tax += total_tax
        lines_total += total
        items.append(
            {
                "id": order_id * 10 + index,
                "name": sku,
                "product_id": 1200 + index,
                "variation_id": 0,
                "quantity": quantity,
                "tax_class": "",
                "subtotal": _s(subtotal),
                "subtotal_tax": _s(subtotal_tax),
                "total": _s(total),
                "total_tax": _s(total_tax),
                "taxes": [
                    {"id": rid, "total": _s(t), "subtotal": _s(st)}
                    for (rid, _, _), (_, _, t), (_, _, st) in zip(
                        rate_list, tot_taxes, sub_taxes, strict=True
                    )
                ],
                "meta_data": [],
                "sku": sku,
                "price": float(total / quantity),
            }
        )
    shipping_lines = []
    shipping_total = shipping_tax = ZERO
    if shipping:
        title, cost = shipping
        taxes = _taxes(D(cost), [(label, r) for _, label, r in rate_list], False) if shipping_taxed else []
        for (rid, _, _), (_, _, amount) in zip(rate_list, taxes, strict=False):
            per_rate[rid][1] += amount
        shipping_total, shipping_tax = D(cost), sum((a for _, _, a in taxes), ZERO)
        shipping_lines.append(
            {
                "id": order_id * 10 + 8,
                "method_title": title,
                "method_id": "flat_rate",
                "instance_id": "2",
                "total": cost,
                "total_tax": _s(shipping_tax),
                "taxes": [
                    {"id": rid, "total": _s(a), "subtotal": ""}
                    for (rid, _, _), (_, _, a) in zip(rate_list, taxes, strict=False)
                ],
                "meta_data": [],
            }
        )
    fee_lines = []
    fee_total = ZERO
    for n, (name, amount, taxable) in enumerate(fees or []):
        taxes = _taxes(D(amount), [(label, r) for _, label, r in rate_list], False) if taxable else []
        for (rid, _, _), (_, _, t) in zip(rate_list, taxes, strict=False):
            per_rate[rid][0] += t
        fee_tax = sum((t for _, _, t in taxes), ZERO)
        cart_tax += fee_tax
        fee_total += D(amount)
        fee_lines.append(
            {
                "id": order_id * 10 + 6 - n,
                "name": name,
                "tax_class": "",
                "tax_status": "taxable" if taxable else "none",
                "amount": amount,
                "total": amount,
                "total_tax": _s(fee_tax),
                "taxes": [
                    {"id": rid, "total": _s(t), "subtotal": ""}
                    for (rid, _, _), (_, _, t) in zip(rate_list, taxes, strict=False)
                ],
                "meta_data": [],
            }
        )
    coupon_lines = []
    for n, (code, share) in enumerate(coupons or []):
        part = D(share)
        coupon_lines.append(
            {
                "id": order_id * 10 + 5 - n,
                "code": code,
                "discount": _s(part),
                "discount_tax": _s(half_up(discount_tax * part / discount_ex) if discount_ex else ZERO),
                "meta_data": [],
            }
        )
    if coupon_lines:  # the coupons' tax shares add up to the order's discount tax
        assigned = sum((D(c["discount_tax"]) for c in coupon_lines[:-1]), ZERO)
        coupon_lines[-1]["discount_tax"] = _s(discount_tax - assigned)
    total_tax = cart_tax + shipping_tax
    payload.update(
        id=order_id,
        number=str(order_id),
        currency=currency,
        prices_include_tax=prices_include_tax,
        line_items=items,
        shipping_lines=shipping_lines,
        fee_lines=fee_lines,
        coupon_lines=coupon_lines,
        discount_total=_s(discount_ex),
        discount_tax=_s(discount_tax),
        shipping_total=_s(shipping_total),
        shipping_tax=_s(shipping_tax),
        cart_tax=_s(cart_tax),
        total_tax=_s(total_tax),
        total=_s(lines_total + shipping_total + fee_total + total_tax),
        tax_lines=[
            {
                "id": order_id * 10 + 7 - i,
                "rate_code": f"{country}-{state}-{label.upper()}-1",
                "rate_id": rid,
                "label": label,
                "compound": False,
                "tax_total": _s(per_rate[rid][0]),
                "shipping_tax_total": _s(per_rate[rid][1]),
                "rate_percent": float(r * 100),
                "meta_data": [],
            }
            for i, (rid, label, r) in enumerate(rate_list)
        ],
    )
    for block in ("billing", "shipping"):
        payload[block].update(state=state, city=city, postcode=postcode, country=country)
    return payload


NY_RATES = [(3, "Sales Tax", "8.875")]
TX_RATES = [
    (11, "TX State Tax", "6.25"),
    (12, "Austin City Tax", "1"),
    (13, "Austin MTA Transit District", "1"),
]
IL_RATES = [
    (21, "IL State Tax", "6.25"),
    (22, "Cook County Tax", "1.75"),
    (23, "Chicago City Tax", "1.25"),
    (24, "RTA Special District Tax", "1"),
]
UK_RATES = [(31, "VAT", "20")]
W3 = [
    ("ELC-USB-C-1M", 12, "8.99", "10.79"),
    ("ELC-HDMI-2M", 5, "14.50", "7.25"),
    ("ELC-KVM-4P", 1, "129.00", "12.90"),
]
W2 = [("ELC-DOCK-TB4", 1, "249.00", "0.00"), ("ELC-MS-WL", 2, "19.50", "0.00")]


def woocommerce_orders() -> dict[str, dict[str, Any]]:
    orders: dict[str, dict[str, Any]] = {}
    orders["w01_coupon_new_york"] = woo(
        4801, W3, rates=NY_RATES, state="NY", coupons=[("install10", "30.94")]
    )
    orders["w02_cod_fee_taxed"] = woo(
        4802, W2, rates=NY_RATES, state="NY", fees=[("Cash on delivery", "5.00", True)]
    )
    orders["w03_negative_fee_untaxed"] = woo(
        4803, W2, rates=NY_RATES, state="NY", fees=[("Loyalty credit", "-10.00", False)]
    )
    orders["w04_austin_shipping_tax_per_rate"] = woo(
        4804, W2, rates=TX_RATES, state="TX", city="Austin", postcode="78701", shipping_taxed=True
    )
    orders["w05_prices_include_tax_uk"] = woo(
        4805,
        [("UK-HUB-7P", 2, "36.00", "0.00"), ("UK-CABLE-2M", 5, "12.00", "6.00")],
        rates=UK_RATES,
        state="",
        city="London",
        postcode="E9 5LN",
        country="GB",
        shipping=("Royal Mail", "5.00"),
        shipping_taxed=True,
        coupons=[("WELCOME", "5.00")],
        prices_include_tax=True,
        currency="GBP",
    )
    orders["w06_two_coupons"] = woo(
        4806, W3, rates=NY_RATES, state="NY", coupons=[("install10", "20.00"), ("loyal", "10.94")]
    )
    spoiled = woo(4807, W2, rates=NY_RATES, state="NY")
    spoiled["coupon_lines"] = [
        {"id": 48075, "code": "SAVE20", "discount": "20.00", "discount_tax": "0.00", "meta_data": []}
    ]
    spoiled["discount_total"] = "20.00"
    orders["w07_coupon_not_in_the_lines"] = spoiled
    orders["w08_chicago_four_rates"] = woo(
        4808, W2, rates=IL_RATES, state="IL", city="Chicago", postcode="60605"
    )
    fee_slip = woo(4809, W2, rates=NY_RATES, state="NY", fees=[("Handling", "8.00", True)])
    fee_slip["fee_lines"][0]["total_tax"] = "0.00"  # the fee's tax is in the order's totals, not on the fee
    fee_slip["fee_lines"][0]["taxes"] = []
    orders["w09_fee_tax_missing_from_the_fee"] = fee_slip
    return orders


# --- the web shop and the ERP ----------------------------------------------------------------------------


def doc(
    order_id: str,
    lines: list[tuple[str, int, str, str]],
    *,
    rates: list[tuple[str, str]],
    region: str,
    city: str,
    postal: str,
    country: str = "US",
    shipping: str = "0.00",
    shipping_taxed: bool = False,
    fees: list[tuple[str, str]] | None = None,
    discounts: list[tuple[str, dict[int, str]]] | None = None,
    itemize: bool = True,
    inclusive: bool = False,
    currency: str = "USD",
    customer_id: str | None = "C-1001",
) -> dict[str, Any]:
    rate_list = [(t, D(r)) for t, r in rates]
    out_lines = []
    tax_total = net_total = ZERO
    allocation: dict[int, list[dict[str, str]]] = {}
    for code, shares in discounts or []:
        for index, amount in shares.items():
            allocation.setdefault(index, []).append({"code": code, "amount": amount})
    for index, (sku, quantity, unit, discount) in enumerate(lines):
        net = D(unit) * quantity - D(discount)
        taxes = _taxes(net, rate_list, inclusive)
        tax = sum((a for _, _, a in taxes), ZERO)
        line: dict[str, Any] = {
            "line_id": str(index + 1),
            "sku": sku,
            "name": sku,
            "quantity": quantity,
            "unit_price": unit,
            "discount": discount,
            "tax": _s(tax),
        }
        if itemize:
            line["taxes"] = [{"name": t, "rate": str(r), "amount": _s(a)} for t, r, a in taxes]
        if index in allocation:
            line["discounts"] = allocation[index]
        out_lines.append(line)
        tax_total += tax
        net_total += net
    shipping_tax = (
        sum((a for _, _, a in _taxes(D(shipping), rate_list, inclusive)), ZERO) if shipping_taxed else ZERO
    )
    fee_docs = []
    fee_total = ZERO
    for n, (title, amount) in enumerate(fees or []):
        taxes = _taxes(D(amount), rate_list, inclusive)
        fee_tax = sum((a for _, _, a in taxes), ZERO)
        fee_docs.append(
            {
                "id": f"fee-{n + 1}",
                "title": title,
                "amount": amount,
                "tax": _s(fee_tax),
                "taxes": [{"name": t, "rate": str(r), "amount": _s(a)} for t, r, a in taxes]
                if itemize
                else [],
            }
        )
        tax_total += fee_tax
        fee_total += D(amount)
    tax_total += shipping_tax
    grand = net_total + D(shipping) + fee_total + (ZERO if inclusive else tax_total)
    data: dict[str, Any] = {
        "order_id": order_id,
        "currency": currency,
        "customer": {
            "id": customer_id,
            "name": "Lone Star School District",
            "email": "procurement@lonestarisd.example",
        },
        "shipping_address": {
            "name": "Central Receiving",
            "line1": "4400 Industrial Blvd",
            "line2": None,
            "city": city,
            "region": region or None,
            "postal_code": postal,
            "country": country,
        },
        "lines": out_lines,
        "shipping_total": shipping,
        "shipping_tax": _s(shipping_tax),
        "tax_total": _s(tax_total),
        "grand_total": _s(grand),
        "placed_at": "2026-11-02T16:03:00-06:00",
    }
    if inclusive:
        data["prices_include_tax"] = True
    if fee_docs:
        data["fees"] = fee_docs
    if discounts:
        data["discounts"] = [
            {"code": code, "amount": _s(sum((D(a) for a in shares.values()), ZERO))}
            for code, shares in discounts
        ]
    return data


def webshop(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "order.created", "timestamp": "2026-11-02T14:20:05Z", "data": data}


B2 = [("ELC-DOCK-TB4", 1, "249.00", "0.00"), ("ELC-MS-WL", 2, "19.50", "0.00")]


def webshop_orders() -> dict[str, dict[str, Any]]:
    orders: dict[str, dict[str, Any]] = {}
    orders["b01_discount_code_itemized_california"] = webshop(
        doc(
            "WS-7001",
            [("ELC-DOCK-TB4", 1, "249.00", "20.00"), ("ELC-MS-WL", 2, "19.50", "3.90")],
            rates=[("CA State Tax", "0.0725")],
            region="CA",
            city="Burlingame",
            postal="94010",
            shipping="9.99",
            discounts=[("SPRING", {0: "20.00", 1: "3.90"})],
        )
    )
    orders["b02_new_york_shipping_tax_missing"] = webshop(
        doc(
            "WS-7002",
            B2,
            rates=[("NY State Tax", "0.04")],
            region="NY",
            city="Albany",
            postal="12210",
            shipping="18.00",
            itemize=False,
        )
    )
    orders["b03_district_of_columbia"] = webshop(
        doc(
            "WS-7003",
            B2,
            rates=[("DC Sales Tax", "0.06")],
            region="DC",
            city="Washington",
            postal="20001",
            shipping="9.99",
            shipping_taxed=True,
            itemize=False,
        )
    )
    orders["b04_handling_fee_with_tax_california"] = webshop(
        doc(
            "WS-7004",
            B2,
            rates=[("CA State Tax", "0.0725")],
            region="CA",
            city="Oakland",
            postal="94607",
            shipping="9.99",
            fees=[("Handling", "4.00")],
        )
    )
    orders["b05_prices_include_vat_uk"] = webshop(
        doc(
            "WS-7005",
            [("UK-HUB-7P", 2, "36.00", "0.00"), ("UK-CABLE-2M", 5, "12.00", "0.00")],
            rates=[("VAT", "0.20")],
            region="",
            city="London",
            postal="E9 5LN",
            country="GB",
            inclusive=True,
            currency="GBP",
        )
    )
    declared = doc(
        "WS-7006",
        [("ELC-DOCK-TB4", 1, "249.00", "20.00"), ("ELC-MS-WL", 2, "19.50", "0.00")],
        rates=[("CA State Tax", "0.0725")],
        region="CA",
        city="Oakland",
        postal="94607",
        discounts=[("SUMMER", {0: "20.00"})],
    )
    declared["discounts"] = [
        {"code": "SUMMER", "amount": "25.00"}
    ]  # the shop says 25.00, the lines carry 20.00
    orders["b06_discount_declared_above_the_lines"] = webshop(declared)
    return orders


def erp_orders() -> dict[str, dict[str, Any]]:
    orders: dict[str, dict[str, Any]] = {}
    orders["e01_texas_account"] = doc(
        "SO-8001",
        [("ELC-PSU-65W", 40, "39.95", "79.90"), ("ELC-HDMI-2M", 100, "14.50", "72.50")],
        rates=[("TX State Tax", "0.0625")],
        region="TX",
        city="Austin",
        postal="78744",
        shipping="45.00",
        shipping_taxed=True,
        itemize=False,
        customer_id="ACCT-10442",
    )
    orders["e02_wyoming"] = doc(
        "SO-8002",
        B2,
        rates=[("WY State Tax", "0.04")],
        region="WY",
        city="Cheyenne",
        postal="82001",
        customer_id="ACCT-10442",
        itemize=False,
    )
    orders["e03_ohio_shipping_taxed"] = doc(
        "SO-8003",
        B2,
        rates=[("OH State Tax", "0.0575")],
        region="OH",
        city="Columbus",
        postal="43215",
        shipping="25.00",
        shipping_taxed=True,
        customer_id="ACCT-10442",
    )
    wrong = doc(
        "SO-8004",
        B2,
        rates=[("MI State Tax", "0.06")],
        region="MI",
        city="Detroit",
        postal="48226",
        customer_id="ACCT-10442",
        itemize=False,
    )
    wrong["lines"][0]["tax"] = "14.00"  # 249.00 x 6 % is 14.94
    wrong["tax_total"] = _s(D(wrong["tax_total"]) - D("0.94"))
    wrong["grand_total"] = _s(D(wrong["grand_total"]) - D("0.94"))
    orders["e04_michigan_tax_too_low"] = wrong
    return orders


def main() -> None:
    groups = {
        "shopify": shopify_orders(),
        "woocommerce": woocommerce_orders(),
        "webshop": webshop_orders(),
        "erp": erp_orders(),
    }
    for channel, orders in groups.items():
        folder = HERE / channel
        folder.mkdir(exist_ok=True)
        for name, payload in orders.items():
            (folder / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

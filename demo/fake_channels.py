"""Local fakes of the sales channels' APIs over real HTTP on 127.0.0.1, for the demo and the tests.

Each fake answers the documented shapes and refuses anything else, recording what it refused in
`violations`, so a test can assert that every request the OMS made was one the real API accepts:

* `FakeShopify`: REST Admin API 2025-01: `GET orders/{id}/fulfillment_orders.json`,
  `POST fulfillments.json` (`line_items_by_fulfillment_order`, `tracking_info`, `notify_customer`),
  `GET orders/{id}/fulfillments.json`, `GET|POST orders/{id}/fulfillments/{fid}/events.json`,
  `GET orders/{id}.json`, `POST orders/{id}/cancel.json`;
  `X-Shopify-Access-Token`; a leaky bucket (40 requests, 2 a second on the standard plan) reported in
  `X-Shopify-Shop-Api-Call-Limit`, 429 with `Retry-After` when full.
* `FakeWooCommerce`: REST API v3 `GET|PUT orders/{id}`, `GET|POST orders/{id}/notes`, HTTP Basic auth with
  the consumer key and secret.
* `FakeWebhookReceiver`: a web shop (or ERP) endpoint that verifies Standard Webhooks signatures and
  deduplicates on `webhook-id`.
* `FakeTaxJar`: `POST /v2/taxes` with a bearer token, answering per line item by state, county, city and
  special district from a small table of its own.

Faults for the tests: `fail_next(n, status)` answers the next n requests with an error; `lose_answers(n)`
performs the next n writes and then answers 502 (the effect happened, the caller does not know).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oms.channels.signatures import verify_standard_webhook
from oms.domain.errors import SignatureError

SHOPIFY_API_VERSION = "2025-01"


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _FakeServer:
    """A threaded HTTP server on an ephemeral loopback port, routing to `handle`."""

    name = "fake"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self._fail: list[int] = []
        self._lose = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = fake._dispatch(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                payload = b"" if answer.body is None else _dump(answer.body).encode()
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name=self.name, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> _FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, count: int, status: int = 503) -> None:
        with self.lock:
            self._fail += [status] * count

    def lose_answers(self, count: int) -> None:
        with self.lock:
            self._lose += count

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self.lock:
            self.requests.append((method, path))
            if self._fail:
                return Answer(self._fail.pop(0), {"errors": "injected failure"})
            answer = self.handle(method, path, headers, body)
            if self._lose and method != "GET" and answer.status < 300:
                self._lose -= 1
                return Answer(502, {"errors": "the answer was lost on the way back"})
            return answer

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    def _refuse(self, status: int, message: str) -> Answer:
        self.violations.append(message)
        return Answer(status, {"errors": message})


def _dump(value: Any) -> str:
    """JSON as the real APIs write it: Decimals as exact numbers (never through a float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(str(value))


def _json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"), parse_float=Decimal) if body else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Shopify ---------------------------------------------------------------------------------------------


class ShopifyFulfillmentOrderLineItems(_Strict):
    id: int
    quantity: int = Field(gt=0)


class ShopifyLineItemsByFulfillmentOrder(_Strict):
    fulfillment_order_id: int
    fulfillment_order_line_items: list[ShopifyFulfillmentOrderLineItems] | None = None


class ShopifyTrackingInfo(_Strict):
    number: str | None = None
    numbers: list[str] | None = None
    company: str | None = None
    url: str | None = None
    urls: list[str] | None = None


class ShopifyFulfillmentInput(_Strict):
    line_items_by_fulfillment_order: list[ShopifyLineItemsByFulfillmentOrder] = Field(min_length=1)
    tracking_info: ShopifyTrackingInfo | None = None
    notify_customer: bool = False
    origin_address: dict[str, Any] | None = None
    message: str | None = None


class ShopifyFulfillmentCreate(_Strict):
    fulfillment: ShopifyFulfillmentInput


EventStatus = Literal[
    "label_printed",
    "label_purchased",
    "attempted_delivery",
    "ready_for_pickup",
    "confirmed",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "failure",
    "carrier_picked_up",
    "picked_up",
    "delayed",
]


class ShopifyEventInput(_Strict):
    status: EventStatus
    message: str | None = None
    happened_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    zip: str | None = None
    address1: str | None = None


class ShopifyEventCreate(_Strict):
    event: ShopifyEventInput


class ShopifyCancel(_Strict):
    amount: str | None = None
    currency: str | None = None
    email: bool | None = None
    reason: Literal["customer", "inventory", "fraud", "declined", "other"] | None = None
    refund: dict[str, Any] | None = None
    restock: bool | None = None


@dataclass
class _ShopifyOrder:
    order_id: int
    fulfillment_order_id: int
    lines: dict[int, list[int]]
    """line item id -> [fulfillment order line item id, quantity, fulfillable quantity]"""
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    cancelled_at: str | None = None


class FakeShopify(_FakeServer):
    """A Shopify store's REST Admin API (see the module docstring)."""

    name = "fake-shopify"

    def __init__(
        self,
        *,
        access_token: str = "shpat_fake_token",  # noqa: S107 - a fake's test token
        capacity: int = 40,
        leak_per_second: float = 2.0,
        shop_domain: str = "voltline-distribution.myshopify.com",
    ) -> None:
        super().__init__()
        self.access_token = access_token
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self.shop_domain = shop_domain
        self.orders: dict[int, _ShopifyOrder] = {}
        self.throttled = 0
        self._level = 0.0
        self._level_at = time.monotonic()
        self._ids = itertools.count(9_100_000_001)

    def credentials(self) -> dict[str, Any]:
        """The ChannelApiCredentials entry that points the OMS at this fake."""
        return {
            "shop_domain": self.shop_domain,
            "access_token": self.access_token,
            "api_version": SHOPIFY_API_VERSION,
            "base_url": self.url,
            "leak_per_second": self.leak_per_second,
        }

    def add_order(self, payload: Mapping[str, Any]) -> None:
        """Know an order as Shopify would after `orders/create`: one open fulfillment order for its lines."""
        with self.lock:
            order_id = int(payload["id"])
            lines = {
                int(item["id"]): [next(self._ids), int(item["quantity"]), int(item["quantity"])]
                for item in payload["line_items"]
            }
            self.orders[order_id] = _ShopifyOrder(order_id, next(self._ids), lines)

    def fulfillments_of(self, order_id: int | str) -> list[dict[str, Any]]:
        with self.lock:
            order = self.orders.get(int(order_id))
            return [dict(f) for f in order.fulfillments] if order else []

    def events_of(self, order_id: int | str, fulfillment_id: int | str) -> list[dict[str, Any]]:
        with self.lock:
            order = self.orders.get(int(order_id))
            return list(order.events.get(int(fulfillment_id), [])) if order else []

    # -- the API --

    def _bucket(self) -> tuple[bool, int]:
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._level_at) * self.leak_per_second)
        self._level_at = now
        if self._level + 1 > self.capacity:
            return False, int(self._level)
        self._level += 1
        return True, round(self._level)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("x-shopify-access-token") != self.access_token:
            return self._refuse(
                401, "[API] Invalid API key or access token (unrecognized login or wrong password)"
            )
        allowed, used = self._bucket()
        limit = {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{self.capacity}"}
        if not allowed:
            self.throttled += 1
            return Answer(
                429,
                {"errors": "Exceeded call limit. Reduce request rates to resume uninterrupted service."},
                {**limit, "Retry-After": f"{1 / self.leak_per_second:.1f}"},
            )
        prefix = f"/admin/api/{SHOPIFY_API_VERSION}/"
        route, _, query = path.partition("?")
        if not route.startswith(prefix):
            return self._refuse(404, f"unknown path {path}")
        parts = route[len(prefix) :].split("/")
        try:
            answer = self._route(method, parts, query, body)
        except ValidationError as exc:
            answer = self._refuse(400, f"{method} {route}: {exc.errors(include_url=False)}")
        answer.headers.update(limit)
        return answer

    def _route(self, method: str, parts: list[str], query: str, body: bytes) -> Answer:
        if parts == ["fulfillments.json"] and method == "POST":
            return self._create_fulfillment(ShopifyFulfillmentCreate.model_validate(_json(body)))
        if len(parts) >= 2 and parts[0] == "orders":
            order = (
                self.orders.get(int(parts[1].removesuffix(".json")))
                if parts[1].removesuffix(".json").isdigit()
                else None
            )
            if order is None:
                return Answer(404, {"errors": "Not Found"})
            rest = parts[2:]
            if not rest and method == "GET":
                return Answer(200, {"order": {"id": order.order_id, "cancelled_at": order.cancelled_at}})
            if rest == ["fulfillment_orders.json"] and method == "GET":
                return Answer(200, {"fulfillment_orders": [self._fulfillment_order(order)]})
            if rest == ["fulfillments.json"] and method == "GET":
                return Answer(200, {"fulfillments": order.fulfillments})
            if rest == ["cancel.json"] and method == "POST":
                ShopifyCancel.model_validate(_json(body) or {})
                if order.cancelled_at:
                    return Answer(422, {"error": "Order has already been cancelled"})
                order.cancelled_at = datetime.now(UTC).isoformat()
                return Answer(200, {"order": {"id": order.order_id, "cancelled_at": order.cancelled_at}})
            if len(rest) == 3 and rest[0] == "fulfillments" and rest[2] == "events.json":
                fulfillment_id = int(rest[1])
                if fulfillment_id not in {f["id"] for f in order.fulfillments}:
                    return Answer(404, {"errors": "Not Found"})
                if method == "GET":
                    return Answer(200, {"fulfillment_events": order.events.get(fulfillment_id, [])})
                if method == "POST":
                    event = ShopifyEventCreate.model_validate(_json(body)).event
                    created = {
                        "id": next(self._ids),
                        "fulfillment_id": fulfillment_id,
                        "order_id": order.order_id,
                        "status": event.status,
                        "happened_at": (event.happened_at or datetime.now(UTC)).isoformat(),
                    }
                    order.events.setdefault(fulfillment_id, []).append(created)
                    return Answer(201, {"fulfillment_event": created})
        return self._refuse(404, f"{method} {'/'.join(parts)} is not an endpoint of this fake")

    def _fulfillment_order(self, order: _ShopifyOrder) -> dict[str, Any]:
        open_quantity = sum(entry[2] for entry in order.lines.values())
        return {
            "id": order.fulfillment_order_id,
            "order_id": order.order_id,
            "assigned_location_id": 24826418,
            "request_status": "unsubmitted",
            "status": "open" if open_quantity else "closed",
            "supported_actions": ["create_fulfillment", "move"] if open_quantity else [],
            "line_items": [
                {
                    "id": fo_line,
                    "fulfillment_order_id": order.fulfillment_order_id,
                    "line_item_id": line_item_id,
                    "quantity": quantity,
                    "fulfillable_quantity": fulfillable,
                }
                for line_item_id, (fo_line, quantity, fulfillable) in order.lines.items()
            ],
        }

    def _create_fulfillment(self, request: ShopifyFulfillmentCreate) -> Answer:
        data = request.fulfillment
        by_fo_line = {
            entry[0]: (order, line_item_id)
            for order in self.orders.values()
            for line_item_id, entry in order.lines.items()
        }
        takes: list[tuple[_ShopifyOrder, int, int]] = []
        for group in data.line_items_by_fulfillment_order:
            owner = next(
                (o for o in self.orders.values() if o.fulfillment_order_id == group.fulfillment_order_id),
                None,
            )
            if owner is None:
                return self._refuse(422, f"fulfillment order {group.fulfillment_order_id} does not exist")
            for item in group.fulfillment_order_line_items or []:
                found = by_fo_line.get(item.id)
                if found is None or found[0] is not owner:
                    return self._refuse(
                        422, f"fulfillment order line item {item.id} is not in that fulfillment order"
                    )
                fulfillable = owner.lines[found[1]][2]
                if item.quantity > fulfillable:
                    return self._refuse(422, "Invalid fulfillment order line item quantity requested.")
                takes.append((owner, found[1], item.quantity))
        if not takes:
            return self._refuse(422, "no fulfillment order line items")
        order = takes[0][0]
        for owner, line_item_id, quantity in takes:
            owner.lines[line_item_id][2] -= quantity
        tracking = data.tracking_info or ShopifyTrackingInfo()
        fulfillment = {
            "id": next(self._ids),
            "order_id": order.order_id,
            "status": "success",
            "created_at": datetime.now(UTC).isoformat(),
            "tracking_company": tracking.company,
            "tracking_number": tracking.number,
            "tracking_numbers": [tracking.number] if tracking.number else [],
            "tracking_url": tracking.url,
            "tracking_urls": [tracking.url] if tracking.url else [],
            "notify_customer": data.notify_customer,
            "line_items": [{"id": line_item_id, "quantity": quantity} for _, line_item_id, quantity in takes],
        }
        order.fulfillments.append(fulfillment)
        return Answer(201, {"fulfillment": fulfillment})


# --- WooCommerce -----------------------------------------------------------------------------------------

WooStatus = Literal[
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"
]


class WooOrderUpdate(_Strict):
    status: WooStatus | None = None
    customer_note: str | None = None
    meta_data: list[dict[str, Any]] | None = None


class WooNoteCreate(_Strict):
    note: str = Field(min_length=1)
    customer_note: bool = False
    added_by_user: bool = False


class FakeWooCommerce(_FakeServer):
    name = "fake-woocommerce"

    def __init__(self, *, consumer_key: str = "ck_fake", consumer_secret: str = "cs_fake") -> None:  # noqa: S107
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.orders: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(7001)

    def credentials(self) -> dict[str, Any]:
        return {
            "base_url": f"{self.url}/wp-json/wc/v3/",
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
        }

    def add_order(self, order_id: int, status: str = "processing") -> None:
        with self.lock:
            self.orders[int(order_id)] = {"id": int(order_id), "status": status, "notes": []}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        expected = (
            "Basic " + base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        )
        if headers.get("authorization") != expected:
            return self._refuse(401, "woocommerce_rest_cannot_view: Sorry, you cannot list resources.")
        prefix = "/wp-json/wc/v3/orders/"
        route = path.partition("?")[0]
        if not route.startswith(prefix):
            return self._refuse(404, f"unknown path {path}")
        parts = route[len(prefix) :].split("/")
        order = self.orders.get(int(parts[0])) if parts[0].isdigit() else None
        if order is None:
            return Answer(404, {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."})
        try:
            if parts[1:] == [] and method == "GET":
                return Answer(200, {k: v for k, v in order.items() if k != "notes"})
            if parts[1:] == [] and method == "PUT":
                update = WooOrderUpdate.model_validate(_json(body))
                if update.status:
                    order["status"] = update.status
                return Answer(200, {k: v for k, v in order.items() if k != "notes"})
            if parts[1:] == ["notes"] and method == "GET":
                return Answer(200, order["notes"])
            if parts[1:] == ["notes"] and method == "POST":
                note = WooNoteCreate.model_validate(_json(body))
                created = {
                    "id": next(self._ids),
                    "author": "system",
                    "date_created_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "note": note.note,
                    "customer_note": note.customer_note,
                }
                order["notes"].append(created)
                return Answer(201, created)
        except ValidationError as exc:
            return self._refuse(400, f"rest_invalid_param: {exc.errors(include_url=False)}")
        return self._refuse(404, f"{method} {route} is not an endpoint of this fake")


# --- Standard Webhooks receiver --------------------------------------------------------------------------


class FakeWebhookReceiver(_FakeServer):
    name = "fake-webhook-receiver"

    def __init__(self, secret: str = "whsec_ZmFrZS1yZWNlaXZlci1zZWNyZXQ=") -> None:  # noqa: S107
        super().__init__()
        self.secret = secret
        self.messages: dict[str, dict[str, Any]] = {}
        self.duplicates = 0

    def credentials(self) -> dict[str, Any]:
        return {"url": f"{self.url}/oms-events", "secret": self.secret}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method != "POST" or path != "/oms-events":
            return self._refuse(404, f"{method} {path} is not the endpoint")
        try:
            verify_standard_webhook(body, headers, [self.secret], datetime.now(UTC))
        except SignatureError as exc:
            return self._refuse(401, exc.reason)
        message_id = headers["webhook-id"]
        if message_id in self.messages:
            self.duplicates += 1
        else:
            self.messages[message_id] = _json(body)
        return Answer(204)


# --- TaxJar ----------------------------------------------------------------------------------------------


class TaxJarLineItem(_Strict):
    id: str
    quantity: int = Field(gt=0)
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    product_identifier: str | None = None
    product_tax_code: str | None = None


class TaxJarRequest(_Strict):
    from_country: str | None = None
    from_zip: str | None = None
    from_state: str | None = None
    to_country: str
    to_zip: str | None = None
    to_state: str | None = None
    to_city: str | None = None
    to_street: str | None = None
    amount: Decimal | None = None
    shipping: Decimal
    line_items: list[TaxJarLineItem] = Field(default_factory=list)


#: The fake engine's own rates by ZIP code: (state, county, city, special district), freight taxable.
TAXJAR_RATES: dict[str, tuple[str, str, tuple[Decimal, Decimal, Decimal, Decimal], bool]] = {
    "10024": (
        "NEW YORK",
        "NEW YORK",
        (Decimal("0.04"), Decimal("0"), Decimal("0.045"), Decimal("0.00375")),
        True,
    ),
    "90010": (
        "LOS ANGELES",
        "LOS ANGELES",
        (Decimal("0.0625"), Decimal("0.01"), Decimal("0"), Decimal("0.025")),
        False,
    ),
    "78701": ("TRAVIS", "AUSTIN", (Decimal("0.0625"), Decimal("0"), Decimal("0.01"), Decimal("0.01")), True),
    "07102": ("ESSEX", "NEWARK", (Decimal("0.06625"), Decimal("0"), Decimal("0"), Decimal("0")), True),
}


class FakeTaxJar(_FakeServer):
    name = "fake-taxjar"

    def __init__(self, api_token: str = "taxjar-fake-token") -> None:  # noqa: S107
        super().__init__()
        self.api_token = api_token

    def credentials(self) -> dict[str, str]:
        return {"base_url": f"{self.url}/v2/", "api_token": self.api_token}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("authorization") != f"Bearer {self.api_token}":
            return self._refuse(401, "Unauthorized")
        if method != "POST" or path != "/v2/taxes":
            return self._refuse(404, f"{method} {path} is not an endpoint of this fake")
        try:
            request = TaxJarRequest.model_validate(_json(body))
        except ValidationError as exc:
            return self._refuse(400, f"Bad Request: {exc.errors(include_url=False)}")
        place = TAXJAR_RATES.get(request.to_zip or "")
        if place is None:
            return self._refuse(400, f"no rates for zip {request.to_zip}")
        county, city, (state_rate, county_rate, city_rate, special_rate), freight = place
        cent = Decimal("0.01")

        def part(amount: Decimal) -> dict[str, Any]:
            amounts = [
                (amount * r).quantize(cent) for r in (state_rate, county_rate, city_rate, special_rate)
            ]
            return {
                "taxable_amount": amount,
                "tax_collectable": sum(amounts, Decimal(0)),
                "combined_tax_rate": state_rate + county_rate + city_rate + special_rate,
                "state_sales_tax_rate": state_rate,
                "state_amount": amounts[0],
                "county_tax_rate": county_rate,
                "county_amount": amounts[1],
                "city_tax_rate": city_rate,
                "city_amount": amounts[2],
                "special_tax_rate": special_rate,
                "special_district_amount": amounts[3],
            }

        lines = []
        for item in request.line_items:
            net = item.unit_price * item.quantity - item.discount
            lines.append({"id": item.id, **part(net)})
        shipping = part(request.shipping if freight else Decimal(0))
        collect = sum((line["tax_collectable"] for line in lines), Decimal(0)) + shipping["tax_collectable"]
        return Answer(
            200,
            {
                "tax": {
                    "order_total_amount": (request.amount or Decimal(0)) + request.shipping,
                    "shipping": request.shipping,
                    "amount_to_collect": collect,
                    "has_nexus": True,
                    "freight_taxable": freight,
                    "tax_source": "destination",
                    "jurisdictions": {
                        "country": request.to_country,
                        "state": request.to_state,
                        "county": county,
                        "city": city,
                    },
                    "breakdown": {"line_items": lines, "shipping": shipping},
                }
            },
        )


# --- wiring a deployed stack to the fakes (the demo and the tests) ---------------------------------------


def connect_channels(stack: Any, **credentials: Mapping[str, Any]) -> None:
    """Point the stack's write-back at the given fakes (`shopify=shop.credentials(), ...`)."""
    import boto3

    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.resources["ChannelApiCredentials"], SecretString=json.dumps(dict(credentials))
    )


@dataclass
class FulfillmentCheck:
    """Every shipment of a Shopify order is exactly one fulfillment with its tracking number on the shop."""

    shipments: int = 0
    fulfilled_once: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    delivered_events: int = 0
    throttled: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not (self.missing or self.duplicated or self.violations) and self.fulfilled_once == self.shipments
        )


def check_fulfillments(
    shop: FakeShopify, shipments: list[tuple[str, str, str]], delivered: set[str]
) -> FulfillmentCheck:
    """`shipments`: (Shopify order id, shipment id, tracking number) of every shipment of a Shopify order;
    `delivered`: the tracking numbers the carrier delivered."""
    check = FulfillmentCheck(
        shipments=len(shipments), throttled=shop.throttled, violations=list(shop.violations)
    )
    for order_id, shipment_id, tracking in shipments:
        fulfillments = [f for f in shop.fulfillments_of(order_id) if f["tracking_number"] == tracking]
        if not fulfillments:
            check.missing.append(f"{order_id}/{shipment_id}")
        elif len(fulfillments) > 1:
            check.duplicated.append(f"{order_id}/{shipment_id}")
        else:
            check.fulfilled_once += 1
            if tracking in delivered:
                events = shop.events_of(order_id, fulfillments[0]["id"])
                check.delivered_events += sum(1 for e in events if e["status"] == "delivered")
    return check

"""Issue 16's "done when", end to end over HTTP on the embedded AWS: a Shopify customer with two orders,
their invoices, a return with its credit note, archived webhooks and the day's finance export asks to be
erased. Afterwards no table, S3 object (every version), export or log line holds their e-mail, phone or
street line except the kept invoice and credit note copies; another customer's data is untouched; the audit
trail (signed digests included) still verifies; the stock and the cash ledger still balance; and the erasure
is idempotent and finishes after an injected failure halfway and a crash after its side effects."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from copy import deepcopy
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from cfnlint.decode import cfn_yaml
from typer.testing import CliRunner

from bench.meter import Meter, Metering
from demo.seed import stack_settings
from infra import DeployedStack, EmbeddedAws, FaultPlan, FaultRule
from oms.data.models import CustomerRecord
from oms.data.snapshot import read_snapshot
from oms.governance.cash_invariants import check_cash_ledger
from oms.governance.invariants import check_invariants
from oms.observability import logger
from ops.__main__ import app as ops_app
from tests.conftest import TEMPLATE, TEST_RETRY_DELAY
from tests.support.cash import finance, ship_everything
from tests.support.world import (
    bind,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
)

ROOT = Path(__file__).resolve().parents[2]
SKUS = {"ELC-PSU-65W": "39.95", "ELC-HDMI-2M": "14.50"}
# The recorded sample's customer (tests/events/shopify/orders_create.json): what must disappear
DANA = "shopify-7400000000003"
DANA_VALUES = ("dana.whitfield@baysiderobotics.example", "+14155550142", "1450 Bayshore Blvd")
# Another customer of the same day: what must stay
OMAR = "shopify-7400000000777"
OMAR_VALUES = ("omar.haddad@lakeside.example", "+13125550199", "77 Lake Shore Dr")
# A third, erased under injected faults
LENA = "shopify-7400000000888"
LENA_VALUES = ("lena.berg@fjord.example", "+12065550123", "88 Harbor Ave")


def _as(
    payload: dict[str, Any], customer_id: int, email: str, phone: str, line1: str, name: str
) -> dict[str, Any]:
    first, last = name.split()
    body = deepcopy(payload)
    body["email"] = body["contact_email"] = email
    body["customer"] = body["customer"] | {
        "id": customer_id,
        "email": email,
        "first_name": first,
        "last_name": last,
    }
    body["customer"]["default_address"] = body["customer"]["default_address"] | {
        "address1": line1,
        "phone": phone,
    }
    for part in ("shipping_address", "billing_address"):
        body[part] = body[part] | {
            "address1": line1,
            "phone": phone,
            "name": name,
            "first_name": first,
            "last_name": last,
        }
    return body


@pytest.fixture(scope="module")
def embedded_aws() -> Iterator[DeployedStack]:
    """The template deployed with the fault injector ready (no faults until a test sets some)."""
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, faults=FaultPlan(seed=16)) as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        stack.serve_http_api()
        yield stack


@pytest.fixture(scope="module")
def metered(embedded_aws: DeployedStack) -> Iterator[Meter]:
    metering = Metering(embedded_aws.embedded)
    metering.install()
    metering.meter = Meter(account_id=embedded_aws.embedded.account_id)
    try:
        yield metering.meter
    finally:
        metering.meter = None
        metering.uninstall()


@pytest.fixture(scope="module")
def logs() -> Iterator[io.StringIO]:
    lines = io.StringIO()
    stream = logger.registered_handler.setStream(lines)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield lines
    finally:
        logger.setLevel(level)
        logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack, metered: Meter, logs: io.StringIO) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog(SKUS)
    seed_warehouses({"WH-NJ": 1})
    for sku in SKUS:
        set_stock(sku, "WH-NJ", 500)
    for customer_id, values, name in (
        (DANA, DANA_VALUES, "Dana Whitfield"),
        (OMAR, OMAR_VALUES, "Omar Haddad"),
        (LENA, LENA_VALUES, "Lena Berg"),
    ):
        CustomerRecord(customer_id, name=name, email=values[0], tier="RETAIL", payment_terms_days=0).save()
    # Given each customer's orders sent by Shopify (signed, archived raw), shipped and invoiced
    lines = [("ELC-PSU-65W", 2, "39.95"), ("ELC-HDMI-2M", 1, "14.50")]
    orders = [
        shopify_order(7_160_001, lines),
        shopify_order(7_160_002, lines[:1]),
        _as(shopify_order(7_160_003, lines), 7400000000777, *OMAR_VALUES, "Omar Haddad"),
        _as(shopify_order(7_160_004, lines), 7400000000888, *LENA_VALUES, "Lena Berg"),
    ]
    for payload in orders:
        response = post_webhook(embedded_aws, shopify_webhook(payload))
        assert response.status_code == 202, response.text
    embedded_aws.embedded.wait_idle(timeout=60)
    assert ship_everything(embedded_aws) == 4
    embedded_aws.embedded.wait_idle(timeout=60)
    # ... one of Dana's orders partly returned (an RMA, received, credited by a credit note)
    first = _order_id(7_160_001)
    returns = ["oms/returns.write", "oms/returns.receive"]
    rma = {
        "rma_id": "RMA-ERASE-1",
        "lines": [{"order_id": first, "sku": "ELC-HDMI-2M", "quantity": 1, "disposition": "RESTOCK"}],
        "reason": "wrong cable",
    }
    created = finance(embedded_aws, "POST", "/returns", scopes=returns, user="returns-desk", body=rma)
    assert created.status_code == 201, created.text
    received = finance(embedded_aws, "POST", "/returns/RMA-ERASE-1/receipts", scopes=returns, user="dock-2")
    assert received.status_code == 200, received.text
    assert received.json()["credit_note_id"]
    # ... the day exported for finance (analyst tables and the personal partition)
    day = embedded_aws.embedded.scheduler.clock.now().date().isoformat()
    answer = boto3.client("lambda").invoke(
        FunctionName=embedded_aws.function_name("FinanceExportFunction"),
        Payload=json.dumps({"days": [day]}).encode(),
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    # ... and the audit trail's hour signed (the clock moves past the next digest run)
    aws = embedded_aws.embedded
    now = aws.scheduler.clock.now()
    aws.scheduler.advance(now.replace(minute=6, second=0, microsecond=0) + timedelta(hours=1) - now)
    aws.wait_idle(timeout=60)
    return embedded_aws


def _order_id(number: int) -> str:
    from oms.domain.order import order_id_for

    return order_id_for("shopify", str(number))


def _erase(
    world: DeployedStack, customer_id: str, scopes: tuple[str, ...] = ("oms/privacy.erase",)
) -> httpx.Response:
    token = world.mint_token("privacy-officer", list(scopes))
    return httpx.post(
        f"{world.api_url}/customers/{customer_id}/erasure",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def _tables_text(world: DeployedStack) -> str:
    client = boto3.client("dynamodb")
    texts = []
    for name in client.list_tables()["TableNames"]:
        for page in client.get_paginator("scan").paginate(TableName=name):
            texts.append(json.dumps(page["Items"]))
    return "\n".join(texts).casefold()


def _parquet_text(body: bytes) -> str:
    import duckdb

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "part.parquet"
        path.write_bytes(body)
        connection = duckdb.connect(":memory:", config={"home_directory": scratch})
        try:
            return json.dumps(
                connection.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall(), default=str
            )
        finally:
            connection.close()


KEPT_PREFIXES = ("invoices/", "credit-notes/")
"""The legal copies an erasure keeps (oms/privacy/retention.py)."""


def _objects_text(world: DeployedStack) -> dict[str, str]:
    """bucket/key@version -> its text (Parquet read as rows), every version of every object of every bucket,
    the kept legal copies left out."""
    s3 = boto3.client("s3")
    texts = {}
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                key = version["Key"]
                if key.startswith(KEPT_PREFIXES):
                    continue
                body = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
                text = _parquet_text(body) if key.endswith(".parquet") else body.decode("latin-1")
                texts[f"{bucket}/{key}@{version['VersionId']}"] = text.casefold()
    return texts


def _found(values: tuple[str, ...], text: str) -> list[str]:
    return [v for v in values if v.casefold() in text]


def test_without_the_erase_scope_the_request_is_refused_and_recorded(world: DeployedStack) -> None:
    response = _erase(world, DANA, scopes=("oms/orders.read",))
    # API Gateway's authorizer stops a token without the route's scope (403) before the function runs
    assert response.status_code == 403
    assert CustomerRecord.get(DANA).email == DANA_VALUES[0]


def test_before_the_erasure_the_customers_data_is_everywhere_the_issue_says(world: DeployedStack) -> None:
    # Given (the scan's positive control) Dana's e-mail and street line in the tables and the exports, her
    # phone in the raw webhook archive
    objects = _objects_text(world)
    assert _found(DANA_VALUES[:1] + DANA_VALUES[2:], _tables_text(world)) == [DANA_VALUES[0], DANA_VALUES[2]]
    raw = "\n".join(t for k, t in objects.items() if "/raw/shopify/" in k)
    assert _found(DANA_VALUES, raw) == list(DANA_VALUES)
    personal = "\n".join(t for k, t in objects.items() if "/personal/order_contacts/" in k)
    assert _found(DANA_VALUES, personal) == [DANA_VALUES[0], DANA_VALUES[2]]
    analyst = "\n".join(t for k, t in objects.items() if "/exports/" in k)
    assert _found(DANA_VALUES, analyst) == []  # the analyst tables never had them


def test_reading_an_order_shows_personal_fields_only_with_their_scope(world: DeployedStack) -> None:
    order_id = _order_id(7_160_003)
    url = f"{world.api_url}/orders/{order_id}"
    # Given a clerk's token (oms/orders.read) and a customer-service token that also reads personal data
    clerk = world.mint_token("clerk", ["oms/orders.read"])
    service = world.mint_token("customer-service", ["oms/orders.read", "oms/personal.read"])
    # When each reads Omar's order
    masked = httpx.get(url, headers={"Authorization": f"Bearer {clerk}"}, timeout=30)
    full = httpx.get(url, headers={"Authorization": f"Bearer {service}"}, timeout=30)
    assert masked.status_code == full.status_code == 200
    # Then the clerk sees masks (region and country as they are), customer service the values
    assert masked.json()["customer"] == {
        "customer_id": OMAR,
        "name": "O***",
        "email": "o***@lakeside.example",
    }
    address = masked.json()["shipping_address"]
    assert (address["line1"], address["postal_code"], address["region"]) == ("7***", "940**", "CA")
    assert _found(OMAR_VALUES, masked.text.casefold()) == []
    assert full.json()["customer"]["email"] == OMAR_VALUES[0]
    assert full.json()["shipping_address"]["line1"] == OMAR_VALUES[2]
    # ... and everything else of the order is the same for both
    assert {k: v for k, v in masked.json().items() if k not in ("customer", "shipping_address")} == {
        k: v for k, v in full.json().items() if k not in ("customer", "shipping_address")
    }


def test_after_the_erasure_nothing_but_the_legal_copies_holds_the_customers_data(
    world: DeployedStack, logs: io.StringIO
) -> None:
    # When the privacy officer erases Dana
    response = _erase(world, DANA)
    assert response.status_code == 200, response.text
    report = response.json()
    world.embedded.wait_idle(timeout=60)
    # Then no table, object version or export holds her e-mail, phone or street line...
    assert _found(DANA_VALUES, _tables_text(world)) == []
    objects = _objects_text(world)
    leaks = {k: _found(DANA_VALUES, t) for k, t in objects.items() if _found(DANA_VALUES, t)}
    assert leaks == {}
    # ... except the kept invoice and credit note copies, which the report names with the reason
    kept = {k["item"]: k["why"] for k in report["kept"]}
    s3 = boto3.client("s3")
    documents = world.bucket_name("DocumentsBucket")
    legal = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=documents).get("Contents", [])
        if o["Key"].startswith(KEPT_PREFIXES) and o["Key"].endswith(".json")
    ]
    dana_docs = [
        k
        for k in legal
        if DANA_VALUES[0] in s3.get_object(Bucket=documents, Key=k)["Body"].read().decode()
        or DANA_VALUES[2] in s3.get_object(Bucket=documents, Key=k)["Body"].read().decode()
    ]
    assert dana_docs, "the legal copies keep her invoice"
    assert set(dana_docs) <= set(kept)
    assert all("legal copy" in kept[k] for k in dana_docs)
    # ... the report says what was erased: both orders, the customer, the raw bodies, the personal export
    erased = {(e["store"], e["item"]) for e in report["erased"]}
    assert {
        ("OrdersTable", _order_id(7_160_001)),
        ("OrdersTable", _order_id(7_160_002)),
        ("CustomersTable", DANA),
    } <= erased
    assert sum(1 for store, _ in erased if store == "RawPayloadsBucket") == 2
    assert any(store == "FinanceBucket" and "personal/order_contacts/" in item for store, item in erased)
    # ... and the same report is in the privacy bucket
    stored = json.loads(
        s3.get_object(Bucket=world.bucket_name("PrivacyBucket"), Key=f"reports/{DANA}/erasure.json")[
            "Body"
        ].read()
    )
    assert stored == report
    # ... the other customer's data is untouched
    assert _found(OMAR_VALUES, _tables_text(world)) == [OMAR_VALUES[0], OMAR_VALUES[2]]
    assert _found(OMAR_VALUES, "\n".join(t for k, t in objects.items() if "/raw/" in k)) == list(OMAR_VALUES)
    # ... no log line of the whole flow holds Dana's (or anyone's) data
    text = logs.getvalue().casefold()
    assert _found(DANA_VALUES + OMAR_VALUES + LENA_VALUES, text) == []


def test_the_audit_trail_still_verifies_and_the_books_still_balance(world: DeployedStack) -> None:
    # The erasure changed orders (recorded in their chains, pseudonyms only) and wrote its own entry
    result = CliRunner().invoke(ops_app, ["audit", "verify"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    from oms.data import audit as store

    entries = [s.entry for s in store.chain(f"customer:{DANA}")]
    assert [e.action for e in entries] == ["PERSONAL_DATA_ERASED"]
    assert _found(DANA_VALUES, json.dumps([e.model_dump() for e in entries]).casefold()) == []
    order_chain = [s.entry for s in store.chain(f"order:{_order_id(7_160_001)}")]
    assert "personal data erased" in (order_chain[-1].reason or "")
    # ... stock, reservations, invoices once and gapless, documents = records; the cash ledger balances
    report = check_invariants(read_snapshot(documents_bucket=stack_settings(world).documents_bucket))
    assert report.held, report.lines()
    cash = check_cash_ledger()
    assert cash.held, cash.violations


def test_erasing_again_changes_nothing_and_answers_the_same_report(world: DeployedStack) -> None:
    first = json.loads(
        boto3.client("s3")
        .get_object(Bucket=world.bucket_name("PrivacyBucket"), Key=f"reports/{DANA}/erasure.json")["Body"]
        .read()
    )
    before = _tables_text(world)
    again = _erase(world, DANA)
    assert again.status_code == 200, again.text
    world.embedded.wait_idle(timeout=60)
    assert again.json() == first
    assert _tables_text(world).count("personal_data_erased") == before.count("personal_data_erased")


def test_an_erasure_failing_halfway_and_crashing_after_its_writes_finishes_on_retry(
    world: DeployedStack,
) -> None:
    injector = world.embedded.faults
    assert injector is not None
    # Given S3 failing every deletion the privacy function makes (its tables changed by then)
    injector.use(
        FaultPlan(
            seed=16,
            rules=(
                FaultRule(
                    "server_error",
                    1.0,
                    service="s3",
                    operation="DeleteObject",
                    function="PrivacyApiFunction",
                    limit=20,
                ),
            ),
        )
    )
    try:
        failed = _erase(world, LENA)
    finally:
        injector.use(FaultPlan(seed=16))
    # Then the request fails with a retry answer, halfway: the orders and the customer pseudonymised, the
    # raw bodies not yet deleted
    assert failed.status_code == 503, failed.text
    world.embedded.wait_idle(timeout=60)
    assert _found(LENA_VALUES, _tables_text(world)) == []
    raw = "\n".join(t for k, t in _objects_text(world).items() if "/raw/" in k)
    assert _found(LENA_VALUES, raw) == list(LENA_VALUES)
    # When it is sent again and the function crashes after doing everything
    injector.use(
        FaultPlan(
            seed=16,
            rules=(FaultRule("crash_after_side_effects", 1.0, function="PrivacyApiFunction", limit=1),),
        )
    )
    try:
        crashed = _erase(world, LENA)
    finally:
        injector.use(FaultPlan(seed=16))
    assert crashed.status_code >= 500
    # ... and once more
    done = _erase(world, LENA)
    world.embedded.wait_idle(timeout=60)
    assert done.status_code == 200, done.text
    # Then it ended as an uninterrupted erasure: nothing of Lena's left, one audit entry, the raw bodies in
    # the report though the retry could no longer find them
    assert _found(LENA_VALUES, _tables_text(world)) == []
    assert {k: v for k, v in _objects_text(world).items() if _found(LENA_VALUES, v)} == {}
    report = done.json()
    assert sum(1 for e in report["erased"] if e["store"] == "RawPayloadsBucket") == 1
    from oms.data import audit as store

    assert [s.entry.action for s in store.chain(f"customer:{LENA}")] == ["PERSONAL_DATA_ERASED"]
    result = CliRunner().invoke(ops_app, ["audit", "verify"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _compliance(
    world: DeployedStack, topic: str, payload: dict[str, Any], *, secret: str | None = None
) -> httpx.Response:
    from tests.support.world import SHOPIFY_SECRET

    webhook = shopify_webhook(payload, topic=topic, secret=secret or SHOPIFY_SECRET)
    # the compliance webhooks carry no order id: each delivery has its own event id
    headers = webhook.headers | {
        "X-Shopify-Event-Id": f"ev-{topic.replace('/', '-')}-{payload.get('shop_id')}"
    }
    return httpx.post(f"{world.api_url}/webhooks/shopify", content=webhook.body, headers=headers, timeout=60)


def _for_omar(name: str) -> dict[str, Any]:
    from tests.support.world import load_event

    payload = deepcopy(load_event(f"shopify/{name}.json"))
    payload["customer"] = {"id": 7400000000777, "email": OMAR_VALUES[0], "phone": OMAR_VALUES[1]}
    key = "orders_to_redact" if "orders_to_redact" in payload else "orders_requested"
    payload[key] = [7_160_003]
    return payload


def test_shopifys_compliance_webhooks_are_verified_and_take_the_same_path(world: DeployedStack) -> None:
    # Given Shopify's compliance webhooks (their recorded shapes, tests/events/shopify), signed like any other
    # When one is signed with another secret, or names no customer, it is refused and nothing happens
    assert (
        _compliance(
            world, "customers/redact", _for_omar("customers_redact"), secret="not-the-secret"
        ).status_code
        == 401
    )
    bad = _for_omar("customers_redact") | {"customer": {"email": OMAR_VALUES[0]}}
    refused = _compliance(world, "customers/redact", bad)
    assert refused.status_code == 422, refused.text
    assert "customer.id" in refused.json()["reason"]
    assert CustomerRecord.get(OMAR).email == OMAR_VALUES[0]
    # When the customer asks Shopify for their data
    asked = _compliance(world, "customers/data_request", _for_omar("customers_data_request"))
    assert asked.status_code == 202, asked.text
    world.embedded.wait_idle(timeout=60)
    # Then everything held on them is a JSON document in the privacy bucket
    s3 = boto3.client("s3")
    bucket = world.bucket_name("PrivacyBucket")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"access/{OMAR}/").get("Contents", [])]
    assert len(keys) == 1
    document = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert document["customer"]["email"] == OMAR_VALUES[0]
    assert [o["external_id"] for o in document["orders"]] == ["7160003"]
    assert len(document["invoices"]) == 1
    assert document["shipments"]
    # When Shopify asks to redact the customer
    redacted = _compliance(world, "customers/redact", _for_omar("customers_redact"))
    assert redacted.status_code == 202, redacted.text
    world.embedded.wait_idle(timeout=60)
    # Then the erasure ran as through the API: nothing of Omar's in any table or object but the legal
    # copies (the data-access export included, and the compliance webhooks' own archived bodies)
    assert _found(OMAR_VALUES, _tables_text(world)) == []
    assert {k: v for k, v in _objects_text(world).items() if _found(OMAR_VALUES, v)} == {}
    report = json.loads(s3.get_object(Bucket=bucket, Key=f"reports/{OMAR}/erasure.json")["Body"].read())
    assert report["source"].startswith("shopify:")
    assert report["requested_by"] == "channel:shopify"
    # When the shop asks for its own redaction (48 hours after uninstalling the app)
    shop = _compliance(world, "shop/redact", load_event_file("shop_redact"))
    assert shop.status_code == 202, shop.text
    world.embedded.wait_idle(timeout=60)
    # Then it is recorded for a person to confirm (it would erase every customer of the channel)
    from oms.data.models import PrivacyRequestRecord

    (record,) = [r for r in PrivacyRequestRecord.scan() if r.kind == "SHOP_REDACT"]
    assert record.state == "NEEDS_CONFIRMATION"
    assert CustomerRecord.get(LENA).erased_at is not None  # (erased earlier in this module, not by this)


def load_event_file(name: str) -> dict[str, Any]:
    from tests.support.world import load_event

    return dict(load_event(f"shopify/{name}.json"))


IAM_PREFIX = {"dynamodb": "dynamodb", "s3": "s3", "secretsmanager": "secretsmanager", "kms": "kms"}


def test_every_call_the_privacy_function_made_is_in_its_own_policy(
    world: DeployedStack, metered: Meter
) -> None:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    statements = [
        s
        for p in template["Resources"]["PrivacyApiFunction"]["Properties"]["Policies"]
        for s in p["Statement"]
    ]
    allowed = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    function = world.resources["PrivacyApiFunction"]
    made = {
        f"{IAM_PREFIX[service]}:{operation}"
        for (origin, caller, service, operation) in metered.calls
        if origin == "lambda" and caller == function and service in IAM_PREFIX
    }
    # S3 authorises its list operations as s3:ListBucket / s3:ListBucketVersions, and a DeleteObject with a
    # VersionId (the only kind the privacy function makes) as s3:DeleteObjectVersion
    renamed = {
        "s3:ListObjectsV2": "s3:ListBucket",
        "s3:ListObjectVersions": "s3:ListBucketVersions",
        "s3:DeleteObject": "s3:DeleteObjectVersion",
    }
    made = {renamed.get(a, a) for a in made}
    assert made, "the privacy function was not seen at work"
    assert sorted(made - allowed) == []

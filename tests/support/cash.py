"""Helpers of the cash tests: a corporate customer's orders driven to their invoice, statements dropped in
S3, the finance API over HTTP, the cash policy set for a test, and Stripe events signed as Stripe signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx

from demo.simulators import WarehouseSimulator
from infra import DeployedStack
from oms.data.models import CustomerRecord
from tests.support.bank import Detail, bai2_statement
from tests.support.world import get_order, load_event

STRIPE_SECRET = "whsec_test_c2VjcmV0LWZvci10aGUtY2FzaC10ZXN0cw"
FINANCE = ["oms/payments.record", "oms/receivables.read"]


def set_up_cash(stack: DeployedStack, policy: dict[str, Any] | None = None) -> None:
    """The Stripe signing secret in Secrets Manager and (optionally) a cash policy of the test's own."""
    from aws_lambda_powertools.utilities import parameters

    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.resources["PaymentProviderSecrets"],
        SecretString=json.dumps({"stripe": {"webhook_secret": STRIPE_SECRET}}),
    )
    if policy is not None:
        boto3.client("ssm").put_parameter(
            Name=stack.outputs["CashPolicyParameterName"], Value=json.dumps(policy), Overwrite=True
        )
    parameters.clear_caches()  # the handlers in this process read the new value at once


def corporate_customer(customer_id: str, name: str, terms_days: int) -> None:
    CustomerRecord(customer_id, name=name, tier="CORPORATE", payment_terms_days=terms_days).save()


def enter_erp_order(stack: DeployedStack, order_id: str, customer_id: str, name: str) -> str:
    """The recorded ERP order to Wyoming (its own totals: a dock 249.00 + 9.96 tax, two mice 39.00 + 1.56
    tax, grand total 299.52) under a new id and customer, entered by a sales rep."""
    body = load_event("corpus/erp/e02_wyoming.json")
    body["order_id"] = order_id
    body["customer"] = {"id": customer_id, "name": name, "email": "ap@example.com"}
    token = stack.mint_token("sales-rep-1", ["oms/orders.write"])
    response = httpx.post(
        f"{stack.api_url}/orders",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["order_id"])


def ship_everything(stack: DeployedStack, seed: int = 7) -> int:
    warehouse = WarehouseSimulator(
        queue_url=stack.outputs["FulfillmentRequestsQueueUrl"],
        event_bus=stack.outputs["EventBusName"],
        seed=seed,
    )
    shipped = warehouse.ship_pending(stack.embedded.scheduler.clock.now())
    stack.embedded.wait_idle(timeout=60)
    return shipped


def order_view(stack: DeployedStack, order_id: str) -> dict[str, Any]:
    response = get_order(stack, order_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def finance(
    stack: DeployedStack,
    method: str,
    path: str,
    *,
    user: str = "ap-clerk",
    scopes: list[str] | None = None,
    body: Any = None,
) -> httpx.Response:
    token = stack.mint_token(user, scopes if scopes is not None else FINANCE)
    return httpx.request(
        method,
        f"{stack.api_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def invoice_balance(stack: DeployedStack, invoice_number: str) -> dict[str, Any]:
    response = finance(stack, "GET", f"/invoices/{invoice_number}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def drop_statement(stack: DeployedStack, name: str, raw: bytes) -> None:
    """A bank statement file put under statements/ (S3 tells EventBridge, the import queue follows)."""
    boto3.client("s3").put_object(
        Bucket=stack.outputs["StatementsBucketName"], Key=f"statements/{name}", Body=raw
    )
    stack.embedded.wait_idle(timeout=60)


def statement(details: list[Detail], file_id: str, on: date, currency: str = "USD") -> bytes:
    return bai2_statement(details, file_id=file_id, on=on, currency=currency)


def stripe_signed(
    payload: dict[str, Any], *, secret: str = STRIPE_SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header as Stripe sends them: v1 = HMAC-SHA256 of `t.body`."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={signature}"


def post_stripe(stack: DeployedStack, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"} | ({"Stripe-Signature": signature} if signature else {})
    return httpx.post(f"{stack.api_url}/payment-webhooks/stripe", content=body, headers=headers, timeout=30)


def advance_days(stack: DeployedStack, days: int) -> list[tuple[str, Any, bool]]:
    """Move the embedded clock forward a day at a time, every schedule that fell due fired, queues drained."""
    fired: list[tuple[str, Any, bool]] = []
    for _ in range(days):
        fired += stack.embedded.scheduler.advance(timedelta(days=1))
        stack.embedded.wait_idle(timeout=60)
    return fired


def money(text: Any) -> Decimal:
    return Decimal(str(text))

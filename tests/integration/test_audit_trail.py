"""The audit trail on the embedded AWS: every change of an order is an entry of its hash-chained history (from
the orders table's stream), even a write made outside the OMS; a stream record delivered twice is recorded
once; concurrent writers never fork a chain; hourly digests are signed and locked; and `ops audit verify`
names exactly the entry that was edited, deleted, reordered or inserted."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest
from boto3.dynamodb.types import TypeDeserializer
from typer.testing import CliRunner

from infra import DeployedStack
from oms.data import audit as store
from oms.governance.audit_trail import ChangeRecord, plain, record_change, record_refusal
from ops.__main__ import app as ops_app
from tests.support.world import bind, get_order, load_event, seed_catalog, seed_warehouses, set_stock

SKUS = ("ELC-PSU-65W", "ELC-HDMI-2M", "ELC-KVM-4P")


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-PSU-65W": "39.95", "ELC-HDMI-2M": "14.50", "ELC-KVM-4P": "129.00"})
    seed_warehouses({"WH-NJ": 1})
    for sku in SKUS:
        set_stock(sku, "WH-NJ", 5000)
    return embedded_aws


def erp_order(external_id: str) -> dict[str, Any]:
    """The recorded ERP order, without its shipping charge (so that it is valid as it is in every state)."""
    return load_event("erp/order.json") | {
        "order_id": external_id,
        "shipping_total": "0.00",
        "grand_total": "3898.95",
    }


def _enter(world: DeployedStack, external_id: str, user: str = "jdoe") -> str:
    body = erp_order(external_id)
    token = world.mint_token(user, ["oms/orders.write"])
    answer = httpx.post(
        f"{world.api_url}/orders",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    order_id: str = answer.json()["order_id"]
    return order_id


def _audit(
    world: DeployedStack, order_id: str, scopes: tuple[str, ...] = ("oms/audit.read",)
) -> httpx.Response:
    token = world.mint_token("auditor", list(scopes))
    return httpx.get(
        f"{world.api_url}/orders/{order_id}/audit", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_every_change_of_an_order_is_an_entry_of_its_chain(world: DeployedStack) -> None:
    # Given an order entered by a sales rep and run through the workflow
    order_id = _enter(world, "SO-AUDIT-1")
    world.embedded.wait_idle(timeout=60)
    # When an auditor reads its trail
    answer = _audit(world, order_id)
    # Then each change is an entry: who, when, what, before and after, why, the request; chained by hash
    assert answer.status_code == 200, answer.text
    trail = answer.json()
    assert trail["intact"] is True
    assert trail["findings"] == []
    entries = trail["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["action"] == "ORDER_RECEIVED"
    assert entries[0]["actor"] == "user:jdoe"
    assert entries[0]["after"]["grand_total"] == "3898.95"
    statuses = [(e["before"] or {}).get("status", "-") + ">" + e["after"]["status"] for e in entries[1:]]
    assert statuses == ["RECEIVED>VALIDATED", "VALIDATED>ALLOCATED", "ALLOCATED>FULFILLMENT_REQUESTED"]
    assert [e["actor"] for e in entries[1:]] == [
        "workflow:validate",
        "workflow:allocate",
        "workflow:request-fulfillment",
    ]
    assert all(e["request_id"] for e in entries[1:])
    assert entries[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(entries))
    # and the order's history, as GET /orders/{id} shows it, is read from the same trail
    history = get_order(world, order_id).json()["history"]
    assert [h["status"] for h in history] == ["RECEIVED", "VALIDATED", "ALLOCATED", "FULFILLMENT_REQUESTED"]
    assert history[1]["reason"] == entries[1]["reason"]
    # and the trail needs its own scope; an unknown order is a 404
    assert _audit(world, order_id, ("oms/orders.read",)).status_code == 403
    assert _audit(world, "ord_" + "0" * 24).status_code == 404


def test_a_write_made_outside_the_oms_is_recorded_as_made_by_someone_unknown(world: DeployedStack) -> None:
    order_id = _enter(world, "SO-AUDIT-2")
    world.embedded.wait_idle(timeout=60)
    # When someone with write access to the table lowers the order's total directly
    boto3.client("dynamodb").update_item(
        TableName=world.table_name("OrdersTable"),
        Key={"order_id": {"S": order_id}},
        UpdateExpression="SET grand_total = :t",
        ExpressionAttributeValues={":t": {"N": "1.00"}},
    )
    world.embedded.wait_idle(timeout=60)
    # Then the trail has it, with the values before and after, and nobody to vouch for it
    last = _audit(world, order_id).json()["entries"][-1]
    assert last["action"] == "ORDER_CHANGED_OUTSIDE_THE_OMS"
    assert last["actor"].startswith("unknown")
    assert (last["before"], last["after"]) == ({"grand_total": "3898.95"}, {"grand_total": "1.00"})


def _stream_record(world: DeployedStack, order_id: str) -> ChangeRecord:
    """The stream record of the order's latest change, rebuilt from the item (as the stream delivers it)."""
    raw = boto3.client("dynamodb").get_item(
        TableName=world.table_name("OrdersTable"), Key={"order_id": {"S": order_id}}, ConsistentRead=True
    )["Item"]
    new = {k: plain(TypeDeserializer().deserialize(v)) for k, v in raw.items()}
    old = dict(new, change_no=Decimal(new["change_no"]) - 1, status="ALLOCATED")
    return ChangeRecord("orders", "redelivered-1", "MODIFY", "1", old, new, datetime.now(UTC))


def test_a_stream_record_delivered_again_is_recorded_once(world: DeployedStack) -> None:
    order_id = _enter(world, "SO-AUDIT-3")
    world.embedded.wait_idle(timeout=60)
    before = len(store.chain(f"order:{order_id}"))
    # When the stream delivers the order's last change again (Lambda retries a batch)
    assert record_change(_stream_record(world, order_id), now=datetime.now(UTC)) is None
    # Then nothing is added
    assert len(store.chain(f"order:{order_id}")) == before


def test_concurrent_writers_never_fork_or_gap_a_chain(world: DeployedStack) -> None:
    # When twenty refused attempts are recorded at once in one chain
    errors: list[BaseException] = []

    def refuse(i: int) -> None:
        try:
            record_refusal(
                None,
                actor="user:mallory",
                action="APPROVAL_REFUSED",
                rule="approver-group",
                reason=f"attempt {i}",
                at=datetime.now(UTC),
                request_id=f"req-{i}",
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=refuse, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then there are twenty entries numbered 1-20, each chained to the one before
    assert errors == []
    chain = sorted(store.chain("user:mallory"), key=lambda s: s.position)
    assert [s.entry.seq for s in chain] == list(range(1, 21))
    assert sorted(s.entry.request_id or "" for s in chain) == sorted(f"req-{i}" for i in range(20))
    assert all(b.entry.prev_hash == a.entry.hash for a, b in itertools.pairwise(chain))


def _rows(world: DeployedStack, order_id: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(world.table_name("AuditLogTable"))
    items = table.query(
        KeyConditionExpression="subject = :s", ExpressionAttributeValues={":s": f"order:{order_id}"}
    )["Items"]
    return sorted(items, key=lambda i: i["seq"])


def _verify(*orders: str) -> tuple[int, list[str]]:
    arguments = ["audit", "verify"] + [part for o in orders for part in ("--order", o)]
    result = CliRunner().invoke(ops_app, arguments, catch_exceptions=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, lines


def test_signed_digests_and_the_tamper_test(world: DeployedStack) -> None:
    aws = world.embedded
    orders = {
        name: _enter(world, f"SO-TAMPER-{name}") for name in ("edit", "delete", "reorder", "insert", "clean")
    }
    aws.wait_idle(timeout=60)
    # Given the hour's digest signed and locked (the clock moves past the next hour's digest run)
    now = aws.scheduler.clock.now()
    aws.scheduler.advance(now.replace(minute=6, second=0, microsecond=0) + timedelta(hours=1) - now)
    aws.wait_idle(timeout=60)
    s3 = boto3.client("s3")
    bucket = world.bucket_name("AuditDigestsBucket")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="digests/")["Contents"]]
    assert keys, "no digest was written"
    head = s3.head_object(Bucket=bucket, Key=keys[-1])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=365 * 6)
    digest = json.loads(s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())
    assert {f"order:{o}" for o in orders.values()} <= {c["subject"] for c in digest["chains"]}
    # and the untouched trail verifies, digests included
    code, lines = _verify(*orders.values())
    assert code == 0, lines
    # When one entry of each of four orders is tampered with in the table
    table = boto3.resource("dynamodb").Table(world.table_name("AuditLogTable"))
    rows = {name: _rows(world, order_id) for name, order_id in orders.items()}
    edited = rows["edit"][1]
    table.put_item(Item=edited | {"actor": "user:mallory", "reason": "approved by the board"})
    deleted = rows["delete"][2]
    table.delete_item(Key={"subject": deleted["subject"], "seq": deleted["seq"]})
    first, second = rows["reorder"][1], rows["reorder"][2]
    table.put_item(Item=second | {"seq": first["seq"]})
    table.put_item(Item=first | {"seq": second["seq"]})
    last = rows["insert"][-1]
    for row in reversed(rows["insert"][2:]):  # make room at position 3 (the rest pushed one along)
        table.put_item(Item=row | {"seq": row["seq"] + 1})
    forged = dict(rows["insert"][2], actor="user:mallory", action="APPROVAL_APPROVED", source="api:forged")
    table.put_item(Item=forged)
    assert last["seq"] + 1 == len(_rows(world, orders["insert"]))
    # Then verification names exactly the tampered entries, and nothing in the untouched chain
    code, lines = _verify(*orders.values())
    assert code == 1
    findings = [line for line in lines if line.split()[0].isupper() and ":" in line]
    found = sorted(" ".join(line.split()[:4]).rstrip(":") for line in findings)
    assert found == sorted(
        [
            f"ALTERED order:{orders['edit']} entry 2",
            f"MISSING order:{orders['delete']} entry 3",
            f"REORDERED order:{orders['reorder']} entry 2",
            f"REORDERED order:{orders['reorder']} entry 3",
            f"INSERTED order:{orders['insert']} entry 3",
        ]
    ), lines
    assert not any(orders["clean"] in line for line in findings)

"""The raw-payload archive: every signed delivery, byte for byte, before it is processed.

Objects live at `raw/<channel>/<yyyy>/<mm>/<dd>/<delivery id>.<sha-256 of the body, 16 hex>` with the headers
a replay needs as object metadata, so any order can be re-derived. A channel's retry of a delivery (the same
body) overwrites its object with the same bytes; a different body under a reused delivery id (WooCommerce
derives ids from the webhook id and the second) gets its own object and never overwrites the first. A
replay is idempotent (an order's id comes from the channel's order id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from oms.aws import client

# Headers a replay needs to interpret the body again (never the signature: the archive is trusted).
KEPT_HEADERS = (
    "content-type",
    "x-shopify-topic",
    "x-shopify-event-id",
    "x-shopify-webhook-id",
    "x-shopify-shop-domain",
    "x-shopify-triggered-at",
    "x-wc-webhook-topic",
    "x-wc-webhook-resource",
    "x-wc-webhook-event",
    "x-wc-webhook-id",
    "x-wc-webhook-delivery-id",
    "webhook-id",
    "webhook-timestamp",
)


@dataclass(frozen=True)
class ArchivedDelivery:
    key: str
    channel: str
    raw_body: bytes
    headers: dict[str, str]
    received_at: datetime


def archive_key(channel: str, delivery_id: str, received_at: datetime, raw_body: bytes) -> str:
    """`delivery_id` was checked by the channel adapter: a conservative alphabet, safe in an S3 key. The
    body's digest in the key keeps two different bodies under one delivery id apart."""
    digest = hashlib.sha256(raw_body).hexdigest()[:16]
    return f"raw/{channel}/{received_at:%Y/%m/%d}/{delivery_id}.{digest}"


def archive_delivery(
    bucket: str,
    channel: str,
    delivery_id: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    received_at: datetime,
) -> str:
    key = archive_key(channel, delivery_id, received_at, raw_body)
    metadata = {
        name: headers[name][:512] for name in KEPT_HEADERS if name in headers and headers[name].isascii()
    }
    metadata["received-at"] = received_at.isoformat()
    metadata["sha256"] = hashlib.sha256(raw_body).hexdigest()
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=raw_body,
        ContentType="application/octet-stream",
        Metadata=metadata,
        # No ServerSideEncryption here: the bucket's default, its own KMS key (decision 0052).
    )
    return key


def archived_deliveries(bucket: str, channel: str, day: date) -> Iterator[ArchivedDelivery]:
    """Every delivery archived for `channel` on `day` (UTC), oldest key order."""
    s3 = client("s3")
    prefix = f"raw/{channel}/{day:%Y/%m/%d}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            obj = s3.get_object(Bucket=bucket, Key=item["Key"])
            metadata = dict(obj.get("Metadata", {}))
            received_at = datetime.fromisoformat(metadata.pop("received-at"))
            metadata.pop("sha256", None)
            yield ArchivedDelivery(item["Key"], channel, obj["Body"].read(), metadata, received_at)

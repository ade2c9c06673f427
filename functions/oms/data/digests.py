"""Where the audit digests live: S3 objects under Object Lock (the bucket's default COMPLIANCE retention),
each signed by KMS (ECDSA P-256 over the digest's SHA-256), the signature in the object's metadata."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.aws import client

PREFIX = "digests/"
SIGNING_ALGORITHM = "ECDSA_SHA_256"


def digest_key(hour: datetime) -> str:
    """`digests/YYYY/MM/DD/HH.json`: keys sort in time order."""
    return f"{PREFIX}{hour:%Y/%m/%d/%H}.json"


@dataclass(frozen=True)
class StoredDigest:
    key: str
    body: bytes
    signature: bytes
    key_id: str
    versions: int
    """How many versions the key has: a digest is written once; a second version is an overwrite."""
    lock_mode: str | None
    retain_until: datetime | None


def exists(bucket: str, key: str) -> bool:
    s3 = client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def keys(bucket: str, *, start_after: str | None = None) -> Iterator[str]:
    paginator = client("s3").get_paginator("list_objects_v2")
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": PREFIX}
    if start_after:
        kwargs["StartAfter"] = start_after
    for page in paginator.paginate(**kwargs):
        for item in page.get("Contents", []):
            yield str(item["Key"])


def latest_key(bucket: str, before: str) -> str | None:
    """The last digest key sorting before `before` (digest keys sort by hour)."""
    last = None
    for key in keys(bucket):
        if key >= before:
            break
        last = key
    return last


def sign(key_id: str, digest: bytes) -> bytes:
    answer = client("kms").sign(
        KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=SIGNING_ALGORITHM
    )
    return bytes(answer["Signature"])


def verify(key_id: str, digest: bytes, signature: bytes) -> bool:
    kms = client("kms")
    try:
        answer = kms.verify(
            KeyId=key_id,
            Message=digest,
            MessageType="DIGEST",
            Signature=signature,
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
    except kms.exceptions.KMSInvalidSignatureException:
        return False
    return bool(answer["SignatureValid"])


def put(bucket: str, key: str, body: bytes, signature: bytes, key_id: str) -> bool:
    """Write the digest once (a second writer finds the key taken: False). The bucket's default retention
    locks it."""
    s3 = client("s3")
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            IfNoneMatch="*",
            Metadata={
                "signature": base64.b64encode(signature).decode(),
                "signing-key-id": key_id,
                "signing-algorithm": SIGNING_ALGORITHM,
            },
        )
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False
        raise
    return True


def read(bucket: str, key: str) -> StoredDigest:
    """The digest as first written (its oldest version), and how many versions the key has."""
    s3 = client("s3")
    versions = [
        v
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for v in page.get("Versions", [])
        if v["Key"] == key
    ]
    oldest = min(versions, key=lambda v: v["LastModified"]) if versions else None
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if oldest is not None and oldest.get("VersionId") not in (None, "null"):
        kwargs["VersionId"] = oldest["VersionId"]
    answer = s3.get_object(**kwargs)
    metadata = answer.get("Metadata", {})
    return StoredDigest(
        key=key,
        body=answer["Body"].read(),
        signature=base64.b64decode(metadata.get("signature", "")),
        key_id=metadata.get("signing-key-id", ""),
        versions=max(1, len(versions)),
        lock_mode=answer.get("ObjectLockMode"),
        retain_until=answer.get("ObjectLockRetainUntilDate"),
    )

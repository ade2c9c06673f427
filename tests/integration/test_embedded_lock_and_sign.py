"""KMS signing and S3 Object Lock on the embedded AWS behave as AWS documents them: a digest signed with
MessageType DIGEST verifies offline with the public key; a COMPLIANCE-locked object version cannot be
deleted, overwritten in place, shortened or unlocked before its date, nor its bucket's versioning
suspended."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import load_der_public_key

from infra import DeployedStack, EmbeddedAws


def _key_id(stack: DeployedStack) -> str:
    return stack.resources["SigningKey"]


def test_the_template_key_is_an_ecc_signing_key(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    _, stack = embedded_probe
    metadata = boto3.client("kms").describe_key(KeyId=_key_id(stack))["KeyMetadata"]
    assert metadata["KeyUsage"] == "SIGN_VERIFY"
    assert metadata["KeySpec"] == "ECC_NIST_P256"


def test_a_digest_is_signed_as_a_digest_and_verifies_offline(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    kms = boto3.client("kms")
    digest = hashlib.sha256(b'{"chains": []}').digest()
    # When a SHA-256 digest is signed with MessageType DIGEST
    signature = kms.sign(
        KeyId=_key_id(stack), Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    # Then the public key verifies it over the digest itself (as an auditor checks it, without KMS)
    public = load_der_public_key(kms.get_public_key(KeyId=_key_id(stack))["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    # and KMS Verify agrees, and says no for another digest
    verify = dict(
        KeyId=_key_id(stack), MessageType="DIGEST", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    )
    assert kms.verify(Message=digest, **verify)["SignatureValid"] is True
    assert kms.verify(Message=hashlib.sha256(b"other").digest(), **verify)["SignatureValid"] is False
    # and a RAW message is still hashed by KMS
    raw = kms.sign(
        KeyId=_key_id(stack), Message=b"hello", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )
    public.verify(raw["Signature"], b"hello", ec.ECDSA(hashes.SHA256()))
    # and a digest of the wrong length is refused
    with pytest.raises(ClientError, match="invalid length"):
        kms.sign(
            KeyId=_key_id(stack), Message=b"short", MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
        )


def test_a_compliance_locked_version_survives_every_attempt_to_remove_it(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    s3 = boto3.client("s3")
    bucket = stack.bucket_name("VaultBucket")
    # Given the template's bucket: versioned, Object Lock, COMPLIANCE for a day by default
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
    assert (rule["DefaultRetention"]["Mode"], rule["DefaultRetention"]["Days"]) == ("COMPLIANCE", 1)
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    put = s3.put_object(
        Bucket=bucket,
        Key="digests/2026/12/01/10.json",
        Body=b"{}",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
        ChecksumAlgorithm="SHA256",
    )
    version = put["VersionId"]
    key = dict(Bucket=bucket, Key="digests/2026/12/01/10.json")
    # Then its retention reads back, and deleting the version is refused, even with the governance bypass
    retention = s3.get_object_retention(VersionId=version, **key)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert retention["RetainUntilDate"] == until
    for bypass in (False, True):
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.delete_object(VersionId=version, BypassGovernanceRetention=bypass, **key)
    # and shortening the retention or turning it into GOVERNANCE is refused; extending it is allowed
    for mode, date in (("COMPLIANCE", until - timedelta(days=10)), ("GOVERNANCE", until)):
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object_retention(
                VersionId=version, Retention={"Mode": mode, "RetainUntilDate": date}, **key
            )
    longer = until + timedelta(days=1)
    s3.put_object_retention(
        VersionId=version, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer}, **key
    )
    # and an overwrite adds a version: the locked one is still there, unchanged
    s3.put_object(Body=b'{"forged": true}', **key)
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key["Key"])["Versions"]
    assert len(versions) == 2
    assert s3.get_object(VersionId=version, **key)["Body"].read() == b"{}"
    # and the bucket's versioning cannot be suspended
    with pytest.raises(ClientError, match="InvalidBucketState"):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

"""KMS signing and S3 Object Lock as AWS does them (what a tamper-evident audit trail relies on).

moto 5.2.5 gaps, each filled here and held by ``tests/integration/test_embedded_lock_and_sign.py``:

* CloudFormation creates every ``AWS::KMS::Key`` as a symmetric encryption key, ignoring ``KeySpec`` and
  ``KeyUsage``: an ``ECC_NIST_P256`` / ``SIGN_VERIFY`` key cannot sign. Here the key gets its spec and usage.
* ``Sign`` / ``Verify`` ignore ``MessageType: DIGEST`` and hash the 32-byte digest again, so a signature
  does not verify with the public key the way AWS's does (an auditor checks digests offline, as CloudTrail's
  are checked). Here a DIGEST is signed as the digest (a digest of the wrong length is refused, as AWS does).
* CloudFormation ignores a bucket's ``VersioningConfiguration``, ``ObjectLockEnabled`` and
  ``ObjectLockConfiguration`` (default retention). Here the bucket gets them.
* ``PutObjectRetention`` lets anyone shorten a COMPLIANCE retention or turn it into GOVERNANCE; AWS refuses
  both (AccessDenied) until the retention date has passed. Here too.
* ``GetObjectRetention`` is not routed (HTTP 500). Here it answers.
* ``PutBucketVersioning`` suspends versioning on an Object Lock bucket; AWS refuses (InvalidBucketState).
"""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

_local = threading.local()


def _until(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.datetime.strptime(text, pattern)  # noqa: DTZ007 - moto keeps naive UTC
        except ValueError:
            continue
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


class SigningAndRetentionFixes:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def _set(self, owner: Any, name: str, value: Any) -> None:
        if name not in owner.__dict__:
            raise RuntimeError(
                f"moto internal {owner.__name__}.{name} is gone: the embedded KMS/Object Lock fill-in "
                "must be ported to this moto version"
            )
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def install(self) -> None:
        self._kms_keys_from_cloudformation()
        self._kms_digests()
        self._s3_buckets_from_cloudformation()
        self._s3_retention()

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)

    # ------------------------------------------------------------------ KMS
    def _kms_keys_from_cloudformation(self) -> None:
        from moto.kms.models import Key, kms_backends

        def create_from_cloudformation_json(
            cls: Any,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            properties = cloudformation_json["Properties"]
            policy = properties["KeyPolicy"]
            key = kms_backends[account_id][region_name].create_key(
                policy=policy if isinstance(policy, str) else json.dumps(policy),
                key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
                key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
                description=properties.get("Description"),
                tags=properties.get("Tags", []),
            )
            key.key_rotation_status = properties.get("EnableKeyRotation", False)
            key.enabled = properties.get("Enabled", True)
            return key

        self._set(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))

    def _kms_digests(self) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
        from moto.kms.exceptions import ValidationException
        from moto.kms.responses import KmsResponse
        from moto.kms.utils import ECDSAPrivateKey, RSAPrivateKey

        lengths = {"SHA256": 32, "SHA384": 48, "SHA512": 64}

        def hash_of(algorithm: str) -> hashes.HashAlgorithm:
            name = algorithm.rsplit("_", 1)[-1]
            chosen: hashes.HashAlgorithm = {
                "256": hashes.SHA256(),
                "384": hashes.SHA384(),
                "512": hashes.SHA512(),
            }[name]
            return chosen

        def check_length(message: bytes, algorithm: str) -> None:
            expected = lengths[hash_of(algorithm).name.upper()]
            if len(message) != expected:
                raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")

        def rsa_padding(algorithm: str, digest: hashes.HashAlgorithm) -> Any:
            if "PSS" in algorithm:
                return padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.MAX_LENGTH)
            return padding.PKCS1v15()

        ecc_sign, ecc_verify = ECDSAPrivateKey.__dict__["sign"], ECDSAPrivateKey.__dict__["verify"]
        rsa_sign, rsa_verify = RSAPrivateKey.__dict__["sign"], RSAPrivateKey.__dict__["verify"]

        def ecdsa_sign(key: Any, message: bytes, signing_algorithm: str) -> bytes:
            if not getattr(_local, "digest", False):
                return bytes(ecc_sign(key, message, signing_algorithm))
            check_length(message, signing_algorithm)
            digest = hash_of(signing_algorithm)
            return bytes(key.private_key.sign(message, ec.ECDSA(utils.Prehashed(digest))))

        def ecdsa_verify(key: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
            if not getattr(_local, "digest", False):
                return bool(ecc_verify(key, message, signature, signing_algorithm))
            check_length(message, signing_algorithm)
            digest = hash_of(signing_algorithm)
            try:
                key.private_key.public_key().verify(signature, message, ec.ECDSA(utils.Prehashed(digest)))
            except InvalidSignature:
                return False
            return True

        def rsa_sign_digest(key: Any, message: bytes, signing_algorithm: str) -> bytes:
            if not getattr(_local, "digest", False):
                return bytes(rsa_sign(key, message, signing_algorithm))
            check_length(message, signing_algorithm)
            digest = hash_of(signing_algorithm)
            return bytes(
                key.private_key.sign(message, rsa_padding(signing_algorithm, digest), utils.Prehashed(digest))
            )

        def rsa_verify_digest(key: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
            if not getattr(_local, "digest", False):
                return bool(rsa_verify(key, message, signature, signing_algorithm))
            check_length(message, signing_algorithm)
            digest = hash_of(signing_algorithm)
            try:
                key.private_key.public_key().verify(
                    signature, message, rsa_padding(signing_algorithm, digest), utils.Prehashed(digest)
                )
            except InvalidSignature:
                return False
            return True

        def with_message_type(original: Any) -> Any:
            def action(response: Any) -> Any:
                _local.digest = response._get_param("MessageType") == "DIGEST"
                try:
                    return original(response)
                finally:
                    _local.digest = False

            return action

        self._set(ECDSAPrivateKey, "sign", ecdsa_sign)
        self._set(ECDSAPrivateKey, "verify", ecdsa_verify)
        self._set(RSAPrivateKey, "sign", rsa_sign_digest)
        self._set(RSAPrivateKey, "verify", rsa_verify_digest)
        self._set(KmsResponse, "sign", with_message_type(KmsResponse.__dict__["sign"]))
        self._set(KmsResponse, "verify", with_message_type(KmsResponse.__dict__["verify"]))

    # ------------------------------------------------------------------ S3
    def _s3_buckets_from_cloudformation(self) -> None:
        from moto.s3.models import FakeBucket

        original = FakeBucket.__dict__["create_from_cloudformation_json"]

        def create_from_cloudformation_json(
            cls: Any,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            bucket = original.__func__(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            )
            properties = cloudformation_json.get("Properties", {})
            status = (properties.get("VersioningConfiguration") or {}).get("Status")
            if status:
                bucket.versioning_status = status
            lock = properties.get("ObjectLockConfiguration") or {}
            if str(properties.get("ObjectLockEnabled", "")).lower() in ("true", "enabled") or lock:
                bucket.object_lock_enabled = True
                bucket.versioning_status = "Enabled"
                retention = (lock.get("Rule") or {}).get("DefaultRetention") or {}
                if retention:
                    bucket.default_lock_mode = retention.get("Mode")
                    bucket.default_lock_days = int(retention.get("Days", 0))
                    bucket.default_lock_years = int(retention.get("Years", 0))
            return bucket

        self._set(FakeBucket, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))

    def _s3_retention(self) -> None:
        from moto.core.responses import ActionResult
        from moto.s3.exceptions import AccessDeniedByLock, InvalidBucketState
        from moto.s3.models import S3Backend
        from moto.s3.responses import S3Response

        put_retention = S3Backend.__dict__["put_object_retention"]

        def put_object_retention(
            backend: Any,
            bucket_name: str,
            key_name: str,
            version_id: str | None,
            retention: tuple[str | None, str | None],
        ) -> None:
            key = backend.get_object(bucket_name, key_name, version_id=version_id)
            current = _until(getattr(key, "lock_until", None))
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            if key is not None and key.lock_mode == "COMPLIANCE" and current is not None and current > now:
                wanted = _until(retention[1])
                if retention[0] != "COMPLIANCE" or wanted is None or wanted < current:
                    raise AccessDeniedByLock  # a compliance retention can only be extended
            put_retention(backend, bucket_name, key_name, version_id, retention)

        put_versioning = S3Backend.__dict__["put_bucket_versioning"]

        def put_bucket_versioning(backend: Any, bucket_name: str, status: str) -> None:
            if backend.get_bucket(bucket_name).object_lock_enabled and status != "Enabled":
                raise InvalidBucketState(
                    "An Object Lock configuration is present on this bucket, so the versioning state "
                    "cannot be changed."
                )
            put_versioning(backend, bucket_name, status)

        key_get = S3Response.__dict__["_key_response_get"]

        def _key_response_get(response: Any, query: dict[str, Any], key_name: str) -> Any:
            if "retention" not in query:
                return key_get(response, query, key_name)
            response._set_action("KEY", "GET", query)
            response._authenticate_and_authorize_s3_action(
                bucket_name=response.bucket_name, key_name=key_name
            )
            key, _ = response._get_key()
            headers = response._get_cors_headers_other()
            if key.version_id != "null":
                headers["x-amz-version-id"] = key.version_id
            if not key.lock_mode:
                from moto.s3.exceptions import S3ClientError

                raise S3ClientError(
                    "NoSuchObjectLockConfiguration",
                    "The specified object does not have a ObjectLock configuration",
                )
            response.data["Action"] = "GetObjectRetention"
            status, result_headers, body = response.serialized(
                ActionResult(
                    {"Retention": {"Mode": key.lock_mode, "RetainUntilDate": _until(key.lock_until)}}
                )
            )
            result_headers.update(headers)
            return status, result_headers, body

        self._set(S3Backend, "put_object_retention", put_object_retention)
        self._set(S3Backend, "put_bucket_versioning", put_bucket_versioning)
        self._set(S3Response, "_key_response_get", _key_response_get)

"""Decision 0052: the retention policy is declared once (oms/privacy/retention.py) and the template enforces
exactly it: every lifecycle rule, TTL and log retention of template.yaml is an entry of the policy and every
entry of the policy has its rule. The raw webhook archive has a KMS key of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from oms.privacy.retention import POLICY, RAW_WEBHOOK_DAYS, rules_for

ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
BUCKETS = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::S3::Bucket"}
TABLES = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::DynamoDB::Table"}


def _expirations(bucket: str) -> dict[str, int]:
    rules = BUCKETS[bucket]["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    return {r.get("Prefix", "*"): r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r}


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_expiring_prefix_of_a_bucket_is_the_policys(bucket: str) -> None:
    # Given the bucket's lifecycle rules, when a rule expires objects, then the policy declares that prefix
    declared = {where: r.days for where, r in rules_for(bucket).items() if r.mechanism == "s3-lifecycle"}
    assert _expirations(bucket) == declared


def test_every_s3_entry_of_the_policy_names_a_bucket_of_the_template() -> None:
    for entry in POLICY:
        if entry.mechanism == "s3-lifecycle":
            assert entry.store in BUCKETS, entry


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_tables_ttl_is_the_policys(table: str) -> None:
    ttl = TABLES[table]["Properties"].get("TimeToLiveSpecification")
    declared = [r for r in rules_for(table).values() if r.mechanism == "dynamodb-ttl"]
    if ttl is None:
        assert declared == []
    else:
        assert ttl["Enabled"] is True
        assert [r.where for r in declared] == [ttl["AttributeName"]]


def test_log_groups_keep_what_the_policy_says() -> None:
    (logs,) = [r for r in POLICY if r.mechanism == "log-retention"]
    groups = [r for r in RESOURCES.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert groups
    assert {g["Properties"]["RetentionInDays"] for g in groups} == {logs.days}


def test_the_audit_digests_are_locked_as_long_as_the_policy_says() -> None:
    (lock,) = [r for r in POLICY if r.mechanism == "object-lock"]
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    assert template["Parameters"]["AuditRetentionDays"]["Default"] == lock.days


def test_the_raw_webhook_archive_has_a_kms_key_of_its_own_and_expires() -> None:
    bucket = BUCKETS["RawPayloadsBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": ["RawPayloadsKey", "Arn"]
    }
    # no other bucket uses that key
    for name, other in BUCKETS.items():
        if name != "RawPayloadsBucket":
            assert "RawPayloadsKey" not in str(other["Properties"].get("BucketEncryption")), name
    assert RESOURCES["RawPayloadsKey"]["Properties"]["EnableKeyRotation"] is True
    assert _expirations("RawPayloadsBucket") == {"raw/": RAW_WEBHOOK_DAYS}


def test_only_intake_encrypts_and_only_the_privacy_function_decrypts_the_archive() -> None:
    users: dict[str, set[str]] = {}
    for name, resource in RESOURCES.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                if "RawPayloadsKey" in str(statement["Resource"]):
                    actions = statement["Action"]
                    users[name] = set([actions] if isinstance(actions, str) else actions)
    assert users == {"OrderIntakeFunction": {"kms:GenerateDataKey"}, "PrivacyApiFunction": {"kms:Decrypt"}}


def test_personal_exports_are_denied_to_everyone_but_their_readers() -> None:
    policy = RESOURCES["FinanceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in policy if s.get("Sid") == "PersonalExportsOnlyForTheirReaders"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Resource"] == {"Fn::Sub": "${FinanceBucket.Arn}/personal/*"}
    allowed = {a["Fn::GetAtt"][0] for a in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]}
    assert allowed == {"FinanceExportFunctionRole", "PrivacyApiFunctionRole", "PersonalDataReaderRole"}

"""Find a deployed OMS stack's resources through CloudFormation (on AWS, or inside the embedded AWS)."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from oms.config import TABLE_RESOURCES, Settings
from oms.data.models import bind_tables
from oms.logic.webhooks import IntakeTargets


@dataclass(frozen=True)
class StackResources:
    settings: Settings
    targets: IntakeTargets


def resources_of(stack_name: str) -> StackResources:
    """Read the stack's physical resource ids and bind the data layer to its tables."""
    cloudformation = boto3.client("cloudformation")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        if "PhysicalResourceId" in r  # the embedded AWS leaves some (Lambda permissions) without one
    }
    sqs = boto3.client("sqs")
    changes_queue = sqs.get_queue_url(QueueName=physical["ChannelChangesQueue"].rsplit("/", 1)[-1])[
        "QueueUrl"
    ]
    settings = Settings(
        **{field: physical[logical] for field, logical in TABLE_RESOURCES.items()},
        documents_bucket=physical["DocumentsBucket"],
        raw_payloads_bucket=physical["RawPayloadsBucket"],
        channel_changes_queue_url=changes_queue,
        order_workflow_arn=physical["OrderWorkflow"],
        audit_digests_bucket=physical.get("AuditDigestsBucket", ""),
        audit_signing_key_id=physical.get("AuditSigningKey", ""),
        governance_policy_parameter=physical.get("GovernancePolicyParameter", ""),
    )
    bind_tables(settings)
    targets = IntakeTargets(
        workflow_arn=settings.order_workflow_arn,
        archive_bucket=settings.raw_payloads_bucket,
        changes_queue_url=settings.channel_changes_queue_url,
    )
    return StackResources(settings, targets)

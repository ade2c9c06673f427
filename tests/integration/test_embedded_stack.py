"""The project's own template.yaml deploys into the embedded AWS and is wired as the system needs."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import httpx

from infra import DeployedStack

FUNCTIONS_DIR = (Path(__file__).resolve().parents[2] / "functions").resolve()


def test_every_function_runs_from_the_shared_code_uri(embedded_aws: DeployedStack) -> None:
    functions = [lid for lid, t in embedded_aws.resource_types.items() if t == "AWS::Lambda::Function"]
    assert functions
    runtime = embedded_aws.embedded.runtime
    for logical_id in functions:
        assert runtime.code_dir(embedded_aws.function_name(logical_id)) == FUNCTIONS_DIR


def test_state_machines_are_executing_and_fully_substituted(embedded_aws: DeployedStack) -> None:
    sfn = boto3.client("stepfunctions")
    machines = [
        lid for lid, t in embedded_aws.resource_types.items() if t == "AWS::StepFunctions::StateMachine"
    ]
    assert machines
    for logical_id in machines:
        described = sfn.describe_state_machine(stateMachineArn=embedded_aws.state_machine_arn(logical_id))
        assert "${" not in described["definition"]
        json.loads(described["definition"])


def test_rules_deliver_to_sqs_only(embedded_aws: DeployedStack) -> None:
    events = boto3.client("events")
    rules = [lid for lid, t in embedded_aws.resource_types.items() if t == "AWS::Events::Rule"]
    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    found = 0
    for logical_id in rules:
        # On the OMS bus, or on the default bus (S3's events, e.g. a bank statement dropped in its bucket)
        for bus in buses:
            names = [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]
            if embedded_aws.resources[logical_id] in names:
                targets = events.list_targets_by_rule(
                    Rule=embedded_aws.resources[logical_id], EventBusName=bus
                )
                assert all(":sqs:" in t["Arn"] for t in targets["Targets"])
                found += 1
    assert found == len(rules)


def test_http_api_routes_are_served(embedded_aws: DeployedStack) -> None:
    assert embedded_aws.api_url
    assert embedded_aws.routes
    resp = httpx.get(f"{embedded_aws.api_url}/definitely/not/a/route")
    assert resp.status_code == 404
    assert resp.json() == {"message": "Not Found"}


def test_embedded_aws_is_idle_after_deploy(embedded_aws: DeployedStack) -> None:
    embedded_aws.embedded.wait_idle(timeout=10)

"""template.yaml, read as data: the operational rules every resource must keep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = cfn_yaml.load(str(ROOT / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def _of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


FUNCTIONS = _of_type("AWS::Serverless::Function")
QUEUES = _of_type("AWS::SQS::Queue")
DLQS = {name for name in QUEUES if name.endswith("DLQ")}


def test_every_work_queue_has_a_dead_letter_queue() -> None:
    for name, queue in QUEUES.items():
        if name in DLQS:
            continue
        redrive = queue["Properties"].get("RedrivePolicy")
        assert redrive, f"{name} has no RedrivePolicy"
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{name.removesuffix('Queue')}DLQ", "Arn"]}


def test_every_rule_targets_a_queue_with_its_own_dlq() -> None:
    for name, rule in _of_type("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert target["Arn"]["Fn::GetAtt"][0] in QUEUES, f"{name} targets something other than SQS"
            assert "DeadLetterConfig" in target, f"{name} target has no DLQ"


def test_sqs_consumers_report_partial_batch_failures() -> None:
    for name, function in FUNCTIONS.items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_tracing_and_powertools_settings_are_global() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Tracing"] == "Active"
    assert "POWERTOOLS_LOG_LEVEL" in globals_["Environment"]["Variables"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_has_its_own_narrow_policy(name: str) -> None:
    properties = FUNCTIONS[name]["Properties"]
    assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    statements = [s for policy in properties["Policies"] for s in policy["Statement"]]
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), f"{name}: wildcard action {actions}"
        assert statement["Resource"] != "*", f"{name}: wildcard resource for {actions}"


SECRETS = set(_of_type("AWS::SecretsManager::Secret"))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_secret_travels_in_plain_environment_variables(name: str) -> None:
    variables = FUNCTIONS[name]["Properties"]["Environment"]["Variables"]
    for key, value in variables.items():
        if "SECRET" in key:
            assert isinstance(value, dict), f"{name}.{key} must name a Secrets Manager secret, not hold it"
            assert value.get("Ref") in SECRETS, f"{name}.{key} must name a Secrets Manager secret"


def test_the_channel_notifier_is_limited_to_two_at_a_time_and_its_queue_alarms() -> None:
    events = FUNCTIONS["NotifyChannelFunction"]["Properties"]["Events"]
    assert events["ChannelNotifications"]["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}
    alarm = RESOURCES["ChannelNotificationsDLQAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ChannelNotificationsDLQ", "QueueName"]}


def test_the_workflow_definition_comes_from_statemachine_with_every_placeholder_substituted() -> None:
    machine = RESOURCES["OrderWorkflow"]["Properties"]
    definition = (ROOT / machine["DefinitionUri"]).read_text()
    placeholders = {part.split("}", 1)[0] for part in definition.split("${")[1:]}
    assert placeholders == set(machine["DefinitionSubstitutions"])
    assert machine["Type"] == "EXPRESS"


def test_every_table_setting_names_a_table_of_the_template() -> None:
    from oms.config import TABLE_RESOURCES, Settings

    tables = set(_of_type("AWS::DynamoDB::Table"))
    assert set(TABLE_RESOURCES.values()) == tables
    assert set(TABLE_RESOURCES) == {field for field in Settings.model_fields if field.endswith("_table")}

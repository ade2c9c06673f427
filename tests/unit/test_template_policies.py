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


def test_traces_start_only_at_the_workflow_entry_sampled_by_the_stack_rule() -> None:
    # Decision 0037: Lambda's Active tracing samples 1 request/s + 5 % per function whatever the sampling
    # rules say, so no function may start traces; the workflow does, at the rule's rate.
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Tracing"] == "PassThrough"
    assert [name for name, f in FUNCTIONS.items() if "Tracing" in f["Properties"]] == []
    machines = {
        k: r for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::StateMachine"
    }
    assert machines
    assert all(m["Properties"]["Tracing"]["Enabled"] is True for m in machines.values())
    rules = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::XRay::SamplingRule"]
    assert [
        (r["Properties"]["SamplingRule"]["ReservoirSize"], r["Properties"]["SamplingRule"]["FixedRate"])
        for r in rules
    ] == [(0, 0.05)]


def test_powertools_settings_are_global() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
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


DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::SQS::Queue")


@pytest.mark.parametrize("name", sorted(n for n, r in RESOURCES.items() if r["Type"] in DATA_TYPES))
def test_every_resource_holding_data_survives_a_stack_deletion_or_replacement(name: str) -> None:
    assert RESOURCES[name].get("DeletionPolicy") == "Retain", name
    assert RESOURCES[name].get("UpdateReplacePolicy") == "Retain", name


@pytest.mark.parametrize("name", sorted(_of_type("AWS::DynamoDB::Table")))
def test_every_table_has_point_in_time_recovery(name: str) -> None:
    spec = RESOURCES[name]["Properties"]["PointInTimeRecoverySpecification"]
    assert spec == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("name", sorted(_of_type("AWS::S3::Bucket")))
def test_every_bucket_is_versioned_and_refuses_plain_http(name: str) -> None:
    assert RESOURCES[name]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in _of_type("AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": name}
    ]
    assert policies, f"{name} has no bucket policy"
    deny = [s for s in policies[0] if s["Effect"] == "Deny" and s["Action"] == "s3:*"]
    assert deny
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("name", sorted(n for n in QUEUES if n.endswith("DLQ")))
def test_every_dead_letter_queue_has_an_alarm(name: str) -> None:
    watched = {
        r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for r in _of_type("AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("Namespace") == "AWS/SQS"
    }
    assert name in watched


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_keeps_its_logs_a_bounded_time(name: str) -> None:
    groups = [
        r["Properties"]
        for r in _of_type("AWS::Logs::LogGroup").values()
        if r["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{name}}}"}
    ]
    assert groups, f"{name} has no log group (Lambda would create one that keeps logs forever)"
    assert 0 < groups[0]["RetentionInDays"] <= 365


def test_asynchronously_invoked_functions_have_an_on_failure_destination() -> None:
    scheduled = [
        name
        for name, f in FUNCTIONS.items()
        if any(
            e["Type"] in ("Schedule", "ScheduleV2") for e in (f["Properties"].get("Events") or {}).values()
        )
    ]
    assert sorted(scheduled) == [
        "AgingSnapshotFunction",
        "AuditDigestFunction",
        "DunningRunFunction",
        "FinanceExportFunction",
        "ManagementReportFunction",
        "StockSweeperFunction",
    ]
    for name in scheduled:
        config = FUNCTIONS[name]["Properties"]["EventInvokeConfig"]
        assert config["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
        for event in FUNCTIONS[name]["Properties"]["Events"].values():
            assert "Arn" in event["Properties"]["DeadLetterConfig"]  # a queue of ours, alarmed


def test_the_http_api_writes_access_logs() -> None:
    settings = RESOURCES["OmsHttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert "$context.requestId" in settings["Format"]


# ------------------------------------------------------------------ the operations console (issue 13)
ALARMS = _of_type("AWS::CloudWatch::Alarm")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_alarms_on_its_errors_and_its_throttles(name: str) -> None:
    watched = {
        (r["Properties"]["MetricName"], r["Properties"]["Dimensions"][0]["Value"].get("Ref"))
        for r in ALARMS.values()
        if r["Properties"].get("Namespace") == "AWS/Lambda"
    }
    assert ("Errors", name) in watched
    assert ("Throttles", name) in watched


@pytest.mark.parametrize("machine", sorted(_of_type("AWS::Serverless::StateMachine")))
def test_every_workflow_alarms_on_failed_and_timed_out_executions(machine: str) -> None:
    watched = {
        r["Properties"]["MetricName"]
        for r in ALARMS.values()
        if r["Properties"].get("Namespace") == "AWS/States"
        and r["Properties"]["Dimensions"][0]["Value"] == {"Ref": machine}
    }
    assert {"ExecutionsFailed", "ExecutionsTimedOut"} <= watched


def test_reconciliation_exceptions_past_their_sla_alarm() -> None:
    alarm = RESOURCES["ReconciliationExceptionsPastSlaAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("ServerlessOMS", "ReconciliationExceptionsPastSla")
    finish = FUNCTIONS["ReconcileFinishFunction"]["Properties"]["Environment"]["Variables"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": finish["POWERTOOLS_SERVICE_NAME"]}]


def test_the_reconciliation_workflow_is_the_statemachine_file_scheduled_daily_with_a_dlq() -> None:
    machine = RESOURCES["ReconciliationWorkflow"]["Properties"]
    definition = (ROOT / machine["DefinitionUri"]).read_text()
    placeholders = {part.split("}", 1)[0] for part in definition.split("${")[1:]}
    assert placeholders == set(machine["DefinitionSubstitutions"])
    assert machine["Type"] == "STANDARD"  # the parent of a Distributed Map
    schedule = machine["Events"]["Daily"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ReconciliationDLQ", "Arn"]}}
    assert "<aws.scheduler.scheduled-time>" in schedule["Input"]


def test_the_dashboards_are_json_once_substituted_and_show_every_dlq() -> None:
    import json
    import re

    for name in ("OperationsDashboard", "KpiDashboard"):
        body = RESOURCES[name]["Properties"]["DashboardBody"]["Fn::Sub"]
        widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
        assert widgets
    operations = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for dlq in DLQS:
        assert f"${{{dlq}.QueueName}}" in operations


def test_the_reconciliation_looks_into_every_dlq_of_the_template_and_may_read_only_those() -> None:
    ledgers = FUNCTIONS["ReconcileLedgersFunction"]["Properties"]
    named = ledgers["Environment"]["Variables"]["DEAD_LETTER_QUEUES"]["Fn::Sub"]
    statements = [s for policy in ledgers["Policies"] for s in policy["Statement"]]
    readable = [s["Resource"] for s in statements if s["Action"] == "sqs:ReceiveMessage"]
    assert len(readable) == 1
    assert sorted(r["Fn::GetAtt"][0] for r in readable[0]) == sorted(DLQS)
    for dlq in DLQS:
        assert f'"{dlq}": "${{{dlq}}}"' in named, f"{dlq} is not in DEAD_LETTER_QUEUES"


def test_the_approval_workflow_is_standard_and_waits_for_people_with_the_level_sla_as_timeout() -> None:
    import json

    machine = RESOURCES["ApprovalWorkflow"]["Properties"]
    assert machine["Type"] == "STANDARD"
    definition = (ROOT / machine["DefinitionUri"]).read_text()
    placeholders = {part.split("}", 1)[0] for part in definition.split("${")[1:]}
    assert placeholders == set(machine["DefinitionSubstitutions"])
    wait = json.loads(definition)["States"]["AwaitDecision"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["TimeoutSecondsPath"] == "$.step.sla_seconds"
    assert wait["Catch"][0]["ErrorEquals"] == ["States.Timeout"]
    # the task token is in the payload: it must not reach the execution logs
    assert machine["Logging"]["IncludeExecutionData"] is False
    # the functions that start it or send its tokens name it by the name it is given
    name = machine["Name"]["Fn::Sub"]
    for function in ("ValidateFunction", "ApprovalsApiFunction", "ApprovalWorkflowFunction"):
        statements = [s for p in FUNCTIONS[function]["Properties"]["Policies"] for s in p["Statement"]]
        actions = [(s, s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) for s in statements]
        states = [s for s, named in actions if "states:SendTaskSuccess" in named]
        assert states, function
        assert all(s["Resource"]["Fn::Sub"].endswith(f":stateMachine:{name}") for s in states), function


def _emitted_metric_names() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "functions").rglob("*.py"))


def test_the_finance_dashboard_shows_aging_dso_cash_unapplied_exceptions_and_approvals_the_code_emits() -> (
    None
):
    import json
    import re

    body = RESOURCES["FinanceDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    titles = " | ".join(w["properties"]["title"] for w in widgets).lower()
    for subject in (
        "aging",
        "dso",
        "cash received and applied",
        "unapplied",
        "exceptions open, by type",
        "sla",
    ):
        assert subject in titles, subject
    named = set(re.findall(r'MetricName=\\?"([A-Za-z]+)', body))
    named |= {m[1] for w in widgets for m in w["properties"]["metrics"] if isinstance(m[0], str)}
    source = _emitted_metric_names()
    assert named >= {
        "AgingOutstanding",
        "CashApplied",
        "UnappliedCredit",
        "ReconciliationExceptionsOpenByKind",
    }
    for metric in named:
        assert f'"{metric}"' in source, f"{metric} is on the dashboard but no function emits it"


def test_approvals_past_their_sla_alarm_on_the_metric_the_approval_workflow_emits() -> None:
    alarm = RESOURCES["ApprovalSlaBreachesAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "ServerlessOMS",
        "ApprovalSlaBreaches",
        "Sum",
    )
    services = {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for f in FUNCTIONS.values()
        if f["Properties"]["Handler"].startswith("approval_workflow.")
    }
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "approval-workflow"}]
    assert services == {"approval-workflow"}
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    governance = (ROOT / "functions" / "oms" / "governance" / "approvals.py").read_text()
    assert governance.count('name="ApprovalSlaBreaches"') == 2  # an escalation and an expiry


def test_the_management_report_is_written_monthly_for_the_month_before_with_a_dlq() -> None:
    function = FUNCTIONS["ManagementReportFunction"]["Properties"]
    schedule = function["Events"]["Monthly"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 4 1 * ? *)"  # the 1st, after the night's export
    assert "<aws.scheduler.scheduled-time>" in schedule["Input"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ManagementReportDLQ", "Arn"]}}
    statements = [s for p in function["Policies"] for s in p["Statement"]]
    assert {s["Action"] for s in statements} == {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
    writes = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert writes["Resource"] == {"Fn::Sub": "${FinanceBucket.Arn}/reports/monthly/*"}

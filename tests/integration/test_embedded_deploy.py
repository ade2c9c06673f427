"""SAM → CloudFormation offline and deployment into moto, including what is stripped or refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra import EmbeddedAws, SamError
from infra.embedded._sam import load_template, translate

TEMPLATES = Path(__file__).parent / "templates"
PROBE = TEMPLATES / "probe" / "template.yaml"


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as embedded:
        yield embedded


def test_translation_is_offline_and_uses_bundled_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.client

    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("SAM translation must not call AWS")

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws)
    template = load_template(PROBE)
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    workflow = template["Resources"]["Workflow"]["Properties"]
    workflow["Definition"] = json.loads((PROBE.parent / workflow.pop("DefinitionUri")).read_text())
    cfn = translate(template, {"Stage": "x"})
    role = cfn["Resources"]["EchoFunctionRole"]["Properties"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in json.dumps(role)
    assert cfn["Resources"]["WorkerFunctionWork"]["Type"] == "AWS::Lambda::EventSourceMapping"


def test_deploy_uploads_code_and_creates_every_resource(aws: EmbeddedAws) -> None:
    stack = aws.deploy(PROBE, stack_name="probe")
    fn = boto3.client("lambda").get_function(FunctionName=stack.function_name("EchoFunction"))
    assert fn["Configuration"]["Handler"] == "embedded_probe.handlers.echo"
    assert fn["Configuration"]["Environment"]["Variables"]["TABLE_NAME"] == stack.table_name("StockTable")
    assert aws.runtime.code_dir(stack.function_name("EchoFunction")) == (PROBE.parent / "src").resolve()
    s3_keys = boto3.client("s3").list_objects_v2(Bucket=f"embedded-deploy-{aws.account_id}-us-east-1")
    assert next(o["Key"] for o in s3_keys["Contents"]).startswith("code/")

    types = stack.resource_types
    assert types["StockTable"] == "AWS::DynamoDB::Table"
    assert types["WorkQueue"] == "AWS::SQS::Queue"
    assert stack.queue_url("WorkQueue").startswith("https://sqs.us-east-1.amazonaws.com/")
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("WorkQueue"), AttributeNames=["All"]
    )
    assert json.loads(attrs["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 3

    # Secrets Manager (created through the API: moto's CloudFormation has no model for it)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.resources["ApiKey"])
    assert secret["Name"] == "probe/api-key"
    body = json.loads(secret["SecretString"])
    assert body["user"] == "probe"
    assert len(body["password"]) == 24
    # SSM
    param = boto3.client("ssm").get_parameter(Name=stack.resources["ChannelParam"])
    assert param["Parameter"]["Value"] == "web"

    # stripped, with Refs to them turned into placeholders (schedules run on the local scheduler instead)
    assert stack.skipped == {
        "ApiAlarm": "AWS::CloudWatch::Alarm",
        "AuthApi": "AWS::ApiGatewayV2::Api",
        "AuthApiApiGatewayDefaultStage": "AWS::ApiGatewayV2::Stage",
        "Nightly": "AWS::Scheduler::Schedule",
        "FailingNightly": "AWS::Scheduler::Schedule",
        "PausedNightly": "AWS::Scheduler::Schedule",
        "ServerlessHttpApi": "AWS::ApiGatewayV2::Api",
        "ServerlessHttpApiApiGatewayDefaultStage": "AWS::ApiGatewayV2::Stage",
    }
    assert [r.route_key for r in stack.routes] == [
        "POST /echo/{name}",
        "GET /echo/{name}",
        "GET /echo/fixed",
        "ANY /files/{proxy+}",
        "GET /raw",
        "GET /boom",
        "GET /me",
        "GET /stock/{sku}",
        "POST /hooks/{channel}",
        "GET /admin",
        "GET /custom",
        "GET /iam",
    ]
    with pytest.raises(KeyError):
        stack.queue_url("StockTable")


def test_outputs_referring_to_the_http_api_point_at_the_local_server(aws: EmbeddedAws) -> None:
    stack = aws.deploy(PROBE, stack_name="probe")
    url = stack.serve_http_api()
    assert stack.outputs["ApiEndpoint"] == url


def test_rule_targeting_lambda_is_refused(aws: EmbeddedAws) -> None:
    with pytest.raises(SamError, match="must target SQS queues"):
        aws.deploy(TEMPLATES / "bad" / "lambda_rule_target.yaml", stack_name="bad")


def test_unknown_resource_type_is_refused(aws: EmbeddedAws) -> None:
    with pytest.raises(SamError, match=r"Stream \(AWS::Kinesis::StreamConsumer\)"):
        aws.deploy(TEMPLATES / "bad" / "unsupported_type.yaml", stack_name="bad")


def test_missing_definition_substitution_is_refused(aws: EmbeddedAws) -> None:
    with pytest.raises(Exception, match="MissingArn"):
        aws.deploy(TEMPLATES / "bad" / "missing_substitution.yaml", stack_name="bad")


def test_stop_restores_the_process() -> None:
    import os
    import warnings

    from moto.awslambda.models import LambdaFunction

    environ, filters = os.environ, list(warnings.filters)
    invoke = LambdaFunction.__dict__["_invoke_lambda"]
    with EmbeddedAws(region="eu-west-1") as embedded:
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert LambdaFunction.__dict__["_invoke_lambda"] is not invoke
        embedded.wait_idle(timeout=5)
    assert os.environ is environ
    assert list(warnings.filters) == filters
    assert LambdaFunction.__dict__["_invoke_lambda"] is invoke

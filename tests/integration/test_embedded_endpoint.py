"""The emulated AWS on a local HTTP endpoint: the same state as in-process calls, for other processes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from infra import EmbeddedAws
from infra.embedded._endpoint import aws_url


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[EmbeddedAws, str]]:
    with EmbeddedAws() as aws:
        yield aws, aws.serve_endpoint()


def _client(service: str, url: str, **kwargs: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


def test_the_credential_scope_names_the_service_and_region() -> None:
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20261201/eu-west-1/dynamodb/aws4_request, ..."}
    assert aws_url("/", signed) == (
        "https://dynamodb.eu-west-1.amazonaws.com/",
        "dynamodb.eu-west-1.amazonaws.com",
    )
    iam = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/iam/aws4_request, ..."}
    assert aws_url("/?Action=ListRoles", iam) == (
        "https://iam.amazonaws.com/?Action=ListRoles",
        "iam.amazonaws.com",
    )
    scope = "AK%2F20261201%2Fus-east-1%2Fs3%2Faws4_request"
    presigned = f"/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={scope}"
    assert aws_url(presigned, {}) == (
        f"https://s3.us-east-1.amazonaws.com{presigned}",
        "s3.us-east-1.amazonaws.com",
    )
    assert aws_url("/b/k?AWSAccessKeyId=AK&Signature=x&Expires=1", {}) == (
        "https://s3.amazonaws.com/b/k?AWSAccessKeyId=AK&Signature=x&Expires=1",
        "s3.amazonaws.com",
    )
    assert aws_url("/", {}) is None


def test_calls_through_the_endpoint_see_the_same_aws(endpoint: tuple[EmbeddedAws, str]) -> None:
    # Given resources made in process
    _, url = endpoint
    name = f"ep-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3").create_bucket(Bucket=name)
    queue = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    # When clients of the endpoint read and write them (JSON, query/JSON and REST-XML protocols, an S3
    # upload sent with "Expect: 100-continue", a presigned download)
    ddb = _client("dynamodb", url)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "7"}})
    s3 = _client("s3", url, config=Config(s3={"addressing_style": "path"}))
    s3.put_object(Bucket=name, Key="docs/a.pdf", Body=b"%PDF-1.7 " + b"x" * 200_000)
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "docs/a.pdf"})
    sqs = _client("sqs", url)
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    # Then in-process calls see what the endpoint's clients wrote, and the reverse
    assert boto3.client("dynamodb").get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["n"] == {
        "N": "7"
    }
    assert len(boto3.client("s3").get_object(Bucket=name, Key="docs/a.pdf")["Body"].read()) == 200_009
    assert httpx.get(presigned, timeout=30).content.startswith(b"%PDF-1.7")
    assert boto3.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"
    assert name in ddb.list_tables()["TableNames"]
    assert _client("sts", url).get_caller_identity()["Account"] == "123456789012"


def test_unsigned_requests_and_unknown_control_routes_get_a_clear_answer(
    endpoint: tuple[EmbeddedAws, str],
) -> None:
    _, url = endpoint
    unsigned = httpx.post(f"{url}/", content=b"{}", timeout=30)
    assert unsigned.status_code == 400
    assert "credential scope" in unsigned.text
    missing = httpx.get(f"{url}/_embedded/nothing", timeout=30)
    assert missing.status_code == 404
    assert set(missing.json()["routes"]) >= {"clock", "token"}
    bad = httpx.post(f"{url}/_embedded/clock", content=b'{"advance": "soon"}', timeout=30)
    assert bad.status_code == 400
    assert "duration" in bad.json()["message"]
    not_json = httpx.post(f"{url}/_embedded/token", content=b"{", timeout=30)
    assert not_json.status_code == 400


def test_a_token_needs_a_deployed_authorizer(endpoint: tuple[EmbeddedAws, str]) -> None:
    # Given an embedded AWS with no stack (so no JWT authorizer whose issuer and audience a token needs)
    _, url = endpoint
    # When a token is asked for
    answer = httpx.post(
        f"{url}/_embedded/token", content=json.dumps({"scopes": ["oms/orders.read"]}), timeout=30
    )
    # Then the answer says why there is none (the local stack test mints and uses one end to end)
    assert answer.status_code == 400
    assert answer.json()["message"]

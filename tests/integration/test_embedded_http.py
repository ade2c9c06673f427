"""The template's HTTP API served on 127.0.0.1 with API Gateway payload format 2.0."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from infra import DeployedStack, EmbeddedAws


@pytest.fixture
def client(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> httpx.Client:
    _, stack = embedded_probe
    assert stack.api_url
    assert stack.api_url.startswith("http://127.0.0.1:")
    return httpx.Client(base_url=stack.api_url, timeout=30)


def test_post_builds_a_v2_event_and_maps_the_response(
    client: httpx.Client, embedded_probe: tuple[EmbeddedAws, DeployedStack]
) -> None:
    _, stack = embedded_probe
    resp = client.post(
        "/echo/alice?x=1&x=2&y=",
        content=b'{"hello": "world"}',
        headers={"content-type": "application/json", "x-multi": "a", "cookie": "a=1; b=2"},
    )
    assert resp.status_code == 201
    assert resp.headers["x-role"] == "echo"
    assert resp.headers["set-cookie"] == "session=abc; Path=/"
    assert resp.headers["apigw-requestid"]
    seen = resp.json()
    assert seen["version"] == "2.0"
    assert seen["routeKey"] == "POST /echo/{name}"
    assert seen["rawPath"] == "/echo/alice"
    assert seen["rawQueryString"] == "x=1&x=2&y="
    assert seen["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert seen["pathParameters"] == {"name": "alice"}
    assert seen["cookies"] == ["a=1", "b=2"]
    assert seen["headers"]["x-multi"] == "a"
    assert "cookie" not in seen["headers"]
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert seen["body"] == '{"hello": "world"}'
    assert seen["isBase64Encoded"] is False
    assert seen["stage"] == "$default"
    assert seen["function"] == stack.function_name("EchoFunction")
    assert seen["memory"] == 256
    assert 0 < seen["remaining_ms"] <= 10_000
    assert seen["table"] == stack.table_name("StockTable")
    assert seen["secret"] == stack.resources["ApiKey"]
    assert seen["stage_var"] == "test"  # Globals + Parameters default


def test_binary_body_is_base64_encoded(client: httpx.Client) -> None:
    payload = bytes(range(256))
    resp = client.post("/echo/bin", content=payload, headers={"content-type": "application/octet-stream"})
    seen = resp.json()
    assert seen["isBase64Encoded"] is True
    assert seen["body"] == {"base64": True, "length": 256}


def test_routing_prefers_literal_over_parameter_and_supports_greedy(client: httpx.Client) -> None:
    assert client.get("/echo/fixed").json()["routeKey"] == "GET /echo/fixed"
    assert client.get("/echo/other").json()["routeKey"] == "GET /echo/{name}"
    greedy = client.delete("/files/a/b/c.txt").json()
    assert greedy["routeKey"] == "ANY /files/{proxy+}"
    assert greedy["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_result_without_status_code_is_200_json(client: httpx.Client) -> None:
    resp = client.get("/raw")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"hello": "world", "role": "raw"}


def test_function_error_is_500(client: httpx.Client) -> None:
    resp = client.get("/boom")
    assert resp.status_code == 500
    assert resp.json() == {"message": "Internal Server Error"}


def test_unknown_route_and_method_are_404(client: httpx.Client) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/nope").json() == {"message": "Not Found"}
    assert client.put("/raw").status_code == 404


def test_body_over_10_mb_is_413(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    _, stack = embedded_probe
    assert stack.api_url
    host, port = stack.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /echo/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {10 * 1024 * 1024 + 1}\r\n\r\n".encode()
        )
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413")


def test_concurrent_requests(client: httpx.Client, embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, stack = embedded_probe
    assert stack.api_url
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda i: httpx.post(f"{stack.api_url}/echo/u{i}", content=json.dumps({"i": i})), range(32)
            )
        )
    assert [c.status_code for c in codes] == [201] * 32
    assert sorted(c.json()["pathParameters"]["name"] for c in codes) == sorted(f"u{i}" for i in range(32))

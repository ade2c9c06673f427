"""`make serve` as a newcomer meets it: a running local stack driven only by what it prints.

The stack runs as its own process (`python -m demo.serve`); the test sends the printed sample orders of
Shopify and WooCommerce with their header files (as the printed curl lines do), the web shop's through
`python -m ops send-webhook`, reads every order back with a token from `python -m ops token`, lists the
holds with `python -m ops holds`, reaches the emulated AWS with boto3 on the printed endpoint, advances the
scheduler's clock with `python -m infra clock advance`, and stops it with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _headers(path: Path) -> dict[str, str]:
    """A curl `-H @file` header file."""
    pairs = (line.split(": ", 1) for line in path.read_text().splitlines() if line)
    return dict(pairs)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    out = tmp_path_factory.mktemp("serve")
    api_port, endpoint_port = _free_port(), _free_port()
    process = subprocess.Popen(  # noqa: S603 - the project's own CLI
        [
            sys.executable,
            "-m",
            "demo.serve",
            "--port",
            str(api_port),
            "--endpoint-port",
            str(endpoint_port),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if line.startswith("Ctrl-C to stop"):
            break
    text = "".join(printed)
    assert "Ctrl-C to stop" in text, text
    exports = dict(
        pair.split("=", 1)
        for pair in re.search(r"export (AWS_ENDPOINT_URL=\S+.*)", text).group(1).split()  # type: ignore[union-attr]
    )
    env = {**os.environ, **exports}
    yield {"process": process, "text": text, "env": env, "out": out, "api": f"http://127.0.0.1:{api_port}"}
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def _ops(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - the project's own CLI
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_newcomer_drives_the_local_stack_from_what_it_prints(local_stack: dict[str, object]) -> None:
    text, env, out, api = (
        str(local_stack["text"]),
        local_stack["env"],
        Path(str(local_stack["out"])),
        str(local_stack["api"]),
    )
    assert isinstance(env, dict)
    # Given the printed channels, curl lines and order reads
    for channel in ("shopify", "woocommerce", "webshop"):
        assert re.search(rf"^  {channel}\s+\S", text, re.MULTILINE), channel
    order_ids = re.findall(r"/orders/(ord_[0-9a-f]{24})", text)
    assert len(order_ids) == 3
    # When each channel's sample order is sent the way the guide says
    for channel in ("shopify", "woocommerce"):
        answer = httpx.post(
            f"{api}/webhooks/{channel}",
            content=(out / f"{channel}-order.json").read_bytes(),
            headers=_headers(out / f"{channel}-order.headers"),
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
    sent = _ops(env, "ops", "send-webhook", "webshop", str(out / "webshop-order.json"))
    assert ": 202" in sent
    # Then each order is readable with a token minted by the ops CLI, in a status with its reason
    token = _ops(env, "ops", "token", "--scopes", "oms/orders.read").strip()
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(seen) < 3 and time.monotonic() < deadline:
        for order_id in order_ids:
            answer = httpx.get(
                f"{api}/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            if answer.status_code == 200 and answer.json()["status"] not in (
                "RECEIVED",
                "VALIDATED",
                "ALLOCATED",
            ):
                seen[order_id] = answer.json()["status"]
        time.sleep(0.5)
    assert set(seen) == set(order_ids), seen
    # and the operator CLI reaches the same stack: every held order is listed
    holds = _ops(env, "ops", "holds")
    for order_id, status in seen.items():
        if status == "ON_HOLD":
            assert order_id[:8] in holds
    # and boto3 reaches the emulated AWS on the printed endpoint
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert any(name.startswith("oms-OrdersTable-") for name in dynamodb.list_tables()["TableNames"])
    # and the scheduler's clock can be advanced past the stock sweep
    advanced = _ops(env, "infra", "clock", "advance", "16m")
    assert re.search(r"ran \S*Sweep\S* planned .*: ok", advanced), advanced


def test_ctrl_c_stops_the_stack_cleanly(local_stack: dict[str, object]) -> None:
    process = local_stack["process"]
    assert isinstance(process, subprocess.Popen)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0

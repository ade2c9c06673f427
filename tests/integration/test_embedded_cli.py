"""`python -m infra serve` and `python -m infra check-template`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.__main__ import _load_seed, _parse_params, main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).parent / "templates"
PROBE = TEMPLATES / "probe" / "template.yaml"


def test_check_template_accepts_a_deployable_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-template", str(PROBE), "--stack-name", "probe"]) == 0
    out = capsys.readouterr().out
    assert "OK:" in out
    assert "EchoFunction" in out


def test_check_template_rejects_what_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-template", str(TEMPLATES / "bad" / "lambda_rule_target.yaml")]) == 1
    assert "must target SQS queues" in capsys.readouterr().err


def test_option_parsing() -> None:
    assert _parse_params(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(SystemExit):
        _parse_params(["nope"])
    with pytest.raises(SystemExit):
        _load_seed("no_colon")
    assert callable(_load_seed("json:dumps"))


def test_serve_deploys_seeds_serves_and_stops_on_sigint() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TEMPLATES / "probe" / "src")])
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "infra",
            "serve",
            "--port",
            "0",
            "--endpoint-port",
            "0",
            "--template",
            str(PROBE),
            "--stack-name",
            "probe",
            "--seed",
            "embedded_probe.handlers:seed",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"HTTP API (http://127\.0\.0\.1:\d+), AWS endpoint", line)
            if match:
                url = match.group(1)
                break
        assert url, "".join(lines)
        text = "".join(lines)
        assert "seeded probe-StockTable-" in text
        assert "GET /raw" in text
        assert httpx.get(f"{url}/raw", timeout=30).json() == {"hello": "world", "role": "raw"}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0

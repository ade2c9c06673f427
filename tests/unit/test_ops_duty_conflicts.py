"""`python -m ops duty-conflicts USERS.json`: who combines duties the policy keeps apart."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ops.__main__ import app


def test_the_report_names_each_person_whose_groups_combine_separated_duties(tmp_path: Path) -> None:
    # Given a policy where group sales-managers approves and group clerks enters orders
    policy = {"duties": {"groups": {"sales-managers": ["approval"], "clerks": ["order_entry"]}}}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    users = [
        {"subject": "user:ann", "groups": ["clerks"]},
        {"subject": "user:bob", "groups": ["sales-managers", "clerks"]},
        {"subject": "user:cy", "groups": ["sales-managers"], "scopes": ["oms/payments.write"]},
    ]
    (tmp_path / "users.json").write_text(json.dumps(users))
    # When the report runs
    result = CliRunner().invoke(
        app, ["duty-conflicts", str(tmp_path / "users.json"), "--policy", str(tmp_path / "policy.json")]
    )
    # Then Bob (entry + approval) and Cy (approval + payment authorization) are named, Ann is not
    assert result.exit_code == 1, result.output
    assert "user:bob" in result.output
    assert "user:cy" in result.output
    assert "user:ann" not in result.output
    assert "2 conflict(s) among 3 people" in result.output


def test_the_audit_commands_are_there_when_run_as_a_module() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    answer = subprocess.run(
        [sys.executable, "-m", "ops", "audit", "--help"],
        cwd=root,
        env={"PYTHONPATH": f"{root / 'functions'}:{root}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "verify" in answer.stdout, answer.stdout + answer.stderr

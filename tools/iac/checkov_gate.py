"""checkov on template.yaml against the committed baseline of accepted findings (checkov-baseline.yaml).

checkov pins its own boto3, so it lives in a virtualenv of its own (`.venv-checkov`, from
requirements-checkov.txt); this gate runs it, then fails on any finding the baseline does not accept and
on any baseline entry that no longer matches a finding.

    python -m tools.iac.checkov_gate [--checkov .venv-checkov/bin/checkov] [template.yaml]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "checkov-baseline.yaml"


def findings(checkov: str, template: str) -> list[tuple[str, str]]:
    run = subprocess.run(  # noqa: S603 - a fixed tool on a file of this repository
        [checkov, "-f", template, "--framework", "cloudformation", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode not in (0, 1) or not run.stdout.strip():
        raise SystemExit(f"checkov did not run: {run.returncode}\n{run.stderr[-2000:]}")
    report: Any = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    return sorted(
        (failure["check_id"], failure["resource"])
        for one in reports
        for failure in one.get("results", {}).get("failed_checks", [])
    )


def unaccepted(found: list[tuple[str, str]], baseline: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(findings the baseline does not accept, baseline patterns that matched nothing)."""

    def accepted(check: str, resource: str) -> bool:
        patterns = baseline.get(check, {}).get("resources", [])
        return any(fnmatch.fnmatch(resource, pattern) for pattern in patterns)

    new = [f"{check} {resource}" for check, resource in found if not accepted(check, resource)]
    stale = [
        f"{check} {pattern}"
        for check, entry in baseline.items()
        for pattern in entry.get("resources", [])
        if not any(c == check and fnmatch.fnmatch(r, pattern) for c, r in found)
    ]
    return new, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("template", nargs="?", default="template.yaml")
    parser.add_argument("--checkov", default=".venv-checkov/bin/checkov")
    args = parser.parse_args(argv)
    baseline = yaml.safe_load(BASELINE.read_text())
    missing_reason = [check for check, entry in baseline.items() if not str(entry.get("reason", "")).strip()]
    found = findings(args.checkov, args.template)
    new, stale = unaccepted(found, baseline)
    for line in missing_reason:
        print(f"baseline entry without a reason: {line}")
    for line in new:
        print(f"NEW finding (fix it, or accept it in {BASELINE.name} with a reason): {line}")
    for line in stale:
        print(f"baseline entry that no longer matches a finding (remove it): {line}")
    if new or stale or missing_reason:
        return 1
    print(f"checkov: {len(found)} findings, all accepted in {BASELINE.name} ({len(baseline)} checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

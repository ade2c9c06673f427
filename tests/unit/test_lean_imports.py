"""Every handler's cold import loads only what its routes or records need (issue 14): channel adapters, the
channel write-back client and PDF rendering load on first use, and no development tool ever loads.

Each handler of template.yaml is imported in a fresh interpreter, as Lambda's INIT does; the modules it
loaded are compared with what only some handlers may load at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.template_info import read_template

ROOT = Path(__file__).parents[2]
HANDLERS = sorted({info.module for info in read_template(ROOT / "template.yaml").functions.values()})

# module prefix → the handlers that may load it when they start (nobody, if the set is empty)
ON_FIRST_USE: dict[str, frozenset[str]] = {
    # PDF rendering: fpdf2 and its fonts, loaded when the first document is rendered
    "fpdf": frozenset(),
    "fontTools": frozenset(),
    "PIL": frozenset(),
    # webhook channel adapters: loaded by the registry when their channel is first asked for; the ERP
    # submission (order entry's only input) is the web shop's document format
    "oms.channels.shopify": frozenset(),
    "oms.channels.woocommerce": frozenset(),
    "oms.channels.custom": frozenset({"order_entry.app"}),
    # the write-back adapters and their HTTP client: only the function that tells the channels
    "oms.channels.writeback": frozenset({"notify_channel.app"}),
    # the X-Ray SDK: only with OMS_XRAY_SDK=true (decision 0010)
    "aws_xray_sdk": frozenset(),
}
NEVER = (
    "moto",
    "pytest",
    "hypothesis",
    "httpx",
    "rich",
    "typer",
    "pypdf",
    "duckdb",
    "werkzeug",
    "infra",
    "demo",
)

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(module: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(ROOT / "functions"), AWS_DEFAULT_REGION="us-east-1")
    answer = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT / "functions",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(answer.stdout))


def _under(prefix: str, modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


def test_every_template_function_is_probed() -> None:
    assert "order_intake.app" in HANDLERS
    assert len(HANDLERS) >= 14


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_cold_import_loads_only_what_the_handler_needs_at_start(handler: str) -> None:
    # Given a fresh interpreter, as Lambda's INIT phase
    # When the handler's module is imported
    modules = loaded_by(handler)

    # Then nothing it only needs on first use was loaded, unless the handler needs it at start
    unexpected = {
        prefix: _under(prefix, modules)
        for prefix, allowed in ON_FIRST_USE.items()
        if handler not in allowed and _under(prefix, modules)
    }
    unexpected.update({prefix: _under(prefix, modules) for prefix in NEVER if _under(prefix, modules)})
    assert unexpected == {}, f"{handler} loads at import: {unexpected}"

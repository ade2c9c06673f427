"""Shared fixtures: the embedded local AWS (see infra/embedded and docs/decisions/0002)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import DeployedStack, EmbeddedAws

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
PROBE_TEMPLATE = ROOT / "tests" / "integration" / "templates" / "probe" / "template.yaml"

#: Failed SQS messages of event-source mappings come back after this many seconds in tests
#: (instead of the queue's VisibilityTimeout), so retry and DLQ paths run quickly.
TEST_RETRY_DELAY = 0.3


@pytest.fixture(scope="module")
def embedded_aws() -> Iterator[DeployedStack]:
    """The project's template.yaml deployed into a started EmbeddedAws, HTTP API served.

    ``stack.embedded`` (or the ``embedded`` fixture) is the EmbeddedAws: ``wait_idle()``, ``stats()``.
    """
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY) as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        stack.serve_http_api()
        yield stack


@pytest.fixture
def embedded(embedded_aws: DeployedStack) -> EmbeddedAws:
    """The running EmbeddedAws behind ``embedded_aws``."""
    return embedded_aws.embedded


@pytest.fixture(scope="module")
def embedded_probe() -> Iterator[tuple[EmbeddedAws, DeployedStack]]:
    """The embedded AWS with the purpose-built probe application (tests of infra/ itself)."""
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY) as aws:
        stack = aws.deploy(PROBE_TEMPLATE, stack_name="probe")
        stack.serve_http_api()
        yield aws, stack

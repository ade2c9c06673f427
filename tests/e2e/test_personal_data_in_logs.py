"""Decision 0051: a demo business day (webhooks over HTTP, refused hostile requests, approvals, shipping,
invoicing, the finance export) with every log line of every function captured; no customer's e-mail, phone
or street line is in any of them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from demo import reference_data as ref
from demo.run import run_business_day
from oms.observability import logger


def _log_records(text: str) -> list[dict[str, object]]:
    records = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"level"' in line:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


@pytest.mark.slow
def test_no_customer_email_phone_or_street_line_reaches_the_logs_of_a_business_day(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a business day of the demo with the corporate approvals and the day's export, every line the
    # functions' logger writes (what Lambda sends to CloudWatch Logs) and everything else printed captured
    # (at DEBUG, every event logged where the handlers are imported here: the most an operator switches on)
    lines = io.StringIO()
    stream = logger.registered_handler.setStream(lines)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        summary = run_business_day(
            orders=40,
            seed=16,
            out=tmp_path,
            export_finance=True,
            function_env={"POWERTOOLS_LOGGER_LOG_EVENT": "true", "POWERTOOLS_LOG_LEVEL": "DEBUG"},
        )
    finally:
        logger.setLevel(level)
        logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    captured = capfd.readouterr()
    written = lines.getvalue() + captured.out + captured.err
    text = written.casefold()
    assert summary.accounted, summary.unaccounted
    # Then the functions did log (the scan is over real log lines of several functions)...
    records = _log_records(written)
    functions = {r.get("function_name") for r in records}
    assert len(records) >= 10, len(records)
    assert len(functions) >= 2, functions
    # ... and none of them holds any customer's e-mail, phone or street line
    leaks = [
        (customer.customer_id, kind, value)
        for customer in ref.CUSTOMERS
        for kind, value in (
            ("email", customer.email),
            ("phone", customer.phone),
            ("line1", customer.address.line1),
        )
        if value and value.casefold() in text
    ]
    assert leaks == []

"""The committed OpenAPI document against the running local API: schemathesis generates requests from it
and checks every answer: no 5xx, documented status codes, content types and response schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from infra import DeployedStack
from tests.support.world import bind, seed_catalog, seed_warehouses, set_stock

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
schema = schemathesis.openapi.from_path(str(SPEC))
CASH_SCOPES = (
    "oms/payments.record",
    "oms/receivables.read",
    "oms/refunds.grant",
    "oms/refunds.execute",
    "oms/credit.write",
    "oms/returns.write",
    "oms/returns.receive",
)
"""Every cash duty at once: the execution of a refund then answers 403 conflicting-duties (documented)."""


@pytest.fixture(scope="module")
def api(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-A": "19.99"})
    seed_warehouses({"WH-NJ": 1})
    set_stock("ELC-A", "WH-NJ", 100)
    return embedded_aws


def _headers(api: DeployedStack, path: str) -> dict[str, Any]:
    mint = getattr(api, "mint_token", None)
    if path.startswith(("/orders", "/allocations")) and mint is not None:
        token = mint("contract-tester", scopes=["oms/orders.read", "oms/orders.write", "oms/audit.read"])
        return {"Authorization": f"Bearer {token}"}
    if path.startswith("/inventory") and mint is not None:
        token = mint("contract-tester", scopes=["oms/inventory.read", "oms/inventory.write"])
        return {"Authorization": f"Bearer {token}"}
    cash = ("/payments", "/invoices", "/customers", "/refunds", "/receivables", "/cash", "/returns")
    if path.startswith(cash) and mint is not None:
        token = mint("contract-tester", scopes=[*CASH_SCOPES])
        return {"Authorization": f"Bearer {token}"}
    return {}


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_its_documented_contract(case: Any, api: DeployedStack) -> None:
    # Excluded: `unsupported_method` (API Gateway HTTP APIs answer an unrouted method with 404, not 405),
    # and `positive_data_acceptance`: an order's rules (currency decimals, unique line ids, a supported
    # currency, a signature over the body) cannot all be said in JSON Schema, so schema-valid is not valid.
    case.call_and_validate(
        base_url=api.api_url,
        headers=_headers(api, case.path),
        excluded_checks=[unsupported_method, positive_data_acceptance],
    )

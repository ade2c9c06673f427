"""Generate docs/openapi.json from the Powertools routes of every HTTP function (`python -m tools.openapi`).

Each function has its own resolver (one Lambda per route group); the document merges them, adds what
Powertools cannot see (request bodies the handlers read raw, for signatures; the JWT security scheme) and
is committed, so a test can tell when code and document drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "openapi.json"
TITLE = "Serverless OMS API"
VERSION = "0.1.0"
INVENTORY_MOVEMENTS = ("/inventory/{sku}/receipts", "/inventory/{sku}/adjustments", "/inventory/{sku}/counts")


def _resolvers() -> list[APIGatewayHttpResolver]:
    from approvals_api.app import app as approvals_api
    from inventory_api.app import app as inventory_api
    from order_api.app import app as order_api
    from order_entry.app import app as order_entry
    from order_intake.app import app as order_intake

    return [order_intake, order_entry, order_api, inventory_api, approvals_api]


def _order_document_schema() -> dict[str, Any]:
    from oms.channels.custom import OrderDocument

    schema = OrderDocument.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    definitions = schema.pop("$defs", {})
    schema["properties"]["customer_reference"] = {"type": "string", "maxLength": 80}
    return {"OrderDocument": schema, **definitions}


def build_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for resolver in _resolvers():
        part = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=VERSION))
        if not spec:
            spec = part
            continue
        spec["paths"].update(part.get("paths", {}))
        spec.setdefault("components", {}).setdefault("schemas", {}).update(
            part.get("components", {}).get("schemas", {})
        )
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {}).update(_order_document_schema())
    components["securitySchemes"] = {
        "OmsJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    paths = spec["paths"]
    paths["/webhooks/{channel}"]["post"]["requestBody"] = {
        "required": True,
        "description": "The channel's own webhook body, signed over its raw bytes "
        "(WooCommerce's creation ping is form-encoded).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
    paths["/orders"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderDocument"}}},
    }
    paths["/orders"]["post"]["security"] = [{"OmsJwt": ["oms/orders.write"]}]
    paths["/orders/{order_id}"]["get"]["security"] = [{"OmsJwt": ["oms/orders.read"]}]
    paths["/inventory/{sku}"]["get"]["security"] = [{"OmsJwt": ["oms/inventory.read"]}]
    for movement in INVENTORY_MOVEMENTS:
        paths[movement]["post"]["security"] = [{"OmsJwt": ["oms/inventory.write"]}]
    paths["/orders/{order_id}/audit"]["get"]["security"] = [{"OmsJwt": ["oms/audit.read"]}]
    paths["/approvals"]["get"]["security"] = [{"OmsJwt": ["oms/approvals.write"]}]
    for verb in ("approve", "reject"):
        decide = paths[f"/approvals/{{approval_id}}/{verb}"]["post"]
        decide["security"] = [{"OmsJwt": ["oms/approvals.write"]}]
    # On JWT routes, API Gateway's authorizer answers 401/403 itself, in its own shape, before the function.
    components["schemas"]["GatewayMessage"] = {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string", "examples": ["Unauthorized", "Forbidden"]}},
        "title": "GatewayMessage",
    }
    jwt_routes = [("/orders", "post"), ("/orders/{order_id}", "get"), ("/inventory/{sku}", "get")]
    for path, method in jwt_routes + [(movement, "post") for movement in INVENTORY_MOVEMENTS]:
        responses = paths[path][method]["responses"]
        responses["401"]["content"]["application/json"]["schema"] = {
            "anyOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"$ref": "#/components/schemas/GatewayMessage"},
            ]
        }
        responses["403"] = {
            "description": "The token lacks the route's scope (answered by API Gateway)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}},
        }
    # Routes whose function refuses with 403 itself too (segregation of duties: a Problem naming the rule).
    decided_here = [
        ("/orders/{order_id}/audit", "get"),
        ("/approvals", "get"),
        ("/approvals/{approval_id}/approve", "post"),
        ("/approvals/{approval_id}/reject", "post"),
    ]
    either = {
        "anyOf": [{"$ref": "#/components/schemas/Problem"}, {"$ref": "#/components/schemas/GatewayMessage"}]
    }
    for path, method in decided_here:
        responses = paths[path][method]["responses"]
        responses["401"]["content"]["application/json"]["schema"] = either
        responses["403"] = {
            "description": "The token lacks the route's scope (API Gateway), or a named rule refused it",
            "content": {"application/json": {"schema": either}},
        }
    spec["info"]["description"] = (
        "Order intake (signed webhooks), order entry by people (JWT), order tracking, and inventory: "
        "stock per warehouse, receipts, adjustments and cycle counts (JWT)."
    )
    return spec


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main() -> int:
    SPEC.write_text(render(build_spec()))
    print(f"wrote {SPEC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

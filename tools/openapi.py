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


def _resolvers() -> list[APIGatewayHttpResolver]:
    from approvals_api.app import app as approvals_api
    from cash_api.app import app as cash_api
    from inventory_api.app import app as inventory_api
    from order_api.app import app as order_api
    from order_entry.app import app as order_entry
    from order_intake.app import app as order_intake
    from privacy_api.app import app as privacy_api
    from returns_api.app import app as returns_api

    return [
        order_intake,
        order_entry,
        order_api,
        inventory_api,
        approvals_api,
        cash_api,
        returns_api,
        privacy_api,
    ]


def _route_scopes() -> dict[tuple[str, str], str]:
    """(path, method) -> the scope template.yaml requires of the route (its AuthorizationScopes)."""
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    scopes: dict[tuple[str, str], str] = {}
    for resource in template["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event["Properties"]
            required = (props.get("Auth") or {}).get("AuthorizationScopes") or []
            if required:
                scopes[(props["Path"], props["Method"].lower())] = required[0]
    return scopes


STRIPE_WEBHOOK = {
    "post": {
        "summary": "A Stripe event, verified by the stripe library's own signature check",
        "tags": ["cash"],
        "operationId": "post_stripe_event",
        "parameters": [
            {"name": "Stripe-Signature", "in": "header", "required": False, "schema": {"type": "string"}}
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "Recorded, a duplicate, or of a type the OMS does not act on"},
            **{
                code: {
                    "description": why,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
                for code, why in (
                    ("400", "Missing, wrong or stale signature, or not a Stripe event"),
                    ("401", "Not used: Stripe signs its bodies (documented for uniformity)"),
                    ("413", "Body above 256 KB"),
                    (
                        "422",
                        "A verified event the OMS cannot record (an amount or currency it does not keep)",
                    ),
                )
            },
        },
    }
}


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
    paths["/payment-webhooks/stripe"] = STRIPE_WEBHOOK
    scoped = _route_scopes()
    for (path, method), scope in scoped.items():
        paths[path][method]["security"] = [{"OmsJwt": [scope]}]
    # On JWT routes, API Gateway's authorizer answers 401/403 itself, in its own shape, before the function.
    components["schemas"]["GatewayMessage"] = {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string", "examples": ["Unauthorized", "Forbidden"]}},
        "title": "GatewayMessage",
    }
    for path, method in sorted(scoped):
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
        "Order intake (signed webhooks), order entry by people (JWT), order tracking, inventory (stock per "
        "warehouse, receipts, adjustments and cycle counts), and cash: payments (finance, Stripe, bank "
        "statements), invoice balances and the application ledger, refunds in two steps, credit holds, "
        "returns and credit notes, the receivables report and cash exceptions (JWT; Stripe signs)."
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

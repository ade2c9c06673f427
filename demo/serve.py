"""`make serve`: the OMS on the embedded AWS as a local stack a person can drive.

Deploys template.yaml, seeds the reference distributor, configures every channel with a local secret,
serves the HTTP API and the emulated AWS on local ports, runs the template's schedules on a clock that
can be advanced, and prints what to try: signed sample orders for Shopify and WooCommerce as curl lines,
the web shop's (whose signatures expire after five minutes) through ``python -m ops send-webhook``, a
token for ``GET /orders/{id}``, and the environment for ``aws``, boto3 and ``python -m ops``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from demo.seed import DEMO_WEBHOOK_SECRETS
from infra.__main__ import add_server_arguments, run_server
from oms.domain.order import order_id_for
from ops.webhooks import signed_request

EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"
#: channel -> the recorded sample order sent in the guide
SAMPLES = {
    "shopify": EVENTS / "shopify" / "orders_create.json",
    "woocommerce": EVENTS / "woocommerce" / "order_created.json",
    "webshop": EVENTS / "webshop" / "order_created.json",
}
READ_SCOPES = ["oms/orders.read", "oms/inventory.read"]


def _external_id(channel: str, body: dict[str, Any]) -> str:
    return str(body["data"]["order_id"] if channel == "webshop" else body["id"])


def write_samples(out: Path) -> dict[str, Path]:
    """Each channel's sample body in ./out/serve, and for the HMAC channels a curl header file signed with
    the local secret (their signatures do not expire)."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for channel, sample in SAMPLES.items():
        body = json.dumps(json.loads(sample.read_text()), separators=(",", ":")).encode()
        target = out / f"{channel}-order.json"
        target.write_bytes(body)
        written[channel] = target
        if channel in ("shopify", "woocommerce"):
            headers = signed_request(channel, body, DEMO_WEBHOOK_SECRETS[channel])
            (out / f"{channel}-order.headers").write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
    return written


def guide(out: Path) -> Any:
    def text(aws: Any, stack: Any, api_url: str, endpoint: str) -> str:
        samples = write_samples(out)
        token = aws.identity_provider.mint_token("user:local-developer", READ_SCOPES, expires_in=12 * 3600)
        lines = ["", "Channels (secrets in the stack's WebhookSecrets secret):"]
        for channel, secret in DEMO_WEBHOOK_SECRETS.items():
            shown = ", ".join(secret) if isinstance(secret, list) else secret
            lines.append(f"  {channel:<12} {shown}")
        lines += ["", "Send a sample order from each channel:"]
        order_ids = []
        for channel, path in samples.items():
            body = json.loads(path.read_text())
            order_ids.append(order_id_for(channel, _external_id(channel, body)))
            if channel == "webshop":
                lines.append(
                    f"  python -m ops send-webhook webshop {path}     # signed now (5-minute tolerance)"
                )
            else:
                lines.append(
                    f"  curl -sS -X POST {api_url}/webhooks/{channel} "
                    f"-H @{path.with_suffix('.headers')} --data-binary @{path}"
                )
        lines += [
            "",
            f"Read them back (token valid 12 h, scopes {' '.join(READ_SCOPES)}):",
            f"  export TOKEN={token}",
        ]
        for order_id in order_ids:
            lines.append(f'  curl -sS {api_url}/orders/{order_id} -H "Authorization: Bearer $TOKEN"')
        lines += [
            "",
            "Operator chores against this stack (after the export line above):",
            "  python -m ops holds",
            "  python -m ops token --scopes oms/orders.write --scopes oms/orders.read",
            "  aws dynamodb list-tables",
        ]
        return "\n".join(lines)

    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every deployed resource")
    parser.add_argument("--out", type=Path, default=Path("out/serve"), help="where the sample requests go")
    add_server_arguments(parser)
    parser.set_defaults(seed="demo.seed:seed_reference_data")
    args = parser.parse_args(argv)
    args.describe = args.verbose
    return run_server(args, after_start=guide(args.out))


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line of the embedded local AWS.

python -m infra serve [--port 3000] [--template template.yaml] [--stack-name oms]
                      [--param Key=Value ...] [--seed module:function] [--retry-delay S]
python -m infra check-template [template.yaml]
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .embedded import DeployedStack, EmbeddedAws, SamError


def _parse_params(values: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param expects Key=Value, got {item!r}")
        params[key] = value
    return params


def _load_seed(spec: str) -> Callable[[DeployedStack], Any]:
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise SystemExit(f"--seed expects module:function, got {spec!r}")
    func = getattr(importlib.import_module(module_name), func_name)
    if not callable(func):
        raise SystemExit(f"--seed {spec}: not callable")
    return func  # type: ignore[no-any-return]


def _describe(stack: DeployedStack) -> str:
    lines = [f"stack {stack.stack_name}"]
    if stack.api_url:
        lines.append(f"  HTTP API   {stack.api_url}")
        for route in stack.routes:
            lines.append(f"    {route.route_key:<32} -> {route.function_name}")
    for logical_id in sorted(stack.resources):
        rtype = stack.resource_types.get(logical_id, "")
        if rtype.startswith(("AWS::IAM::", "AWS::Lambda::Permission")):
            continue
        lines.append(f"  {logical_id:<34} {rtype:<36} {stack.resources[logical_id]}")
    for key, value in sorted(stack.outputs.items()):
        lines.append(f"  output {key:<27} {value}")
    scheduled = {k for k, v in stack.skipped.items() if v == "AWS::Scheduler::Schedule"}
    if scheduled:
        lines.append("  schedules (local scheduler clock): " + ", ".join(sorted(scheduled)))
    others = {k: v for k, v in stack.skipped.items() if k not in scheduled}
    if others:
        lines.append("  not emulated: " + ", ".join(f"{k} ({v})" for k, v in sorted(others.items())))
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedAws(region=args.region, retry_delay=args.retry_delay) as aws:
        stack = aws.deploy(args.template, stack_name=args.stack_name, parameters=_parse_params(args.param))
        if args.seed:
            _load_seed(args.seed)(stack)
        url = stack.serve_http_api(port=args.port)
        print(_describe(stack), flush=True)
        print(f"\nEmbedded AWS serving {url} (Ctrl-C to stop)", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping", flush=True)
    return 0


def cmd_check_template(args: argparse.Namespace) -> int:
    """Deploy the template into a throwaway embedded AWS: proves the local system can run it."""
    try:
        with EmbeddedAws(region=args.region) as aws:
            stack = aws.deploy(args.template, stack_name=args.stack_name)
            print(_describe(stack))
    except SamError as exc:
        print(f"template check failed: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {args.template} deploys into the embedded AWS")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the embedded AWS does")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="deploy the template and serve its HTTP API until Ctrl-C")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--template", default="template.yaml")
    serve.add_argument("--stack-name", default="oms")
    serve.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    serve.add_argument("--seed", metavar="MODULE:FUNCTION", help="called as function(stack) after deploy")
    serve.add_argument(
        "--retry-delay", type=float, default=None, help="seconds before a failed SQS message is retried"
    )
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-template", help="deploy the template into a throwaway embedded AWS")
    check.add_argument("template", nargs="?", default="template.yaml")
    check.add_argument("--stack-name", default="oms")
    check.set_defaults(func=cmd_check_template)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

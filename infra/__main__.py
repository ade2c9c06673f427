"""Command line of the embedded local AWS.

python -m infra serve [--port 3000] [--endpoint-port 4566] [--template template.yaml] [--stack-name oms]
                      [--param Key=Value ...] [--seed module:function] [--retry-delay S] [--workers]
python -m infra clock [advance 15m] [--endpoint http://127.0.0.1:4566]
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


def endpoint_environment(endpoint: str, region: str) -> dict[str, str]:
    """What a shell needs for ``aws``, boto3 and ``python -m ops`` to use the local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
    }


def run_server(
    args: argparse.Namespace, after_start: Callable[[EmbeddedAws, DeployedStack, str, str], str] | None = None
) -> int:
    """Deploy, seed, serve the HTTP API and the AWS endpoint, run the schedules; stop on Ctrl-C or SIGTERM.

    ``after_start(aws, stack, api_url, endpoint_url)`` returns extra text to print once everything runs."""
    stop = threading.Event()
    # Ctrl-C and SIGTERM both stop cleanly (SIGINT explicitly: a server started in the background of a
    # non-interactive shell inherits SIGINT ignored).
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmbeddedAws(region=args.region, retry_delay=args.retry_delay, workers=args.workers) as aws:
        stack = aws.deploy(args.template, stack_name=args.stack_name, parameters=_parse_params(args.param))
        if args.seed:
            _load_seed(args.seed)(stack)
        url = stack.serve_http_api(port=args.port)
        endpoint = aws.serve_endpoint(port=args.endpoint_port)
        aws.scheduler.start_ticking()
        if getattr(args, "describe", True):
            print(_describe(stack), flush=True)
        exports = " ".join(f"{k}={v}" for k, v in endpoint_environment(endpoint, args.region).items())
        print(f"Embedded AWS: stack {stack.stack_name}, HTTP API {url}, AWS endpoint {endpoint}", flush=True)
        print(f"  for aws, boto3 and python -m ops in another shell:\n    export {exports}", flush=True)
        print("  schedules run on a local clock: python -m infra clock; python -m infra clock advance 15m")
        if after_start is not None:
            print(after_start(aws, stack, url, endpoint), flush=True)
        print("Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping", flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    return run_server(args)


def cmd_clock(args: argparse.Namespace) -> int:
    """Show the local scheduler's clock and schedules, or move the clock forward."""
    from .embedded.control import call_control

    if args.action == "advance":
        if not args.duration:
            raise SystemExit("python -m infra clock advance <duration>, e.g. 15m, 2h, 1d")
        answer = call_control(args.endpoint, "clock", {"advance": args.duration})
        print(f"now {answer['now']}")
        for run in answer["fired"]:
            print(f"  ran {run['schedule']} planned {run['planned']}: {'ok' if run['ok'] else 'FAILED'}")
        if not answer["fired"]:
            print("  nothing fell due")
        return 0
    answer = call_control(args.endpoint, "clock")
    print(f"now {answer['now']}")
    for schedule in answer["schedules"]:
        state = f"next {schedule['next']}" if schedule["enabled"] else "disabled"
        print(f"  {schedule['schedule']:<40} {schedule['expression']:<24} {state}, {schedule['runs']} runs")
    return 0


def add_server_arguments(serve: argparse.ArgumentParser, *, port: int = 3000) -> None:
    serve.add_argument("--port", type=int, default=port, help="HTTP API port")
    serve.add_argument(
        "--endpoint-port", type=int, default=4566, help="port of the emulated AWS for other processes"
    )
    serve.add_argument("--template", default="template.yaml")
    serve.add_argument("--stack-name", default="oms")
    serve.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    serve.add_argument("--seed", metavar="MODULE:FUNCTION", help="called as function(stack) after deploy")
    serve.add_argument(
        "--retry-delay", type=float, default=None, help="seconds before a failed SQS message is retried"
    )
    serve.add_argument(
        "--workers", action="store_true", help="run each function's handler in processes of its own"
    )


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
    add_server_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    clock = sub.add_parser("clock", help="the local scheduler's clock of a running `serve`")
    clock.add_argument("action", nargs="?", choices=["show", "advance"], default="show")
    clock.add_argument("duration", nargs="?", help="with advance: 90s, 15m, 2h, 1d")
    clock.add_argument(
        "--endpoint", default=None, help="the serve's AWS endpoint (default: $AWS_ENDPOINT_URL)"
    )
    clock.set_defaults(func=cmd_clock)

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

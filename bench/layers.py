"""Where the CPU goes, by layer: groups a py-spy raw profile (`py-spy record --gil -f raw`) into the layers
docs/performance.md reports (moto's serializer, its request dispatch, its DynamoDB backend, botocore's
client side, the handlers, the embedded AWS's own fill-ins, the demo driver, ...).

    py-spy record --gil -r 50 -f raw -o out/profile.txt -- \
        .venv/bin/python -m demo --orders 300 --out out/p300
    .venv/bin/python -m bench.layers out/profile.txt --rate 50 --orders 300

Each sample is charged to the innermost frame that belongs to a known layer (a sample in `json` called by
moto's serializer is the serializer's), so the shares add up to 100 %. With `--gil` py-spy samples only the
thread holding the interpreter lock, so the milliseconds per order are interpreter time, the resource a
single-process emulator runs out of.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import typer

# (layer, path prefixes after site-packages/ or the repository root), first match wins.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("moto: response serialization", ("moto/core/serialize",)),
    ("moto: DynamoDB backend", ("moto/dynamodb",)),
    ("moto: Step Functions interpreter", ("moto/stepfunctions", "antlr4")),
    (
        "moto: request dispatch and parsing",
        ("moto/core", "moto/utilities", "moto/backend", "moto/moto_api", "werkzeug"),
    ),
    ("moto: other services (SQS, S3, EventBridge, Lambda, ...)", ("moto/",)),
    (
        "botocore (client side: signing, parsing, endpoints)",
        ("botocore", "boto3", "urllib3", "s3transfer", "jmespath", "dateutil"),
    ),
    (
        "handlers (application, Powertools, pydantic, PynamoDB, fpdf2)",
        ("functions/", "oms/", "aws_lambda_powertools", "pydantic", "pynamodb", "fpdf", "fontTools", "PIL"),
    ),
    ("embedded AWS fill-ins and speed-ups (infra/)", ("infra/",)),
    (
        "demo driver (HTTP client, PDF checks, progress)",
        ("demo/", "bench/", "httpx", "httpcore", "h11", "pypdf", "rich"),
    ),
)
STANDARD_LIBRARY = "Python standard library and other"
_FRAME_FILE = re.compile(r"\((.*?):\d+\)")


@dataclass(frozen=True)
class LayerShare:
    layer: str
    samples: int
    share: float
    ms_per_order: float


def layer_of(path: str) -> str | None:
    """The layer a source file belongs to, or None for the standard library and unknown code."""
    if "site-packages/" in path:
        relative = path.split("site-packages/", 1)[1]
    else:
        relative = path
        for root in ("functions/", "infra/", "demo/", "bench/"):
            at = path.find("/" + root)
            if at >= 0:
                relative = path[at + 1 :]
                break
    for layer, prefixes in LAYERS:
        if relative.startswith(prefixes):
            return layer
    return None


def layer_of_stack(stack: str) -> str:
    """The innermost frame's layer of a `;`-separated py-spy stack (outermost first)."""
    for frame in reversed(stack.split(";")):
        match = _FRAME_FILE.search(frame)
        if match:
            layer = layer_of(match.group(1))
            if layer is not None:
                return layer
    return STANDARD_LIBRARY


def by_layer(lines: Iterable[str], *, rate_hz: float, orders: int) -> list[LayerShare]:
    """Samples per layer of py-spy raw lines ("frame;frame;... count"), largest first."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            counts[layer_of_stack(stack)] += int(count)
    total = sum(counts.values())
    if total == 0:
        return []
    return [
        LayerShare(layer, samples, samples / total, samples / rate_hz / orders * 1000)
        for layer, samples in counts.most_common()
    ]


def main(
    profile: Path = typer.Argument(..., exists=True, dir_okay=False, help="py-spy raw output (-f raw)."),
    rate: float = typer.Option(100.0, help="py-spy's sampling rate (-r), samples per second."),
    orders: int = typer.Option(..., min=1, help="Orders in the profiled run."),
) -> None:
    shares = by_layer(profile.read_text(encoding="utf-8").splitlines(), rate_hz=rate, orders=orders)
    total_ms = sum(share.ms_per_order for share in shares)
    typer.echo(f"{total_ms:.0f} ms of interpreter time per order ({orders} orders)")
    typer.echo("| layer | share | ms per order |\n|---|---:|---:|")
    for share in shares:
        typer.echo(f"| {share.layer} | {100 * share.share:.1f} % | {share.ms_per_order:.0f} |")


if __name__ == "__main__":
    typer.run(main)

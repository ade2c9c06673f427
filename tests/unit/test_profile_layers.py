"""The profile-by-layer report of docs/performance.md: each sample is charged to its innermost known layer."""

from __future__ import annotations

import pytest

from bench.layers import STANDARD_LIBRARY, by_layer, layer_of

SITE = "/work/.venv/lib/python3.11/site-packages"
HANDLERS = "handlers (application, Powertools, pydantic, PynamoDB, fpdf2)"


@pytest.mark.parametrize(
    ("path", "layer"),
    [
        (f"{SITE}/moto/core/serialize.py", "moto: response serialization"),
        (f"{SITE}/moto/core/responses.py", "moto: request dispatch and parsing"),
        (f"{SITE}/moto/dynamodb/models/table.py", "moto: DynamoDB backend"),
        (f"{SITE}/moto/sqs/models.py", "moto: other services (SQS, S3, EventBridge, Lambda, ...)"),
        (f"{SITE}/botocore/signers.py", "botocore (client side: signing, parsing, endpoints)"),
        (
            "/home/dev/oms/functions/oms/logic/tracking.py",
            "handlers (application, Powertools, pydantic, PynamoDB, fpdf2)",
        ),
        ("/home/dev/oms/infra/embedded/_speedups.py", "embedded AWS fill-ins and speed-ups (infra/)"),
        ("/usr/lib/python3.11/json/encoder.py", None),
    ],
)
def test_a_source_file_belongs_to_its_layer(path: str, layer: str | None) -> None:
    assert layer_of(path) == layer


def test_samples_go_to_the_innermost_known_layer_and_shares_add_up() -> None:
    # Given three stacks, 10 samples in the stdlib json encoder called by moto's serializer, 30 in botocore's
    # signer called from a handler, and 10 in the standard library only; py-spy at 50 Hz, 2 orders
    raw = [
        "main (demo/run.py:1);put (moto/core/serialize.py:5);encode (/usr/lib/python3.11/json/enc.py:9) 10",
        f"handler (/r/functions/oms/logic/tracking.py:3);sign ({SITE}/botocore/signers.py:7) 30",
        "run (/usr/lib/python3.11/threading.py:1) 10",
        "",
    ]

    # When grouped
    shares = {share.layer: share for share in by_layer(raw, rate_hz=50, orders=2)}

    # Then the serializer owns the json samples, botocore owns the signer's, and the rest is the stdlib's
    assert shares["moto: response serialization"].samples == 10
    assert shares["botocore (client side: signing, parsing, endpoints)"].samples == 30
    assert shares[STANDARD_LIBRARY].samples == 10
    assert sum(share.share for share in shares.values()) == pytest.approx(1.0)
    # 30 samples at 50 Hz = 0.6 s over 2 orders = 300 ms per order
    assert shares["botocore (client side: signing, parsing, endpoints)"].ms_per_order == pytest.approx(300)

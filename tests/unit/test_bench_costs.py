"""The bench's cost arithmetic: metered usage x the dated price table -> dollars per service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench import costs


@pytest.fixture(scope="module")
def prices() -> costs.PriceTable:
    return costs.load_prices()


def test_price_table_is_dated_and_every_service_cites_a_source(prices: costs.PriceTable) -> None:
    assert prices.region == "us-east-1"
    assert prices.as_of
    for service, source in prices.sources().items():
        assert source.startswith("https://aws.amazon.com/"), service


def test_standard_workflow_of_ten_transitions_costs_a_quarter_per_thousand_orders(
    prices: costs.PriceTable,
) -> None:
    # Given 1,000 orders through a Standard workflow of 10 state transitions each
    usage = costs.Usage(sfn_standard_transitions=10 * 1000)
    # When priced
    breakdown = costs.cost(usage, prices)
    # Then it is the brief's $0.25 per 1,000 orders
    assert breakdown.by_service["stepfunctions"] == Decimal("0.25")
    assert breakdown.total == Decimal("0.25")


def test_express_workflow_bills_requests_and_duration_in_100ms_and_64mb_steps(
    prices: costs.PriceTable,
) -> None:
    # Given 1,000 Express executions of 250 ms each (billed as 300 ms at 64 MB)
    gb_s = costs.express_gb_seconds([0.25] * 1000)
    assert gb_s == Decimal("0.3") * Decimal(64) / Decimal(1024) * 1000
    usage = costs.Usage(sfn_express_requests=1000, sfn_express_gb_seconds=gb_s)
    # Then: $1.00 per million requests plus the duration
    expected = Decimal("0.001") + gb_s * Decimal("0.00001667")
    assert costs.cost(usage, prices).by_service["stepfunctions"] == expected
    # And Express is far below Standard for the same ten-state order
    assert expected < Decimal("0.25") / 10


def test_express_memory_rounds_up_to_64mb_steps() -> None:
    assert costs.express_gb_seconds([0.1], memory_mb=65) == Decimal("0.1") * Decimal(128) / Decimal(1024)
    assert costs.express_gb_seconds([0.0]) == Decimal("0.1") * Decimal(64) / Decimal(1024)


def test_transactional_writes_count_double() -> None:
    assert costs.dynamodb_write_units(500) == 1
    assert costs.dynamodb_write_units(500, transactional=True) == 2
    assert costs.dynamodb_write_units(1025) == 2
    assert costs.dynamodb_write_units(1025, transactional=True) == 4
    assert costs.dynamodb_write_units(0) == 1  # a write of a missing item still costs a unit


def test_reads_are_per_4kb_halved_when_eventually_consistent_doubled_in_transactions() -> None:
    assert costs.dynamodb_read_units(100) == Decimal("0.5")
    assert costs.dynamodb_read_units(100, consistent=True) == Decimal(1)
    assert costs.dynamodb_read_units(4097, consistent=True) == Decimal(2)
    assert costs.dynamodb_read_units(4097, transactional=True) == Decimal(4)


def test_dynamodb_units_are_priced_per_million(prices: costs.PriceTable) -> None:
    usage = costs.Usage(dynamodb_write_units=Decimal(1_000_000), dynamodb_read_units=Decimal(1_000_000))
    assert costs.cost(usage, prices).by_service["dynamodb"] == Decimal("0.625") + Decimal("0.125")


def test_lambda_duration_is_rounded_up_to_the_millisecond_at_the_configured_memory(
    prices: costs.PriceTable,
) -> None:
    assert costs.lambda_billed_ms(0.0101) == 11
    assert costs.lambda_billed_ms(0.010) == 10
    assert costs.lambda_billed_ms(0.0) == 1
    gb_s = costs.lambda_gb_seconds([(0.0101, 256), (0.010, 512)])
    assert gb_s == Decimal("0.011") * Decimal("0.25") + Decimal("0.010") * Decimal("0.5")
    usage = costs.Usage(lambda_requests=2, lambda_gb_seconds=gb_s)
    expected = 2 * Decimal("0.0000002") + gb_s * Decimal("0.0000133334")
    assert costs.cost(usage, prices).by_service["lambda"] == expected


def test_sqs_and_eventbridge_bill_each_started_64kb_chunk() -> None:
    assert costs.chunks(0, 65536) == 1
    assert costs.chunks(65536, 65536) == 1
    assert costs.chunks(65537, 65536) == 2


def test_every_other_service_at_its_list_price(prices: costs.PriceTable) -> None:
    usage = costs.Usage(
        sqs_requests=1_000_000,
        s3_put_requests=1000,
        eventbridge_events=1_000_000,
        http_api_requests=1_000_000,
        log_bytes=1024**3,
        xray_traces=1_000_000,
        secretsmanager_calls=10_000,
    )
    by_service = costs.cost(usage, prices).by_service
    assert by_service["sqs"] == Decimal("0.40")
    assert by_service["s3"] == Decimal("0.005")
    assert by_service["eventbridge"] == Decimal("1.00")
    assert by_service["apigateway"] == Decimal("1.00")
    assert by_service["cloudwatch_logs"] == Decimal("0.50")
    assert by_service["xray"] == Decimal("5")
    assert by_service["secretsmanager"] == Decimal("0.05")
    assert set(by_service) == set(costs.SERVICES)


def test_breakdown_per_thousand_orders_scales_and_still_sums_to_its_total(prices: costs.PriceTable) -> None:
    usage = costs.Usage(sqs_requests=7, s3_put_requests=3, lambda_requests=11, xray_traces=2)
    per_1000 = costs.cost(usage, prices).per(250)
    assert per_1000.by_service["s3"] == Decimal(3) * Decimal("0.000005") * 4
    assert per_1000.total == sum(per_1000.by_service.values())
    with pytest.raises(ValueError, match="positive"):
        costs.cost(usage, prices).per(0)


def test_dollars_never_understate() -> None:
    assert costs.dollars(Decimal("0.0000001")) == "0.000001"
    assert costs.dollars(Decimal("0.05")) == "0.050000"

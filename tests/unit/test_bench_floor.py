"""The floor plan: the system's metered calls, spread over the orders, minus the system's own work."""

from __future__ import annotations

from bench.floor import _share, plan_from
from bench.meter import Meter


def test_calls_are_spread_over_orders_without_losing_any() -> None:
    for total in (0, 1, 7, 100, 333):
        for orders in (1, 3, 10):
            shares = [_share(total, orders, i) for i in range(orders)]
            assert sum(shares) == total
            assert max(shares) - min(shares) <= 1


def test_plan_keeps_averages_and_leaves_out_lambda_invokes() -> None:
    # Given a meter that saw 4 PutItems of 500 bytes, 2 transactions of 3 items and 6 Lambda invokes
    meter = Meter()
    for _ in range(4):
        meter.add_shape("dynamodb", "PutItem", 500, 1)
    for _ in range(2):
        meter.add_shape("dynamodb", "TransactWriteItems", 900, 3)
    for _ in range(6):
        meter.add_shape("lambda", "Invoke", 0)
    meter.add_shape("glue", "StartJobRun", 0)
    # When planned for 2 orders of 7-state executions
    plan = plan_from(meter, 2, 7)
    # Then
    steps = {f"{s.service}.{s.operation}": s for s in plan.steps}
    assert set(steps) == {"dynamodb.PutItem", "dynamodb.TransactWriteItems"}
    assert (steps["dynamodb.PutItem"].total, steps["dynamodb.PutItem"].payload) == (4, 500)
    assert steps["dynamodb.TransactWriteItems"].items == 3
    assert plan.transitions_per_execution == 7
    assert plan.skipped == ["glue.StartJobRun"]
    assert plan.as_dict()["calls_per_order"] == 3

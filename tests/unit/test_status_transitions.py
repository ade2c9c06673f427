"""The explicit transition table: what may follow what."""

from __future__ import annotations

import pytest

from oms.domain.status import ALLOWED_TRANSITIONS, TERMINAL, OrderStatus, can_transition


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.RECEIVED, OrderStatus.VALIDATED),
        (OrderStatus.VALIDATED, OrderStatus.ALLOCATED),
        (OrderStatus.ALLOCATED, OrderStatus.FULFILLMENT_REQUESTED),
        (OrderStatus.FULFILLMENT_REQUESTED, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        (OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED),
        (OrderStatus.RECEIVED, OrderStatus.ON_HOLD),
        (OrderStatus.ALLOCATED, OrderStatus.FAILED),
    ],
)
def test_the_happy_path_and_its_exits_are_allowed(current: OrderStatus, target: OrderStatus) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.RECEIVED, OrderStatus.ALLOCATED),  # no allocation without validation
        (OrderStatus.SHIPPED, OrderStatus.FAILED),  # goods left: no failing back
        (OrderStatus.DELIVERED, OrderStatus.IN_TRANSIT),
        (OrderStatus.SHIPPED, OrderStatus.CANCELLED),
    ],
)
def test_skips_and_regressions_are_refused(current: OrderStatus, target: OrderStatus) -> None:
    assert not can_transition(current, target)


def test_terminal_statuses_lead_nowhere() -> None:
    for target, sources in ALLOWED_TRANSITIONS.items():
        assert not (sources & TERMINAL), f"{target} may be entered from a terminal status"


def test_every_status_can_be_entered_from_somewhere() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(OrderStatus)


def test_an_order_goes_back_to_received_only_before_allocation_or_when_a_failure_is_retried() -> None:
    # An amendment re-validates the order; once stock is reserved the content is fixed.
    assert ALLOWED_TRANSITIONS[OrderStatus.RECEIVED] == {
        OrderStatus.VALIDATED,
        OrderStatus.ON_HOLD,
        OrderStatus.FAILED,  # `ops retry` of an order that failed in validation
    }

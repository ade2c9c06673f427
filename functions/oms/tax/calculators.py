"""The local tax calculators: the dated rate table, and the channel as calculator of record.

Both work from the same table (`oms.tax.rates`):

* `RateTableCalculator` expects the destination's state (or national) rate on every taxable item, on
  shipping where the state taxes it, nothing where the seller does not collect (policy `nexus`). The table
  has no local rates: the county, city and district lines a channel gives are taken at their rates when
  the state has local taxes and their sum is within the policy's `max_local_rate`; a channel that gives one
  combined line ("Sales Tax 8.875 %") is taken at that rate on the same condition.
* `ChannelCalculator` takes the channel's own tax lines (Shopify Tax, WooCommerce's tax settings) when their
  rates are plausible for the destination: no rate, or a state line at the state's rate and a combined rate
  between the state's rate and the state's rate plus `max_local_rate` (exactly the state's rate where there
  are no local taxes; at most the standard rate for VAT/GST). It recomputes each amount from the channel's
  rate, so arithmetic slips are caught too. Where the table knows no rate, the channel is trusted.
"""

from __future__ import annotations

from decimal import Decimal

from oms.domain.pricing import ItemKind, TaxLevel, TaxLine
from oms.domain.status import HoldReason
from oms.money import ZERO, quantum
from oms.pricing.taxmath import RateSpec
from oms.tax.policy import TaxPolicy
from oms.tax.port import ItemTax, TaxableItem, TaxProblem, TaxQuote, TaxRequest, priced
from oms.tax.rates import Jurisdiction, RateTable

LOCAL_LEVELS = frozenset({TaxLevel.COUNTY, TaxLevel.CITY, TaxLevel.DISTRICT})


def _pct(rate: Decimal) -> str:
    text = f"{rate * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


def _range(j: Jurisdiction, policy: TaxPolicy) -> tuple[Decimal, Decimal]:
    """The plausible combined rates of a taxed item at `j`."""
    if not j.key.startswith("US-"):
        return ZERO, j.rate  # VAT/GST: reduced rates exist, nothing above the standard rate
    low = j.rate
    high = j.rate + policy.max_local_rate if j.local_taxes else j.rate
    return low, high


def _unknown(request: TaxRequest, calculator: str, source: str) -> TaxQuote:
    key = request.destination.jurisdiction
    return TaxQuote(
        calculator=calculator,
        source=source,
        problems=[
            TaxProblem(reason=HoldReason.UNKNOWN_JURISDICTION, message=f"no tax rate for {key} ({source})")
        ],
    )


class RateTableCalculator:
    name = "rate_table"

    def __init__(self, table: RateTable, policy: TaxPolicy) -> None:
        self.table = table
        self.policy = policy

    def _destination_rates(
        self, request: TaxRequest, j: Jurisdiction
    ) -> tuple[list[tuple[RateSpec, TaxLine]], list[TaxProblem]]:
        """The rates every taxable item at this destination should carry: the table's, with the local
        ones the channel gives."""
        channel_lines = [t for item in request.items for t in item.channel_taxes if t.rate is not None]
        problems: list[TaxProblem] = []
        low, high = _range(j, self.policy)
        combined = [t for t in channel_lines if t.level is TaxLevel.COMBINED]
        if combined and j.key.startswith("US-"):
            combined_rates = {t.rate for t in combined}
            line = combined[0]
            assert line.rate is not None
            if len(combined_rates) == 1 and low <= line.rate <= high:
                return [
                    (RateSpec(line.title, line.rate), line.model_copy(update={"jurisdiction": j.key}))
                ], []
            problems.append(
                TaxProblem(
                    reason=HoldReason.TAX_MISMATCH,
                    message=f"{line.title} {_pct(line.rate)} is not a plausible rate for {j.key} "
                    f"({_pct(low)} to {_pct(high)})",
                )
            )
        state_line = next((t for t in channel_lines if t.level is TaxLevel.STATE), None)
        rates: list[tuple[RateSpec, TaxLine]] = []
        for component in j.components:
            title, rate = component.title, component.rate
            if (
                component.level is TaxLevel.STATE
                and state_line is not None
                and state_line.rate in j.state_rates
            ):
                title, rate = state_line.title, state_line.rate  # the channel's name for the same rate
            rates.append(
                (
                    RateSpec(title, rate),
                    TaxLine(title=title, rate=rate, amount=ZERO, level=component.level, jurisdiction=j.key),
                )
            )
        if not j.key.startswith("US-"):
            return rates, problems
        locals_: dict[tuple[str, Decimal | None], TaxLine] = {}
        for t in channel_lines:
            if t.level in LOCAL_LEVELS:
                locals_.setdefault(t.key, t)
        local_sum = sum((t.rate or ZERO for t in locals_.values()), ZERO)
        state_rate = sum((spec.rate for spec, _ in rates), ZERO)
        if locals_:
            if j.local_taxes and low <= state_rate + local_sum <= high:
                rates += [(RateSpec(t.title, t.rate or ZERO), t) for t in locals_.values()]
            else:
                problems.append(
                    TaxProblem(
                        reason=HoldReason.TAX_MISMATCH,
                        message=f"local tax rates of {_pct(local_sum)} are not plausible for {j.key} "
                        + (
                            "(no local sales taxes)" if not j.local_taxes else f"(at most {_pct(high - low)})"
                        ),
                    )
                )
        elif state_rate < low:
            # A state line at the state's own part (CA 6 %) without the statewide local rate it implies.
            rates[0] = (RateSpec(rates[0][0].title, low), rates[0][1].model_copy(update={"rate": low}))
        return rates, problems

    def quote(self, request: TaxRequest) -> TaxQuote:
        source = self.table.source
        j = self.table.get(request.destination.jurisdiction)
        if j is None:
            return _unknown(request, self.name, source)
        collects = self.policy.collects_in(j.key)
        rates, problems = self._destination_rates(request, j)
        ships_taxed = self.policy.ships_taxed(j.key, j.shipping_taxable)
        items = []
        for item in request.items:
            taxed = collects and item.taxable and (item.kind is not ItemKind.SHIPPING or ships_taxed)
            if not taxed or item.amount == 0 or (j.rate == 0 and not any(s.rate for s, _ in rates)):
                items.append(ItemTax(item_id=item.item_id))
                continue
            items.append(priced(item, rates, inclusive=request.prices_include_tax, currency=request.currency))
        return TaxQuote(calculator=self.name, source=source, items=items, problems=problems)


class ChannelCalculator:
    name = "channel"

    def __init__(self, table: RateTable, policy: TaxPolicy) -> None:
        self.table = table
        self.policy = policy

    def _plausibility(
        self, item: TaxableItem, j: Jurisdiction | None, currency: str, *, inclusive: bool
    ) -> str | None:
        if j is None:
            return None
        lines = item.channel_taxes
        if not lines and not item.channel_tax:
            return None
        low, high = _range(j, self.policy)
        if lines and all(t.rate is not None for t in lines):
            rate = sum((t.rate or ZERO for t in lines), ZERO)
            if rate == 0:
                return None
            for t in lines:
                if j.key.startswith("US-") and t.level is TaxLevel.STATE and t.rate not in j.state_rates:
                    rates = " or ".join(_pct(r) for r in sorted(j.state_rates))
                    return (
                        f"{t.title} {_pct(t.rate or ZERO)} on {item.description} is not {j.key}'s "
                        f"state rate ({rates})"
                    )
            if not low <= rate <= high:
                return (
                    f"tax rate {_pct(rate)} on {item.description} is not plausible for {j.key} "
                    f"({_pct(low)} to {_pct(high)})"
                )
            return None
        # An amount without rates: the rate it implies, with half a minor unit of rounding either way.
        base = item.amount - item.channel_tax if inclusive else item.amount
        if base <= 0:
            return None
        half = quantum(currency) / 2
        lowest, highest = (item.channel_tax - half) / base, (item.channel_tax + half) / base
        if highest < low or lowest > high:
            implied = (item.channel_tax / base).quantize(Decimal("0.0001"))
            return (
                f"tax {item.channel_tax} on {item.description} is {_pct(implied)}, "
                f"not plausible for {j.key} ({_pct(low)} to {_pct(high)})"
            )
        return None

    def quote(self, request: TaxRequest) -> TaxQuote:
        j = self.table.get(request.destination.jurisdiction)
        source = "channel" + (f", checked against the {self.table.source}" if j else "")
        items: list[ItemTax] = []
        problems: list[TaxProblem] = []
        for item in request.items:
            implausible = self._plausibility(item, j, request.currency, inclusive=request.prices_include_tax)
            if implausible:
                problems.append(
                    TaxProblem(reason=HoldReason.TAX_MISMATCH, message=implausible, item_id=item.item_id)
                )
            lines = item.channel_taxes
            if lines and all(t.rate is not None for t in lines):
                rates = [(RateSpec(t.title, t.rate or ZERO, t.compound), t) for t in lines]
                items.append(
                    priced(item, rates, inclusive=request.prices_include_tax, currency=request.currency)
                )
            elif lines or item.channel_tax:
                stated = lines or [TaxLine(title="Tax", amount=item.channel_tax)]
                items.append(ItemTax(item_id=item.item_id, lines=stated, exact=[t.amount for t in stated]))
            else:
                items.append(ItemTax(item_id=item.item_id))
        return TaxQuote(calculator=self.name, source=source, items=items, problems=problems)

"""Matching a received credit to the invoices it pays, as a cash clerk would: by the invoice numbers the
payer wrote (the remittance reference), then by amount and customer; what cannot be matched is unapplied
cash for a person (an exception record), never a guess.

Pure: the lookups are passed in (the service reads them through the data layer)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oms.cash.ledger import Receivable, allocation

INVOICE_NUMBER = re.compile(r"\bINV-?(\d{4})-?(\d{7})\b", re.IGNORECASE)


def referenced_invoice_numbers(*texts: str | None) -> list[str]:
    """Invoice numbers in remittance text, normalised (INV-2026-0000042), in the order written, once each."""
    found: list[str] = []
    for text in texts:
        for year, number in INVOICE_NUMBER.findall(text or ""):
            normalised = f"INV-{year}-{number}"
            if normalised not in found:
                found.append(normalised)
    return found


@dataclass(frozen=True)
class Match:
    customer_id: str | None
    shares: list[tuple[Receivable, Decimal]] = field(default_factory=list)
    how: str = ""
    """How it was matched, or why it was not (what the exception record says)."""
    exception: str | None = None
    """UNAPPLIED_CASH, CURRENCY_MISMATCH, AMBIGUOUS_REFERENCE: why a person must look (None: matched)."""

    @property
    def applied(self) -> Decimal:
        return sum((amount for _, amount in self.shares), Decimal(0))


def match_credit(
    *,
    amount: Decimal,
    currency: str,
    texts: Sequence[str | None],
    invoice: Callable[[str], Receivable | None],
    open_with_amount: Callable[[Decimal, Decimal], list[Receivable]],
    customer_named: Callable[[str], str | None],
    open_of_customer: Callable[[str], list[Receivable]],
    tolerance: Decimal,
    limit: int,
) -> Match:
    numbers = referenced_invoice_numbers(*texts)
    if numbers:
        found = [r for r in (invoice(n) for n in numbers) if r is not None]
        unknown = [n for n in numbers if n not in {r.invoice_number for r in found}]
        if not found:
            return Match(
                None, how=f"references {', '.join(numbers)}: no such invoice", exception="UNAPPLIED_CASH"
            )
        customers = {r.customer_id for r in found}
        if len(customers) > 1:
            return Match(
                None,
                how=f"references invoices of {len(customers)} customers",
                exception="AMBIGUOUS_REFERENCE",
            )
        customer = customers.pop()
        foreign = [r for r in found if r.currency != currency]
        if foreign:
            return Match(
                customer,
                how=f"a {currency} payment for {foreign[0].invoice_number}, "
                f"invoiced in {foreign[0].currency}",
                exception="CURRENCY_MISMATCH",
            )
        open_ones = [r for r in found if r.outstanding > 0][:limit]
        shares = allocation(amount, open_ones)
        note = f"by reference {', '.join(numbers)}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        return Match(customer, shares, note, None if shares else "UNAPPLIED_CASH")
    text = " ".join(t for t in texts if t)
    named = customer_named(text) if text else None
    candidates = [
        r
        for r in open_with_amount(amount, tolerance)
        if r.currency == currency and named in (None, r.customer_id)
    ]
    if len(candidates) == 1:
        (only,) = candidates
        return Match(
            only.customer_id,
            [(only, min(amount, only.outstanding))],
            f"by amount {amount} {currency}" + (" and customer" if named else ""),
        )
    if named is not None:
        open_ones = [r for r in open_of_customer(named) if r.currency == currency]
        why = f"from {named} without an invoice reference"
        if len(candidates) > 1:
            why += f"; {len(candidates)} open invoices of that amount"
        elif not open_ones:
            why += "; nothing open: kept as the customer's credit"
        return Match(named, how=why, exception="UNAPPLIED_CASH")
    why = "no invoice reference, no known payer"
    if len(candidates) > 1:
        why += f"; {len(candidates)} open invoices of that amount"
    return Match(None, how=why, exception="UNAPPLIED_CASH")

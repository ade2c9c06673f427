"""The cash ledger's invariants, checked over what is stored (not over what the code meant to store):

1. for every invoice, applied = the sum of its ledger entries, outstanding = total - applied, and
   0 <= outstanding <= total;
2. for every payment and credit note, applied = the sum of the entries it made, 0 <= applied + refunded <=
   amount, and unapplied = amount - applied - refunded;
3. no ledger entry is reversed more than once;
4. every customer account agrees with its invoices and credit: open receivables = the outstanding of the
   customer's invoices, unapplied credit = what the customer's payments and credit notes have left;
5. every customer's credit exposure (decision 0028) = the totals of its counted orders not yet invoiced +
   what the invoices of its counted orders still owe (so a payment gives the room back, and nothing leaks).

Run by the e2e test, the demo's cash weeks and the integration tests; a scheduled reconciliation can run it
on AWS. Kept apart from oms.governance.invariants (the order and stock checks) so that both can grow.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from oms.data.models import (
    CreditNoteRecord,
    CustomerAccountRecord,
    CustomerRecord,
    InvoiceRecord,
    LedgerEntryRecord,
    OrderRecord,
    PaymentRecord,
)

ZERO = Decimal(0)


@dataclass
class CashCheck:
    invoices: int = 0
    sources: int = 0
    entries: int = 0
    accounts: int = 0
    exposures: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.violations


def check_cash_ledger() -> CashCheck:
    """Read the invoices, payments, credit notes, entries and accounts (models bound) and check them."""
    result = CashCheck()
    entries = list(LedgerEntryRecord.scan(consistent_read=True))
    result.entries = len(entries)
    by_invoice: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    by_source: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        by_invoice[entry.invoice_number] += entry.amount
        by_source[entry.source_id] += entry.amount
    reversed_ids = Counter(e.reverses for e in entries if e.reverses)
    result.violations += [f"entry {e} reversed {n} times" for e, n in reversed_ids.items() if n > 1]

    outstanding: defaultdict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    owed_by_order: dict[str, Decimal] = {}
    for invoice in InvoiceRecord.scan(consistent_read=True):
        if invoice.order_id.startswith("SEQUENCE#"):
            continue
        result.invoices += 1
        applied = invoice.applied if invoice.applied is not None else ZERO
        left = invoice.outstanding if invoice.outstanding is not None else invoice.grand_total
        number = invoice.invoice_number
        if applied != by_invoice[number]:
            result.violations.append(
                f"invoice {number}: applied {applied} but its entries sum to {by_invoice[number]}"
            )
        if left != invoice.grand_total - applied or not ZERO <= left <= invoice.grand_total:
            result.violations.append(
                f"invoice {number}: outstanding {left} of {invoice.grand_total}, applied {applied}"
            )
        outstanding[(invoice.customer_id, invoice.currency)] += left
        owed_by_order[invoice.order_id] = left

    credit: defaultdict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    sources: list[tuple[str, str | None, str, Decimal, Decimal, Decimal, Decimal]] = []
    for payment in PaymentRecord.scan(PaymentRecord.payment_id.startswith("pay_"), consistent_read=True):
        sources.append(
            (
                payment.payment_id,
                payment.customer_id,
                payment.currency,
                payment.amount,
                payment.applied,
                payment.refunded,
                payment.unapplied,
            )
        )
    for note in CreditNoteRecord.scan(
        CreditNoteRecord.credit_note_id.startswith("cn_"), consistent_read=True
    ):
        if note.amount is None or note.currency is None:
            continue
        applied = note.applied or ZERO
        sources.append(
            (
                note.credit_note_id,
                note.customer_id,
                note.currency,
                note.amount,
                applied,
                ZERO,
                note.unapplied or ZERO,
            )
        )
    for source_id, customer, currency, amount, applied, refunded, unapplied in sources:
        result.sources += 1
        if applied != by_source[source_id]:
            result.violations.append(
                f"{source_id}: applied {applied} but its entries sum to {by_source[source_id]}"
            )
        if not ZERO <= applied + refunded <= amount or unapplied != amount - applied - refunded:
            result.violations.append(
                f"{source_id}: amount {amount}, applied {applied}, refunded {refunded}, unapplied {unapplied}"
            )
        if customer:
            credit[(customer, currency)] += unapplied

    for account in CustomerAccountRecord.scan(CustomerAccountRecord.entry.startswith("ACCOUNT#")):
        result.accounts += 1
        key = (account.customer_id, account.currency or "")
        receivables = account.open_receivables or ZERO
        unapplied_credit = account.unapplied_credit or ZERO
        if receivables != outstanding[key]:
            result.violations.append(
                f"account {key}: open receivables {receivables}, its invoices owe {outstanding[key]}"
            )
        if unapplied_credit != credit[key]:
            result.violations.append(
                f"account {key}: unapplied credit {unapplied_credit}, its credit is {credit[key]}"
            )
    result.violations += _exposure_violations(result, owed_by_order)
    return result


def _exposure_violations(result: CashCheck, owed_by_order: dict[str, Decimal]) -> list[str]:
    expected: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for order in OrderRecord.scan(OrderRecord.credit_exposure.exists(), consistent_read=True):
        counted = Decimal(order.credit_exposure)
        expected[order.customer.customer_id] += owed_by_order.get(order.order_id, counted)
    violations = []
    for customer in CustomerRecord.scan(consistent_read=True):
        if customer.exposure is None and customer.customer_id not in expected:
            continue
        result.exposures += 1
        held = Decimal(customer.exposure or 0)
        if held != expected[customer.customer_id]:
            violations.append(
                f"customer {customer.customer_id}: credit exposure {held}, its counted orders and their "
                f"invoices come to {expected[customer.customer_id]}"
            )
    return violations

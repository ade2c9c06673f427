"""BAI2 statement files as a bank sends them (BAI2 spec, version 2: file/group/account headers, detail
records, trailers with control totals and record counts), written by hand so that the importer's reading
through the `bai2` package is checked against a file it did not produce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

INCOMING_WIRE = "195"
"""BAI2 detail type code: incoming money transfer (a credit)."""
ACH_CREDIT = "165"
CHECK_PAID = "475"
"""A debit: not a payment received."""


@dataclass(frozen=True)
class Detail:
    amount: Decimal
    text: str
    bank_reference: str = ""
    customer_reference: str = ""
    type_code: str = INCOMING_WIRE


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def bai2_statement(
    details: list[Detail],
    *,
    file_id: str,
    on: date,
    currency: str = "USD",
    account: str = "4410029931",
    sender: str = "121000248",
    receiver: str = "NORTHWIND",
) -> bytes:
    """One file, one group, one account; the trailers' totals and counts computed as the spec says."""
    day = on.strftime("%y%m%d")
    account_records = [f"03,{account},{currency},010,100000000,,/"]
    total = 100000000
    for d in details:
        cents = _cents(d.amount)
        total += cents
        account_records.append(
            f"16,{d.type_code},{cents},Z,{d.bank_reference},{d.customer_reference},{d.text}/"
        )
    account_records.append(f"49,{total},{len(account_records) + 1}/")
    group = [f"02,{receiver},{sender},1,{day},0600,{currency},2/", *account_records]
    group.append(f"98,{total},1,{len(group) + 1}/")
    records = [f"01,{sender},{receiver},{day},0600,{file_id},,,2/", *group]
    records.append(f"99,{total},1,{len(records) + 1}/")
    return ("\n".join(records) + "\n").encode("ascii")

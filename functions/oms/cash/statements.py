"""Bank statements, read into one shape whatever their format: BAI2 (US banks, through the `bai2` package,
which also checks the file's control totals and record counts).

A file that is not a statement, or whose totals do not add up, raises `StatementRejectedError` with the
reason: it is recorded as a rejected statement (an exception for a person), never half-read. Only detail
credits are payments received; debits, summaries and status records are the bank's business."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from oms.domain.errors import OmsError
from oms.money import MINOR_UNITS

MAX_STATEMENT_BYTES = 5 * 1024 * 1024


class StatementRejectedError(OmsError):
    code = "STATEMENT_REJECTED"


@dataclass(frozen=True)
class StatementCredit:
    line: int
    """Position in the statement (1-based), across its accounts."""
    account: str
    currency: str
    amount: Decimal
    value_date: date
    type_code: str
    bank_reference: str | None
    customer_reference: str | None
    text: str
    """The remittance information: what the payer wrote (invoice numbers, their name)."""

    @property
    def payment_key(self) -> str:
        """What identifies this credit at the bank: its reference, else its place in the statement."""
        reference = self.bank_reference or self.customer_reference
        if reference:
            return f"{self.account}:{reference}"
        return f"{self.account}:{self.value_date.isoformat()}:{self.line}:{self.amount}"


@dataclass(frozen=True)
class Statement:
    format: str
    statement_id: str
    """What the bank says identifies the file (sender, receiver, file id, creation date)."""
    sha256: str
    sender: str
    created_on: date
    credits: list[StatementCredit] = field(default_factory=list)
    debits: int = 0


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_statement(raw: bytes) -> Statement:
    """A BAI2 file as a `Statement`; anything else is refused with the reason."""
    if len(raw) > MAX_STATEMENT_BYTES:
        raise StatementRejectedError(f"the file is {len(raw)} bytes; statements above 5 MB are not read")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise StatementRejectedError(f"not a BAI2 file: byte {exc.start} is not ASCII") from exc
    if not text.lstrip().startswith("01,"):
        first = text.strip().splitlines()[0][:40] if text.strip() else "(empty)"
        raise StatementRejectedError(
            f"not a BAI2 file: it must start with a 01 file header, starts {first!r}"
        )
    return _parse_bai2(text, content_hash(raw))


def _parse_bai2(text: str, sha256: str) -> Statement:
    from bai2 import bai2
    from bai2.constants import TypeCodeLevel, TypeCodeTransaction
    from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException

    try:
        parsed = bai2.parse_from_string(text, check_integrity=True)
    except IntegrityException as exc:
        raise StatementRejectedError(f"BAI2 totals do not add up: {exc}") from exc
    except (ParsingException, NotSupportedYetException, ValueError, IndexError, KeyError, TypeError) as exc:
        raise StatementRejectedError(f"not a readable BAI2 file: {type(exc).__name__}: {exc}"[:500]) from exc
    header = parsed.header
    created = header.creation_date
    statement_id = f"bai2:{header.sender_id}:{header.receiver_id}:{created.isoformat()}:{header.file_id}"
    credits: list[StatementCredit] = []
    debits = 0
    line = 0
    for group in parsed.children:
        group_currency = group.header.currency or "USD"
        as_of = group.header.as_of_date
        for account in group.children:
            currency = account.header.currency or group_currency
            for detail in account.children:
                line += 1
                code = detail.type_code
                if code is None or code.level is not TypeCodeLevel.detail:
                    continue
                if code.transaction is not TypeCodeTransaction.credit:
                    debits += 1
                    continue
                if currency not in MINOR_UNITS:
                    raise StatementRejectedError(
                        f"line {line}: currency {currency!r} is not one the OMS keeps"
                    )
                amount = Decimal(int(detail.amount)).scaleb(-MINOR_UNITS[currency])
                credits.append(
                    StatementCredit(
                        line=line,
                        account=str(account.header.customer_account_number),
                        currency=currency,
                        amount=amount,
                        value_date=as_of,
                        type_code=code.code,
                        bank_reference=(detail.bank_reference or None),
                        customer_reference=(detail.customer_reference or None),
                        text=(detail.text or "").strip().lstrip("/").strip(),
                    )
                )
    return Statement("BAI2", statement_id, sha256, str(header.sender_id), created, credits, debits)

"""Cash arriving from outside: bank statement files dropped into S3, and a card provider's (Stripe's) events.

Both are hostile input. A file that is not a statement is recorded as REJECTED with the reason (and an
exception record); the same statement delivered again (the S3 event twice, or the file dropped twice) is a
duplicate and changes nothing, because each credit is recorded under what identifies it at the bank; a
different file claiming an imported statement's identity is refused for a person to look at. Stripe events
reach this module only after `stripe.Webhook.construct_event` verified their signature and timestamp; each
event id is recorded once, in the transaction of the payment it brings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError

from oms.aws import client
from oms.cash.ledger import CashError, SourceKind
from oms.cash.policy import CashPolicy
from oms.cash.service import PaymentOutcome, record_payment
from oms.cash.statements import StatementRejectedError, content_hash, parse_statement
from oms.data import cash as store
from oms.data.models import BankStatementRecord, OrderRecord, PaymentRecord, ProviderEventRecord
from oms.money import MINOR_UNITS
from oms.observability import MetricUnit, logger, metrics

ACTOR = "service:bank-statements"


@dataclass(frozen=True)
class StatementOutcome:
    statement_id: str
    state: str
    duplicate: bool = False
    credits: int = 0
    applied: int = 0
    unapplied: int = 0
    reason: str | None = None


def bank_payment_id(statement_key: str) -> str:
    return "pay_bank_" + hashlib.sha256(statement_key.encode()).hexdigest()[:24]


def import_statement(*, bucket: str, key: str, at: datetime, policy: CashPolicy) -> StatementOutcome:
    raw = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    sha = content_hash(raw)
    try:
        statement = parse_statement(raw)
    except StatementRejectedError as exc:
        statement_id = f"file:{sha}"
        _record_rejection(statement_id, sha, key, exc.reason, at)
        return StatementOutcome(statement_id, "REJECTED", reason=exc.reason)
    record = BankStatementRecord(
        statement.statement_id,
        sha256=sha,
        object_key=key,
        state="IMPORTING",
        format=statement.format,
        credits=len(statement.credits),
        received_at=at,
    )
    existing = store.get_or_none(BankStatementRecord, statement.statement_id)
    if existing is not None and existing.sha256 != sha:
        reason = (
            f"{key} claims statement {statement.statement_id}, imported from {existing.object_key} "
            "with other content: not imported (a corrected statement needs a new file id)"
        )
        store.save_exception(
            None,
            exception_id=f"STATEMENT_CONFLICT:{sha}",
            kind="STATEMENT_CONFLICT",
            subject=f"statement:{key}",
            reason=reason,
            at=at,
        )
        return StatementOutcome(statement.statement_id, "REJECTED", reason=reason)
    if existing is not None and existing.state == "IMPORTED":
        logger.info("statement imported before", extra={"statement_id": statement.statement_id, "key": key})
        return StatementOutcome(
            statement.statement_id, "IMPORTED", duplicate=True, credits=int(existing.credits or 0)
        )
    if existing is None:
        try:
            record.save(condition=BankStatementRecord.statement_id.does_not_exist())
        except PutError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
    applied = unapplied = 0
    for credit in statement.credits:
        outcome = record_payment(
            payment_id=bank_payment_id(credit.payment_key),
            source="BANK",
            amount=credit.amount,
            currency=credit.currency,
            received_on=credit.value_date,
            at=at,
            by=ACTOR,
            policy=policy,
            reference=credit.text or credit.customer_reference,
            provider_ref=f"{credit.account}:{credit.bank_reference or credit.line}",
            statement_id=statement.statement_id,
            texts=[credit.customer_reference, credit.text],
        )
        applied += int(bool(outcome.invoices))
        unapplied += int(outcome.unapplied > 0)
    BankStatementRecord(statement.statement_id).update(
        actions=[
            BankStatementRecord.state.set("IMPORTED"),
            BankStatementRecord.applied.set(applied),
            BankStatementRecord.unapplied.set(unapplied),
            BankStatementRecord.finished_at.set(at),
        ]
    )
    metrics.add_metric(name="StatementsImported", unit=MetricUnit.Count, value=1)
    return StatementOutcome(
        statement.statement_id, "IMPORTED", False, len(statement.credits), applied, unapplied
    )


def _record_rejection(statement_id: str, sha: str, key: str, reason: str, at: datetime) -> None:
    try:
        BankStatementRecord(
            statement_id, sha256=sha, object_key=key, state="REJECTED", reason=reason[:1000], received_at=at
        ).save(condition=BankStatementRecord.statement_id.does_not_exist())
    except PutError as exc:
        if "ConditionalCheckFailed" not in str(exc):
            raise
        return
    store.save_exception(
        None,
        exception_id=f"STATEMENT_REJECTED:{sha}",
        kind="STATEMENT_REJECTED",
        subject=f"statement:{key}",
        reason=f"{key}: {reason}",
        at=at,
    )
    metrics.add_metric(name="StatementsRejected", unit=MetricUnit.Count, value=1)


# ---------------------------------------------------------------------------------------------- Stripe
def _amount(minor: Any, currency: str) -> Decimal:
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise CashError(f"amount {minor!r} is not a whole number of {currency} minor units")
    return Decimal(minor).scaleb(-MINOR_UNITS[currency])


def handle_stripe_event(event: dict[str, Any], *, at: datetime, policy: CashPolicy) -> str:
    """What a verified Stripe event changes; returns the outcome recorded for its id."""
    event_id = str(event.get("id", ""))
    kind = str(event.get("type", ""))
    key = f"event#stripe:{event_id}"
    if store.get_or_none(ProviderEventRecord, key) is not None:
        return "duplicate"
    obj = ((event.get("data") or {}).get("object")) or {}
    marker = ProviderEventRecord(key, kind=kind, received_at=at, outcome="recorded")
    remember = (lambda tx: tx.save(marker, condition=ProviderEventRecord.event_id.does_not_exist()),)
    if kind == "payment_intent.succeeded":
        currency = str(obj.get("currency", "")).upper()
        if currency not in MINOR_UNITS:
            raise CashError(f"payment intent in {currency!r}, a currency the OMS does not keep")
        metadata = obj.get("metadata") or {}
        order_id = metadata.get("order_id") or None
        customer_id = metadata.get("customer_id") or _customer_of(order_id)
        outcome: PaymentOutcome = record_payment(
            payment_id=f"pay_stripe_{obj.get('id')}",
            source="STRIPE",
            amount=_amount(obj.get("amount_received", obj.get("amount")), currency),
            currency=currency,
            received_on=datetime.fromtimestamp(
                int(event.get("created") or at.timestamp()), tz=at.tzinfo
            ).date(),
            at=at,
            by="provider:stripe",
            policy=policy,
            customer_id=customer_id,
            order_id=order_id,
            provider_ref=str(obj.get("latest_charge") or obj.get("id")),
            reference=metadata.get("invoice_number"),
            texts=[metadata.get("invoice_number")],
            extra=remember,
        )
        return "duplicate" if outcome.duplicate else f"payment {outcome.payment_id}"
    if kind in ("charge.refunded", "charge.dispute.created"):
        intent = obj.get("payment_intent")
        payment = store.find_payment(f"pay_stripe_{intent}") if intent else None
        currency = str(obj.get("currency", "")).upper()
        amount = _amount(obj.get("amount_refunded" if kind == "charge.refunded" else "amount", 0), currency)
        subject = f"payment:{payment.payment_id}" if payment else f"stripe:{obj.get('id')}"
        refunded_here = payment is not None and payment.refunded >= amount
        if kind == "charge.refunded" and refunded_here:
            outcome_text = "refund executed through the OMS"
        else:
            what = (
                "dispute opened"
                if kind == "charge.dispute.created"
                else "refunded at Stripe, not through the OMS"
            )
            store.save_exception(
                None,
                exception_id=f"{kind}:{obj.get('id')}",
                kind="DISPUTE" if kind == "charge.dispute.created" else "REFUNDED_OUTSIDE_THE_OMS",
                subject=subject,
                reason=f"{amount} {currency} {what} (charge {obj.get('id')}): credit or re-invoice",
                at=at,
                amount=amount,
                currency=currency,
                customer_id=payment.customer_id if payment else None,
            )
            outcome_text = "exception recorded"
        try:
            marker.outcome = outcome_text
            marker.save(condition=ProviderEventRecord.event_id.does_not_exist())
        except PutError:
            return "duplicate"
        return outcome_text
    try:
        marker.outcome = "ignored"
        marker.save(condition=ProviderEventRecord.event_id.does_not_exist())
    except PutError:
        return "duplicate"
    return "ignored"


def _customer_of(order_id: str | None) -> str | None:
    if not order_id:
        return None
    try:
        return str(OrderRecord.get(order_id, consistent_read=True).customer.customer_id)
    except OrderRecord.DoesNotExist:
        return None


def _unused() -> None:
    _ = (SourceKind, PaymentRecord, date)

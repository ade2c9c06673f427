"""The cash API (JWT): finance records payments, applies and reverses them, writes off small differences,
grants and executes refunds, puts customers on or off credit hold, and reads balances, aging and exceptions.

Each duty has its own scope (decision 0032): `oms/payments.record` records and applies payments,
`oms/refunds.grant` grants a refund, `oms/refunds.execute` executes one (never the person who granted it,
nor a token holding both), `oms/credit.write` places and releases credit holds, `oms/receivables.read`
reads. Every change records the token's user with when and why."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.api import (
    NotAuthenticatedError,
    Problem,
    guard_json_bodies,
    oms_error_status,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.cash import ledger
from oms.cash.collections import place_credit_hold, receivables_report, release_credit_hold
from oms.cash.duties import DutyRefusedError, Identity
from oms.cash.returns import (
    ReturnRefusedError,
    UnknownRefundError,
    execute_refund,
    grant_refund,
)
from oms.cash.service import apply_credit, identify_payer, record_payment, reverse_entry, write_off
from oms.cash.views import (
    AccountView,
    ApplyBody,
    CashExceptionView,
    CreditHoldBody,
    ExecutionBody,
    InvoiceBalance,
    PaymentBody,
    PaymentView,
    RefundBody,
    RefundView,
    ReversalBody,
    WriteOffBody,
)
from oms.data import cash as store
from oms.data.models import CustomerRecord, PaymentRecord, RefundRecord
from oms.domain.errors import OmsError
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
guard_json_bodies(app)

INVOICE = r"^INV-\d{4}-\d{7}$"
PAYMENT = r"^pay_[A-Za-z0-9_\-]{1,80}$"
ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}$"

_STATUS: dict[type[OmsError], int] = {
    NotAuthenticatedError: 401,
    DutyRefusedError: 403,
    ledger.UnknownInvoiceError: 404,
    ledger.UnknownSourceError: 404,
    UnknownRefundError: 404,
    ledger.OverApplicationError: 409,
    ledger.AlreadyReversedError: 409,
    ledger.RefundAboveAvailableError: 409,
    ReturnRefusedError: 409,
    ledger.CurrencyMismatchError: 422,
    ledger.CustomerMismatchError: 422,
    ledger.InvalidAmountError: 422,
    ledger.WriteOffAboveToleranceError: 422,
}


@app.exception_handler(OmsError)
def _refused(error: OmsError) -> Response[Problem]:
    return problem(oms_error_status(error, _STATUS), error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


def _claims() -> dict[str, Any]:
    return dict(app.current_event.request_context.authorizer.jwt_claim or {})


def _user() -> str:
    return user_principal(_claims())


def _entries(entries: list[ledger.LedgerEntry]) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": e.entry_id,
            "source_id": e.source_id,
            "source_kind": e.source_kind.value,
            "amount": e.amount,
            "at": e.at,
            "by": e.by,
            "reason": e.reason,
            "reverses": e.reverses,
        }
        for e in entries
    ]


def _balance(number: str, *, with_entries: bool = True) -> InvoiceBalance:
    record = store.invoice_by_number(number)
    if record is None:
        raise ledger.UnknownInvoiceError(f"no invoice {number}")
    receivable = store.receivable_of(record)
    return InvoiceBalance.model_validate(
        {
            "invoice_number": number,
            "order_id": record.order_id,
            "customer_id": record.customer_id,
            "currency": record.currency,
            "total": receivable.total,
            "applied": receivable.applied,
            "credited": receivable.credited,
            "outstanding": receivable.outstanding,
            "payment_status": receivable.status.value,
            "issued_on": receivable.issued_on,
            "due_on": receivable.due_on,
            "paid_on": receivable.paid_on,
            "dunning_level": int(record.dunning_level or 0),
            "entries": _entries(store.entries_of_invoice(number)) if with_entries else [],
        }
    )


def _payment_view(
    record: PaymentRecord, *, duplicate: bool = False, exception: str | None = None
) -> PaymentView:
    return PaymentView.model_validate(
        {
            **{
                k: getattr(record, k)
                for k in ("payment_id", "source", "currency", "amount", "applied", "refunded")
            },
            "unapplied": record.unapplied,
            "customer_id": record.customer_id,
            "order_id": record.order_id,
            "received_on": date.fromisoformat(record.received_on),
            "reference": record.reference,
            "recorded_by": record.recorded_by,
            "recorded_at": record.recorded_at,
            "duplicate": duplicate,
            "exception": exception,
            "entries": _entries(store.entries_of_source(record.payment_id)),
        }
    )


def _refund_view(record: RefundRecord) -> RefundView:
    return RefundView.model_validate(
        {
            k: getattr(record, k)
            for k in (
                "refund_id",
                "payment_id",
                "currency",
                "amount",
                "state",
                "reason",
                "granted_by",
                "granted_at",
                "executed_by",
                "executed_at",
                "execution_ref",
            )
        }
    )


def _json(status: int, body: Any) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, body)


@app.post(
    "/payments",
    summary="Record a payment received (and apply it to the invoices named, or as its remittance matches)",
    responses={
        201: {"description": "Recorded", "content": {"application/json": {"model": PaymentView}}},
        200: {
            "description": "Recorded before under this reference",
            "content": {"application/json": {"model": PaymentView}},
        },
    }
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_payment(body: Annotated[PaymentBody, Body()]) -> Response[PaymentView]:
    settings = prepare()
    user = _user()
    outcome = record_payment(
        payment_id=f"pay_man_{body.reference}",
        source="MANUAL",
        amount=body.amount,
        currency=body.currency,
        received_on=body.received_on,
        at=now(),
        by=user,
        policy=cash_policy(settings),
        customer_id=body.customer_id,
        reference=body.remittance,
        provider_ref=body.method,
        applications=[(a.invoice_number, a.amount) for a in body.applications]
        if body.applications is not None
        else None,
        texts=[body.remittance],
    )
    record = store.find_payment(outcome.payment_id)
    assert record is not None
    logger.append_keys(payment_id=outcome.payment_id, duplicate=outcome.duplicate)
    view = _payment_view(record, duplicate=outcome.duplicate, exception=outcome.exception)
    return _json(200 if outcome.duplicate else 201, view)


@app.get(
    "/payments/<payment_id>",
    summary="A payment with what it was applied to",
    responses={200: {"description": "The payment", "content": {"application/json": {"model": PaymentView}}}}
    | problem_responses(400, 401, 403, 404),
    tags=["cash"],
)
@tracer.capture_method
def get_payment(payment_id: Annotated[str, Path(pattern=PAYMENT)]) -> Response[PaymentView]:
    prepare()
    record = store.find_payment(payment_id)
    if record is None:
        raise ledger.UnknownSourceError(f"no payment {payment_id}")
    return _json(200, _payment_view(record))


@app.post(
    "/payments/<payment_id>/applications",
    summary="Apply a payment's unapplied cash (to the invoices given, or oldest first); names a payer",
    responses={200: {"description": "Applied", "content": {"application/json": {"model": PaymentView}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_application(
    payment_id: Annotated[str, Path(pattern=PAYMENT)], body: Annotated[ApplyBody, Body()]
) -> Response[PaymentView]:
    settings = prepare()
    user, at = _user(), now()
    if body.customer_id:
        identify_payer(payment_id, body.customer_id, at=at, by=user)
    apply_credit(
        payment_id,
        at=at,
        by=user,
        policy=cash_policy(settings),
        applications=[(a.invoice_number, a.amount) for a in body.applications] if body.applications else None,
        reason=body.note or f"applied by {user}",
    )
    record = store.find_payment(payment_id)
    assert record is not None
    return _json(200, _payment_view(record))


@app.get(
    "/invoices/<invoice_number>",
    summary="An invoice's balance as a receivable, with its ledger entries",
    responses={
        200: {"description": "The balance", "content": {"application/json": {"model": InvoiceBalance}}}
    }
    | problem_responses(400, 401, 403, 404),
    tags=["cash"],
)
@tracer.capture_method
def get_invoice(invoice_number: Annotated[str, Path(pattern=INVOICE)]) -> Response[InvoiceBalance]:
    prepare()
    return _json(200, _balance(invoice_number))


@app.post(
    "/invoices/<invoice_number>/reversals",
    summary="Reverse one application (a reversing entry; the ledger is never edited)",
    responses={201: {"description": "Reversed", "content": {"application/json": {"model": InvoiceBalance}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_reversal(
    invoice_number: Annotated[str, Path(pattern=INVOICE)], body: Annotated[ReversalBody, Body()]
) -> Response[InvoiceBalance]:
    prepare()
    reverse_entry(invoice_number, body.entry_id, at=now(), by=_user(), reason=body.reason)
    return _json(201, _balance(invoice_number))


@app.post(
    "/invoices/<invoice_number>/write-offs",
    summary="Write off a small remainder (at most the policy's tolerance)",
    responses={
        201: {"description": "Written off", "content": {"application/json": {"model": InvoiceBalance}}}
    }
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_write_off(
    invoice_number: Annotated[str, Path(pattern=INVOICE)], body: Annotated[WriteOffBody, Body()]
) -> Response[InvoiceBalance]:
    settings = prepare()
    write_off(
        invoice_number, body.amount, at=now(), by=_user(), reason=body.reason, policy=cash_policy(settings)
    )
    return _json(201, _balance(invoice_number))


@app.get(
    "/customers/<customer_id>/account",
    summary="A customer's receivables: balances per currency, open invoices, open credit, credit hold",
    responses={200: {"description": "The account", "content": {"application/json": {"model": AccountView}}}}
    | problem_responses(400, 401, 403, 404),
    tags=["cash"],
)
@tracer.capture_method
def get_account(customer_id: Annotated[str, Path(pattern=ID)]) -> Response[AccountView]:
    prepare()
    customer = store.get_or_none(CustomerRecord, customer_id)
    accounts = store.accounts_of(customer_id)
    view = AccountView(
        customer_id=customer_id,
        credit_hold=bool(customer and customer.credit_hold),
        credit_hold_reason=customer.credit_hold_reason if customer else None,
        accounts=[
            {
                "currency": a.currency or "",
                "open_receivables": str(a.open_receivables or 0),
                "unapplied_credit": str(a.unapplied_credit or 0),
                "open_invoices": int(a.open_invoices or 0),
            }
            for a in accounts
        ],
        open_invoices=[
            _balance(r.invoice_number, with_entries=False) for r in store.open_invoices_of(customer_id)
        ],
        open_credits=[
            {
                "source_id": s.source_id,
                "kind": s.kind.value,
                "currency": s.currency,
                "unapplied": str(s.unapplied),
            }
            for s in store.open_credits(customer_id)
        ],
    )
    return _json(200, view)


@app.put(
    "/customers/<customer_id>/credit-hold",
    summary="Put a customer on credit hold, or release it",
    responses={200: {"description": "Done", "content": {"application/json": {"model": AccountView}}}}
    | problem_responses(400, 401, 403, 404, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def put_credit_hold(
    customer_id: Annotated[str, Path(pattern=ID)], body: Annotated[CreditHoldBody, Body()]
) -> Response[AccountView]:
    prepare()
    if store.get_or_none(CustomerRecord, customer_id) is None:
        raise ledger.UnknownSourceError(f"no customer {customer_id}")
    user, at = _user(), now()
    (place_credit_hold if body.on_hold else release_credit_hold)(
        customer_id, by=user, at=at, reason=body.reason
    )
    return get_account(customer_id)


@app.post(
    "/refunds",
    summary="Grant a refund of a payment's unapplied amount (another person executes it)",
    responses={201: {"description": "Granted", "content": {"application/json": {"model": RefundView}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_refund(body: Annotated[RefundBody, Body()]) -> Response[RefundView]:
    prepare()
    record = grant_refund(
        refund_id=body.refund_id,
        payment_id=body.payment_id,
        amount=body.amount,
        reason=body.reason,
        by=_user(),
        at=now(),
        rma_id=body.rma_id,
    )
    return _json(201, _refund_view(record))


@app.post(
    "/refunds/<refund_id>/execution",
    summary="Record that a granted refund was paid out (by someone other than who granted it)",
    responses={200: {"description": "Executed", "content": {"application/json": {"model": RefundView}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["cash"],
)
@tracer.capture_method
def post_execution(
    refund_id: Annotated[str, Path(pattern=ID)], body: Annotated[ExecutionBody, Body()]
) -> Response[RefundView]:
    prepare()
    identity = Identity.from_claims(_user(), _claims())
    record = execute_refund(refund_id, identity=identity, at=now(), reference=body.reference)
    return _json(200, _refund_view(record))


@app.get(
    "/receivables/report",
    summary="Aging (with the not-yet-due bucket), DSO, lateness per customer and the weekly cash forecast",
    responses={200: {"description": "The report"}} | problem_responses(400, 401, 403),
    tags=["cash"],
)
@tracer.capture_method
def get_report() -> Response[dict[str, Any]]:
    settings = prepare()
    return _json(200, receivables_report(day=now().date(), policy=cash_policy(settings)))


@app.get(
    "/cash/exceptions",
    summary="Open cash exceptions for a person (unapplied cash, currency mismatches, rejected statements)",
    responses={200: {"description": "The exceptions"}} | problem_responses(400, 401, 403),
    tags=["cash"],
)
@tracer.capture_method
def get_exceptions() -> Response[list[CashExceptionView]]:
    prepare()
    found = [
        CashExceptionView.model_validate(
            {
                k: getattr(e, k)
                for k in (
                    "exception_id",
                    "kind",
                    "subject",
                    "reason",
                    "amount",
                    "currency",
                    "customer_id",
                    "created_at",
                )
            }
        )
        for e in store.open_exceptions()
    ]
    return _json(200, found)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

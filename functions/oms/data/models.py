"""PynamoDB models: one table per aggregate, keys designed from docs/access-patterns.md.

Table names are bound at invocation time from the function's settings (`bind_tables`), never at import.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from oms.config import Settings
from oms.data.attributes import DecimalAttribute, UTCDateTime


class _Unbound:
    table_name = "unbound"
    # Standard-mode retries (backoff with jitter on throttling, 5xx, dropped connections): 5 attempts,
    # short timeouts, as the boto3 clients (oms.aws); decision 0015.
    max_retry_attempts = 4
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


# ----------------------------------------------------------------------------------------------- orders
class AddressAttribute(MapAttribute[str, Any]):
    name = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute(null=True)
    country = UnicodeAttribute()


class CustomerAttribute(MapAttribute[str, Any]):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)


class TaxLineAttribute(MapAttribute[str, Any]):
    """A tax line in full (the channel's order-level tax lines)."""

    title = UnicodeAttribute()
    rate = DecimalAttribute(null=True)
    amount = DecimalAttribute()
    level = UnicodeAttribute()
    jurisdiction = UnicodeAttribute(null=True)
    compound = BooleanAttribute(null=True)
    """Stored only when true (most tax lines are not compound)."""


class TaxKeyAttribute(MapAttribute[str, Any]):
    """One jurisdiction's tax as the order's items carry it, stored once per order; items refer to it by
    position (`"<index>=<amount>"`), which keeps an order item small (DynamoDB bills writes per KB)."""

    title = UnicodeAttribute(attr_name="t")
    rate = DecimalAttribute(null=True, attr_name="r")
    level = UnicodeAttribute(attr_name="l")
    jurisdiction = UnicodeAttribute(null=True, attr_name="j")
    compound = BooleanAttribute(null=True, attr_name="c")


class OrderLineAttribute(MapAttribute[str, Any]):
    line_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price = DecimalAttribute()
    discount = DecimalAttribute()
    tax = DecimalAttribute()
    discounts = ListAttribute[str](null=True)
    """The discount by order discount: `"<discount key>=<amount>"`."""
    taxes = ListAttribute[str](null=True)
    """The tax by jurisdiction: `"<index into the order's tax_keys>=<amount>"`."""
    taxable = BooleanAttribute(null=True)


class ChargeAttribute(MapAttribute[str, Any]):
    """A shipping line or a fee (discounts and taxes encoded as on a line)."""

    charge_id = UnicodeAttribute()
    title = UnicodeAttribute()
    amount = DecimalAttribute()
    discount = DecimalAttribute()
    discounts = ListAttribute[str](null=True)
    tax = DecimalAttribute()
    taxes = ListAttribute[str](null=True)
    taxable = BooleanAttribute(null=True)


class OrderDiscountAttribute(MapAttribute[str, Any]):
    key = UnicodeAttribute()
    kind = UnicodeAttribute()
    code = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    target = UnicodeAttribute()
    value_type = UnicodeAttribute(null=True)
    value = DecimalAttribute(null=True)
    allocation_method = UnicodeAttribute(null=True)
    target_selection = UnicodeAttribute(null=True)
    amount = DecimalAttribute(null=True)


class ChannelTotalsAttribute(MapAttribute[str, Any]):
    subtotal = DecimalAttribute(null=True)
    net_subtotal = DecimalAttribute(null=True)
    discount_total = DecimalAttribute(null=True)
    shipping_tax = DecimalAttribute(null=True)
    fee_total = DecimalAttribute(null=True)
    tax_lines = ListAttribute(of=TaxLineAttribute, null=True)


class StatusChangeAttribute(MapAttribute[str, Any]):
    status = UnicodeAttribute()
    previous = UnicodeAttribute(null=True)
    at = UTCDateTime()
    by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    """The Lambda request that made the change (its logs)."""


class AllocationLineAttribute(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    warehouse_id = UnicodeAttribute()
    quantity = NumberAttribute()


class BackorderLineAttribute(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()


class OutboxEntryAttribute(MapAttribute[str, Any]):
    """An integration event a committed change still owes the bus (the transactional outbox)."""

    event_id = UnicodeAttribute()
    source = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON
    resources = ListAttribute[str](null=True)


class PendingOutboxIndex(GlobalSecondaryIndex["OrderRecord"]):
    """Sparse: only orders whose committed change still owes events carry `outbox_pending`, so the
    sweeper finds what a crashed step left to publish without scanning the table."""

    class Meta:
        index_name = "outbox-pending"
        projection = AllProjection()

    outbox_pending = UnicodeAttribute(hash_key=True)
    outbox_since = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex["OrderRecord"]):
    """Orders by status, oldest first: what ops lists (on hold, failed, waiting for the warehouse)."""

    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class OrderRecord(Model):
    class Meta(_Unbound):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute()
    external_id = UnicodeAttribute()
    status = UnicodeAttribute()
    billing_status = UnicodeAttribute()
    hold_reason = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    """FAILED: what went wrong, as a sentence a person can act on (shown by the API)."""
    failure_code = UnicodeAttribute(null=True)
    """FAILED: machine-readable (STEP_FAILED, TRANSIENT_AWS_ERROR, STEP_CRASHED, ...)."""
    failure_detail = UnicodeAttribute(null=True)
    """FAILED: the step's full error (for operations only: `python -m ops show`; never in the API)."""
    failed_step = UnicodeAttribute(null=True)
    """FAILED: the workflow step that failed (ValidateOrder, AllocateStock, RequestFulfillment)."""
    currency = UnicodeAttribute()
    customer = CustomerAttribute()
    shipping_address = AddressAttribute()
    lines = ListAttribute(of=OrderLineAttribute)
    subtotal = DecimalAttribute()
    discount_total = DecimalAttribute()
    shipping_total = DecimalAttribute()
    tax_total = DecimalAttribute()
    grand_total = DecimalAttribute()
    computed_tax_total = DecimalAttribute(null=True)
    prices_include_tax = BooleanAttribute(null=True)
    tax_rounding = UnicodeAttribute(null=True)
    tax_keys = ListAttribute(of=TaxKeyAttribute, null=True)
    """The jurisdictions the items' taxes refer to (see TaxKeyAttribute)."""
    discounts = ListAttribute(of=OrderDiscountAttribute, null=True)
    """The order's discounts as the channel declared them (codes, automatic discounts, coupons)."""
    shipping_lines = ListAttribute(of=ChargeAttribute, null=True)
    fees = ListAttribute(of=ChargeAttribute, null=True)
    channel_totals = ChannelTotalsAttribute(null=True)
    """Totals the channel stated beyond tax and grand total (checked by validation)."""
    tax_calculator = UnicodeAttribute(null=True)
    """Which calculator validation checked the tax with, and its source (table version, engine)."""
    allocation = ListAttribute(of=AllocationLineAttribute, null=True)
    allocation_reason = UnicodeAttribute(null=True)
    allocation_choices = ListAttribute[str](null=True)
    """Why each warehouse was chosen, one sentence per warehouse ("WH-NJ: holds every line ...")."""
    backorder = ListAttribute(of=BackorderLineAttribute, null=True)
    """While BACKORDERED: the units no warehouse can supply now, per SKU."""
    backorder_queue_key = UnicodeAttribute(null=True)
    """The order's place in the per-SKU backorder queues ("<first backordered at>#<order id>"), kept for
    its whole wait so that an order re-queued on another SKU keeps its age."""
    backorder_order_id = UnicodeAttribute(null=True)
    """Ship-what-is-available split: the order that carries this order's backordered units."""
    split_from_order_id = UnicodeAttribute(null=True)
    """Ship-what-is-available split: the order this backorder order was split from."""
    invoice_number = UnicodeAttribute(null=True)
    invoice_pdf_key = UnicodeAttribute(null=True)
    carrier = UnicodeAttribute(null=True)
    tracking_number = UnicodeAttribute(null=True)
    placed_at = UTCDateTime()
    received_at = UnicodeAttribute()  # ISO string so the status index sorts on it
    updated_at = UTCDateTime()
    entered_by = UnicodeAttribute()
    revision = NumberAttribute(default=1)
    """Bumped by every change of the order's content (an amendment, a split); workflow writes are
    conditional on it."""
    amended_by = UnicodeAttribute(null=True)
    """Who last amended the order's content (a channel integration or a user): may not approve it."""
    last_change = StatusChangeAttribute(null=True)
    """The latest change: who, when, from which status to which, why. Every change of the order writes it;
    the audit trail (its stream consumer) keeps them all, hash-chained: the order's history (decision
    0025)."""
    change_no = NumberAttribute(default=0)
    """Counts the changes recorded in `last_change`: the audit writer's guard against recording one twice."""
    amendment = NumberAttribute(null=True)
    """How many times the channel amended the order (None: never). A workflow execution carries the
    amendment it was started for; an older one's steps stand down (superseded) for the newer one's."""
    outbox = ListAttribute(of=OutboxEntryAttribute, null=True)
    """Events a committed change still owes the bus: written in the change's own transaction, published
    right after it, removed once published (decision 0014)."""
    outbox_token = UnicodeAttribute(null=True)
    outbox_pending = UnicodeAttribute(null=True)
    outbox_since = UnicodeAttribute(null=True)
    shipment_exception = UnicodeAttribute(null=True)
    """A warehouse shipped after the order's stock was released (cancelled, expired, failed): the units
    were taken from stock and a person must recover the goods or bill them."""
    placeholder = BooleanAttribute(null=True)
    """True while the order is known only from a cancellation that arrived before its creation."""
    payment_status = UnicodeAttribute(null=True)
    """The payment dimension (oms.cash.ledger.PaymentStatus), set with each change of its invoice."""
    channel_paid = DecimalAttribute(null=True)
    """What the customer paid at the channel's checkout (Shopify financial_status, WooCommerce date_paid):
    recorded as a payment and applied when the invoice is issued."""
    channel_paid_at = UTCDateTime(null=True)
    channel_payment_ref = UnicodeAttribute(null=True)
    approval_id = UnicodeAttribute(null=True)
    """The approval the order waits for, or was last approved by (ApprovalRecord)."""
    credit_exposure = DecimalAttribute(null=True)
    """The amount this order adds to its customer's credit exposure while it is open (None: not counted)."""
    credit_revision = NumberAttribute(null=True)
    """The revision `credit_exposure` was counted for (an amendment's new total replaces it)."""
    by_status = StatusIndex()
    pending_outbox = PendingOutboxIndex()


# -------------------------------------------------------------------------------------------- inventory
class InventoryRecord(Model):
    """Stock of one SKU in one warehouse. `available` = `on_hand` - `reserved`, kept in the same update."""

    class Meta(_Unbound):
        pass

    sku = UnicodeAttribute(hash_key=True)
    warehouse_id = UnicodeAttribute(range_key=True)
    on_hand = NumberAttribute()
    reserved = NumberAttribute()
    available = NumberAttribute()
    reorder_point = NumberAttribute(default=0)
    updated_at = UTCDateTime()
    low_stock_since = UTCDateTime(null=True)
    """Set (once, conditionally) when `available` fell below `reorder_point` and InventoryLow went out;
    cleared when stock is back at or above it, so the next crossing alerts again."""


class InventoryMovementRecord(Model):
    """One line of the stock ledger: a receipt, an adjustment or a cycle count of one SKU in one warehouse.

    Keyed by the client's reference (`movement_id` = "<kind>#<reference>"), so a retried request finds the
    movement it already recorded instead of moving the stock twice.
    """

    class Meta(_Unbound):
        pass

    stock_key = UnicodeAttribute(hash_key=True)  # "<sku>#<warehouse_id>"
    movement_id = UnicodeAttribute(range_key=True)  # "<kind>#<reference>"
    sku = UnicodeAttribute()
    warehouse_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # RECEIPT | ADJUSTMENT | CYCLE_COUNT
    quantity_change = NumberAttribute()
    on_hand_before = NumberAttribute()
    on_hand_after = NumberAttribute()
    available_after = NumberAttribute()
    reference = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    at = UTCDateTime()
    published_at = UTCDateTime(null=True)
    """When the movement's integration event (StockReceived) was accepted by EventBridge."""


class OpenReservationsIndex(GlobalSecondaryIndex["ReservationRecord"]):
    """Sparse: only RESERVED reservations carry `open_state`, so the expiry sweep reads just those."""

    class Meta:
        index_name = "open-by-expiry"
        projection = AllProjection()

    open_state = UnicodeAttribute(hash_key=True)
    expires_at_key = UnicodeAttribute(range_key=True)


class ReservationRecord(Model):
    """All stock held for one order, written in the same transaction as the stock it holds."""

    class Meta(_Unbound):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()  # RESERVED | RELEASED | CONSUMED
    lines = ListAttribute(of=AllocationLineAttribute)
    reason = UnicodeAttribute()
    created_at = UTCDateTime()
    expires_at_key = UnicodeAttribute(null=True)
    """ISO-8601 UTC time after which the reservation is released if the order has not shipped."""
    open_state = UnicodeAttribute(null=True)
    """"OPEN" while RESERVED, removed when closed (the sparse `open-by-expiry` index)."""
    closed_at = UTCDateTime(null=True)
    closed_by = UnicodeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    open_by_expiry = OpenReservationsIndex()


class BackorderRecord(Model):
    """One order waiting for one SKU: the per-SKU queue, served oldest first (`queue_key` sorts by age)."""

    class Meta(_Unbound):
        pass

    sku = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)  # "<backordered at, ISO UTC>#<order id>"
    order_id = UnicodeAttribute()
    quantity = NumberAttribute()
    queued_at = UTCDateTime()
    escalate_at = UTCDateTime()
    escalated_at = UTCDateTime(null=True)


class WarehouseRecord(Model):
    class Meta(_Unbound):
        pass

    warehouse_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    region = UnicodeAttribute()
    priority = NumberAttribute()
    active = BooleanAttribute(default=True)


# ------------------------------------------------------------------------------------ catalog/customers
class CatalogItemRecord(Model):
    class Meta(_Unbound):
        pass

    sku = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    unit_price = DecimalAttribute()
    currency = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    cost_price = DecimalAttribute(null=True)
    """What one unit costs the distributor (gross margin per order, customer and SKU; issue 13)."""


class CustomerRecord(Model):
    class Meta(_Unbound):
        pass

    customer_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    tier = UnicodeAttribute(default="RETAIL")
    payment_terms_days = NumberAttribute(default=0)
    credit_limit = DecimalAttribute(null=True)
    """The most the customer may owe (receivables + open orders + orders pending approval); None: no limit."""
    exposure = DecimalAttribute(null=True)
    """What the customer owes and has ordered and not yet been invoiced for, kept exact by the same
    transactions that accept, reject, cancel or invoice its orders (oms.data.credit)."""
    credit_hold = BooleanAttribute(null=True)
    """True while the customer is on credit hold (the last dunning level, or credit control): each new order
    waits for credit control (CREDIT_LIMIT)."""
    credit_hold_reason = UnicodeAttribute(null=True)
    credit_hold_since = UTCDateTime(null=True)
    credit_hold_by = UnicodeAttribute(null=True)
    erased_at = UTCDateTime(null=True)
    """When the customer's personal data was pseudonymised by an erasure request (decision 0053)."""
    erasure_id = UnicodeAttribute(null=True)


# ---------------------------------------------------------------------------------- invoices/shipments
class InvoiceNumberIndex(GlobalSecondaryIndex["InvoiceRecord"]):
    """An invoice by its number: what payers write on their transfers (remittance references)."""

    class Meta:
        index_name = "by-number"
        projection = KeysOnlyProjection()

    invoice_number = UnicodeAttribute(hash_key=True)


class OpenInvoicesIndex(GlobalSecondaryIndex["InvoiceRecord"]):
    """Sparse: invoices with something outstanding carry `open_state`, oldest due date first (aging,
    dunning, matching by amount)."""

    class Meta:
        index_name = "open-by-due"
        projection = AllProjection()

    open_state = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class CustomerOpenInvoicesIndex(GlobalSecondaryIndex["InvoiceRecord"]):
    """Sparse: a customer's open invoices, oldest due date first (credit applied to the oldest)."""

    class Meta:
        index_name = "open-by-customer"
        projection = AllProjection()

    open_customer = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class InvoiceRecord(Model):
    """One invoice per order (hash key order_id), numbered from a gapless per-year sequence, and its balance
    as a receivable (what was applied to it, what is outstanding).

    The sequence lives in the same table under `order_id = "SEQUENCE#<year>"` (a `InvoiceSequenceRecord`).
    """

    class Meta(_Unbound):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    invoice_number = UnicodeAttribute()
    issued_at = UTCDateTime()
    currency = UnicodeAttribute()
    grand_total = DecimalAttribute()
    tax_total = DecimalAttribute()
    customer_id = UnicodeAttribute()
    due_date = UnicodeAttribute()
    pdf_key = UnicodeAttribute()
    json_key = UnicodeAttribute()
    applied = DecimalAttribute(null=True)
    """Paid, credited and written off, net of reversals (the sum of its ledger entries); None: nothing yet."""
    credited = DecimalAttribute(null=True)
    outstanding = DecimalAttribute(null=True)
    """grand_total - applied; None on an invoice issued before receivables were kept (= grand_total)."""
    payment_status = UnicodeAttribute(null=True)
    paid_on = UnicodeAttribute(null=True)
    overdue = BooleanAttribute(null=True)
    dunning_level = NumberAttribute(null=True)
    """The highest dunning level a letter was sent for."""
    open_state = UnicodeAttribute(null=True)
    """"OPEN" while something is outstanding (the sparse `open-by-due` index)."""
    open_customer = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    """"<due date>#<invoice number>": open invoices sort by due date."""
    by_number = InvoiceNumberIndex()
    open_by_due = OpenInvoicesIndex()
    open_by_customer = CustomerOpenInvoicesIndex()


class InvoiceSequenceRecord(Model):
    class Meta(_Unbound):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    last_number = NumberAttribute()


class ShipmentRecord(Model):
    class Meta(_Unbound):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    shipment_id = UnicodeAttribute(range_key=True)
    warehouse_id = UnicodeAttribute()
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    shipped_at = UTCDateTime()
    status = UnicodeAttribute()
    events = ListAttribute(of=StatusChangeAttribute)


class ChannelNotificationRecord(Model):
    """One notification to a sales channel (a shipment, a delivery, a cancellation) and how it went: the
    audit of what the channel was told, and the guard that tells each fact once."""

    class Meta(_Unbound):
        pass

    notification_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    kind = UnicodeAttribute()
    shipment_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # SENDING | RETRYING | DELIVERED | SKIPPED
    attempts = NumberAttribute(default=1)
    attempt_at = UTCDateTime(null=True)
    """When the attempt now SENDING started (a crashed one is taken over after a grace period)."""
    channel_reference = UnicodeAttribute(null=True)
    """What the channel created (a Shopify fulfillment id, a WooCommerce note id)."""
    detail = UnicodeAttribute(null=True)
    first_attempt_at = UTCDateTime()
    finished_at = UTCDateTime(null=True)
    expires_at = NumberAttribute(null=True)
    """DynamoDB TTL (epoch seconds): oms.privacy.retention.NOTIFICATION_DAYS after the first attempt."""


# ------------------------------------------------------------------------ reconciliation (issue 13)
class ExceptionStateIndex(GlobalSecondaryIndex["ReconciliationExceptionRecord"]):
    """Sparse: only OPEN exceptions carry `open_state`, sorted by when their SLA runs out (what the
    escalation and `ops exceptions list` read)."""

    class Meta:
        index_name = "open-by-sla"
        projection = AllProjection()

    open_state = UnicodeAttribute(hash_key=True)
    sla_due_key = UnicodeAttribute(range_key=True)


class ReconciliationExceptionRecord(Model):
    """Something a reconciliation run found that a person must act on, filed with an owner group, an SLA and
    an escalation. One record per (kind, subject): `exception_id` = "<kind>#<subject>", so a rerun finds the
    record it filed instead of filing another; a run that finds the condition cleared closes it."""

    class Meta(_Unbound):
        pass

    exception_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    """What to look up: `order:<id>`, `stock:<sku>#<warehouse>`, `dlq:<queue>#<message id>`."""
    detail = UnicodeAttribute()
    period = UnicodeAttribute()
    """The business day (UTC) of the run that filed it."""
    order_id = UnicodeAttribute(null=True)
    sku = UnicodeAttribute(null=True)
    owner_group = UnicodeAttribute()
    escalate_to = UnicodeAttribute()
    state = UnicodeAttribute()  # OPEN | CLOSED
    opened_at = UTCDateTime()
    sla_due_at = UTCDateTime()
    assigned_to = UnicodeAttribute(null=True)
    escalated_at = UTCDateTime(null=True)
    closed_at = UTCDateTime(null=True)
    closed_by = UnicodeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    history = ListAttribute(of=StatusChangeAttribute)
    open_state = UnicodeAttribute(null=True)
    sla_due_key = UnicodeAttribute(null=True)
    open_by_sla = ExceptionStateIndex()


class StockBaselineRecord(Model):
    """A stock item as the first reconciliation found it (same table, `exception_id` = "BASELINE#<sku>#<wh>"):
    the opening the ledger is reconciled from, `opening` = on hand - ledger movements + units shipped then."""

    class Meta(_Unbound):
        pass

    exception_id = UnicodeAttribute(hash_key=True)
    opening = NumberAttribute()
    taken_at = UTCDateTime()


# --------------------------------------------------------------------------------- cash and receivables
class OpenCreditIndex(GlobalSecondaryIndex[Any]):
    """Sparse: sources with something left to apply carry `credit_customer` (the customer, or UNIDENTIFIED),
    oldest first: the credit applied to a customer's next invoice, the unapplied cash a person looks at."""

    class Meta:
        index_name = "open-credit"
        projection = AllProjection()

    credit_customer = UnicodeAttribute(hash_key=True)
    credit_since = UnicodeAttribute(range_key=True)


class PaymentsByDayIndex(GlobalSecondaryIndex["PaymentRecord"]):
    """The payments received on a day (keys only): what a day's reconciliation judges (decision 0044)."""

    class Meta:
        index_name = "by-received-on"
        projection = KeysOnlyProjection()

    received_on = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute(range_key=True)


class CreditNotesByDayIndex(GlobalSecondaryIndex["CreditNoteRecord"]):
    """Sparse (the sequence items have no day): the credit notes issued on a day, keys only."""

    class Meta:
        index_name = "by-issued-on"
        projection = KeysOnlyProjection()

    issued_on = UnicodeAttribute(hash_key=True)
    credit_note_id = UnicodeAttribute(range_key=True)


class PaymentRecord(Model):
    """Money received, from any source: a bank statement's credit, a card payment, a channel's checkout, a
    payment a finance user recorded. Keyed by what identifies it at its source, so it is recorded once."""

    class Meta(_Unbound):
        pass

    payment_id = UnicodeAttribute(hash_key=True)
    source = UnicodeAttribute()  # BANK | STRIPE | CHANNEL | MANUAL
    currency = UnicodeAttribute()
    amount = DecimalAttribute()
    applied = DecimalAttribute()
    refunded = DecimalAttribute()
    unapplied = DecimalAttribute()
    customer_id = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    """The order it was paid for, when its source says (a card payment's metadata, a channel checkout)."""
    received_on = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    """The payer's remittance information or the provider's reference."""
    provider_ref = UnicodeAttribute(null=True)
    """Stripe's payment intent / charge, the bank's reference, the channel's gateway."""
    statement_id = UnicodeAttribute(null=True)
    recorded_at = UTCDateTime()
    recorded_by = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    disputed = DecimalAttribute(null=True)
    credit_customer = UnicodeAttribute(null=True)
    credit_since = UnicodeAttribute(null=True)
    open_credit = OpenCreditIndex()
    by_day = PaymentsByDayIndex()


class CreditNoteRecord(Model):
    """A credit note (gapless numbers per year, `CN-<year>-<n>`), applicable to any open invoice of its
    customer. The year's sequence is the item `credit_note_id = "SEQUENCE#<year>"`."""

    class Meta(_Unbound):
        pass

    credit_note_id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute(null=True)
    last_number = NumberAttribute(null=True)
    """Only on the sequence items."""
    customer_id = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    amount = DecimalAttribute(null=True)
    applied = DecimalAttribute(null=True)
    unapplied = DecimalAttribute(null=True)
    rma_id = UnicodeAttribute(null=True)
    issued_at = UTCDateTime(null=True)
    issued_on = UnicodeAttribute(null=True)
    """The UTC day of `issued_at` (the by-issued-on index)."""
    issued_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    pdf_key = UnicodeAttribute(null=True)
    json_key = UnicodeAttribute(null=True)
    documents_written = BooleanAttribute(null=True)
    credit_customer = UnicodeAttribute(null=True)
    credit_since = UnicodeAttribute(null=True)
    open_credit = OpenCreditIndex()
    by_day = CreditNotesByDayIndex()


class SourceEntriesIndex(GlobalSecondaryIndex["LedgerEntryRecord"]):
    class Meta:
        index_name = "by-source"
        projection = AllProjection()

    source_id = UnicodeAttribute(hash_key=True)
    at_key = UnicodeAttribute(range_key=True)


class EntriesByDayIndex(GlobalSecondaryIndex["LedgerEntryRecord"]):
    """The entries written on a day (keys only): the finance export's `applications` (decision 0045)."""

    class Meta:
        index_name = "by-day"
        projection = KeysOnlyProjection()

    at_day = UnicodeAttribute(hash_key=True)
    at_key = UnicodeAttribute(range_key=True)


class LedgerEntryRecord(Model):
    """One entry of the application ledger (append-only: written once with `attribute_not_exists`)."""

    class Meta(_Unbound):
        pass

    invoice_number = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    source_id = UnicodeAttribute()
    source_kind = UnicodeAttribute()
    amount = DecimalAttribute()
    at = UTCDateTime()
    at_key = UnicodeAttribute()
    at_day = UnicodeAttribute(null=True)
    """The UTC day of `at` (the by-day index; entries written before it existed have none)."""
    by = UnicodeAttribute()
    reason = UnicodeAttribute()
    reverses = UnicodeAttribute(null=True)
    by_source = SourceEntriesIndex()
    by_day = EntriesByDayIndex()


class CustomerAccountRecord(Model):
    """A customer's receivables account per currency (`entry = "ACCOUNT#<currency>"`): its open receivables
    and unapplied credit, changed in the same transaction as each invoice, application and refund (the
    exposure credit control reads). Dunning letters are items of the account (`entry = "LETTER#..."`)."""

    class Meta(_Unbound):
        pass

    customer_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    currency = UnicodeAttribute(null=True)
    open_receivables = DecimalAttribute(null=True)
    unapplied_credit = DecimalAttribute(null=True)
    open_invoices = NumberAttribute(null=True)
    # letters
    level = NumberAttribute(null=True)
    letter_date = UnicodeAttribute(null=True)
    invoices = ListAttribute[str](null=True)
    amount_due = DecimalAttribute(null=True)
    fee = DecimalAttribute(null=True)
    interest = DecimalAttribute(null=True)
    action = UnicodeAttribute(null=True)
    pdf_key = UnicodeAttribute(null=True)
    issued_at = UTCDateTime(null=True)
    published_at = UTCDateTime(null=True)


class RefundRecord(Model):
    """A refund in two steps: granted by one person (the amount is set aside from the payment), executed by
    another (the money moved, with the provider's or bank's reference)."""

    class Meta(_Unbound):
        pass

    refund_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    amount = DecimalAttribute()
    state = UnicodeAttribute()  # GRANTED | EXECUTED | CANCELLED
    reason = UnicodeAttribute()
    rma_id = UnicodeAttribute(null=True)
    granted_by = UnicodeAttribute()
    granted_at = UTCDateTime()
    executed_by = UnicodeAttribute(null=True)
    executed_at = UTCDateTime(null=True)
    execution_ref = UnicodeAttribute(null=True)
    cancelled_by = UnicodeAttribute(null=True)


class ReturnLineAttribute(MapAttribute[str, Any]):
    order_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    amount = DecimalAttribute()
    """What the line is credited at: its share of the invoiced line (net of discount, with its tax)."""
    disposition = UnicodeAttribute()  # RESTOCK | SCRAP
    warehouse_id = UnicodeAttribute()


class ReturnRecord(Model):
    """A return (RMA): lines of one customer's orders coming back, received into a warehouse through the stock
    ledger (restocked or scrapped), credited by one credit note."""

    class Meta(_Unbound):
        pass

    rma_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    lines = ListAttribute(of=ReturnLineAttribute)
    amount = DecimalAttribute()
    resolution = UnicodeAttribute()  # CREDIT | REFUND
    state = UnicodeAttribute()  # AUTHORIZED | RECEIVED | CREDITED
    reason = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTime()
    received_by = UnicodeAttribute(null=True)
    received_at = UTCDateTime(null=True)
    credit_note_id = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)


class BankStatementRecord(Model):
    """A bank statement file as imported: once per statement identity, its outcome and counts."""

    class Meta(_Unbound):
        pass

    statement_id = UnicodeAttribute(hash_key=True)
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    state = UnicodeAttribute()  # IMPORTING | IMPORTED | REJECTED
    format = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    credits = NumberAttribute(null=True)
    applied = NumberAttribute(null=True)
    unapplied = NumberAttribute(null=True)
    received_at = UTCDateTime()
    finished_at = UTCDateTime(null=True)


class OpenExceptionsIndex(GlobalSecondaryIndex["CashExceptionRecord"]):
    class Meta:
        index_name = "open-by-kind"
        projection = AllProjection()

    open_kind = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class CashExceptionRecord(Model):
    """Something about cash a person must act on: unapplied cash, a payment in another currency, a rejected or
    conflicting statement, a dispute, a refund made outside the OMS. Closed by the action that settles it."""

    class Meta(_Unbound):
        pass

    exception_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    """What to look up: `payment:<id>`, `statement:<id>`, `invoice:<number>`."""
    reason = UnicodeAttribute()
    amount = DecimalAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # OPEN | RESOLVED
    created_at = UTCDateTime()
    created_key = UnicodeAttribute()
    resolved_at = UTCDateTime(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolution = UnicodeAttribute(null=True)
    open_kind = UnicodeAttribute(null=True)
    open_by_kind = OpenExceptionsIndex()


class ProviderEventRecord(Model):
    """A payment provider's event (Stripe's `evt_...`), recorded once, in the transaction of its change."""

    class Meta(_Unbound):
        pass

    event_id = UnicodeAttribute(hash_key=True, attr_name="payment_id")
    """`event#<provider>:<event id>` (the Payments table's key)."""
    kind = UnicodeAttribute()
    received_at = UTCDateTime()
    outcome = UnicodeAttribute()


# ------------------------------------------------------------------------------------------- governance
class DigestHourIndex(GlobalSecondaryIndex["AuditRecord"]):
    """Sparse: the last entry a writer wrote for a subject carries the hour it was written in, so an hour's
    digest reads only the chain heads that moved in that hour."""

    class Meta:
        index_name = "by-digest-hour"
        projection = IncludeProjection(["hash"])

    digest_hour = UnicodeAttribute(hash_key=True)
    chain_position = UnicodeAttribute(range_key=True)  # "<subject>#<seq, 12 digits>"


class AuditRecord(Model):
    """One entry of a subject's audit chain (`order:<id>`, `user:<id>`), as oms.domain.audit defines it."""

    class Meta(_Unbound):
        pass

    subject = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    """Where the entry is stored; `n` is the number it was written with (verification compares them)."""
    n = NumberAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    before = UnicodeAttribute(null=True)
    after = UnicodeAttribute(null=True)
    prev_hash = UnicodeAttribute()
    written_at = UnicodeAttribute()
    hash = UnicodeAttribute()
    applied_change = NumberAttribute(null=True)
    """Orders: the order item's `change_no` the chain has recorded up to (carried forward by every entry), so
    a stream record delivered again is recognised and not recorded twice."""
    digest_hour = UnicodeAttribute(null=True)
    chain_position = UnicodeAttribute(null=True)
    by_digest_hour = DigestHourIndex()


class ApprovalDecisionAttribute(MapAttribute[str, Any]):
    level = UnicodeAttribute()
    decision = UnicodeAttribute()
    """APPROVED or REJECTED."""
    by = UnicodeAttribute()
    at = UTCDateTime()
    reason = UnicodeAttribute(null=True)
    group = UnicodeAttribute()


class OpenByGroupIndex(GlobalSecondaryIndex["ApprovalRecord"]):
    """Sparse: approvals whose current level waits for a group, soonest due first."""

    class Meta:
        index_name = "open-by-group"
        projection = AllProjection()

    open_group = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class ApprovalsByOrderIndex(GlobalSecondaryIndex["ApprovalRecord"]):
    class Meta:
        index_name = "by-order"
        projection = AllProjection()

    order_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApprovalRecord(Model):
    """One approval of one revision of an order: its levels, where it stands, who decided what. The task
    token of the waiting level is kept here (never shown: approvers use `approval_id`)."""

    class Meta(_Unbound):
        pass

    approval_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    """ISO timestamp (the by-order index's range key)."""
    status = UnicodeAttribute()
    """PENDING, APPROVED, REJECTED, VOID (the order changed), EXPIRED (nobody decided in time)."""
    content_hash = UnicodeAttribute()
    """The hash of the order's content the approval is for; any other content voids it."""
    revision = NumberAttribute()
    rules = UnicodeAttribute()
    """JSON: the matched rules, the levels (in order), on_breach, why each rule matched."""
    hold_reason = UnicodeAttribute()
    level_index = NumberAttribute(default=0)
    escalations = NumberAttribute(default=0)
    group = UnicodeAttribute(null=True)
    """The group deciding the current level now (after its escalations)."""
    open_group = UnicodeAttribute(null=True)
    """Set while a level waits for its group (the open-by-group index; removed once decided)."""
    due_at = UnicodeAttribute(null=True)
    task_token = UnicodeAttribute(null=True)
    entered_by = UnicodeAttribute()
    amended_by = UnicodeAttribute(null=True)
    amount = DecimalAttribute()
    currency = UnicodeAttribute()
    decisions = ListAttribute(of=ApprovalDecisionAttribute, null=True)
    last_change = StatusChangeAttribute(null=True)
    """Who did what last (the audit trail records each change from the table's stream)."""
    change_no = NumberAttribute(default=0)
    updated_at = UTCDateTime(null=True)
    open_by_group = OpenByGroupIndex()
    by_order = ApprovalsByOrderIndex()


# ------------------------------------------------------------------------------ data governance (issue 16)
class PrivacyRequestRecord(Model):
    """An erasure or access request (`erasure#<customer>`, `access#<customer>#<requested at>`): who asked, its
    progress (what a retry after a crash continues from) and where its report is (decision 0053)."""

    class Meta(_Unbound):
        pass

    request_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # ERASURE | ACCESS
    customer_id = UnicodeAttribute()
    state = UnicodeAttribute()  # RUNNING | COMPLETED
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTime()
    source = UnicodeAttribute()
    """`api:<request id>` or `shopify:<webhook id>` (a channel's compliance webhook)."""
    raw_keys = ListAttribute[str](null=True)
    """The raw webhook bodies found to be the customer's, noted before they are deleted."""
    tokens = ListAttribute[str](null=True)
    """Pseudonyms of the values a channel's request named (its e-mail, phone), noted before the request's own
    archived body is deleted: what a retry still matches raw bodies on."""
    completed_at = UTCDateTime(null=True)
    report_key = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    """DynamoDB TTL: access requests only (oms.privacy.retention); erasures are kept as the record."""


_BINDINGS: tuple[tuple[type[Model], str], ...] = (
    (OrderRecord, "orders_table"),
    (InventoryRecord, "inventory_table"),
    (InventoryMovementRecord, "movements_table"),
    (ReservationRecord, "reservations_table"),
    (BackorderRecord, "backorders_table"),
    (WarehouseRecord, "warehouses_table"),
    (CatalogItemRecord, "catalog_table"),
    (CustomerRecord, "customers_table"),
    (InvoiceRecord, "invoices_table"),
    (InvoiceSequenceRecord, "invoices_table"),
    (ShipmentRecord, "shipments_table"),
    (ChannelNotificationRecord, "channel_notifications_table"),
    # reconciliation (issue 13)
    (ReconciliationExceptionRecord, "reconciliation_exceptions_table"),
    (StockBaselineRecord, "reconciliation_exceptions_table"),
    # cash (issue 12)
    (PaymentRecord, "payments_table"),
    (ProviderEventRecord, "payments_table"),
    (CreditNoteRecord, "credit_notes_table"),
    (LedgerEntryRecord, "cash_ledger_table"),
    (CustomerAccountRecord, "customer_accounts_table"),
    (RefundRecord, "refunds_table"),
    (ReturnRecord, "returns_table"),
    (BankStatementRecord, "bank_statements_table"),
    (CashExceptionRecord, "cash_exceptions_table"),
    # governance (issue 11)
    (AuditRecord, "audit_table"),
    (ApprovalRecord, "approvals_table"),
    # data governance (issue 16)
    (PrivacyRequestRecord, "privacy_requests_table"),
)


def bind_tables(settings: Settings) -> None:
    """Point each model at the table this function was given.

    A table the function was not given is left as it is: "unbound" in a Lambda container (any use fails
    loudly), and untouched where several functions share one process (the embedded runtime, the demo).
    """
    for model, field in _BINDINGS:
        name = getattr(settings, field)
        if name:
            model.Meta.table_name = name

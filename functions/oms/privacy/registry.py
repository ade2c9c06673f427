"""The data classes of every PynamoDB attribute (decision 0050): the one registry of the tables.

Each model and map attribute lists its attributes by class; tests/unit/test_data_classification.py fails when
an attribute is missing here (a new attribute must be classified before it lands) or named here but gone.
The erasure (oms.privacy.erasure) and the masks (oms.privacy.masking) read the personal ones from here."""

from __future__ import annotations

from collections.abc import Mapping

from oms.privacy.classification import DataClass

_P, _F, _O = DataClass.PERSONAL, DataClass.FINANCIAL, DataClass.OPERATIONAL


def _classes(*, personal: str = "", financial: str = "", operational: str = "") -> dict[str, DataClass]:
    classes: dict[str, DataClass] = {}
    for data_class, names in ((_P, personal), (_F, financial), (_O, operational)):
        for name in names.split():
            if name in classes:
                raise ValueError(f"{name} is classified twice")
            classes[name] = data_class
    return classes


#: model or map attribute class name -> attribute -> class
ATTRIBUTE_CLASSES: Mapping[str, Mapping[str, DataClass]] = {
    "AddressAttribute": _classes(
        personal="city line1 line2 name postal_code",
        operational="country region",
    ),
    "AllocationLineAttribute": _classes(
        operational="quantity sku warehouse_id",
    ),
    "ApprovalDecisionAttribute": _classes(
        operational="at by decision group level reason",
    ),
    "ApprovalRecord": _classes(
        financial="amount currency",
        operational=(
            "amended_by approval_id change_no content_hash created_at decisions due_at entered_by "
            "escalations group hold_reason last_change level_index open_group order_id revision rules status "
            "task_token updated_at"
        ),
    ),
    "AuditRecord": _classes(
        operational=(
            "action actor after applied_change at before chain_position digest_hour hash n prev_hash reason "
            "request_id seq source subject written_at"
        ),
    ),
    "BackorderLineAttribute": _classes(
        operational="quantity sku",
    ),
    "BackorderRecord": _classes(
        operational="escalate_at escalated_at order_id quantity queue_key queued_at sku",
    ),
    "BankStatementRecord": _classes(
        financial="statement_id",
        operational="applied credits finished_at format object_key reason received_at sha256 state unapplied",
    ),
    "CashExceptionRecord": _classes(
        financial="amount currency resolution",
        operational=(
            "created_at created_key customer_id exception_id kind open_kind reason resolved_at resolved_by "
            "state subject"
        ),
    ),
    "CatalogItemRecord": _classes(
        financial="cost_price currency unit_price",
        operational="active name sku",
    ),
    "ChannelNotificationRecord": _classes(
        operational=(
            "attempt_at attempts channel channel_reference detail expires_at finished_at first_attempt_at "
            "kind "
            "notification_id order_id shipment_id state"
        ),
    ),
    "ChannelTotalsAttribute": _classes(
        financial="discount_total fee_total net_subtotal shipping_tax subtotal tax_lines",
    ),
    "ChargeAttribute": _classes(
        financial="amount discount discounts tax taxable taxes title",
        operational="charge_id",
    ),
    "CreditNoteRecord": _classes(
        financial=(
            "amount applied credit_note_id currency issued_at issued_on json_key last_number number pdf_key "
            "unapplied"
        ),
        operational="credit_customer credit_since customer_id documents_written issued_by reason rma_id",
    ),
    "CustomerAccountRecord": _classes(
        financial=(
            "amount_due currency fee interest invoices issued_at letter_date level open_invoices "
            "open_receivables pdf_key unapplied_credit"
        ),
        operational="action customer_id entry published_at",
    ),
    "CustomerAttribute": _classes(
        personal="email name",
        operational="customer_id",
    ),
    "CustomerRecord": _classes(
        personal="email name",
        financial="credit_hold credit_limit exposure payment_terms_days tier",
        operational="credit_hold_by credit_hold_reason credit_hold_since customer_id erased_at erasure_id",
    ),
    "InventoryMovementRecord": _classes(
        operational=(
            "at available_after by kind movement_id on_hand_after on_hand_before published_at "
            "quantity_change reason reference sku stock_key warehouse_id"
        ),
    ),
    "InventoryRecord": _classes(
        operational="available low_stock_since on_hand reorder_point reserved sku updated_at warehouse_id",
    ),
    "InvoiceRecord": _classes(
        financial=(
            "applied credited currency due_date dunning_level grand_total invoice_number issued_at json_key "
            "outstanding overdue paid_on payment_status pdf_key tax_total"
        ),
        operational="customer_id due_key open_customer open_state order_id",
    ),
    "InvoiceSequenceRecord": _classes(
        financial="last_number",
        operational="order_id",
    ),
    "LedgerEntryRecord": _classes(
        financial="amount currency invoice_number reverses source_id source_kind",
        operational="at at_day at_key by customer_id entry_id order_id reason",
    ),
    "OrderDiscountAttribute": _classes(
        financial="allocation_method amount code target target_selection title value value_type",
        operational="key kind",
    ),
    "OrderLineAttribute": _classes(
        financial="discount discounts tax taxable taxes unit_price",
        operational="line_id name quantity sku",
    ),
    "OrderRecord": _classes(
        personal="customer shipping_address",
        financial=(
            "billing_status channel_paid channel_paid_at channel_payment_ref channel_totals "
            "computed_tax_total credit_exposure credit_revision currency discount_total discounts fees "
            "grand_total invoice_number invoice_pdf_key lines payment_status prices_include_tax "
            "shipping_lines "
            "shipping_total subtotal tax_calculator tax_keys tax_rounding tax_total"
        ),
        operational=(
            "allocation allocation_choices allocation_reason amended_by amendment approval_id backorder "
            "backorder_order_id backorder_queue_key carrier change_no channel entered_by external_id "
            "failed_step failure_code failure_detail failure_reason hold_reason last_change order_id "
            "outbox outbox_pending outbox_since outbox_token placed_at placeholder received_at revision "
            "shipment_exception split_from_order_id status tracking_number updated_at"
        ),
    ),
    "OutboxEntryAttribute": _classes(
        operational="detail detail_type event_id resources source",
    ),
    "PaymentRecord": _classes(
        personal="reference",
        financial=(
            "amount applied currency disputed payment_id provider_ref received_on refunded statement_id "
            "unapplied"
        ),
        operational="credit_customer credit_since customer_id note order_id recorded_at recorded_by source",
    ),
    "PrivacyRequestRecord": _classes(
        operational=(
            "completed_at customer_id expires_at kind raw_keys report_key request_id requested_at "
            "requested_by source state summary tokens"
        ),
    ),
    "ProviderEventRecord": _classes(
        operational="event_id kind outcome received_at",
    ),
    "ReconciliationExceptionRecord": _classes(
        operational=(
            "assigned_to close_reason closed_at closed_by detail escalate_to escalated_at exception_id "
            "history kind open_state opened_at order_id owner_group period sku sla_due_at sla_due_key state "
            "subject"
        ),
    ),
    "RefundRecord": _classes(
        financial="amount currency execution_ref payment_id refund_id",
        operational=(
            "cancelled_by customer_id executed_at executed_by granted_at granted_by reason rma_id state"
        ),
    ),
    "ReservationRecord": _classes(
        operational=(
            "close_reason closed_at closed_by created_at expires_at_key lines open_state order_id reason "
            "state"
        ),
    ),
    "ReturnLineAttribute": _classes(
        financial="amount invoice_number",
        operational="disposition order_id quantity sku warehouse_id",
    ),
    "ReturnRecord": _classes(
        financial="amount credit_note_id currency refund_id resolution",
        operational="created_at created_by customer_id lines reason received_at received_by rma_id state",
    ),
    "ShipmentRecord": _classes(
        operational="carrier events order_id shipment_id shipped_at status tracking_number warehouse_id",
    ),
    "StatusChangeAttribute": _classes(
        operational="at by previous reason request_id status",
    ),
    "StockBaselineRecord": _classes(
        operational="exception_id opening taken_at",
    ),
    "TaxKeyAttribute": _classes(
        financial="compound jurisdiction level rate title",
    ),
    "TaxLineAttribute": _classes(
        financial="amount compound jurisdiction level rate title",
    ),
    "WarehouseRecord": _classes(
        operational="active name priority region warehouse_id",
    ),
}


def personal_attributes(model_name: str) -> frozenset[str]:
    return frozenset(a for a, c in ATTRIBUTE_CLASSES.get(model_name, {}).items() if c is DataClass.PERSONAL)

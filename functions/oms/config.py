"""Environment configuration, read once per distinct environment into a frozen pydantic model.

Nothing here runs at import time: handlers call `get_settings()` inside the invocation, so tests and the
embedded runtime can set the environment first.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

_FIELDS = {
    "orders_table": "ORDERS_TABLE",
    "inventory_table": "INVENTORY_TABLE",
    "movements_table": "INVENTORY_MOVEMENTS_TABLE",
    "reservations_table": "RESERVATIONS_TABLE",
    "backorders_table": "BACKORDERS_TABLE",
    "allocation_policy_parameter": "ALLOCATION_POLICY_PARAMETER",
    "catalog_table": "CATALOG_TABLE",
    "customers_table": "CUSTOMERS_TABLE",
    "warehouses_table": "WAREHOUSES_TABLE",
    "invoices_table": "INVOICES_TABLE",
    "shipments_table": "SHIPMENTS_TABLE",
    "documents_bucket": "DOCUMENTS_BUCKET",
    "event_bus_name": "EVENT_BUS_NAME",
    "order_workflow_arn": "ORDER_WORKFLOW_ARN",
    "invoice_queue_url": "INVOICE_QUEUE_URL",
    "webhook_secrets_name": "WEBHOOK_SECRETS_NAME",
    "pricing_policy_parameter": "PRICING_POLICY_PARAMETER",
    "seller_profile_parameter": "SELLER_PROFILE_PARAMETER",
    "raw_payloads_bucket": "RAW_PAYLOADS_BUCKET",
    "channel_changes_queue_url": "CHANNEL_CHANGES_QUEUE_URL",
    "tax_engine_secret_name": "TAX_ENGINE_SECRET_NAME",
    "channel_api_secret_name": "CHANNEL_API_SECRET_NAME",
    "notification_in_flight_grace_seconds": "NOTIFICATION_IN_FLIGHT_GRACE_SECONDS",
    "channel_notifications_queue_url": "CHANNEL_NOTIFICATIONS_QUEUE_URL",
    "channel_notifications_table": "CHANNEL_NOTIFICATIONS_TABLE",
    # reconciliation and finance exports (issue 13)
    "reconciliation_exceptions_table": "RECONCILIATION_EXCEPTIONS_TABLE",
    "finance_bucket": "FINANCE_BUCKET",
    "dead_letter_queues": "DEAD_LETTER_QUEUES",
    "invoice_grace_minutes": "INVOICE_GRACE_MINUTES",
    "reconciliation_segment_size": "RECONCILIATION_SEGMENT_SIZE",
    "unapplied_cash_days": "UNAPPLIED_CASH_DAYS",
    "ship_within_hours": "SHIP_WITHIN_HOURS",
    "payments_table": "PAYMENTS_TABLE",
    "credit_notes_table": "CREDIT_NOTES_TABLE",
    "cash_ledger_table": "CASH_LEDGER_TABLE",
    "customer_accounts_table": "CUSTOMER_ACCOUNTS_TABLE",
    "refunds_table": "REFUNDS_TABLE",
    "returns_table": "RETURNS_TABLE",
    "bank_statements_table": "BANK_STATEMENTS_TABLE",
    "cash_exceptions_table": "CASH_EXCEPTIONS_TABLE",
    "cash_policy_parameter": "CASH_POLICY_PARAMETER",
    "statements_bucket": "STATEMENTS_BUCKET",
    "payment_provider_secret_name": "PAYMENT_PROVIDER_SECRET_NAME",
    "audit_table": "AUDIT_TABLE",
    "approvals_table": "APPROVALS_TABLE",
    "governance_policy_parameter": "GOVERNANCE_POLICY_PARAMETER",
    "approval_workflow_arn": "APPROVAL_WORKFLOW_ARN",
    "audit_digests_bucket": "AUDIT_DIGESTS_BUCKET",
    "audit_signing_key_id": "AUDIT_SIGNING_KEY_ID",
    # data governance (issue 16)
    "privacy_key_secret_name": "PRIVACY_KEY_SECRET_NAME",
    "privacy_requests_table": "PRIVACY_REQUESTS_TABLE",
    "privacy_bucket": "PRIVACY_BUCKET",
    "privacy_requests_queue_url": "PRIVACY_REQUESTS_QUEUE_URL",
}


#: Each table setting and the logical id of its table in template.yaml: what tools that work on a whole
#: deployed stack (the demo, the operator CLI, tests) use to bind every model.
TABLE_RESOURCES = {
    "orders_table": "OrdersTable",
    "inventory_table": "InventoryTable",
    "movements_table": "InventoryMovementsTable",
    "reservations_table": "ReservationsTable",
    "backorders_table": "BackordersTable",
    "catalog_table": "CatalogTable",
    "customers_table": "CustomersTable",
    "warehouses_table": "WarehousesTable",
    "invoices_table": "InvoicesTable",
    "shipments_table": "ShipmentsTable",
    "channel_notifications_table": "ChannelNotificationsTable",
    "reconciliation_exceptions_table": "ReconciliationExceptionsTable",
    "payments_table": "PaymentsTable",
    "credit_notes_table": "CreditNotesTable",
    "cash_ledger_table": "CashLedgerTable",
    "customer_accounts_table": "CustomerAccountsTable",
    "refunds_table": "RefundsTable",
    "returns_table": "ReturnsTable",
    "bank_statements_table": "BankStatementsTable",
    "cash_exceptions_table": "CashExceptionsTable",
    "audit_table": "AuditLogTable",
    "approvals_table": "ApprovalsTable",
    "privacy_requests_table": "PrivacyRequestsTable",
}


class Settings(BaseModel):
    """Every setting a function may need; each function's template entry sets only the ones it uses."""

    model_config = ConfigDict(frozen=True)

    orders_table: str = ""
    inventory_table: str = ""
    movements_table: str = ""
    reservations_table: str = ""
    backorders_table: str = ""
    allocation_policy_parameter: str = ""
    catalog_table: str = ""
    customers_table: str = ""
    warehouses_table: str = ""
    invoices_table: str = ""
    shipments_table: str = ""
    documents_bucket: str = ""
    event_bus_name: str = ""
    order_workflow_arn: str = ""
    invoice_queue_url: str = ""
    webhook_secrets_name: str = ""
    seller_profile_parameter: str = ""
    raw_payloads_bucket: str = ""
    channel_changes_queue_url: str = ""
    pricing_policy_parameter: str = ""
    tax_engine_secret_name: str = ""
    channel_api_secret_name: str = ""
    notification_in_flight_grace_seconds: str = ""
    """How old an attempt at a channel notification must be before another copy may take it over (it died):
    longer than the notifier's Timeout with room for its retries (template: 180)."""
    channel_notifications_queue_url: str = ""
    channel_notifications_table: str = ""
    # reconciliation and finance exports (issue 13)
    reconciliation_exceptions_table: str = ""
    finance_bucket: str = ""
    """Finance exports (`exports/`, Parquet, read by Athena) and the reconciliation's work files."""
    dead_letter_queues: str = ""
    """JSON: DLQ logical name -> URL (the queues the reconciliation looks into)."""
    invoice_grace_minutes: str = ""
    """How long after its shipment an order may stay uninvoiced before SHIPPED_NOT_INVOICED (default 240)."""
    reconciliation_segment_size: str = ""
    """Orders per reconciliation segment (one Map item; default 500)."""
    unapplied_cash_days: str = ""
    """Days a payment's (a credit note's) remainder may stay unapplied before UNAPPLIED_CASH
    (ORPHAN_CREDIT_NOTE); default 5."""
    ship_within_hours: str = ""
    """The shipping promise the on-time KPIs judge by: shipped within this many hours of placement (48)."""
    payments_table: str = ""
    credit_notes_table: str = ""
    cash_ledger_table: str = ""
    customer_accounts_table: str = ""
    refunds_table: str = ""
    returns_table: str = ""
    bank_statements_table: str = ""
    cash_exceptions_table: str = ""
    cash_policy_parameter: str = ""
    statements_bucket: str = ""
    payment_provider_secret_name: str = ""
    audit_table: str = ""
    approvals_table: str = ""
    governance_policy_parameter: str = ""
    approval_workflow_arn: str = ""
    audit_digests_bucket: str = ""
    audit_signing_key_id: str = ""
    privacy_key_secret_name: str = ""
    """The HMAC key of the pseudonyms in exports, audit entries and erased records (decision 0051)."""
    privacy_requests_table: str = ""
    privacy_bucket: str = ""
    privacy_requests_queue_url: str = ""
    """The channels' privacy requests (Shopify's compliance webhooks) for the privacy function."""
    """Erasure reports and data-access exports (`reports/`, `access/`), KMS-encrypted (decision 0053)."""

    def require(self, field: str) -> str:
        value = getattr(self, field)
        if not value:
            raise RuntimeError(f"environment variable {_FIELDS[field]} is not set for this function")
        return str(value)


@lru_cache(maxsize=16)
def _settings_for(values: tuple[tuple[str, str], ...]) -> Settings:
    return Settings(**dict(values))


def get_settings() -> Settings:
    """The settings of the current environment (cached per distinct environment)."""
    values = tuple((field, os.environ[env]) for field, env in _FIELDS.items() if env in os.environ)
    return _settings_for(values)

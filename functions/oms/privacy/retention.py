"""How long each kind of data is kept, declared once (decision 0052) and enforced by the template: S3
lifecycle rules, DynamoDB TTL, log group retention and Object Lock. tests/unit/test_retention_policy.py holds
every rule of template.yaml to this table, and every bucket prefix and TTL of the template to an entry of it.

Where tax law keeps a record (invoices and credit notes: ten years, the longest of the usual seven to ten; a
dunning letter as commercial correspondence: six), the record is kept and an erasure leaves it as it is (the
legal copy). Personal data that only serves operations expires: the raw webhook bodies after two years (the
longest card-dispute window, 540 days, and the CCPA's 12-month look-back fit inside), the personal export
tables after one. An erasure request removes a customer's personal data before any of these (decision 0053).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from oms.privacy.classification import DataClass

Mechanism = Literal["s3-lifecycle", "dynamodb-ttl", "log-retention", "object-lock", "kept"]


@dataclass(frozen=True)
class Retention:
    store: str
    """The template's logical id (a bucket, a table, log groups)."""
    where: str
    """The prefix in a bucket, the TTL attribute of a table, `*` for all of it."""
    data_class: DataClass
    days: int | None
    """None: kept while the business needs it; erased on request where personal."""
    mechanism: Mechanism
    why: str


TEN_YEARS = 3653
SIX_YEARS = 2192
RAW_WEBHOOK_DAYS = 730
NOTIFICATION_DAYS = 400
ACCESS_REQUEST_DAYS = 400

POLICY: tuple[Retention, ...] = (
    Retention(
        "RawPayloadsBucket",
        "raw/",
        DataClass.PERSONAL,
        RAW_WEBHOOK_DAYS,
        "s3-lifecycle",
        "replays and disputes; longest card-dispute window 540 days",
    ),
    Retention(
        "DocumentsBucket",
        "invoices/",
        DataClass.FINANCIAL,
        TEN_YEARS,
        "s3-lifecycle",
        "the legal copy of each invoice (tax law: seven to ten years)",
    ),
    Retention(
        "DocumentsBucket",
        "credit-notes/",
        DataClass.FINANCIAL,
        TEN_YEARS,
        "s3-lifecycle",
        "credit notes are invoices for tax law",
    ),
    Retention(
        "DocumentsBucket",
        "dunning/",
        DataClass.FINANCIAL,
        SIX_YEARS,
        "s3-lifecycle",
        "commercial correspondence (six years)",
    ),
    Retention(
        "DocumentsBucket",
        "receivables/",
        DataClass.FINANCIAL,
        TEN_YEARS,
        "s3-lifecycle",
        "the daily aging snapshots behind the receivables reporting",
    ),
    Retention(
        "FinanceBucket",
        "exports/",
        DataClass.FINANCIAL,
        TEN_YEARS,
        "s3-lifecycle",
        "analyst tables (no personal values: keyed hashes and masks)",
    ),
    Retention(
        "FinanceBucket",
        "personal/",
        DataClass.PERSONAL,
        365,
        "s3-lifecycle",
        "the full personal values for the few allowed; a year of look-back",
    ),
    Retention(
        "FinanceBucket",
        "reconciliation/",
        DataClass.OPERATIONAL,
        30,
        "s3-lifecycle",
        "the reconciliation's work files",
    ),
    Retention("FinanceBucket", "athena-results/", DataClass.OPERATIONAL, 30, "s3-lifecycle", "query results"),
    Retention(
        "PrivacyBucket",
        "access/",
        DataClass.PERSONAL,
        30,
        "s3-lifecycle",
        "a data-access export is the customer's to fetch",
    ),
    Retention(
        "PrivacyBucket",
        "reports/",
        DataClass.OPERATIONAL,
        TEN_YEARS,
        "s3-lifecycle",
        "proof of what an erasure did (GDPR art. 5(2)); holds no personal values",
    ),
    Retention(
        "ChannelNotificationsTable",
        "expires_at",
        DataClass.OPERATIONAL,
        NOTIFICATION_DAYS,
        "dynamodb-ttl",
        "what a channel was told; past a year nobody asks",
    ),
    Retention(
        "PrivacyRequestsTable",
        "expires_at",
        DataClass.OPERATIONAL,
        ACCESS_REQUEST_DAYS,
        "dynamodb-ttl",
        "access requests; erasure requests carry no TTL and are kept",
    ),
    Retention(
        "AuditDigestsBucket",
        "*",
        DataClass.OPERATIONAL,
        2557,
        "object-lock",
        "signed digests under COMPLIANCE lock (AuditRetentionDays)",
    ),
    Retention(
        "LogGroups",
        "*",
        DataClass.OPERATIONAL,
        30,
        "log-retention",
        "operational logs; no personal data reaches them (decision 0051)",
    ),
    Retention(
        "OrdersTable",
        "*",
        DataClass.FINANCIAL,
        None,
        "kept",
        "the order behind each invoice; its personal fields are erased on request",
    ),
    Retention(
        "CustomersTable",
        "*",
        DataClass.PERSONAL,
        None,
        "kept",
        "the customer relationship; erased on request",
    ),
    Retention(
        "AuditLogTable",
        "*",
        DataClass.OPERATIONAL,
        None,
        "kept",
        "the hash-chained record; personal values only as keyed hashes (decision 0054)",
    ),
)


def rules_for(store: str) -> dict[str, Retention]:
    return {r.where: r for r in POLICY if r.store == store}


def expires_at(now: datetime, days: int) -> int:
    """A DynamoDB TTL value: epoch seconds `days` after `now`."""
    return int((now + timedelta(days=days)).timestamp())

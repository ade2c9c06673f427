"""Personal data never reaches the logs (decision 0051): every log record of every function goes through
this formatter (oms.observability creates the one Logger with it), whatever a call site passes.

It redacts (1) the value of every key that names a personal field (the classification's personal field names,
at any depth of `extra`, including a dumped order or address), (2) e-mail addresses and international phone
numbers in any string, the message and the exception text included, and (3) pydantic's echo of a refused
input (`input_value='...'`) in validation errors. A street line inside free text cannot be recognised by its
shape: the classification keeps it in fields, and (1) removes it there.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord

from oms.privacy.masking import redact

PERSONAL_KEYS = frozenset(
    {
        # the canonical order and the tables (oms.privacy.registry, the @classified models)
        "name",
        "email",
        "line1",
        "line2",
        "city",
        "postal_code",
        "customer",
        "shipping_address",
        "ship_to",
        "bill_to",
        "destination",
        "address_lines",
        # the channels' payloads
        "first_name",
        "last_name",
        "company",
        "address1",
        "address2",
        "address_1",
        "address_2",
        "zip",
        "postcode",
        "phone",
        "billing",
        "shipping",
        "billing_address",
        "default_address",
        "contact_email",
        "customer_email",
    }
)
"""Keys whose values are personal wherever they appear in a log record (held to the classification by
tests/unit/test_privacy_masking.py)."""


class PersonalDataFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with personal data redacted from the record before it is written."""

    def serialize(self, log: LogRecord) -> str:
        plain: dict[str, Any] = json.loads(super().serialize(log))
        return self.json_serializer(redact(plain, PERSONAL_KEYS))

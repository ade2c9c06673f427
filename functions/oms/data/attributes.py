"""PynamoDB attributes that keep money exact: DynamoDB numbers in, Decimal out (not PynamoDB's floats)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.constants import NUMBER, STRING


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number that round-trips as `decimal.Decimal`."""

    attr_type = NUMBER

    def serialize(self, value: Any) -> str:
        if isinstance(value, float):
            raise TypeError("refusing to store a float as money")
        return str(Decimal(value))

    def deserialize(self, value: Any) -> Decimal:
        return Decimal(value)


class UTCDateTime(Attribute[datetime]):
    """An ISO-8601 UTC timestamp string (sortable, readable in the console and by Athena)."""

    attr_type = STRING

    def serialize(self, value: datetime) -> str:
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def deserialize(self, value: str) -> datetime:
        return datetime.fromisoformat(value).astimezone(UTC)

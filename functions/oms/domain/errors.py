"""Errors the domain raises. Handlers map them to HTTP status codes or workflow outcomes."""

from __future__ import annotations


class OmsError(Exception):
    """Base class: carries a machine-readable code and a human-readable reason."""

    code = "OMS_ERROR"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownChannelError(OmsError):
    code = "UNKNOWN_CHANNEL"


class SignatureError(OmsError):
    code = "INVALID_SIGNATURE"


class ChannelPayloadError(OmsError):
    """The payload is not a valid order of the channel's format (422; 400 for undecodable bodies)."""

    code = "INVALID_PAYLOAD"


class OrderNotFoundError(OmsError):
    code = "ORDER_NOT_FOUND"


class InvalidTransitionError(OmsError):
    code = "INVALID_TRANSITION"


class ReservationConflictError(OmsError):
    """Stock could not be reserved because another request changed it; safe to retry."""

    code = "RESERVATION_CONFLICT"

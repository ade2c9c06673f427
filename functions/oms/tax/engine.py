"""An external tax engine behind the tax port, in TaxJar's SmartCalcs shape (`POST /v2/taxes`).

Request: the destination (`to_country`, `to_state`, `to_zip`, `to_city`, `to_street`), the origin from the
policy (`from_*`), `amount` (Σ line amounts after discounts), `shipping`, and `line_items` with `id`,
`quantity`, `unit_price`, `discount` (fees travel as line items of quantity 1). Response: `tax` with
`amount_to_collect`, `freight_taxable`, `jurisdictions` and `breakdown`: per line item `state_amount`,
`county_amount`, `city_amount`, `special_district_amount` with their rates, and the same for `shipping`.
The engine's amounts are taken as they are; a tax-inclusive order is not quoted (the engine prices
tax-exclusive amounts) and is held for review.

Money goes over the wire as JSON numbers written from Decimals and read back into Decimals
(`parse_float=Decimal`): never through a binary float. The URL and API token are in Secrets Manager.
Any transport failure or malformed answer raises `TaxEngineUnavailableError`: the validation step is
retried by the workflow, the order is not held for a network problem.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from oms.domain.pricing import ItemKind, TaxLevel, TaxLine
from oms.domain.status import HoldReason
from oms.money import ZERO, round_money
from oms.pricing.taxmath import distribute
from oms.tax.policy import TaxEngineSettings
from oms.tax.port import ItemTax, TaxableItem, TaxEngineUnavailableError, TaxProblem, TaxQuote, TaxRequest

_LEVELS: tuple[tuple[str, str, TaxLevel], ...] = (
    ("state_amount", "state_sales_tax_rate", TaxLevel.STATE),
    ("county_amount", "county_tax_rate", TaxLevel.COUNTY),
    ("city_amount", "city_tax_rate", TaxLevel.CITY),
    ("special_district_amount", "special_tax_rate", TaxLevel.DISTRICT),
)


def _json(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("money must be finite")
        return format(value, "f")
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def encode_decimal_json(payload: Mapping[str, Any]) -> bytes:
    """JSON with each Decimal written as the exact number it is (never through a binary float)."""
    return _json(payload).encode("utf-8")


def taxjar_request(request: TaxRequest, settings: TaxEngineSettings) -> dict[str, Any]:
    dest = request.destination
    lines = [i for i in request.items if i.kind is not ItemKind.SHIPPING]
    shipping = sum((i.amount for i in request.items if i.kind is ItemKind.SHIPPING), ZERO)
    body: dict[str, Any] = {
        "from_country": settings.from_country,
        "to_country": dest.country,
        "to_city": dest.city,
        "to_street": dest.line1,
        "amount": sum((i.amount for i in lines), ZERO),
        "shipping": shipping,
        "line_items": [
            {
                "id": item.item_id,
                "quantity": item.quantity,
                "unit_price": item.unit_price if item.unit_price is not None else item.amount,
                "discount": item.discount,
                **({"product_identifier": item.sku} if item.sku else {}),
            }
            for item in lines
        ],
    }
    if settings.from_state:
        body["from_state"] = settings.from_state
    if settings.from_zip:
        body["from_zip"] = settings.from_zip
    if dest.region:
        body["to_state"] = dest.region
    if dest.postal_code:
        body["to_zip"] = dest.postal_code
    return body


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise TaxEngineUnavailableError(f"tax engine answer: {name} is not a number")
    try:
        result = Decimal(str(value))
    except ArithmeticError as exc:
        raise TaxEngineUnavailableError(f"tax engine answer: {name} is not a number") from exc
    if not result.is_finite() or abs(result.adjusted()) > 15:
        raise TaxEngineUnavailableError(f"tax engine answer: {name} is out of range")
    return result


def _lines(
    part: Mapping[str, Any], names: Mapping[TaxLevel, str], currency: str, jurisdiction: str, where: str
) -> tuple[list[TaxLine], list[Decimal]]:
    lines: list[TaxLine] = []
    amounts: list[Decimal] = []
    for amount_key, rate_key, level in _LEVELS:
        amount = _decimal(part.get(amount_key, 0), f"{where}.{amount_key}")
        rate = _decimal(part.get(rate_key, 0), f"{where}.{rate_key}")
        if amount == 0 and rate == 0:
            continue
        if not 0 <= rate <= 1:
            raise TaxEngineUnavailableError(f"tax engine answer: {where}.{rate_key} is not a rate")
        lines.append(
            TaxLine(
                title=names[level],
                rate=rate.normalize(),
                amount=ZERO,
                level=level,
                jurisdiction=jurisdiction,
            )
        )
        amounts.append(amount)
    collectable = part.get("tax_collectable")
    total = (
        round_money(_decimal(collectable, f"{where}.tax_collectable"), currency)
        if collectable is not None
        else round_money(sum(amounts, ZERO), currency)
    )
    rounded = distribute(total, amounts, currency) if amounts else []
    return [line.model_copy(update={"amount": a}) for line, a in zip(lines, rounded, strict=True)], amounts


def taxjar_quote(request: TaxRequest, answer: Mapping[str, Any]) -> TaxQuote:
    """The quote of a `/v2/taxes` answer."""
    tax = answer.get("tax")
    if not isinstance(tax, Mapping):
        raise TaxEngineUnavailableError("tax engine answer: no 'tax' object")
    breakdown = tax.get("breakdown") or {}
    places = tax.get("jurisdictions") or {}
    state = str(places.get("state") or request.destination.region or "")
    names = {
        TaxLevel.STATE: f"{state} State Tax".strip(),
        TaxLevel.COUNTY: f"{str(places.get('county') or '').title()} County Tax".strip(),
        TaxLevel.CITY: f"{str(places.get('city') or '').title()} City Tax".strip(),
        TaxLevel.DISTRICT: "Special District Tax",
    }
    jurisdiction = request.destination.jurisdiction
    currency = request.currency
    by_id = {str(li.get("id")): li for li in breakdown.get("line_items") or [] if isinstance(li, Mapping)}
    items: list[ItemTax] = []
    shipping_items = [i for i in request.items if i.kind is ItemKind.SHIPPING]
    for item in request.items:
        if item.kind is ItemKind.SHIPPING:
            continue
        part = by_id.get(item.item_id)
        if part is None:
            items.append(ItemTax(item_id=item.item_id))
            continue
        lines, exact = _lines(part, names, currency, jurisdiction, f"line_items[{item.item_id}]")
        items.append(ItemTax(item_id=item.item_id, lines=lines, exact=exact))
    items += _shipping(shipping_items, breakdown.get("shipping"), names, currency, jurisdiction)
    return TaxQuote(calculator="engine", source="tax engine", items=items)


def _shipping(
    shipping: Sequence[TaxableItem],
    part: object,
    names: Mapping[TaxLevel, str],
    currency: str,
    jurisdiction: str,
) -> list[ItemTax]:
    if not shipping:
        return []
    if not isinstance(part, Mapping):
        return [ItemTax(item_id=s.item_id) for s in shipping]
    lines, _ = _lines(part, names, currency, jurisdiction, "shipping")
    # The engine quotes one shipping amount: its tax is spread over the shipping lines by their amounts.
    total = sum((s.amount for s in shipping), ZERO)
    result = []
    shares = [
        distribute(
            line.amount, [line.amount * s.amount / total if total else ZERO for s in shipping], currency
        )
        for line in lines
    ]
    for index, item in enumerate(shipping):
        item_lines = [
            line.model_copy(update={"amount": share[index]})
            for line, share in zip(lines, shares, strict=True)
        ]
        item_lines = [line for line in item_lines if line.amount]
        result.append(
            ItemTax(item_id=item.item_id, lines=item_lines, exact=[line.amount for line in item_lines])
        )
    return result


class TaxEngineCalculator:
    """Asks the external engine over HTTPS; `credentials` holds `base_url` and `api_token`."""

    name = "engine"

    def __init__(self, settings: TaxEngineSettings, credentials: Mapping[str, str]) -> None:
        self.settings = settings
        self.base_url = credentials.get("base_url", "https://api.taxjar.com/v2/").rstrip("/") + "/"
        self.token = credentials.get("api_token", "")

    def quote(self, request: TaxRequest) -> TaxQuote:
        if request.prices_include_tax:
            return TaxQuote(
                calculator=self.name,
                source="tax engine",
                problems=[
                    TaxProblem(
                        reason=HoldReason.TAX_MISMATCH,
                        message="the tax engine quotes tax-exclusive prices; this order's prices include tax",
                    )
                ],
            )
        body = encode_decimal_json(taxjar_request(request, self.settings))
        http_request = urllib.request.Request(  # noqa: S310 - the URL comes from our own secret
            self.base_url + "taxes",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.settings.timeout_seconds) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise TaxEngineUnavailableError(f"tax engine answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TaxEngineUnavailableError(f"tax engine unreachable: {exc}") from exc
        try:
            answer = json.loads(raw.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TaxEngineUnavailableError("tax engine answer is not JSON") from exc
        if not isinstance(answer, Mapping):
            raise TaxEngineUnavailableError("tax engine answer is not a JSON object")
        return taxjar_quote(request, answer)

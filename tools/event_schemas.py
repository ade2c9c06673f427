"""The catalogue of outbound events as JSON Schemas under docs/events/ (one file per detail-type, describing
the event's `detail`), generated from oms.domain.events.CATALOGUE, and the catalogue's README table.

    python -m tools.event_schemas --write   # regenerate docs/events/
    python -m tools.event_schemas --check   # exit 1 when docs/events/ differs (a unit test runs it)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from oms.domain.events import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "events"
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_of(detail_type: str) -> dict[str, Any]:
    entry = CATALOGUE[detail_type]
    schema = entry.model.model_json_schema(mode="serialization")
    schema.get("properties", {}).pop("detail_type", None)  # a field of the model, not of the detail
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r != "detail_type"]
    # the detail carries exactly the fields declared: a field added in code and not here fails the test
    for shape in [schema, *schema.get("$defs", {}).values()]:
        if shape.get("type") == "object":
            shape["additionalProperties"] = False
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": f"https://serverless-oms.example/events/{detail_type}.json",
        "x-detail-type": detail_type,
        "x-source": entry.source,
        "x-integration": entry.integration,
        "x-published-by": entry.published_by,
        **schema,
        "title": detail_type,
    }


def readme() -> str:
    rows = "\n".join(
        f"| `{name}` | `{e.source}` | {e.integration} | `{e.published_by}` | [{name}.json]({name}.json) |"
        for name, e in CATALOGUE.items()
    )
    return f"""# Outbound events

Everything the OMS publishes on its EventBridge bus (`EventBusName` output), one JSON Schema (draft 2020-12)
per `detail-type`, describing the event's `detail`. Generated from `oms.domain.events.CATALOGUE` by
`python -m tools.event_schemas --write`; `tests/unit/test_event_catalogue.py` holds these files equal to the
code and every publication in the code to an entry, and `tests/e2e/test_cash_lifecycle.py` validates every
event a day of orders, cash, returns, dunning, snapshots and exports really put on the bus against its
schema. Delivery is at least once: consumers dedupe on the ids named in each schema (`event_id` where there
is one). Money is a decimal string; times are ISO-8601 UTC (decision 0048).

| detail-type | source | integration | published by | schema |
|---|---|---|---|---|
{rows}
"""


def wanted() -> dict[str, str]:
    files = {
        f"{name}.json": json.dumps(schema_of(name), indent=2, sort_keys=True) + "\n" for name in CATALOGUE
    }
    files["README.md"] = readme()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    files = wanted()
    if args.check:
        present = {p.name for p in FOLDER.glob("*")}
        stale = [
            n for n, text in files.items() if not (FOLDER / n).exists() or (FOLDER / n).read_text() != text
        ]
        if stale or present - set(files):
            print(
                f"docs/events/ is stale ({', '.join(stale or sorted(present - set(files)))}): "
                "python -m tools.event_schemas --write"
            )
            return 1
        return 0
    if args.write:
        FOLDER.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (FOLDER / name).write_text(text)
        return 0
    print("\n".join(files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

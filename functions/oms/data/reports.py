"""The monthly management report's reads: the month's partitions of the finance exports (S3, Parquet),
fetched into a scratch folder and queried with duckdb, as `python -m ops sql` does locally. Only the
tables the report draws are fetched. No rule lives here: oms.finance.management_report shapes the figures.

duckdb is imported on first use only (tests/unit/test_lean_imports.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oms.aws import client

EXPORT_PREFIX = "exports"
REPORT_TABLES = ("kpi_daily", "aging", "exceptions", "receivables_daily")


def fetch_month(bucket: str, month: str, into: Path, tables: tuple[str, ...] = REPORT_TABLES) -> int:
    """Download each table's partitions of `month` (YYYY-MM) into `into/<table>/dt=<day>/`. Returns the
    number of files."""
    s3 = client("s3")
    count = 0
    for table in tables:
        prefix = f"{EXPORT_PREFIX}/{table}/dt={month}-"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                target = into / item["Key"].removeprefix(f"{EXPORT_PREFIX}/")
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(target))
                count += 1
    return count


QUERIES = {
    "kpi_daily": (
        "SELECT dt, orders, cycle_time_p50_hours, cycle_time_p90_hours, dso_currency, dso_standard_days, "
        "dso_countback_days, perfect_order_rate_all FROM kpi_daily ORDER BY dt"
    ),
    "aging": (
        "SELECT dt, currency, bucket, min(bucket_order) AS bucket_order, sum(amount) AS amount FROM aging "
        "GROUP BY dt, currency, bucket ORDER BY dt, currency, bucket_order"
    ),
    "exceptions": (
        "SELECT dt, kind, count(*) AS filed, count(*) FILTER (WHERE state = 'OPEN') AS still_open "
        "FROM exceptions GROUP BY dt, kind ORDER BY dt, kind"
    ),
    "receivables_daily": (
        "SELECT dt, currency, outstanding, cash_applied, payments_received FROM receivables_daily "
        "ORDER BY dt, currency"
    ),
}


def month_rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The rows the report draws, per table (an empty list for a table without a partition that month)."""
    import duckdb

    connection = duckdb.connect(":memory:", config={"home_directory": str(folder)})
    try:
        found: dict[str, list[dict[str, Any]]] = {}
        for table, query in QUERIES.items():
            files = folder / table
            if not any(files.glob("dt=*/*.parquet")):
                found[table] = []
                continue
            pattern = str(files / "dt=*" / "*.parquet")
            connection.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', "  # noqa: S608
                "hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)"
            )
            cursor = connection.execute(query)
            names = [d[0] for d in cursor.description]
            found[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return found
    finally:
        connection.close()


def report_key(month: str) -> str:
    return f"reports/monthly/{month}/management-report.pdf"


def write_report(bucket: str, month: str, body: bytes) -> str:
    """Write (or rewrite: a rerun of the month replaces it) the month's report. Returns its key."""
    key = report_key(month)
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/pdf")
    return key

"""`python -m ops sql` and `report kpi`: the SQL of docs/queries/ run locally with duckdb over the finance
exports, downloaded from the stack's finance bucket (AWS, or the local stack through AWS_ENDPOINT_URL) into a
local folder; the tables are views named as the Glue tables, `dt` their partition column as in Athena."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from oms.finance.schema import TABLES

EXPORT_PREFIX = "exports/"


def download_exports(bucket: str, into: Path) -> int:
    """Mirror `exports/` of the bucket into `into` (objects already there with the same size and ETag-free
    content are fetched again only when their size differs). Returns the files now present."""
    s3 = boto3.client("s3")
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=EXPORT_PREFIX):
        for item in page.get("Contents", []):
            target = into / item["Key"].removeprefix(EXPORT_PREFIX)
            if not target.exists() or target.stat().st_size != item["Size"]:
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(target))
            count += 1
    return count


def connect(folder: Path) -> Any:
    """A duckdb connection with one view per export table over `folder`'s Parquet files."""
    import duckdb

    connection = duckdb.connect(":memory:")
    for table in TABLES:
        files = folder / table
        if not any(files.glob("dt=*/*.parquet")):
            continue
        pattern = str(files / "dt=*" / "*.parquet")
        connection.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', hive_partitioning = true, "  # noqa: S608
            "hive_types = {'dt': VARCHAR})"
        )
    return connection


KPI_QUERY = """
SELECT dt, orders, orders_shipped,
       round(cycle_time_p50_hours, 1) AS cycle_p50_h, round(cycle_time_p90_hours, 1) AS cycle_p90_h,
       round(on_time_shipment_rate, 3) AS on_time, round(perfect_order_rate_product, 3) AS perfect_product,
       round(perfect_order_rate_all, 3) AS perfect_all, round(invoice_accuracy, 3) AS invoice_accuracy,
       round(fill_rate, 3) AS fill_rate, gross_margin, round(gross_margin_pct, 3) AS margin_pct
FROM kpi_daily WHERE dt BETWEEN ? AND ? ORDER BY dt
"""


def run_sql(
    folder: Path, sql: str, parameters: list[Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    connection = connect(folder)
    try:
        cursor = connection.execute(sql, parameters or [])
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    finally:
        connection.close()

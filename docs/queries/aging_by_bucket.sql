-- Receivables aging per day, currency and bucket (the daily snapshot; Athena;
-- `python -m ops sql @docs/queries/aging_by_bucket.sql`)
SELECT dt,
       currency,
       bucket,
       sum(amount)            AS outstanding,
       count(DISTINCT customer_id) AS customers
FROM aging
GROUP BY dt, currency, bucket, bucket_order
ORDER BY dt, currency, bucket_order

-- Cash received and applied per day and currency, with the day's outstanding and DSO (Athena;
-- `python -m ops sql @docs/queries/cash_applied_and_dso_by_day.sql`)
SELECT dt,
       currency,
       payments_received,
       cash_applied,
       credit_applied,
       outstanding,
       unapplied_credit,
       dso_standard_days,
       dso_countback_days
FROM receivables_daily
ORDER BY dt, currency

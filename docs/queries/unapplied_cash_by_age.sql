-- Payments with something still unapplied, oldest first, with how many days they have waited (Athena;
-- `python -m ops sql @docs/queries/unapplied_cash_by_age.sql`). A payment's row is in the partition of the
-- day it was received, as last exported (each night restates the last three days): for today's balance
-- of an older payment, GET /payments/{id} or the reconciliation's UNAPPLIED_CASH exceptions.
SELECT payment_id,
       source,
       coalesce(customer_id, 'UNIDENTIFIED')         AS payer,
       currency,
       amount,
       unapplied,
       received_on,
       date_diff('day', received_on, current_date)   AS days_waiting
FROM payments
WHERE unapplied > 0
ORDER BY received_on, payment_id

-- Shipped orders without an invoice in the export (what the reconciliation files as SHIPPED_NOT_INVOICED)
SELECT o.dt, o.order_id, o.customer_id, o.first_shipped_at, o.grand_total
FROM orders o
LEFT JOIN invoices i ON i.order_id = o.order_id AND i.dt = o.dt
WHERE o.shipped AND i.invoice_number IS NULL
ORDER BY o.first_shipped_at

-- Gross margin per customer over the exported days (Athena; `python -m ops sql @docs/queries/gross_margin_by_customer.sql`)
SELECT customer_id,
       count(*)                                       AS orders,
       sum(net_revenue)                               AS net_revenue,
       sum(cost_of_goods)                             AS cost_of_goods,
       sum(gross_margin)                              AS gross_margin,
       round(sum(gross_margin) / sum(net_revenue), 3) AS margin_pct
FROM orders
WHERE cost_of_goods IS NOT NULL
GROUP BY customer_id
ORDER BY gross_margin DESC

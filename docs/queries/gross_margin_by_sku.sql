-- Gross margin per SKU (order lines, net of discounts and tax, less units x catalog cost)
SELECT sku,
       sum(quantity)                                 AS units,
       sum(net_amount)                               AS net_revenue,
       sum(cost)                                     AS cost,
       sum(gross_margin)                             AS gross_margin,
       round(sum(gross_margin) / sum(net_amount), 3) AS margin_pct
FROM order_lines
WHERE cost IS NOT NULL
GROUP BY sku
ORDER BY gross_margin DESC

-- Perfect orders per day, both definitions (docs/kpis.md), from the order rows themselves
SELECT dt,
       count(*) FILTER (WHERE shipped)                                        AS shipped,
       round(avg(CASE WHEN perfect THEN 1.0 ELSE 0.0 END) FILTER (WHERE shipped), 3) AS perfect_all_criteria,
       round(avg(CASE WHEN on_time THEN 1.0 ELSE 0.0 END) FILTER (WHERE shipped)
           * avg(CASE WHEN complete THEN 1.0 ELSE 0.0 END) FILTER (WHERE shipped)
           * avg(CASE WHEN undamaged THEN 1.0 ELSE 0.0 END) FILTER (WHERE shipped)
           * avg(CASE WHEN documents_right THEN 1.0 ELSE 0.0 END) FILTER (WHERE shipped), 3) AS perfect_product
FROM orders
GROUP BY dt
ORDER BY dt

-- Reconciliation exceptions per owner group and kind, and how many ran past their SLA
SELECT owner_group,
       kind,
       count(*)                                                          AS filed,
       count(*) FILTER (WHERE state = 'OPEN')                            AS still_open,
       count(*) FILTER (WHERE escalated_at IS NOT NULL)                  AS escalated
FROM exceptions
GROUP BY owner_group, kind
ORDER BY still_open DESC, filed DESC

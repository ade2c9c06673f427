"""Reconciliation: the checks a scheduled run makes over a period's orders and the ledgers, and how what it
finds is filed as exceptions with an owner, an SLA and an escalation (issue 13, decision 0038)."""

"""Governance: approval rules and routing, credit control, segregation of duties, the audit trail, and the
checks that the system kept its promises (invariants), for runs, tests and reconciliation."""

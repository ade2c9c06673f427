"""Governance: checks that the system kept its promises (invariants), for runs, tests and reconciliation."""

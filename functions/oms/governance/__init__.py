"""Governance: approval rules and routing, credit control, segregation of duties, the audit trail."""

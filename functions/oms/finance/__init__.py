"""Finance: the daily exports analysts read with Athena and the KPIs computed from them (issue 13)."""

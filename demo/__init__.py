"""The demo: a wholesale electronics distributor's reference data and a synthetic business day of orders."""

"""Data governance (issue 16): classification, masking, retention and erasure of customer data, in one place
so that every table, export and log uses the same rules (decisions 0050-0055)."""

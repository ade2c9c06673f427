"""Tax as a port with adapters (docs/decisions/0021): a dated, sourced rate table, the channel as the
calculator of record, and an external tax engine; the pricing policy chooses one per channel."""

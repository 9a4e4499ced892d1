"""Importers: one module per source format, each turning a stream of bytes
into `ParsedMessage` records (or `Rejected` rows for quarantine)."""

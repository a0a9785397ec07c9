"""Results to bytes and rich tables: `scan` for scan results and farm scores, `index` for the index commands."""

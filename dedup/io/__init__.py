"""The edges: `sources` turns files, folders, JSONL and HTML into documents; `report` turns results into
tables, JSON, JSONL and CSV."""

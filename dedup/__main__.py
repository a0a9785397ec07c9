"""`python -m dedup`: the same as the `dedup` command."""

from dedup.cli import app

app(prog_name="dedup")

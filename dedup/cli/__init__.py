"""The `dedup` command line: typer commands that parse, call the library and print."""

from dedup.cli.app import app, run

__all__ = ["app", "run"]

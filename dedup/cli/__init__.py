"""The `dedup` command line: typer commands that parse, call the library and print.

`app` holds the commands (`scan`, `score`, and `index`'s in `dedup.cli.index`); `run` is the console script.
"""

from dedup.cli.app import app, run

__all__ = ["app", "run"]

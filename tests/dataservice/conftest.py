"""The data service's worker tests use the CLI's fresh-database fixture (the worker runs as a real process)."""

from tests.cli.conftest import cli_db, cli_template

__all__ = ["cli_db", "cli_template"]

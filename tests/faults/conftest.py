"""Fault tests run real processes against a fresh database of their own (the CLI's fixture)."""

from tests.cli.conftest import cli_db, cli_template

__all__ = ["cli_db", "cli_template"]

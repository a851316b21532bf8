"""``xietong check``: validate the configuration an instance runs with; OK/FAIL per check, non-zero on failure."""

from __future__ import annotations

import typer
from rich.table import Table

from xietong.cli import app
from xietong.cli.common import EXIT_FAILED, database, out
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.system.health import run_checks


@app.command()
def check() -> None:
    """Check the database, the schema, the secret, the data directory, next year's calendar and demo leftovers."""
    settings = Settings()
    with database() as engine:
        checks = run_checks(settings, engine, today=utcnow().date())
    table = Table("检查项", "结果", "说明", header_style="bold")
    for item in checks:
        table.add_row(item.name, "[green]OK[/green]" if item.ok else "[bold red]FAIL[/bold red]", item.detail)
    console = out()
    console.print(table)
    failed = [item for item in checks if not item.ok]
    if failed:
        console.print(f"[bold red]{len(failed)} 项检查未通过[/bold red]")
        raise typer.Exit(EXIT_FAILED)
    console.print("[green]全部检查通过[/green]")
